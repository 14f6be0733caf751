/**
 * Day-two commands on a batch spanning two tenants, through the real CLI: each instance's part
 * lives in its tenant's lane, and every command reaches it there and in its own tenant. The
 * simulator counts per tenant, so an instance read, verified, restarted, rotated or torn down
 * through the wrong tenant shows in the wrong tenant's counters (or as "not in Graph").
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/app/runtime.ts';
import type { WorkerSet } from '../../src/app/worker-set.ts';
import { startOpsWorkers } from '../../src/app/ops-worker.ts';
import { startStepsWorkers } from '../../src/app/steps-worker.ts';
import { instanceKeyOf } from '../../src/batch/instance-key.ts';
import { startLocalStack, type LocalStack } from '../../src/dev/local-stack.ts';
import { watchJobId } from '../../src/flow/watch-job.ts';
import { silentLogger } from '../../src/logger.ts';
import { startPoller, type PollerHandle } from '../../src/poller/start-poller.ts';
import { waitForBatchStates } from '../helpers/wait.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let stack: LocalStack;
let rt: Runtime;
let steps: WorkerSet;
let ops: WorkerSet;
let poller: PollerHandle;
let dir: string;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/provflow.js'), ...args],
      { cwd: ROOT, env: { ...process.env, ...stack.env }, timeout: 170_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Requests of one tenant whose route matches `re` (the simulator counts per tenant). */
function calls(tenant: 't1' | 't2', re: RegExp): number {
  const t = stack.sim.tenants[tenant === 't1' ? 0 : 1]!;
  return Object.entries(stack.sim.statsOf(t.tenantId).byRoute)
    .filter(([route]) => re.test(route))
    .reduce((a, [, n]) => a + n, 0);
}
const both = (re: RegExp) => ({ t1: calls('t1', re), t2: calls('t2', re) });

beforeAll(async () => {
  stack = await startLocalStack({
    profile: 'fast',
    timeScale: 50,
    tenants: 2,
    overrides: { firstCycleMs: 150, cycleIntervalMs: 400 },
    tenantOverrides: [{}, { firstCycleMs: 150, cycleIntervalMs: 400 }],
  });
  rt = await stack.runtime(silentLogger());
  steps = startStepsWorkers(rt, { concurrency: 8 });
  ops = startOpsWorkers(rt, { concurrency: 8 });
  poller = startPoller(rt);
  dir = await mkdtemp(path.join(tmpdir(), 'provflow-2t-day2-'));
}, 60_000);

