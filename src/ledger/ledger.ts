/**
 * The per-batch, per-instance ledger in Redis: what `provflow status` shows and what steps
 * consult to look before they act. One hash per instance, so concurrent writers (steps, the
 * poller) merge fields instead of overwriting each other's JSON.
 */
import { DEFAULT_TENANT } from '../redis-keys.ts';
import type { Redis } from 'ioredis';
import type { InstanceSpec, InstanceStore } from '../steps/types.ts';
import { PAST_PIPELINE_STATES, QUEUED } from './instance-state.ts';
import { ledgerKeys, SECRETS_TTL_SECONDS } from './keys.ts';

/** One instance as `status` reads it. */
export interface InstanceRecord {
  instanceKey: string;
  index: number;
  displayName: string;
  /** The tenant's name (`default` for single-tenant batches). */
  tenant: string;
  state: string;
  step: string | null;
  templateId: string | null;
  applicationObjectId: string | null;
  appId: string | null;
  servicePrincipalId: string | null;
  jobId: string | null;
  adopted: string | null;
  attempts: number;
  lastError: string | null;
  jobCode: string | null;
  lastExecution: string | null;
  quarantineReason: string | null;
  quarantineNextAttempt: string | null;
  detail: string | null;
  logFailures: Record<string, number>;
  logEntries: number;
  updatedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  enqueuedAt: number | null;
  warning: string | null;
  /** `provflow verify`: `ok` or `failing` (saved credentials refused), when and why. */
  credentialsCheck?: string | null;
  credentialsCheckedAt?: number | null;
  credentialsError?: string | null;
  /** The last day-two operation (rotate, verify, teardown), its state (OP_STATES) and error. */
  op?: string | null;
  opState?: string | null;
  opError?: string | null;
  /** Smoke test outcome as recorded by the smoke-test step, e.g. "Success" or "Failure (code: reason)". */
  smokeTest?: string | null;
  /** App role assignments present after assign-groups (null: the instance asks for none). */
  assignments?: number | null;
  /** Whether the smoke test passed (null: none ran). */
  smokeTestPassed?: boolean | null;
  /** Epoch ms when update-schema confirmed the schema edits by read-back. */
  schemaUpdatedAt?: number | null;
  /** The root step of the instance's flow; null for flows enqueued before it was recorded (all steps). */
  rootStep?: string | null;
}

/** Batch metadata. */
export interface BatchMeta {
  batchId: string;
  createdAt: number;
  instances: number;
  sourceFile: string;
  /** SHA-256 of the batch file when it was last enqueued ('' for batches not from a file). */
  sourceSha256?: string;
}

/** Sets the state to `value` unless it is already past the pipeline; the list comes from the state machine. */
const setStateLua = (value: string) => `local cur = redis.call('HGET', KEYS[1], 'state')
for _, s in ipairs({${PAST_PIPELINE_STATES.map((st) => `'${st}'`).join(', ')}}) do
  if cur == s then return 0 end
end
redis.call('HSET', KEYS[1], 'state', ${value})
return 1`;

/**
 * The ledger's writes that touch several fields as one: Redis scripts (EVALSHA, EVAL again after a
 * restart) rather than MULTI, because each MULTI or pipeline on a connection BullMQ shares copies
 * every script BullMQ defined on it — most of a ledger write's CPU when measured.
 */
const LEDGER_COMMANDS = {
  /**
   * KEYS[1] the instance; ARGV: n, a pipeline state ('' for none), n field/value pairs to set, then
   * fields to delete. The state is set last, unless the instance is past the pipeline.
   */
  provflowLedgerUpdate: `local n = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3, 2 + 2 * n))
if #ARGV > 2 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 3 + 2 * n)) end
if ARGV[2] == '' then return 1 end
${setStateLua('ARGV[2]')}`,
  /** ARGV: the pipeline state to set unless past it. */
  provflowLedgerSetState: setStateLua('ARGV[1]'),
  /**
   * ARGV: '1' to count an attempt, a running state, then field/value pairs. The fields, and the
   * state unless the instance is past the pipeline.
   */
  provflowLedgerStep: `if ARGV[1] == '1' then redis.call('HINCRBY', KEYS[1], 'attempts', 1) end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
${setStateLua('ARGV[2]')}`,
  /** ARGV: field, value. Sets it when absent and answers the value now stored. */
  provflowLedgerSetIfAbsent: `redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])`,
} as const;

