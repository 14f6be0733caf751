/**
 * A two-tenant batch end to end: a tenants file and a batch file naming tenants, real Redis, the
 * simulator hosting both tenants, real MSAL, in-process worker and poller. Each instance is
 * created in its own tenant's directory, the ledger and `status` show its tenant, and the
 * metrics count per tenant.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkerSet } from '../../src/app/worker-set.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/app/runtime.ts';
import { loadBatchFile } from '../../src/batch/load-batch.ts';
import { startLocalStack, type LocalStack } from '../../src/dev/local-stack.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { startStepsWorkers } from '../../src/app/steps-worker.ts';
import { silentLogger } from '../../src/logger.ts';
import { startPoller, type PollerHandle } from '../../src/poller/start-poller.ts';
import { renderStatusTable } from '../../src/ui/status-view.ts';
import { waitForBatchStates } from '../helpers/wait.ts';

let stack: LocalStack;
let rt: Runtime;
let worker: WorkerSet;
let poller: PollerHandle;

beforeAll(async () => {
  stack = await startLocalStack({ profile: 'fast', timeScale: 50, tenants: 2 });
  rt = await stack.runtime(silentLogger());
  worker = startStepsWorkers(rt, { concurrency: 20 });
  poller = startPoller(rt);
});

afterAll(async () => {
  await worker?.close();
  await poller?.close();
  await rt?.close();
  await stack?.close();
});

describe('a two-tenant batch', () => {
  it('onboards each instance into its own tenant, with the tenant in the ledger, status and metrics', async () => {
    expect(stack.tenantNames).toEqual(['t1', 't2']);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'provflow-2t-'));
    const file = path.join(dir, 'two-tenants.json');
    const inst = (name: string, tenant?: string) => ({
      displayName: name,
      credentials: { ClientSecret: { value: `cs-${name.length}` }, SecretToken: { value: `tok-${name.length}` } },
      ...(tenant ? { tenant } : {}),
    });
    writeFileSync(
      file,
      JSON.stringify({
        defaults: { applicationTemplate: 'AWS Single-Account Access', synchronizationTemplateId: 'aws', tenant: 't1' },
        instances: [inst('AWS One A'), inst('AWS One B'), inst('AWS Two A', 't2'), inst('AWS Two B', 't2')],
      }),
    );
    const loaded = await loadBatchFile(file, { tenants: stack.tenantNames });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    const res = await enqueueBatch(rt, loaded.batch);
    expect(res.added).toBe(4);
    const id = loaded.batch.batchId;
    // Each tenant's part went into its own lane (queue and ledger under its own hash tag), none into default's.
    const [t1, t2] = [rt.lane('t1'), rt.lane('t2')];
    expect((await t1.ledger.listInstances(id)).map((r) => r.displayName)).toEqual(['AWS One A', 'AWS One B']);
    expect((await t2.ledger.listInstances(id)).map((r) => r.displayName)).toEqual(['AWS Two A', 'AWS Two B']);
    expect(await rt.lane('default').ledger.getBatch(id)).toBeNull();
    expect(t1.prefix).not.toBe(t2.prefix);
    expect(
      await t2.stepsQueue.getJobCountByTypes('waiting', 'prioritized', 'waiting-children', 'active', 'completed'),
    ).toBeGreaterThan(0);
    expect(worker.workers.map((w) => w.opts.prefix)).toEqual([rt.prefix, t1.prefix, t2.prefix]);
    const rows = await waitForBatchStates(rt, id, ['steady', 'failed', 'quarantined'], 90_000);
    expect(rows.map((r) => [r.displayName, r.tenant, r.state])).toEqual([
      ['AWS One A', 't1', 'steady'],
      ['AWS One B', 't1', 'steady'],
      ['AWS Two A', 't2', 'steady'],
      ['AWS Two B', 't2', 'steady'],
    ]);
    const [a, b] = stack.sim.tenants;
    const sa = stack.sim.statsOf(a!.tenantId);
    const sb = stack.sim.statsOf(b!.tenantId);
    expect([sa.applications, sb.applications]).toEqual([2, 2]);
    expect(sa.instantiateByDisplayName).toEqual({ 'AWS One A': 1, 'AWS One B': 1 });
    expect(sb.instantiateByDisplayName).toEqual({ 'AWS Two A': 1, 'AWS Two B': 1 });
    expect(sa.tokensIssued).toBeGreaterThanOrEqual(1);
    expect(sb.tokensIssued).toBeGreaterThanOrEqual(1);

    const table = renderStatusTable(rows, { width: 120 });
    expect(table).toMatch(/tenant/);
    expect(renderStatusTable(rows, { width: 120, tenant: 't2' })).not.toMatch(/AWS One/);

    await rt.metrics.flush();
    const snap = await rt.metrics.read();
    const ended = snap.tenants!.instances.filter((i) => i.state === 'steady');
    expect(ended).toEqual([
      { tenant: 't1', state: 'steady', count: 2 },
      { tenant: 't2', state: 'steady', count: 2 },
    ]);
  });
});