afterAll(async () => {
  await steps?.close();
  await ops?.close();
  await poller?.close();
  await rt?.close();
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('day two on a batch spanning two tenants', () => {
  it('export, diff, deletions, verify, restart, rotate and teardown reach each instance in its own tenant', async () => {
    const inst = (name: string, tenant: string, token = `tok-${name.length}`) => ({
      displayName: name,
      tenant,
      credentials: { ClientSecret: { value: `cs-${name.length}` }, SecretToken: { value: token } },
    });
    const file = path.join(dir, 'mt.json');
    await writeFile(
      file,
      JSON.stringify({
        batchId: 'mt',
        defaults: { applicationTemplate: 'AWS Single-Account Access', synchronizationTemplateId: 'aws' },
        instances: [
          inst('MT One A', 't1'),
          inst('MT One B', 't1'),
          inst('MT Two A', 't2'),
          inst('MT Two Q', 't2', 'quarantine-tok'),
        ],
      }),
    );
    const enq = await cli(['enqueue', file]);
    expect(enq.code, enq.stdout + enq.stderr).toBe(0);
    const rows = await waitForBatchStates(rt, 'mt', ['steady', 'quarantined', 'failed'], 120_000);
    expect(rows.map((r) => [r.displayName, r.tenant, r.state])).toEqual([
      ['MT One A', 't1', 'steady'],
      ['MT One B', 't1', 'steady'],
      ['MT Two A', 't2', 'steady'],
      ['MT Two Q', 't2', 'quarantined'],
    ]);
    expect(await rt.ledger.getBatch('mt')).toBeNull(); // nothing in default's lane

    // Reads: every job found (read in the wrong tenant it would be "not in Graph").
    const out = path.join(dir, 'export');
    const exp = await cli(['export', 'mt', '--out', out, '--json']);
    expect(exp.code, exp.stderr).toBe(0);
    const files = (JSON.parse(exp.stdout) as { files: { instance: string; job: string }[] }).files;
    expect(files.map((f) => f.job)).not.toContain('not in Graph');
    expect((await readdir(out)).length).toBe(4);
    // The file names tenants (diff loads it as enqueue did); only the quarantined job differs.
    const diff = await cli(['diff', 'mt', file, '--json']);
    expect(diff.code, diff.stdout + diff.stderr).toBe(3);
    const drift = JSON.parse(diff.stdout) as { instances: { displayName: string; status: string }[] };
    expect(drift.instances.map((i) => [i.displayName, i.status])).toEqual([
      ['MT One A', 'in-sync'],
      ['MT One B', 'in-sync'],
      ['MT Two A', 'in-sync'],
      ['MT Two Q', 'drifted'],
    ]);
    const del = await cli(['deletions', 'mt', '--instance', 'MT Two A', '--json']);
    expect(del.code, del.stderr).toBe(0);
    expect(JSON.parse(del.stdout)).toMatchObject({ instance: 'MT Two A', quarantineReason: null });

    // verify: each instance's check in its own tenant, its ops job in its own lane.
    const validate = /validateCredentials$/;
    const v0 = both(validate);
    const ver = await cli(['verify', 'mt', '--wait', '--json']);
    expect(ver.code, ver.stdout + ver.stderr).toBe(0);
    const verified = JSON.parse(ver.stdout) as { instances: { instance: string; result: string }[] };
    expect(verified.instances.map((i) => [i.instance, i.result])).toEqual([
      ['MT One A', 'ok'],
      ['MT One B', 'ok'],
      ['MT Two A', 'ok'],
      ['MT Two Q', 'ok'],
    ]);
    expect(both(validate)).toEqual({ t1: v0.t1 + 2, t2: v0.t2 + 2 });
    expect(await rt.lane('default').opsQueue.getJobCountByTypes('completed', 'failed', 'waiting', 'delayed')).toBe(0);
    expect(await rt.lane('t1').opsQueue.getJobCountByTypes('completed')).toBe(2);

    // restart: the quarantined t2 instance, in t2, watched again from t2's poll queue.
    const restartRoute = /\/restart$/;
    const r0 = both(restartRoute);
    const rs = await cli(['restart', 'mt']);
    expect(rs.code, rs.stdout + rs.stderr).toBe(0);
    expect(rs.stdout).toMatch(/restarted 1 provisioning job/);
    expect(both(restartRoute)).toEqual({ t1: r0.t1, t2: r0.t2 + 1 });
    const watch = watchJobId('mt', instanceKeyOf('MT Two Q'));
    expect(await rt.lane('t2').pollQueue.getJob(watch)).toBeTruthy();
    expect(await rt.lane('default').pollQueue.getJob(watch)).toBeUndefined();
    const q = await rt.lane('t2').ledger.getInstance('mt', instanceKeyOf('MT Two Q'));
    expect(q?.detail ?? '').toMatch(/restarted \(QuarantineState\)|quarantine/i);

    // rotate the whole batch: each tenant's secrets PUT in that tenant.
    const secrets = /synchronization\/secrets$/;
    const s0 = both(secrets);
    const rot = path.join(dir, 'rotate.json');
    await writeFile(
      rot,
      JSON.stringify({
        defaults: { credentials: { ClientSecret: { value: 'cs-2027' }, SecretToken: { value: 'tok-2027' } } },
      }),
    );
    const ro = await cli(['rotate', 'mt', rot, '--wait', '--json']);
    expect(ro.code, ro.stdout + ro.stderr).toBe(0);
    const rotated = JSON.parse(ro.stdout) as { instances: { result: string }[] };
    expect(rotated.instances.map((i) => i.result)).toEqual(['rotated', 'rotated', 'rotated', 'rotated']);
    const s1 = both(secrets);
    expect(s1.t1 - s0.t1).toBeGreaterThanOrEqual(2);
    expect(s1.t2 - s0.t2).toBeGreaterThanOrEqual(2);

    // teardown: every application deleted in its own tenant.
    const [a, b] = stack.sim.tenants;
    expect([stack.sim.statsOf(a!.tenantId).applications, stack.sim.statsOf(b!.tenantId).applications]).toEqual([2, 2]);
    const td = await cli(['teardown', 'mt', '--yes', '--wait']);
    expect(td.code, td.stdout + td.stderr).toBe(0);
    const after = await waitForBatchStates(rt, 'mt', ['removed'], 30_000);
    expect(after.map((r) => r.tenant)).toEqual(['t1', 't1', 't2', 't2']);
    expect([stack.sim.statsOf(a!.tenantId).applications, stack.sim.statsOf(b!.tenantId).applications]).toEqual([0, 0]);

    // An unknown batch names the batches of every tenant.
    const none = await cli(['verify', 'nope']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/No batch 'nope' .*Known batches: .*mt/);
  }, 300_000);
});
