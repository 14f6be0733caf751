/**
 * The poller against the simulator with a compressed clock: a restart with the cause unchanged
 * quarantines again, and after the credentials are fixed the job reaches steady; a poller killed mid-way through the provisioning logs resumes from its
 * saved cursor without re-reading (or double-counting) pages; log reads stay under the reports
 * limit (no 429s from the reports API at default pacing).
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../src/dev/local-stack.ts';
import type { Runtime } from '../../src/app/runtime.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { startStepsWorker } from '../../src/app/steps-worker.ts';
import { silentLogger } from '../../src/logger.ts';
import { startPoller } from '../../src/poller/start-poller.ts';
import { startSimProcess } from '../../src/dev/sim/process.ts';
import { restartInstances } from '../../src/commands/restart.ts';
import { watchJobId } from '../../src/flow/watch-job.ts';
import { batchOf, instance } from '../helpers/batches.ts';
import { waitFor, waitForStates } from '../helpers/wait.ts';

let stack: LocalStack | null = null;
let rt: Runtime | null = null;
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await rt?.close();
  await stack?.close();
  rt = null;
  stack = null;
});

const kill = (c: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGKILL');
  });

describe('poller', () => {
  it('a restart quarantines again until the credentials are fixed, then the job reaches steady', async () => {
    stack = await startLocalStack({ profile: 'fast', timeScale: 50 });
    rt = await stack.runtime(silentLogger());
    const w = startStepsWorker(rt);
    const p = startPoller(rt);
    closers.push(
      () => w.close(),
      () => p.close(),
    );
    await enqueueBatch(rt, batchOf('pq', [instance(0, 'AWS Q', 'quarantine-tok')]));
    const [q] = await waitForStates(rt.ledger, 'pq', ['quarantined', 'steady', 'failed'], 30_000);
    expect(q!.state).toBe('quarantined');
    expect(q!.quarantineReason).toBe('EncounteredQuarantineException');
    expect(Date.parse(q!.quarantineNextAttempt!)).toBeGreaterThan(Date.now() - 60_000);
    const res = await restartInstances(rt, 'pq', { scope: 'QuarantineState' });
    expect(res.restarted).toEqual(['AWS Q']);
    // Its cause (the saved credentials) unchanged, the restarted job quarantines again.
    const [again] = await waitForStates(rt.ledger, 'pq', ['quarantined', 'steady', 'failed'], 30_000);
    expect(again!.state).toBe('quarantined');
    // The operator fixes the credentials (as in the portal), restarts, and the job reaches steady.
    await rt.graph!.saveSecrets(again!.servicePrincipalId!, [
      { key: 'ClientSecret', value: 'cs-fixed' },
      { key: 'SecretToken', value: 'tok-fixed' },
    ]);
    await restartInstances(rt, 'pq', { scope: 'QuarantineState' });
    const [after] = await waitForStates(rt.ledger, 'pq', ['steady', 'failed'], 30_000);
    expect(after!.state).toBe('steady');
    expect(after!.quarantineReason).toBeNull();
  });

  it('a restarted watch job is retried and trimmed like the one the root step handed over', async () => {
    stack = await startLocalStack({ profile: 'fast', timeScale: 50 });
    rt = await stack.runtime(silentLogger());
    const w = startStepsWorker(rt);
    closers.push(() => w.close());
    await enqueueBatch(rt, batchOf('pr', [instance(0, 'AWS R')]));
    // No poller: the handed-over watch job waits in the queue, as added.
    const [row] = await waitForStates(rt.ledger, 'pr', ['started', 'failed'], 30_000);
    expect(row!.state).toBe('started');
    const policy = ({ attempts, backoff, removeOnComplete, removeOnFail }: Record<string, unknown>) => ({
      attempts,
      backoff,
      removeOnComplete,
      removeOnFail,
    });
    const handed = await rt.pollQueue.getJob(watchJobId('pr', row!.instanceKey));
    expect(handed!.opts.removeOnFail).toBeDefined();
    await restartInstances(rt, 'pr', { instance: 'AWS R', scope: 'Full' });
    const restarted = await rt.pollQueue.getJob(watchJobId('pr', row!.instanceKey));
    expect(restarted!.timestamp).toBeGreaterThanOrEqual(handed!.timestamp);
    expect(policy(restarted!.opts as Record<string, unknown>)).toEqual(policy(handed!.opts as Record<string, unknown>));
  });

  it('a poller killed while paging the logs resumes from its cursor: no page read twice, no failure counted twice', async () => {
    // 40 log entries per cycle in pages of 4, 2 pages per run: ~11 pages over ~6 runs.
    stack = await startLocalStack({
      profile: 'fast',
      timeScale: 50,
      overrides: { logEntriesPerCycle: 40 },
      env: {
        POLLER_LOG_PAGE_SIZE: '4',
        POLLER_LOG_PAGES_PER_RUN: '2',
        WORKER_LOCK_DURATION_MS: '2000',
        WORKER_STALLED_INTERVAL_MS: '1000',
      },
    });
    rt = await stack.runtime(silentLogger());
    const w = startStepsWorker(rt);
    closers.push(() => w.close());
    await enqueueBatch(rt, batchOf('pk', [instance(0, 'AWS Entry', 'entry-errors-tok')]));
    let poller = stack.spawnProcess('poller');
    const key = (await rt.ledger.listInstances('pk'))[0]!.instanceKey;
    await waitFor(
      'some log pages read',
      async () => Number((await rt!.redis.hget(rt!.ledger.keys.instance('pk', key), 'logPagesRead')) ?? 0) >= 2,
      60_000,
      20,
    );
    await kill(poller);
    const readBeforeKill = stack.sim.stats().reportsRequests;
    poller = stack.spawnProcess('poller');
    closers.push(() => kill(poller));
    const [row] = await waitFor(
      'watch finished',
      async () => {
        const rows = await rt!.ledger.listInstances('pk');
        return rows[0]?.endedAt ? rows : null;
      },
      60_000,
    );
    const entries = 40 + Object.values(row!.logFailures).reduce((a, b) => a + b, 0);
    const pages = Math.ceil(entries / 4);
    const stats = stack.sim.stats();
    expect(readBeforeKill).toBeGreaterThanOrEqual(2);
    // At most the one page in flight when the poller died is fetched again; nothing already saved.
    expect(stats.reportsRequests).toBeGreaterThanOrEqual(pages);
    expect(stats.reportsRequests).toBeLessThanOrEqual(pages + 1);
    expect(row!.state).toBe('steady');
    expect(row!.logEntries).toBe(entries);
    const failures = Object.values(row!.logFailures).reduce((a, b) => a + b, 0);
    expect(failures).toBeGreaterThanOrEqual(3);
    expect(failures).toBeLessThanOrEqual(5);
  }, 120_000);

  it('log reads stay under the reports limit: no 429 from the reports API', async () => {
    // Microsoft's 5 reports per 10 s, compressed ×5: 5 per 2 s — the limiter's 5 % margin is then
    // 105 ms (at ×10 its 53 ms was still thinner than the lag of a full suite on 2 cores), and
    // the simulator runs in its own process (its arrival clock not this busy test runner's
    // loop). 12 instances with failures to summarise.
    const overrides = { transientFaultRate: 0, throttle503Rate: 0, ambiguousInstantiateRate: 0 };
    const simProc = await startSimProcess({ profile: 'realistic', seed: 5, timeScale: 5, overrides });
    closers.push(() => simProc.close());
    stack = await startLocalStack({ profile: 'realistic', timeScale: 5, overrides, sim: simProc.handle });
    rt = await stack.runtime(silentLogger());
    const w = startStepsWorker(rt);
    const p = startPoller(rt);
    closers.push(
      () => w.close(),
      () => p.close(),
    );
    const batch = batchOf(
      'pr',
      Array.from({ length: 12 }, (_, i) => instance(i, `AWS Logs ${i}`, `entry-errors-${i}`)),
    );
    await enqueueBatch(rt, batch);
    await waitFor(
      'all watches finished',
      async () => {
        const rows = await rt!.ledger.listInstances('pr');
        return rows.length === 12 && rows.every((r) => r.endedAt) ? rows : null;
      },
      90_000,
    );
    const stats = await simProc.stats();
    expect(stats.reportsRequests).toBeGreaterThanOrEqual(12);
    expect(stats.reportsThrottled).toBe(0);
    expect(stats.retryAfterViolations).toBe(0);
  }, 120_000);

  it('operators get webhook events for steady, quarantined and failed instances, without secrets', async () => {
    const received: { type: string; displayName: string; body: string }[] = [];
    let first = true;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        // The first delivery fails: the events queue must retry it.
        if (first) {
          first = false;
          res.writeHead(503).end();
          return;
        }
        const e = JSON.parse(body) as { type: string; displayName: string };
        received.push({ type: e.type, displayName: e.displayName, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise((r) => server.close(() => r(undefined))));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    stack = await startLocalStack({ profile: 'fast', timeScale: 50, env: { PROVFLOW_WEBHOOK_URL: url } });
    rt = await stack.runtime(silentLogger());
    const w = startStepsWorker(rt);
    const p = startPoller(rt);
    closers.push(
      () => w.close(),
      () => p.close(),
    );
    const batch = batchOf('pw', [
      instance(0, 'AWS Hook Steady', 'tok-SECRET-1'),
      instance(1, 'AWS Hook Quarantine', 'quarantine-SECRET-2'),
      instance(2, 'AWS Hook Failed', 'bad-SECRET-3'),
    ]);
    await enqueueBatch(rt, batch);
    await waitFor('three webhook events', async () => received.length >= 3, 60_000);
    expect(received.map((r) => `${r.type} ${r.displayName}`).sort()).toEqual([
      'instance.failed AWS Hook Failed',
      'instance.quarantined AWS Hook Quarantine',
      'instance.steady AWS Hook Steady',
    ]);
    const all = received.map((r) => r.body).join('');
    for (const v of batch.instances.flatMap((i) => i.credentials.map((c) => c.value))) expect(all).not.toContain(v);
  }, 90_000);
});
