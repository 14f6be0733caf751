/**
 * The half-done states an interrupted enqueue (or retry) can leave, built exactly on a real Redis,
 * and what the next enqueue makes of them: every instance ends with one complete, runnable flow.
 * (test/e2e/enqueue-interrupted.test.ts reaches the same states by SIGKILLing the real CLI.)
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/app/runtime.ts';
import { loadConfig } from '../../src/config.ts';
import { buildInstanceFlow, stepJobId } from '../../src/flow/build-flow.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { BatchBusyError, enqueueClaimKey } from '../../src/flow/enqueue-claim.ts';
import { QUEUES } from '../../src/flow/queues.ts';
import { STEPS, stepsFor } from '../../src/steps/index.ts';
import { FlowProducer } from 'bullmq';
import { INSTANCE } from '../helpers/fake-graph.ts';
import { buildAllStepsFlow } from '../helpers/old-flow.ts';
import { silentLogger } from '../../src/logger.ts';
import { simpleBatch } from '../helpers/batches.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';

let redis: RedisHandle;
let rt: Runtime;
beforeAll(async () => {
  redis = await testRedis();
  const key = randomBytes(32).toString('base64');
  const cfg = loadConfig({ REDIS_URL: redis.url, BULLMQ_PREFIX: testPrefix('resume'), PROVFLOW_SECRET_KEY: key });
  rt = await createRuntime(cfg, { logger: silentLogger() });
});
afterAll(async () => {
  await rt?.close();
  await redis?.close();
});

const enqueue = (batch: ReturnType<typeof simpleBatch>) => enqueueBatch(rt, batch);

/** The steps of these batches' flows (no onboarding fields: the steps that would do nothing are left out). */
const FLOW = stepsFor(INSTANCE);
const FIRST = FLOW[0]!.name;
const ROOT = FLOW.at(-1)!.name;

/** Job state of every step of an instance, first step first ('unknown' for the steps left out). */
async function flowStates(batchId: string, key: string): Promise<string[]> {
  return Promise.all(STEPS.map(async (s) => rt.stepsQueue.getJobState(stepJobId(batchId, key, s.name))));
}

/** A fresh flow: first step runnable, every other step of the flow waiting for it. */
const FRESH = STEPS.map((s, i) => (i === 0 ? 'prioritized' : FLOW.includes(s) ? 'waiting-children' : 'unknown'));

/** Fails every instance's first step (and so, upwards, its whole flow) as a worker would. */
async function failAll(batchId: string, keys: string[]) {
  const worker = new Worker(
    QUEUES.steps,
    async () => {
      throw new UnrecoverableError('rejected on purpose');
    },
    { connection: rt.redis.duplicate(), prefix: rt.prefix, concurrency: 10 },
  );
  try {
    await waitFor(
      'every flow failed',
      async () => {
        const states = await Promise.all(keys.map((k) => rt.stepsQueue.getJobState(stepJobId(batchId, k, ROOT))));
        return states.every((s) => s === 'failed');
      },
      30_000,
    );
  } finally {
    await worker.close();
  }
  for (const k of keys) await rt.ledger.update(batchId, k, { state: 'failed', lastError: 'rejected on purpose' });
}

