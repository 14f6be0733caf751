/**
 * Reliability scenarios: real processes (steps workers, poller), a redis-server the scenario
 * owns, and the simulator, with a seeded batch whose end states are known in advance
 * (quarantine and bad-credential instances by the simulator's credential conventions).
 * Each returns the figures the table shows; `lost` = enqueued but in no end state at the end.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../src/dev/local-stack.ts';
import type { Runtime } from '../../src/app/runtime.ts';
import type { ExpectedOutcome } from '../../src/batch/batch-types.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { QUEUES } from '../../src/flow/queues.ts';
import { END_STATES } from '../../src/ledger/instance-state.ts';
import { silentLogger } from '../../src/logger.ts';
import { mulberry32 } from '../../src/dev/sim/prng.ts';
import type { SimStats } from '../../src/dev/sim/index.ts';
import { startSimProcess, type SimProcess } from '../../src/dev/sim/process.ts';
import { batchOf, instance } from '../helpers/batches.ts';

/** One row of the reliability table. */
export interface ScenarioResult {
  scenario: string;
  seed: number;
  instances: number;
  steady: number;
  quarantined: number;
  failed: number;
  lost: number;
  unexpected: number;
  duplicateApplications: number;
  retryAfterViolations: number;
  throttled: number;
  wallMs: number;
  notes: string;
  /** Requests inside a Retry-After read late only because the simulator's own loop stalled (not violations). */
  lateReadsExcused: number;
}

export interface ScenarioOptions {
  instances: number;
  seed: number;
  /** Kills / restarts to perform (the short form uses fewer). */
  disruptions: number;
  log?: (line: string) => void;
}

/** Takeover of a crashed process's jobs within ~2 s instead of BullMQ's default 30 s lock. */
const FAST_TAKEOVER = {
  WORKER_LOCK_DURATION_MS: '2000',
  WORKER_STALLED_INTERVAL_MS: '1000',
  POLLER_DEADLINE_MS: '120000',
};

export function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Harness {
  stack: LocalStack;
  sim: SimProcess;
  rt: Runtime;
  batchId: string;
  expected: Map<string, ExpectedOutcome>;
  rnd: () => number;
  /** Fraction of instances in an end state. */
  progress(): Promise<number>;
  workers: ChildProcess[];
  poller: ChildProcess | null;
}