type LedgerRedis = Redis & {
  [K in keyof typeof LEDGER_COMMANDS]: (key: string, ...args: string[]) => Promise<unknown>;
};

/** The connection with the ledger's commands defined (once per connection). */
function withLedgerCommands(redis: Redis): LedgerRedis {
  const r = redis as LedgerRedis;
  for (const [name, lua] of Object.entries(LEDGER_COMMANDS)) {
    if (typeof (r as unknown as Record<string, unknown>)[name] !== 'function')
      redis.defineCommand(name, { numberOfKeys: 1, lua });
  }
  return r;
}

export class Ledger implements InstanceStore {
  readonly keys: ReturnType<typeof ledgerKeys>;
  private readonly cmd: LedgerRedis;
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {
    this.keys = ledgerKeys(prefix);
    this.cmd = withLedgerCommands(redis);
  }

  async get(instance: InstanceSpec, fields: string[]): Promise<Record<string, string | null>> {
    const values = await this.redis.hmget(this.keys.instance(instance.batchId, instance.instanceKey), ...fields);
    return Object.fromEntries(fields.map((f, i) => [f, values[i] ?? null]));
  }

  async set(instance: InstanceSpec, fields: Record<string, string | number | boolean>): Promise<void> {
    await this.update(instance.batchId, instance.instanceKey, fields);
  }

  async update(
    batchId: string,
    instanceKey: string,
    fields: Record<string, string | number | boolean | null>,
  ): Promise<void> {
    await this.write(batchId, instanceKey, fields, '');
  }

  /**
   * `update`, then `setPipelineState`, as one atomic command: the root step records its outcome and
   * "started" together.
   */
  async updateWithState(
    batchId: string,
    instanceKey: string,
    fields: Record<string, string | number | boolean | null>,
    state: string,
  ): Promise<void> {
    await this.write(batchId, instanceKey, fields, state);
  }