describe('re-enqueue after an interrupted enqueue', () => {
  it('ledger written, flows never added (killed between the two): the flows are added, once', async () => {
    const batch = simpleBatch('resume-a', 6);
    // The state the old code left for good: registered as queued, no job.
    await rt.ledger.registerBatch(
      { batchId: 'resume-a', createdAt: Date.now(), instances: 6, sourceFile: '(test)' },
      batch.instances.map((i) => ({
        instanceKey: i.instanceKey,
        index: i.index,
        displayName: i.displayName,
        sealedCredentials: null,
      })),
    );
    const res = await enqueue(batch);
    expect(res).toMatchObject({ added: 6, resumed: 6, skipped: 0, retried: 0 });
    for (const i of batch.instances) {
      expect(await flowStates('resume-a', i.instanceKey)).toEqual(FRESH);
      // The sealed credentials the step will open were written by this enqueue.
      expect(await rt.redis.hexists(rt.ledger.keys.secrets('resume-a'), i.instanceKey)).toBe(1);
    }
    const again = await enqueue(batch);
    expect(again).toMatchObject({ added: 0, resumed: 0, skipped: 6 });
  });

  it('a queued instance whose flow has another shape (older release, edited file) is not added again', async () => {
    const batch = simpleBatch('resume-old', 3);
    const [old, edited] = batch.instances as [(typeof batch.instances)[0], (typeof batch.instances)[0]];
    await rt.ledger.registerBatch(
      { batchId: 'resume-old', createdAt: Date.now(), instances: 3, sourceFile: '(test)' },
      batch.instances.map((i) => ({ ...i, sealedCredentials: null })),
    );
    const spec = (i: typeof old) => ({ ...INSTANCE, batchId: 'resume-old', instanceKey: i.instanceKey });
    const flows = new FlowProducer({ connection: rt.redis, prefix: rt.prefix });
    // An enqueue of the previous release added the first instance's flow with all ten steps; this
    // release added the second one's without onboarding fields, and the file now asks it for a
    // smoke test (whose root, smoke-test, that flow lacks).
    await flows.add(buildAllStepsFlow(spec(old)));
    await flows.add(buildInstanceFlow(spec(edited)));
    await flows.close();
    edited.onboarding = { smokeTest: { subject: 'u1' } };
    const res = await enqueue(batch);
    expect(res).toMatchObject({ added: 1, resumed: 1, skipped: 2 });
    // Both flows are untouched: nothing was added over them.
    expect(await flowStates('resume-old', old.instanceKey)).toEqual(
      STEPS.map((_, i) => (i === 0 ? 'prioritized' : 'waiting-children')),
    );
    expect(await flowStates('resume-old', edited.instanceKey)).toEqual(FRESH);
  });

  it('a failed instance whose retry died at any point is retried to one fresh flow', async () => {
    const batch = simpleBatch('resume-b', 4);
    const keys = batch.instances.map((i) => i.instanceKey);
    await enqueue(batch);
    await failAll('resume-b', keys);
    const [, b, c, d] = keys as [string, string, string, string];
    // a: nothing done yet. b: root tree removed, ledger still failed.
    await (await rt.stepsQueue.getJob(stepJobId('resume-b', b, ROOT)))!.remove({ removeChildren: true });
    // c: ledger reset to queued, old jobs removed, new flow not added (killed before addBulk).
    await (await rt.stepsQueue.getJob(stepJobId('resume-b', c, ROOT)))!.remove({ removeChildren: true });
    await rt.ledger.update('resume-b', c, { state: 'queued', lastError: null });
    // d: the root is gone (retention, an operator on the board) but a failed step is left: reused
    // by id, it would hold the new flow in waiting-children for ever.
    await (await rt.stepsQueue.getJob(stepJobId('resume-b', d, ROOT)))!.remove({ removeChildren: false });
    expect(await rt.stepsQueue.getJob(stepJobId('resume-b', d, ROOT))).toBeUndefined();
    expect(await rt.stepsQueue.getJobState(stepJobId('resume-b', d, FIRST))).toBe('failed');

    const res = await enqueue(batch);
    expect(res).toMatchObject({ added: 1, resumed: 1, retried: 3, skipped: 0 });
    for (const k of keys) {
      expect(await flowStates('resume-b', k), k).toEqual(FRESH);
      expect((await rt.ledger.getInstance('resume-b', k))?.state).toBe('queued');
    }
    expect(await enqueue(batch)).toMatchObject({ added: 0, retried: 0, skipped: 4 });
  }, 60_000);
});

