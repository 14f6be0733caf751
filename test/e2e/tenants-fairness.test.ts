/**
 * Fairness between tenants: a slow tenant's big part, enqueued first in the file, must not delay
 * another tenant's ready work. t1's Graph answers every request after 1.5 s and t1 has 150
 * instances ahead of t2's 3 in one batch; each worker has 10 slots. With one queue for both,
 * t2's first steps would wait behind t1's 150 (~150 × 1.5 s ÷ 10 slots ≈ 22 s before the first
 * t2 step); with a lane per tenant, t2's own worker starts them at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/app/runtime.ts';
import { startStepsWorkers } from '../../src/app/steps-worker.ts';
import type { WorkerSet } from '../../src/app/worker-set.ts';
import { startLocalStack, type LocalStack } from '../../src/dev/local-stack.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { END_STATES } from '../../src/ledger/instance-state.ts';
import { silentLogger } from '../../src/logger.ts';
import { startPoller, type PollerHandle } from '../../src/poller/start-poller.ts';
import { batchOf, instance } from '../helpers/batches.ts';
import { waitFor } from '../helpers/wait.ts';

let stack: LocalStack;
let rt: Runtime;
let workers: WorkerSet;
let poller: PollerHandle;

beforeAll(async () => {
  stack = await startLocalStack({
    profile: 'fast',
    timeScale: 50,
    tenants: 2,
    // Tenant t1's Graph is slow (every answer after 1.5 s); t2's answers at once, as the fast profile's.
    overrides: { latencyMs: { min: 1500, max: 1500 } },
    tenantOverrides: [{}, { latencyMs: { min: 0, max: 0 } }],
  });
  rt = await stack.runtime(silentLogger());
  workers = startStepsWorkers(rt, { concurrency: 10 });
  poller = startPoller(rt);
});

afterAll(async () => {
  await workers?.close();
  await poller?.close();
  await rt?.close();
  await stack?.close();
});

describe('fairness between tenants', () => {
  it("a slow tenant's 150 instances ahead in the file do not delay another tenant's 3", async () => {
    const slow = Array.from({ length: 150 }, (_, i) => ({ ...instance(i, `AWS Slow ${i}`), tenant: 't1' }));
    const fast = [0, 1, 2].map((i) => ({ ...instance(150 + i, `AWS Fast ${i}`), tenant: 't2' }));
    const t0 = Date.now();
    await enqueueBatch(rt, batchOf('fair', [...slow, ...fast]));
    const t2 = rt.lane('t2').ledger;
    const rows = await waitFor(
      "t2's instances steady",
      async () => {
        const r = await t2.listInstances('fair');
        return r.length === 3 && r.every((x) => x.state === 'steady') ? r : null;
      },
      60_000,
    );
    const fastSeconds = (Date.now() - t0) / 1000;
    const slowEnded = (await rt.lane('t1').ledger.listInstances('fair')).filter((r) => END_STATES.has(r.state));
    expect(rows.map((r) => r.tenant)).toEqual(['t2', 't2', 't2']);
    // t1 needs ≥ 6 requests of 1.5 s per instance on 10 slots: ≥ 135 s for its 150. t2 finished first,
    // within seconds, while nearly all of t1's part was still running.
    expect(slowEnded.length).toBeLessThan(15);
    expect(fastSeconds).toBeLessThan(20);
    expect(stack.sim.statsOf(stack.sim.tenants[1]!.tenantId).duplicateApplications).toBe(0);
  }, 90_000);
});
