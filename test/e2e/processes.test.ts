/**
 * Real worker processes: a steps worker SIGKILLed in the middle of instantiate-app and
 * restarted leaves exactly one app per instance; two workers on one Redis under a tight write
 * quota never exceed it and never retry early.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { startLocalStack, type LocalStack } from '../../src/dev/local-stack.ts';
import { startSimProcess, type SimProcess } from '../../src/dev/sim/process.ts';
import type { Runtime } from '../../src/app/runtime.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { silentLogger } from '../../src/logger.ts';
import { simpleBatch } from '../helpers/batches.ts';
import { waitFor, waitForStates } from '../helpers/wait.ts';

const FAST_TAKEOVER = { WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000', WORKER_CONCURRENCY: '10' };
let stack: LocalStack | null = null;
let rt: Runtime | null = null;
let simProc: SimProcess | null = null;

afterEach(async () => {
  await rt?.close();
  await stack?.close();
  await simProc?.close();
  rt = null;
  stack = null;
  simProc = null;
});

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('worker processes', () => {
  it('SIGKILL during instantiate-app, restarted, leaves exactly one app per instance', async () => {
    // Latency on every call keeps instantiate in flight long enough to be killed inside it.
    stack = await startLocalStack({
      profile: 'fast',
      timeScale: 50,
      overrides: { latencyMs: { min: 80, max: 250 } },
      env: FAST_TAKEOVER,
    });
    rt = await stack.runtime(silentLogger());
    const n = 24;
    await enqueueBatch(rt, simpleBatch('crash', n));
    let worker = stack.spawnProcess('worker');
    let kills = 0;
    for (let i = 0; i < 4; i++) {
      await waitFor(
        'an instance in instantiate-app',
        async () => (await rt!.ledger.listInstances('crash')).some((r) => r.state === 'instantiating'),
        30_000,
        20,
      );
      await new Promise((r) => setTimeout(r, 40 + i * 30));
      await kill(worker);
      kills++;
      worker = stack.spawnProcess('worker');
    }
    const rows = await waitForStates(rt.ledger, 'crash', ['started', 'failed'], 120_000);
    await kill(worker);
    expect(kills).toBe(4);
    expect(rows.filter((r) => r.state === 'failed').map((r) => r.lastError)).toEqual([]);
    const stats = stack.sim.stats();
    expect(stats.duplicateApplications).toBe(0);
    expect(stats.applications).toBe(n);
    expect(Object.values(stats.instantiateByDisplayName).every((c) => c === 1)).toBe(true);
  }, 180_000);

  it('two worker processes share the write quota: no 429s, no Retry-After violations', async () => {
    // 40 writes per 2 s: 20 instances × 5 writes need at least ~5 s of quota. The simulator runs
    // in its own process, like Graph: its arrival clock is not the test runner's busy loop.
    const overrides = { writeLimit: 40, writeWindowMs: 2000 };
    simProc = await startSimProcess({ profile: 'fast', seed: 1, timeScale: 1, overrides });
    stack = await startLocalStack({
      profile: 'fast',
      timeScale: 1,
      overrides,
      sim: simProc.handle,
      env: { WORKER_CONCURRENCY: '10' },
    });
    rt = await stack.runtime(silentLogger());
    const n = 20;
    await enqueueBatch(rt, simpleBatch('quota', n));
    const t0 = Date.now();
    const a = stack.spawnProcess('worker');
    const b = stack.spawnProcess('worker');
    await waitForStates(rt.ledger, 'quota', ['started'], 120_000);
    const elapsed = Date.now() - t0;
    await Promise.all([kill(a), kill(b)]);
    const stats = await simProc.stats();
    expect(stats.retryAfterViolations).toBe(0);
    expect(stats.throttled, JSON.stringify(stats.throttledByRoute)).toBe(0);
    expect(stats.duplicateApplications).toBe(0);
    // 100 writes at 95 % of 40 per 2 s cannot take less than ~3 s (the first window is free).
    expect(elapsed).toBeGreaterThan(2500);
  }, 180_000);
});