  private async write(
    batchId: string,
    instanceKey: string,
    fields: Record<string, string | number | boolean | null>,
    state: string,
  ): Promise<void> {
    const set: string[] = ['updatedAt', String(Date.now())];
    const del: string[] = [];
    for (const [k, v] of Object.entries(fields)) {
      if (v === null) del.push(k);
      else if (k !== 'updatedAt') set.push(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
      else set[1] = String(v);
    }
    const key = this.keys.instance(batchId, instanceKey);
    // One HSET is atomic alone; sets with deletes or a state go together in one script.
    if (del.length === 0 && !state) await this.redis.hset(key, ...set);
    else await this.cmd.provflowLedgerUpdate(key, String(set.length / 2), state, ...set, ...del);
  }

  async setIfAbsent(instance: InstanceSpec, field: string, value: string): Promise<string> {
    const key = this.keys.instance(instance.batchId, instance.instanceKey);
    const now = await this.cmd.provflowLedgerSetIfAbsent(key, field, value);
    return typeof now === 'string' ? now : value;
  }

  async del(instance: InstanceSpec, fields: string[]): Promise<void> {
    if (fields.length) await this.redis.hdel(this.keys.instance(instance.batchId, instance.instanceKey), ...fields);
  }

  async getBatchCache(batchId: string, key: string): Promise<string | null> {
    return this.redis.hget(this.keys.cache(batchId), key);
  }

  async setBatchCache(batchId: string, key: string, value: string): Promise<void> {
    await this.redis.hset(this.keys.cache(batchId), key, value);
  }

  async getSealedCredentials(instance: InstanceSpec): Promise<string | null> {
    return this.redis.hget(this.keys.secrets(instance.batchId), instance.instanceKey);
  }

  async deleteSealedCredentials(instance: InstanceSpec): Promise<void> {
    await this.redis.hdel(this.keys.secrets(instance.batchId), instance.instanceKey);
  }

  /**
   * Sets `state` unless the poller has already recorded a later one (a retried start-job must not
   * turn a steady instance back into "started"). Atomic, so it cannot interleave with the poller.
   */
  async setPipelineState(batchId: string, instanceKey: string, state: string): Promise<boolean> {
    const set = await this.cmd.provflowLedgerSetState(this.keys.instance(batchId, instanceKey), state);
    return set === 1;
  }

  /**
   * Counts one attempt of a step (the processor calls it on every run that is not a wait) and
   * shows its running state unless the instance is past the pipeline: one atomic script.
   */
  async recordAttempt(batchId: string, instanceKey: string, step: string, state: string): Promise<void> {
    const key = this.keys.instance(batchId, instanceKey);
    await this.cmd.provflowLedgerStep(key, '1', state, 'step', step, 'updatedAt', String(Date.now()));
  }

  /** A step that waits (replication, reconcile): why, and its running state unless past the pipeline. */
  async recordWait(batchId: string, instanceKey: string, step: string, detail: string, state: string): Promise<void> {
    const key = this.keys.instance(batchId, instanceKey);
    await this.cmd.provflowLedgerStep(key, '0', state, 'step', step, 'detail', detail, 'updatedAt', String(Date.now()));
  }

  /**
   * Registers a batch and its instances. Idempotent: re-registering keeps existing instance
   * hashes (HSETNX on the fields that describe the instance, state only when absent). Pass only
   * instances whose flow is about to be added: their sealed credentials are replaced.
   */
  async registerBatch(
    meta: BatchMeta,
    instances: {
      instanceKey: string;
      index: number;
      displayName: string;
      sealedCredentials: string | null;
      tenant?: string;
      /** The root step of the flow about to be added (it varies with the onboarding fields). */
      rootStep?: string;
    }[],
  ): Promise<{ added: number }> {
    const p = this.redis.pipeline();
    p.zadd(this.keys.batches, 'NX', meta.createdAt, meta.batchId);
    p.hsetnx(this.keys.batch(meta.batchId), 'createdAt', String(meta.createdAt));
    p.hset(this.keys.batch(meta.batchId), {
      batchId: meta.batchId,
      instances: String(meta.instances),
      sourceFile: meta.sourceFile,
      ...(meta.sourceSha256 ? { sourceSha256: meta.sourceSha256 } : {}),
    });
    for (const inst of instances) {
      p.zadd(this.keys.instances(meta.batchId), 'NX', inst.index, inst.instanceKey);
      const key = this.keys.instance(meta.batchId, inst.instanceKey);
      p.hsetnx(key, 'displayName', inst.displayName);
      p.hsetnx(key, 'index', String(inst.index));
      if (inst.tenant && inst.tenant !== DEFAULT_TENANT) p.hsetnx(key, 'tenant', inst.tenant);
      p.hsetnx(key, 'state', QUEUED);
      p.hsetnx(key, 'enqueuedAt', String(meta.createdAt));
      // Overwrite: the flow about to be added is the instance's flow from now on.
      if (inst.rootStep) p.hset(key, 'rootStep', inst.rootStep);
      // Overwrite: callers pass only instances with no flow yet, so nothing has read these credentials,
      // and a re-enqueue after an interrupted one must seal what the file says now.
      if (inst.sealedCredentials) p.hset(this.keys.secrets(meta.batchId), inst.instanceKey, inst.sealedCredentials);
    }
    p.expire(this.keys.secrets(meta.batchId), SECRETS_TTL_SECONDS);
    const res = await p.exec();
    const added = (res ?? []).filter((_, i) => i >= 3).length; // informative only
    return { added };
  }

  async listBatches(): Promise<BatchMeta[]> {
    const ids = await this.redis.zrange(this.keys.batches, 0, -1);
    const out: BatchMeta[] = [];
    for (const id of ids) {
      const m = await this.getBatch(id);
      if (m) out.push(m);
    }
    return out;
  }

  async getBatch(batchId: string): Promise<BatchMeta | null> {
    const h = await this.redis.hgetall(this.keys.batch(batchId));
    if (!h.batchId) return null;
    return {
      batchId,
      createdAt: Number(h.createdAt),
      instances: Number(h.instances),
      sourceFile: h.sourceFile ?? '',
      sourceSha256: h.sourceSha256 ?? '',
    };
  }

  /** All instances of a batch in file order, read in pipelined chunks (10,000 instances stay cheap). */
  async listInstances(batchId: string): Promise<InstanceRecord[]> {
    const keys = await this.redis.zrange(this.keys.instances(batchId), 0, -1);
    const out: InstanceRecord[] = [];
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const p = this.redis.pipeline();
      for (const k of chunk) p.hgetall(this.keys.instance(batchId, k));
      const res = (await p.exec()) ?? [];
      chunk.forEach((k, j) => out.push(toRecord(k, (res[j]?.[1] ?? {}) as Record<string, string>)));
    }
    return out;
  }

