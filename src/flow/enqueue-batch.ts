/**
 * Enqueueing a validated batch: seal credentials, register the batch in the ledger, and add
 * one flow per instance — in chunks, so a 10,000-instance file stays in bounded memory. Each
 * tenant's part goes into that tenant's lane (its own queues and ledger, one hash tag), the
 * tenants' chunks taken in turn.
 *
 * Re-enqueueing the same batch adds nothing for instances that are in progress or done; an
 * instance that failed is retried (its old failed jobs removed, its ledger ids kept so the
 * steps re-use the app and job they already created).
 *
 * An enqueue may die at any moment (Ctrl-C, SIGKILL, OOM, a lost connection). Each chunk writes
 * the ledger first and then adds its flows in one MULTI (all of a chunk's jobs or none), so the
 * only half-done state is "ledger says queued, no flow". A re-enqueue therefore decides per
 * instance from the ledger AND BullMQ: `queued` with no job of its flow means the flow was never
 * added, and it is added now. Nothing else can be added twice: a `queued` instance has run no step
 * (the first run of any step changes the state), and an instance with a flow job is left alone.
 */
import { FlowProducer, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Batch, BatchInstance } from '../batch/batch-types.ts';
import { QUEUED } from '../ledger/instance-state.ts';
import type { BatchMeta, Ledger } from '../ledger/ledger.ts';
import { rootStepOf, STEPS } from '../steps/index.ts';
import type { InstanceSpec } from '../steps/instance.ts';
import type { Vault } from '../secrets/vault.ts';
import { DEFAULT_TENANT } from '../redis-keys.ts';
import { collectGarbageAbove } from './memory-budget.ts';
import { buildInstanceFlow, stepJobId } from './build-flow.ts';
import { DEFAULT_RETENTION, type Retention } from './job-policies.ts';
import { registerTenants } from '../ledger/tenant-ledgers.ts';
import { withEnqueueClaim } from './enqueue-claim.ts';

/** What an enqueue did, per instance category. */
export interface EnqueueResult {
  batchId: string;
  /** New instances, and instances a killed enqueue had recorded without adding their flow. */
  added: number;
  /** Of `added`: instances whose flow an interrupted enqueue never added. */
  resumed: number;
  retried: number;
  skipped: number;
  durationMs: number;
}

function specOf(batchId: string, inst: BatchInstance): InstanceSpec {
  return {
    batchId,
    instanceKey: inst.instanceKey,
    displayName: inst.displayName,
    applicationTemplate: inst.applicationTemplate,
    synchronizationTemplateId: inst.synchronizationTemplateId,
    // Only when asked for: instances without onboarding fields keep the job data they always had.
    ...(inst.onboarding ? { onboarding: inst.onboarding } : {}),
    // Absent for `default`: the same job payload (and job ids) as a single-tenant deployment.
    ...(inst.tenant && inst.tenant !== DEFAULT_TENANT ? { tenant: inst.tenant } : {}),
  };
}

/**
 * The batch exists in Redis from another file. Same file means same path (re-enqueued after a
 * fix) or same bytes (moved); batches recorded before provflow kept a path count as the same.
 */
export class BatchSourceConflictError extends Error {
  override readonly name = 'BatchSourceConflictError';
  constructor(
    readonly batch: Pick<Batch, 'batchId' | 'sourceFile'>,
    readonly existing: BatchMeta,
  ) {
    super(
      `batch '${batch.batchId}' already exists in this Redis, enqueued from ${existing.sourceFile}; ` +
        `${batch.sourceFile} is another file. Nothing was enqueued. Give this file its own batch id: ` +
        `--batch-id ${batch.batchId.slice(0, 62)}-2 (or any unused id), or "batchId" in the file. ` +
        `To retry the existing batch, enqueue ${existing.sourceFile} again.`,
    );
  }
}

function sameSource(existing: BatchMeta, batch: Batch): boolean {
  if (!existing.sourceFile || existing.sourceFile === batch.sourceFile) return true;
  return !!existing.sourceSha256 && existing.sourceSha256 === batch.sourceSha256;
}

const CHUNK = 250;
/** JS heap in use above which the enqueue collects garbage between chunks. */
const HEAP_BUDGET_BYTES = 96 * 1024 * 1024;