/** Runs one scenario: build the stack and batch, start processes, let `disrupt` do its worst, wait, measure. */
async function run(
  name: string,
  o: ScenarioOptions,
  cfg: { stack: LocalStackOptions; workers?: number; notes?: (h: Harness) => Promise<string> | string },
  disrupt: (h: Harness) => Promise<void>,
): Promise<ScenarioResult> {
  const t0 = Date.now();
  // The simulator in its own process, like Graph: its clock (arrivals, when a throttling answer
  // left) is read by an event loop that nothing else keeps busy.
  const sim = await startSimProcess({
    profile: cfg.stack.profile ?? 'fast',
    seed: o.seed,
    timeScale: cfg.stack.timeScale ?? 20,
    overrides: cfg.stack.overrides,
  });
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      seed: o.seed,
      ...cfg.stack,
      sim: sim.handle,
      ownRedis: true,
      env: { ...FAST_TAKEOVER, ...cfg.stack.env },
    });
  } catch (e) {
    await sim.close();
    throw e;
  }
  const rt = await stack.runtime(silentLogger());
  const rnd = mulberry32(o.seed);
  const batchId = `rel-${name}`.slice(0, 60);
  const insts = Array.from({ length: o.instances }, (_, i) => {
    const n = String(i).padStart(4, '0');
    if (i % 10 === 7) return instance(i, `AWS ${name} ${n}`, `quarantine-${n}`, 'quarantined');
    if (i % 15 === 11) return instance(i, `AWS ${name} ${n}`, `bad-${n}`, 'failed');
    return instance(i, `AWS ${name} ${n}`, i % 6 === 2 ? `entry-errors-${n}` : `tok-${n}`, 'steady');
  });
  const expected = new Map(insts.map((i) => [i.instanceKey, i.expect ?? 'steady'] as const));
  const h: Harness = {
    stack,
    sim,
    rt,
    batchId,
    expected,
    rnd,
    workers: [],
    poller: null,
    async progress() {
      const rows = await rt.ledger.listInstances(batchId);
      return rows.length ? rows.filter((r) => END_STATES.has(r.state)).length / rows.length : 0;
    },
  };
  try {
    await enqueueBatch(rt, batchOf(batchId, insts));
    for (let i = 0; i < (cfg.workers ?? 1); i++) h.workers.push(stack.spawnProcess('worker'));
    h.poller = stack.spawnProcess('poller');
    await disrupt(h);
    // Let it finish; generous, because crashed jobs wait for their lock to expire.
    const deadline = Date.now() + 150_000;
    while (Date.now() < deadline && (await h.progress()) < 1) await sleep(250);
    const rows = await rt.ledger.listInstances(batchId);
    const stats = await sim.stats();
    const count = (s: string) => rows.filter((r) => r.state === s).length;
    const lostRows = rows.filter((r) => !END_STATES.has(r.state));
    if (lostRows.length > 0) {
      // Leave what is needed to find out why: the processes' last lines and where the lost instances stood.
      const file = path.join(os.tmpdir(), `provflow-reliability-${name}-${o.seed}-${Date.now()}.log`);
      const procs = [
        ...h.workers.map((w, i) => [`worker ${i + 1}`, w] as const),
        ...(h.poller ? [['poller', h.poller] as const] : []),
      ];
      writeFileSync(
        file,
        [
          `simulator: ${stats.requests} requests, by status ${JSON.stringify(stats.byStatus)}`,
          ...lostRows
            .slice(0, 20)
            .map(
              (r) => `lost: ${r.instanceKey} state=${r.state} step=${r.step ?? '-'} lastError=${r.lastError ?? '-'}`,
            ),
          ...procs.flatMap(([n, c]) => [
            `── ${n} (exit ${c.exitCode ?? c.signalCode ?? 'running'}) ──`,
            ...stack.outputOf(c),
          ]),
        ].join('\n'),
      );
      o.log?.(`  ${lostRows.length} lost: details in ${file}`);
    }
    return {
      scenario: name,
      seed: o.seed,
      instances: rows.length,
      steady: count('steady'),
      quarantined: count('quarantined'),
      failed: count('failed'),
      lost: rows.filter((r) => !END_STATES.has(r.state)).length + (o.instances - rows.length),
      unexpected: rows.filter((r) => END_STATES.has(r.state) && expected.get(r.instanceKey) !== r.state).length,
      duplicateApplications: stats.duplicateApplications,
      retryAfterViolations: stats.retryAfterViolations,
      throttled: stats.throttled,
      wallMs: Date.now() - t0,
      notes: [
        cfg.notes ? await cfg.notes(h) : '',
        // Shown, not hidden: requests inside a Retry-After that only a stalled simulator read late.
        stats.lateReadsExcused
          ? `${stats.lateReadsExcused} read late by a stalled simulator (longest stall ${stats.maxSimStallMs} ms), not counted`
          : '',
        stats.violations.length ? `violations: ${JSON.stringify(stats.violations.slice(0, 5))}` : '',
      ]
        .filter(Boolean)
        .join('; '),
      lateReadsExcused: stats.lateReadsExcused ?? 0,
    };
  } finally {
    await Promise.all([...h.workers, ...(h.poller ? [h.poller] : [])].map((c) => kill(c)));
    await rt.close();
    await stack.close();
    await sim.close();
  }
}

/** Waits until at least `fraction` of the batch has ended, or `ms` passes. */
async function until(h: Harness, fraction: number, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && (await h.progress()) < fraction) await sleep(50);
}

const latency = { latencyMs: { min: 10, max: 60 } };
const writeSamples = new Map<string, { t: number; writes: number }[]>();

/**
 * How close the writes came to the quota: the mean rate from the first write to the last one
 * (vs the quota's rate, and the 95 % the limiter paces at) and the busiest window seen.
 */
