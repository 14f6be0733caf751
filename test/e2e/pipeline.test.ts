/**
 * The pipeline end to end: real Redis, the simulator over HTTPS, real MSAL and fetch, real
 * BullMQ workers (in-process here; child processes in the crash tests).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../src/dev/local-stack.ts';
import type { Runtime } from '../../src/app/runtime.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { startStepsWorker } from '../../src/app/steps-worker.ts';
import { silentLogger } from '../../src/logger.ts';
import { startPoller, type PollerHandle } from '../../src/poller/start-poller.ts';
import type { Worker } from 'bullmq';
import { FlowProducer } from 'bullmq';
import { stepJobId } from '../../src/flow/build-flow.ts';
import { STEPS } from '../../src/steps/index.ts';
import { batchOf, instance, simpleBatch } from '../helpers/batches.ts';
import { buildAllStepsFlow } from '../helpers/old-flow.ts';
import { waitForStates } from '../helpers/wait.ts';

let stack: LocalStack;
let rt: Runtime;
let worker: Worker;
let poller: PollerHandle;

beforeAll(async () => {
  stack = await startLocalStack({ profile: 'fast', timeScale: 50 });
  rt = await stack.runtime(silentLogger());
  worker = startStepsWorker(rt, { concurrency: 20 });
  poller = startPoller(rt);
});

afterAll(async () => {
  await worker?.close();
  await poller?.close();
  await rt?.close();
  await stack?.close();
});

const enqueue = (batch: ReturnType<typeof simpleBatch>) => enqueueBatch(rt, batch);

describe('pipeline', () => {
  it('a batch goes from file to steady, one app per instance, ids in the ledger', async () => {
    const batch = simpleBatch('e2e-basic', 8);
    const res = await enqueue(batch);
    expect(res.added).toBe(8);
    const rows = await waitForStates(rt.ledger, 'e2e-basic', ['steady', 'failed', 'quarantined'], 60_000);
    expect(rows.map((r) => r.state)).toEqual(Array(8).fill('steady'));
    for (const r of rows) {
      expect(r.appId).toBeTruthy();
      expect(r.servicePrincipalId).toBeTruthy();
      expect(r.jobId).toMatch(/^aws\./);
    }
    const stats = stack.sim.stats();
    expect(stats.duplicateApplications).toBe(0);
    expect(stats.jobsByCode.Active).toBeGreaterThanOrEqual(8);
  });

  it('enqueueing the same batch again creates nothing new', async () => {
    const before = stack.sim.stats();
    const res = await enqueue(simpleBatch('e2e-basic', 8));
    expect(res).toMatchObject({ added: 0, retried: 0, skipped: 8 });
    await new Promise((r) => setTimeout(r, 500));
    const after = stack.sim.stats();
    expect(after.applications).toBe(before.applications);
    expect(after.writes).toBe(before.writes);
  });

  it('a flow has no job for the steps with nothing to do; its root, start-job, hands over to the poller', async () => {
    const batch = simpleBatch('e2e-short', 2);
    await enqueue(batch);
    for (const { instanceKey } of batch.instances) {
      for (const idle of ['update-schema', 'assign-groups', 'smoke-test'])
        expect(await rt.stepsQueue.getJob(stepJobId('e2e-short', instanceKey, idle))).toBeUndefined();
      const root = await rt.stepsQueue.getJob(stepJobId('e2e-short', instanceKey, 'start-job'));
      expect(root?.parentKey).toBeUndefined();
      // The board links to the root the ledger records.
      expect((await rt.ledger.getInstance('e2e-short', instanceKey))?.rootStep).toBe('start-job');
    }
    // Only the poller records "steady": the instances got there through start-job's hand-over.
    const rows = await waitForStates(rt.ledger, 'e2e-short', ['steady', 'failed', 'quarantined'], 60_000);
    expect(rows.map((r) => [r.state, r.step])).toEqual(Array(2).fill(['steady', 'start-job']));
  });

  it('a flow built with every step (before idle steps were left out) still hands over at its root', async () => {
    const [inst] = simpleBatch('e2e-old-shape', 1).instances as [ReturnType<typeof instance>];
    const spec = {
      batchId: 'e2e-old-shape',
      instanceKey: inst.instanceKey,
      displayName: inst.displayName,
      applicationTemplate: inst.applicationTemplate,
      synchronizationTemplateId: inst.synchronizationTemplateId,
    };
    // What an enqueue of the previous release left in Redis: the ledger row, the sealed
    // credentials and a ten-step flow with smoke-test at its root.
    await rt.ledger.registerBatch(
      { batchId: 'e2e-old-shape', createdAt: Date.now(), instances: 1, sourceFile: '(test)' },
      [{ ...inst, sealedCredentials: await rt.vault.seal(inst.credentials, spec) }],
    );
    const flows = new FlowProducer({ connection: rt.redis, prefix: rt.prefix });
    await flows.add(buildAllStepsFlow(spec));
    await flows.close();
    expect(
      (await rt.stepsQueue.getJob(stepJobId('e2e-old-shape', inst.instanceKey, 'start-job')))?.parentKey,
    ).toBeTruthy();
    const rows = await waitForStates(rt.ledger, 'e2e-old-shape', ['steady', 'failed', 'quarantined'], 60_000);
    // start-job (not the root here) did not hand over; smoke-test, the root, did.
    expect(rows.map((r) => [r.state, r.step])).toEqual([['steady', STEPS.at(-1)!.name]]);
  });

  it("a bad-credentials instance fails with Graph's reason while its siblings complete", async () => {
    const batch = batchOf('e2e-bad', [
      instance(0, 'AWS Good One'),
      instance(1, 'AWS Bad Creds', 'bad-token-PLANTED'),
      instance(2, 'AWS Good Two'),
    ]);
    await enqueue(batch);
    const rows = await waitForStates(rt.ledger, 'e2e-bad', ['steady', 'failed', 'quarantined'], 60_000);
    const byName = Object.fromEntries(rows.map((r) => [r.displayName, r]));
    expect(byName['AWS Good One']!.state).toBe('steady');
    expect(byName['AWS Good Two']!.state).toBe('steady');
    expect(byName['AWS Bad Creds']!.state).toBe('failed');
    expect(byName['AWS Bad Creds']!.lastError).toMatch(/rejected the credentials/);
    expect(byName['AWS Bad Creds']!.lastError).not.toContain('PLANTED');
  });

  it('display names with quotes and non-ASCII letters work end to end', async () => {
    const batch = batchOf('e2e-names', [
      instance(0, "O'Brien's AWS"),
      instance(1, 'AWS Zürich Süd'),
      instance(2, '東京 AWS'),
    ]);
    await enqueue(batch);
    const rows = await waitForStates(rt.ledger, 'e2e-names', ['steady', 'failed', 'quarantined'], 60_000);
    expect(rows.map((r) => [r.displayName, r.state])).toEqual([
      ["O'Brien's AWS", 'steady'],
      ['AWS Zürich Süd', 'steady'],
      ['東京 AWS', 'steady'],
    ]);
    // Re-running adopts instead of duplicating, which needs the quoted $filter to match.
    expect(stack.sim.stats().instantiateByDisplayName["O'Brien's AWS"]).toBe(1);
  });

  it('quarantine is surfaced with its reason, entry-level errors are steady with failures counted by code', async () => {
    const batch = batchOf('e2e-poll', [
      instance(0, 'AWS Quarantine', 'quarantine-tok'),
      instance(1, 'AWS Entry Errors', 'entry-errors-tok'),
    ]);
    await enqueue(batch);
    const rows = await waitForStates(rt.ledger, 'e2e-poll', ['steady', 'quarantined', 'failed'], 60_000);
    const q = rows.find((r) => r.displayName === 'AWS Quarantine')!;
    expect(q.state).toBe('quarantined');
    expect(q.quarantineReason).toBe('EncounteredQuarantineException');
    expect(q.quarantineNextAttempt).toBeTruthy();
    const e = rows.find((r) => r.displayName === 'AWS Entry Errors')!;
    expect(e.state).toBe('steady');
    // Log failures are read after the watch ends: wait for them.
    await waitForStates(rt.ledger, 'e2e-poll', ['steady', 'quarantined'], 30_000);
    const withLogs = await (async () => {
      for (let i = 0; i < 100; i++) {
        const r = await rt.ledger.getInstance('e2e-poll', e.instanceKey);
        if (r && r.endedAt && Object.keys(r.logFailures).length) return r;
        await new Promise((res) => setTimeout(res, 100));
      }
      return null;
    })();
    expect(withLogs).not.toBeNull();
    expect(Object.values(withLogs!.logFailures).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});