/** One tenant's queue and ledger, where that tenant's part of a batch goes. */
export interface EnqueueLane {
  prefix: string;
  ledger: Ledger;
  stepsQueue: Queue;
}

/** Where a batch is enqueued: the runtime (`createRuntime`, `startLocalStack().runtime()`) is one. */
export interface EnqueueTarget {
  redis: Redis;
  vault: Vault;
  /** The deployment's prefix, where the registry of tenants with work lives. */
  basePrefix: string;
  /** Each tenant's queue and ledger (its own hash tag): a batch is split by tenant. */
  lane(tenant: string): EnqueueLane;
}

type Meta = Omit<BatchMeta, 'instances'>;

/**
 * The batch's instances by tenant, in file order. Each tenant's part is enqueued into that
 * tenant's own queue and ledger, so its workers start on it at once, whatever the file's order.
 */
function partsByTenant(batch: Batch): Map<string, BatchInstance[]> {
  const parts = new Map<string, BatchInstance[]>();
  for (const inst of batch.instances) {
    const tenant = inst.tenant ?? DEFAULT_TENANT;
    const part = parts.get(tenant);
    if (part) part.push(inst);
    else parts.set(tenant, [inst]);
  }
  if (!parts.size) parts.set(DEFAULT_TENANT, []);
  return parts;
}

type EnqueueOptions = { retention?: Retention; onProgress?: (done: number, total: number) => void };

/** Enqueues the batch; throws BatchBusyError (nothing written) while another enqueue of it runs. */
export async function enqueueBatch(
  target: EnqueueTarget,
  batch: Batch,
  opts: EnqueueOptions = {},
): Promise<EnqueueResult> {
  return withEnqueueClaim(target.redis, target.basePrefix, batch.batchId, () => enqueueClaimed(target, batch, opts));
}

async function enqueueClaimed(target: EnqueueTarget, batch: Batch, opts: EnqueueOptions): Promise<EnqueueResult> {
  const t0 = Date.now();
  const result: EnqueueResult = { batchId: batch.batchId, added: 0, resumed: 0, retried: 0, skipped: 0, durationMs: 0 };
  const parts = partsByTenant(batch);
  // Checked in every tenant's part before anything is written: a default batch id must not merge two files' batches.
  let createdAt = Date.now();
  for (const tenant of parts.keys()) {
    const existing = await target.lane(tenant).ledger.getBatch(batch.batchId);
    if (existing && !sameSource(existing, batch)) throw new BatchSourceConflictError(batch, existing);
    if (existing) createdAt = Math.min(createdAt, existing.createdAt);
  }
  await registerTenants(target.redis, target.basePrefix, [...parts.keys()]);
  const meta: Meta = {
    batchId: batch.batchId,
    createdAt,
    sourceFile: batch.sourceFile,
    sourceSha256: batch.sourceSha256,
  };
  const total = batch.instances.length;
  const retention = opts.retention ?? DEFAULT_RETENTION;
  const lanes = [...parts].map(([tenant, part]) => {
    const lane = target.lane(tenant);
    return { lane, part, flows: new FlowProducer({ connection: target.redis, prefix: lane.prefix }) };
  });
  try {
    // Round-robin over the tenants' parts, a chunk at a time: each tenant's first instances are
    // queued (and its workers start) within one round, however large the parts listed before it.
    let done = 0;
    const rounds = Math.max(...lanes.map((l) => Math.ceil(l.part.length / CHUNK)));
    for (let r = 0; r < rounds; r++) {
      for (const { lane, part, flows } of lanes) {
        const chunk = part.slice(r * CHUNK, (r + 1) * CHUNK);
        if (!chunk.length) continue;
        await enqueueChunk(target, { lane, flows }, { batch, chunk, meta, total, retention }, result);
        opts.onProgress?.((done += chunk.length), total);
        // Bounded memory for any batch size: see src/flow/memory-budget.ts for why V8 needs the nudge.
        collectGarbageAbove(HEAP_BUDGET_BYTES);
      }
    }
    for (const { lane, part } of lanes)
      if (!part.length) await lane.ledger.registerBatch({ ...meta, instances: total }, []);
  } finally {
    await Promise.all(lanes.map((l) => l.flows.close()));
  }
  result.durationMs = Date.now() - t0;
  return result;
}