function throughput(samples: { t: number; writes: number }[], windowMs: number, limit: number): string {
  const moving = samples.filter((s, i) => i === 0 || s.writes !== samples[i - 1]!.writes);
  if (moving.length < 2) return 'too few writes to measure';
  const first = samples.find((s) => s.writes > 0) ?? moving[0]!;
  const last = moving[moving.length - 1]!;
  const seconds = (last.t - first.t) / 1000;
  const rate = seconds > 0 ? (last.writes - first.writes) / seconds : 0;
  let busiest = 0;
  for (let i = 0, j = 0; j < samples.length; j++) {
    while (samples[j]!.t - samples[i]!.t > windowMs) i++;
    busiest = Math.max(busiest, samples[j]!.writes - samples[i]!.writes);
  }
  const quotaRate = limit / (windowMs / 1000);
  return `${rate.toFixed(1)} writes/s while writing (quota ${quotaRate.toFixed(1)}/s, paced at ${(quotaRate * 0.95).toFixed(1)}/s = ${((rate / (quotaRate * 0.95)) * 100).toFixed(0)} % of it); busiest ${windowMs / 1000} s: ${busiest} of ${limit}`;
}

/** The simulator's faults and throttles, for the chaos row. */
function faultNotes(s: SimStats): string {
  const f = s.faultsInjected;
  return `2 workers; ${s.requests} requests: ${f['429-storm'] ?? 0} 429 storms, ${f['503-retry-after'] ?? 0} 503s with Retry-After, ${['500', '502', '503', '504'].reduce((a, k) => a + (f[k] ?? 0), 0)} transient 5xx, ${Object.entries(
    f,
  )
    .filter(([k]) => k.startsWith('instantiate-'))
    .reduce((a, [, v]) => a + v, 0)} ambiguous instantiates`;
}
const sigtermExitCodes = new Map<string, (number | null)[]>();