  async getInstance(batchId: string, instanceKey: string): Promise<InstanceRecord | null> {
    const h = await this.redis.hgetall(this.keys.instance(batchId, instanceKey));
    return h.displayName ? toRecord(instanceKey, h) : null;
  }
}

const str = (v: string | undefined): string | null => (v === undefined || v === '' ? null : v);
const numOrNull = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));

function toRecord(instanceKey: string, h: Record<string, string>): InstanceRecord {
  let logFailures: Record<string, number> = {};
  try {
    logFailures = h.logFailures ? (JSON.parse(h.logFailures) as Record<string, number>) : {};
  } catch {
    logFailures = {};
  }
  return {
    instanceKey,
    index: Number(h.index ?? 0),
    displayName: h.displayName ?? instanceKey,
    tenant: h.tenant ?? DEFAULT_TENANT,
    state: h.state ?? 'unknown',
    step: str(h.step),
    templateId: str(h.templateId),
    applicationObjectId: str(h.applicationObjectId),
    appId: str(h.appId),
    servicePrincipalId: str(h.servicePrincipalId),
    jobId: str(h.jobId),
    adopted: str(h.adopted),
    attempts: Number(h.attempts ?? 0),
    lastError: str(h.lastError),
    jobCode: str(h.jobCode),
    lastExecution: str(h.lastExecution),
    quarantineReason: str(h.quarantineReason),
    quarantineNextAttempt: str(h.quarantineNextAttempt),
    detail: str(h.detail),
    logFailures,
    logEntries: Number(h.logEntries ?? 0),
    updatedAt: numOrNull(h.updatedAt),
    startedAt: numOrNull(h.startedAt),
    endedAt: numOrNull(h.endedAt),
    enqueuedAt: numOrNull(h.enqueuedAt),
    warning: str(h.warning),
    credentialsCheck: str(h.credentialsCheck),
    credentialsCheckedAt: numOrNull(h.credentialsCheckedAt),
    credentialsError: str(h.credentialsError),
    op: str(h.op),
    opState: str(h.opState),
    opError: str(h.opError),
    smokeTest: str(h.smokeTest),
    assignments: numOrNull(h.assignments),
    smokeTestPassed: h.smokeTestPassed === undefined ? null : h.smokeTestPassed === '1',
    schemaUpdatedAt: numOrNull(h.schemaUpdatedAt),
    rootStep: str(h.rootStep),
  };
}