/** One chunk of one tenant's part: look at what exists, then write the ledger and add the flows. */
async function enqueueChunk(
  target: EnqueueTarget,
  to: { lane: EnqueueLane; flows: FlowProducer },
  what: { batch: Batch; chunk: BatchInstance[]; meta: Meta; total: number; retention: Retention },
  result: EnqueueResult,
): Promise<void> {
  const { batch, chunk, meta, total, retention } = what;
  const { ledger, stepsQueue } = to.lane;
  const jobKey = (inst: BatchInstance, step: string) =>
    stepsQueue.toKey(stepJobId(batch.batchId, inst.instanceKey, step));
  // Ledger state and root-job presence of each instance decide: new, resume, retry, or leave alone.
  const p = target.redis.pipeline();
  for (const inst of chunk) {
    p.hget(ledger.keys.instance(batch.batchId, inst.instanceKey), 'state');
    // Any job of the instance: its flow may have another shape than the one this enqueue builds
    // (built before idle steps were left out, or from an edited file); adding over it would mix two.
    p.exists(...STEPS.map((step) => jobKey(inst, step.name)));
  }
  const replies = ((await p.exec()) ?? []).map((r) => r?.[1]);
  const fresh: BatchInstance[] = [];
  const resume: BatchInstance[] = [];
  const retry: BatchInstance[] = [];
  chunk.forEach((inst, j) => {
    const s = (replies[2 * j] as string | null | undefined) ?? null;
    const flowExists = Number(replies[2 * j + 1]) > 0;
    if (s === null) fresh.push(inst);
    else if (s === 'failed') retry.push(inst);
    else if (s === QUEUED && !flowExists) resume.push(inst);
    else result.skipped++;
  });
  for (const inst of [...retry]) {
    // Every step job of the old flow goes, not just the root's tree: a failed child left behind
    // would be reused by the new flow (same id) and hold it in waiting-children for ever.
    // The root of the flow this enqueue would build; an older flow of another shape is a failed
    // one (only those are retried), and the loop below removes its jobs whatever its shape.
    const root = await stepsQueue.getJob(
      stepJobId(batch.batchId, inst.instanceKey, rootStepOf(specOf(batch.batchId, inst))),
    );
    if (root) await root.remove({ removeChildren: true }).catch(() => undefined);
    for (const step of STEPS) {
      await stepsQueue.remove(stepJobId(batch.batchId, inst.instanceKey, step.name)).catch(() => 0);
    }
    // A job BullMQ would not remove (still locked by a worker finishing it) stays: retry next time.
    const left = await target.redis.exists(...STEPS.map((step) => jobKey(inst, step.name)));
    if (left > 0) {
      retry.splice(retry.indexOf(inst), 1);
      result.skipped++;
      continue;
    }
    // Start over from the ledger's ids; new credentials must be validated and saved again.
    // Killed after this line, the instance is `queued` without a root job: the next enqueue resumes it.
    await ledger.update(batch.batchId, inst.instanceKey, {
      state: QUEUED,
      lastError: null,
      secretsSaved: null,
      endedAt: null,
      detail: null,
    });
    await target.redis.hdel(ledger.keys.secrets(batch.batchId), inst.instanceKey);
  }
  const toAdd = [...fresh, ...resume, ...retry];
  const sealed = await Promise.all(
    toAdd.map(async (inst) =>
      inst.credentials.length ? target.vault.seal(inst.credentials, specOf(batch.batchId, inst)) : null,
    ),
  );
  await ledger.registerBatch(
    { ...meta, instances: total },
    toAdd.map((inst, j) => ({
      instanceKey: inst.instanceKey,
      index: inst.index,
      displayName: inst.displayName,
      sealedCredentials: sealed[j] ?? null,
      tenant: inst.tenant,
      rootStep: rootStepOf(specOf(batch.batchId, inst)),
    })),
  );
  if (toAdd.length)
    await to.flows.addBulk(toAdd.map((inst) => buildInstanceFlow(specOf(batch.batchId, inst), retention)));
  result.added += fresh.length + resume.length;
  result.resumed += resume.length;
  result.retried += retry.length;
}