export const SCENARIOS: Record<string, (o: ScenarioOptions) => Promise<ScenarioResult>> = {
  /** 1. SIGKILL the steps worker at random moments, restarting it each time. */
  'kill-worker': (o) =>
    run('kill-worker', o, { stack: { profile: 'fast', timeScale: 50, overrides: latency } }, async (h) => {
      for (let i = 0; i < o.disruptions; i++) {
        await sleep(300 + h.rnd() * 900);
        await kill(h.workers[0]!);
        h.workers[0] = h.stack.spawnProcess('worker');
        o.log?.(`  kill-worker: SIGKILL ${i + 1}/${o.disruptions}`);
      }
    }),

  /** 2. SIGKILL the poller repeatedly while jobs are watched. */
  'kill-poller': (o) =>
    run(
      'kill-poller',
      o,
      { stack: { profile: 'fast', timeScale: 20, overrides: { ...latency, firstCycleMs: 1500 } } },
      async (h) => {
        for (let i = 0; i < o.disruptions; i++) {
          await sleep(400 + h.rnd() * 800);
          await kill(h.poller!);
          h.poller = h.stack.spawnProcess('poller');
          o.log?.(`  kill-poller: SIGKILL ${i + 1}/${o.disruptions}`);
        }
      },
    ),

  /**
   * 3. Restart Redis mid-batch, gracefully (SIGTERM) then hard (SIGKILL), with AOF and
   * appendfsync everysec: Redis writes every command to the AOF file before replying, so killing
   * the *process* loses nothing (the OS still has the data); only a host crash could lose up to
   * one second of fsyncs. Workers reconnect and carry on.
   */
  'restart-redis': (o) =>
    run(
      'restart-redis',
      o,
      {
        stack: {
          profile: 'fast',
          timeScale: 50,
          overrides: latency,
          redisSpawn: { appendonly: true, fsync: 'everysec' },
        },
      },
      async (h) => {
        for (let i = 0; i < Math.max(2, o.disruptions); i++) {
          await sleep(500 + h.rnd() * 700);
          const hard = i % 2 === 1;
          await h.stack.redis.stop({ hard });
          await sleep(300);
          await h.stack.redis.restart();
          o.log?.(`  restart-redis: ${hard ? 'SIGKILL' : 'SIGTERM'} + restart`);
        }
      },
    ),

  /** 4. The simulator's chaos profile: transient 5xx, 503 storms, long lag, ambiguous instantiate. */
  'chaos-profile': (o) =>
    run(
      'chaos-profile',
      o,
      { stack: { profile: 'chaos', timeScale: 50 }, workers: 2, notes: async (h) => faultNotes(await h.sim.stats()) },
      async () => {},
    ),

  /** 5. Three workers on one Redis under a tight write quota: no violations, throughput near the quota. */
  'tight-quota': (o) =>
    run(
      'tight-quota',
      o,
      {
        stack: { profile: 'fast', timeScale: 1, overrides: { writeLimit: 60, writeWindowMs: 3000 } },
        workers: 3,
        notes: async (h) => {
          const w = writeSamples.get(h.batchId) ?? [];
          const s = await h.sim.stats();
          const throttled = s.throttled ? `; 429s by route ${JSON.stringify(s.throttledByRoute)}` : '';
          return `${s.writes} writes, quota 60 per 3 s, 3 workers: ${throughput(w, 3000, 60)}${throttled}`;
        },
      },
      async (h) => {
        // Sample the simulator's applied writes until the batch ends, for the throughput figure.
        const samples: { t: number; writes: number }[] = [];
        writeSamples.set(h.batchId, samples);
        const end = Date.now() + 150_000;
        while (Date.now() < end) {
          samples.push({ t: Date.now(), writes: (await h.sim.stats()).writes });
          if ((await h.progress()) >= 1) break;
          await sleep(100);
        }
      },
    ),

  /** 6. SIGTERM during busy processing: graceful close returns or finishes active jobs; a new worker completes the rest. */
  'sigterm-busy': (o) =>
    run(
      'sigterm-busy',
      o,
      {
        stack: { profile: 'fast', timeScale: 50, overrides: { latencyMs: { min: 100, max: 400 } } },
        notes: async (h) => {
          const q = new Queue(QUEUES.steps, { connection: h.rt.redis, prefix: h.rt.prefix });
          const active = await q.getActiveCount();
          await q.close();
          return `active jobs left: ${active}; exit codes after SIGTERM: ${(sigtermExitCodes.get(h.batchId) ?? []).join(',')}`;
        },
      },
      async (h) => {
        const q = new Queue(QUEUES.steps, { connection: h.rt.redis, prefix: h.rt.prefix });
        const codes: (number | null)[] = [];
        try {
          for (let i = 0; i < o.disruptions; i++) {
            // SIGTERM a worker that is up and busy (a process still starting has nothing to hand back).
            const end = Date.now() + 30_000;
            while (Date.now() < end && ((await q.getWorkersCount()) === 0 || (await q.getActiveCount()) === 0))
              await sleep(50);
            await sleep(100 + h.rnd() * 200);
            const w = h.workers[0]!;
            const exited = new Promise<number | null>((r) => w.once('exit', (code) => r(code)));
            w.kill('SIGTERM');
            codes.push(await exited);
            o.log?.(`  sigterm-busy: worker exited ${codes.at(-1)} after SIGTERM`);
            h.workers[0] = h.stack.spawnProcess('worker');
          }
        } finally {
          await q.close();
        }
        sigtermExitCodes.set(h.batchId, codes);
      },
    ),

  /** 7. Poison input injected straight into the queues: rejected with a clear reason, the batch goes on. */
  poison: (o) =>
    run(
      'poison',
      o,
      {
        stack: { profile: 'fast', timeScale: 50 },
        notes: async (h) => {
          const steps = new Queue(QUEUES.steps, { connection: h.rt.redis, prefix: h.rt.prefix });
          const poll = new Queue(QUEUES.poll, { connection: h.rt.redis, prefix: h.rt.prefix });
          const failed = [...(await steps.getFailed()), ...(await poll.getFailed())].filter((j) =>
            j.id?.startsWith('poison'),
          );
          await steps.close();
          await poll.close();
          return failed.map((j) => `${j.id}: ${j.failedReason}`).join(' | ');
        },
      },
      async (h) => {
        const steps = new Queue(QUEUES.steps, { connection: h.rt.redis, prefix: h.rt.prefix });
        const poll = new Queue(QUEUES.poll, { connection: h.rt.redis, prefix: h.rt.prefix });
        await steps.add('instantiate-app', { garbage: true }, { jobId: 'poison-garbage', attempts: 1 });
        await steps.add('drop-tables', { v: 1 }, { jobId: 'poison-unknown-step', attempts: 1 });
        await steps.add('start-job', { v: 2, instance: {} }, { jobId: 'poison-wrong-version', attempts: 1 });
        await poll.add('watch', { v: 1, instance: { batchId: 'x' } }, { jobId: 'poison-watch', attempts: 1 });
        await steps.close();
        await poll.close();
        await until(h, 0.2);
      },
    ),
};
