/**
 * `provflow enqueue` SIGKILLed at many moments of a large batch, then enqueued again: every
 * instance must end with exactly one complete flow and a `queued` ledger entry. Kill moments are
 * taken from Redis itself (ledger rows vs. flows added) plus timed ones, so they land in every
 * phase: start-up, between the ledger write and the flow add of a chunk, right after a flow add.
 *
 * Long form (more kills, every kill of the 10,000-instance batch): PROVFLOW_ENQUEUE_KILLS_LONG=1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceKeyOf } from '../../src/batch/instance-key.ts';
import { stepJobId } from '../../src/flow/build-flow.ts';
import { QUEUES } from '../../src/flow/queues.ts';
import { stepsFor } from '../../src/steps/index.ts';
import { INSTANCE } from '../helpers/fake-graph.ts';
import { ledgerKeys } from '../../src/ledger/keys.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LONG = process.env.PROVFLOW_ENQUEUE_KILLS_LONG === '1';
/** The steps of these instances' flows: no onboarding fields, so the onboarding steps are left out. */
const STEP_LIST = stepsFor(INSTANCE);
const STEPS = STEP_LIST.length;

let redis: RedisHandle;
let client: Redis;
let dir: string;
beforeAll(async () => {
  redis = await testRedis({ own: true });
  client = new Redis(redis.url, { maxRetriesPerRequest: null });
  dir = mkdtempSync(path.join(os.tmpdir(), 'provflow-enqueue-kill-'));
});
afterAll(async () => {
  client?.disconnect();
  await redis?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const name = (i: number) => `AWS Kill ${String(i).padStart(5, '0')}`;

function writeBatch(batchId: string, n: number): string {
  const file = path.join(dir, `${batchId}.json`);
  const doc = {
    batchId,
    defaults: {
      applicationTemplate: 'Amazon Web Services (AWS)',
      synchronizationTemplateId: 'aws',
      credentials: { ClientSecret: { value: `cs-${randomBytes(8).toString('hex')}` } },
    },
    instances: Array.from({ length: n }, (_, i) => ({
      displayName: name(i),
      credentials: { SecretToken: { value: `tok-${i}` } },
    })),
  };
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

/** A moment to kill at: a delay after spawn, or a state of Redis (plus a small extra delay). */
type KillAt =
  | { kind: 'after-ms'; ms: number }
  /** This run wrote ledger rows that have no flow yet (the window that used to lose instances). */
  | { kind: 'ledger-ahead'; extraMs: number; minLedger?: number }
  /** This run added flows. */
  | { kind: 'flows-grew'; extraMs: number }
  /** This run made progress, then `ms` more. */
  | { kind: 'progress-then'; ms: number };

interface Counts {
  ledger: number;
  flows: number;
}

interface KillRecord {
  at: string;
  before: Counts;
  atKill: Counts;
  afterDeath: Counts;
}

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function enqueueProcess(file: string, env: Record<string, string>): { child: ChildProcess; exited: Promise<Exit> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/provflow.js'), 'enqueue', file, '--json'], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, exited };
}

function describeKill(k: KillAt): string {
  switch (k.kind) {
    case 'after-ms':
      return `${k.ms} ms after spawn`;
    case 'ledger-ahead':
      return `ledger ahead of flows${k.minLedger ? ` past ${k.minLedger}` : ''} +${k.extraMs} ms`;
    case 'flows-grew':
      return `flows added +${k.extraMs} ms`;
    case 'progress-then':
      return `progress, then ${k.ms} ms`;
  }
}

/** Drives one batch through a chain of killed enqueues, then one that runs to the end. */
async function killChain(batchId: string, n: number, kills: KillAt[]) {
  const prefix = testPrefix('kill');
  const env = { REDIS_URL: redis.url, BULLMQ_PREFIX: prefix, PROVFLOW_SECRET_KEY: randomBytes(32).toString('base64') };
  const file = writeBatch(batchId, n);
  const lk = ledgerKeys(prefix);
  const prioritized = `${prefix}:${QUEUES.steps}:prioritized`;
  const counts = async (): Promise<Counts> => {
    const r = (await client.pipeline().zcard(lk.instances(batchId)).zcard(prioritized).exec()) ?? [];
    return { ledger: Number(r[0]?.[1] ?? 0), flows: Number(r[1]?.[1] ?? 0) };
  };
  const records: KillRecord[] = [];
  for (const k of kills) {
    const before = await counts();
    const t0 = Date.now();
    const { child, exited } = enqueueProcess(file, env);
    let exited_ = false;
    void exited.then(() => (exited_ = true));
    let finishedFirst = false;
    let atKill = before;
    for (;;) {
      if (exited_) {
        finishedFirst = true;
        break;
      }
      const c = await counts();
      let fire = false;
      if (k.kind === 'after-ms') fire = Date.now() - t0 >= k.ms;
      else if (k.kind === 'ledger-ahead') {
        fire = c.ledger > Math.max(before.ledger, k.minLedger ?? 0) && c.ledger > c.flows;
      } else if (k.kind === 'flows-grew') fire = c.flows > before.flows;
      else fire = c.ledger > before.ledger || c.flows > before.flows;
      if (fire) {
        const extra = k.kind === 'after-ms' ? 0 : k.kind === 'progress-then' ? k.ms : k.extraMs;
        if (extra) await new Promise((r) => setTimeout(r, extra));
        atKill = await counts();
        child.kill('SIGKILL');
        break;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const res = await exited;
    if (finishedFirst) expect(res.code, res.stderr).toBe(0);
    const at = describeKill(k) + (finishedFirst ? ' (finished first)' : '');
    records.push({ at, before, atKill, afterDeath: await counts() });
  }
  const final = enqueueProcess(file, env);
  const done = await final.exited;
  expect(done.code, done.stderr).toBe(0);
  const result = JSON.parse(done.stdout) as { added: number; skipped: number; retried: number };
  return { prefix, records, result, file };
}

/** Every instance: all step jobs present, in one state set each, one flow's worth of jobs in total, ledger queued. */
async function verifyBatch(prefix: string, batchId: string, n: number) {
  const lk = ledgerKeys(prefix);
  const q = (s: string) => `${prefix}:${QUEUES.steps}:${s}`;
  const missing: string[] = [];
  const notQueued: string[] = [];
  const noSecret: string[] = [];
  for (let i = 0; i < n; i += 500) {
    const p = client.pipeline();
    const keys: string[] = [];
    for (let j = i; j < Math.min(n, i + 500); j++) {
      const key = instanceKeyOf(name(j));
      keys.push(key);
      for (const step of STEP_LIST) p.exists(q(stepJobId(batchId, key, step.name)));
      p.hget(lk.instance(batchId, key), 'state');
      p.hexists(lk.secrets(batchId), key);
      // Each parent depends on exactly one child: a second add of a flow would show here.
      for (const step of STEP_LIST.slice(1)) p.scard(`${q(stepJobId(batchId, key, step.name))}:dependencies`);
    }
    const r = ((await p.exec()) ?? []).map((x) => x?.[1]);
    const per = STEPS + 2 + (STEPS - 1);
    keys.forEach((key, j) => {
      const row = r.slice(j * per, (j + 1) * per);
      if (row.slice(0, STEPS).some((v) => v !== 1)) missing.push(key);
      if (row[STEPS] !== 'queued') notQueued.push(`${key}=${String(row[STEPS])}`);
      if (row[STEPS + 1] !== 1) noSecret.push(key);
      const deps = row.slice(STEPS + 2);
      if (deps.some((v) => v !== 1)) missing.push(`${key} (dependencies ${deps.join(',')})`);
    });
  }
  const p = client.pipeline().zcard(q('prioritized')).zcard(q('waiting-children')).llen(q('wait')).zcard(q('delayed'));
  const sets = (await p.exec()) ?? [];
  const [prio, waitingChildren, wait, delayed] = sets.map((x) => Number(x?.[1] ?? 0));
  expect(missing.slice(0, 5), `${missing.length} instances without a complete flow`).toEqual([]);
  expect(notQueued.slice(0, 5), `${notQueued.length} instances not queued`).toEqual([]);
  expect(noSecret.slice(0, 5), `${noSecret.length} instances without sealed credentials`).toEqual([]);
  // Exactly one flow per instance: one runnable leaf and STEPS-1 parents each, nothing else.
  const expected = { prio: n, waitingChildren: n * (STEPS - 1), wait: 0, delayed: 0 };
  expect({ prio, waitingChildren, wait, delayed }).toEqual(expected);
  expect(await client.zcard(lk.instances(batchId))).toBe(n);
  expect(await client.hget(lk.batch(batchId), 'instances')).toBe(String(n));
}

function report(label: string, records: KillRecord[]) {
  const lines = records.map(
    (r, i) =>
      `${String(i + 1).padStart(2)} ${r.at.padEnd(40)} before ${r.before.ledger}/${r.before.flows}` +
      ` kill ${r.atKill.ledger}/${r.atKill.flows} dead ${r.afterDeath.ledger}/${r.afterDeath.flows}`,
  );
  process.stderr.write(`${label} (ledger rows / flows):\n${lines.join('\n')}\n`);
}

describe('interrupted enqueue', () => {
  it('a 3,000-instance batch killed at 20+ moments, enqueued again each time: one flow each, all queued', async () => {
    const n = LONG ? 6000 : 3000;
    const kills: KillAt[] = [
      { kind: 'after-ms', ms: 100 },
      { kind: 'ledger-ahead', extraMs: 0 },
      { kind: 'flows-grew', extraMs: 0 },
      { kind: 'ledger-ahead', extraMs: 2 },
      { kind: 'flows-grew', extraMs: 5 },
      { kind: 'progress-then', ms: 30 },
      { kind: 'ledger-ahead', extraMs: 0 },
      { kind: 'after-ms', ms: 1200 },
      { kind: 'flows-grew', extraMs: 0 },
      { kind: 'ledger-ahead', extraMs: 6 },
      { kind: 'progress-then', ms: 80 },
      { kind: 'flows-grew', extraMs: 15 },
      { kind: 'ledger-ahead', extraMs: 0 },
      { kind: 'progress-then', ms: 10 },
      { kind: 'ledger-ahead', extraMs: 1 },
      { kind: 'flows-grew', extraMs: 0 },
      { kind: 'progress-then', ms: 150 },
      { kind: 'ledger-ahead', extraMs: 0 },
      { kind: 'flows-grew', extraMs: 3 },
      { kind: 'ledger-ahead', extraMs: 10 },
      { kind: 'progress-then', ms: 50 },
      { kind: 'ledger-ahead', extraMs: 0 },
      ...(LONG
        ? Array.from({ length: 20 }, (_, i): KillAt =>
            i % 2 ? { kind: 'ledger-ahead', extraMs: i } : { kind: 'progress-then', ms: i * 20 },
          )
        : []),
    ];
    const { prefix, records, result } = await killChain('killed-3000', n, kills);
    report(`killed-${n}`, records);
    // The chain really hit the moments that matter: kills with ledger rows ahead of flows.
    const stranded = records.filter((r) => r.afterDeath.ledger > r.afterDeath.flows).length;
    expect(stranded, 'kills that left ledger rows without flows').toBeGreaterThanOrEqual(5);
    expect(records.filter((r) => !r.at.includes('finished first')).length).toBeGreaterThanOrEqual(20);
    expect(result.added + result.skipped).toBe(n);
    await verifyBatch(prefix, 'killed-3000', n);
  }, 360_000);

  it('a 10,000-instance batch killed mid-way (more in the long form), enqueued again: one flow each', async () => {
    const n = 10_000;
    const kills: KillAt[] = LONG
      ? Array.from({ length: 12 }, (_, i): KillAt =>
          i % 3 === 0 ? { kind: 'ledger-ahead', extraMs: i } : { kind: 'progress-then', ms: 300 * i },
        )
      : [{ kind: 'ledger-ahead', extraMs: 0, minLedger: 4000 }];
    const { prefix, records, result } = await killChain('killed-10k', n, kills);
    report('killed-10k', records);
    expect(records.some((r) => r.afterDeath.ledger > r.afterDeath.flows)).toBe(true);
    expect(result.added + result.skipped).toBe(n);
    await verifyBatch(prefix, 'killed-10k', n);
  }, 180_000);
});