describe('a batch spanning tenants', () => {
  it("goes tenant by tenant into each tenant's lane, the tenants' chunks in turn", async () => {
    const batch = simpleBatch('lanes', 605);
    batch.instances.forEach((inst, i) => (inst.tenant = i < 600 ? 'big' : 'small'));
    const progress: number[] = [];
    const res = await enqueueBatch(rt, batch, { onProgress: (done) => progress.push(done) });
    expect(res.added).toBe(605);
    // 250 of big, then small's 5 (its workers can start), then big's next chunks.
    expect(progress).toEqual([250, 255, 505, 605]);
    const [big, small] = [rt.lane('big'), rt.lane('small')];
    expect((await small.ledger.listInstances('lanes')).map((r) => r.tenant)).toEqual(Array(5).fill('small'));
    expect((await big.ledger.listInstances('lanes')).length).toBe(600);
    expect(await rt.ledger.getBatch('lanes')).toBeNull();
    expect(await small.stepsQueue.getJobCountByTypes('prioritized', 'waiting')).toBe(5);
    // Each part carries the batch's meta (the whole batch's count), so every cross-tenant read finds it.
    expect((await small.ledger.getBatch('lanes'))?.instances).toBe(605);
  });
});

describe('two enqueues of one batch at once', () => {
  it('the second is refused naming the first, writes nothing, and may run once the first is done', async () => {
    const batch = simpleBatch('claimed', 300);
    const first = enqueueBatch(rt, batch);
    // The first holds the claim from its first await: the second is refused before writing anything.
    const second = await enqueueBatch(rt, simpleBatch('claimed', 3)).catch((e: Error) => e);
    expect(second).toBeInstanceOf(BatchBusyError);
    expect((second as Error).message).toMatch(
      /batch 'claimed' is being enqueued by another enqueue \(host .*, pid \d+/,
    );
    expect((await first).added).toBe(300);
    expect((await rt.ledger.listInstances('claimed')).length).toBe(300);
    // Released when done: the same batch again is a normal re-enqueue (nothing new).
    expect((await enqueueBatch(rt, batch)).skipped).toBe(300);
    expect(await rt.redis.exists(enqueueClaimKey(rt.basePrefix, 'claimed'))).toBe(0);
  });

  it('the claim of an enqueue killed on this host is taken over at once (its pid is gone)', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    const key = enqueueClaimKey(rt.basePrefix, 'killed-here');
    await rt.redis.set(key, JSON.stringify({ host: os.hostname(), pid: dead, at: Date.now() }), 'PX', 30_000);
    expect((await enqueueBatch(rt, simpleBatch('killed-here', 2))).added).toBe(2);
    expect(await rt.redis.exists(key)).toBe(0);
    // A live holder on this host (this very test's parent process) is respected.
    await rt.redis.set(key, JSON.stringify({ host: os.hostname(), pid: process.ppid, at: Date.now() }), 'PX', 30_000);
    await expect(enqueueBatch(rt, simpleBatch('killed-here', 2))).rejects.toThrow(BatchBusyError);
    await rt.redis.del(key);
  });

  it("a killed enqueue's claim lapses by itself; a foreign claim is neither extended nor released", async () => {
    const key = enqueueClaimKey(rt.basePrefix, 'stale');
    await rt.redis.set(key, JSON.stringify({ host: 'gone', pid: 1, at: Date.now() }), 'PX', 1500);
    await expect(enqueueBatch(rt, simpleBatch('stale', 2))).rejects.toThrow(/host gone, pid 1/);
    // The refused enqueue left the other's claim alone: still there, its time to live not reset.
    expect(await rt.redis.exists(key)).toBe(1);
    expect(await rt.redis.pttl(key)).toBeLessThanOrEqual(1500);
    await waitFor('the stale claim to lapse', async () => (await rt.redis.exists(key)) === 0, 5000);
    expect((await enqueueBatch(rt, simpleBatch('stale', 2))).added).toBe(2);
  });
});
