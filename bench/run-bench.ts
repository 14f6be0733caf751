/**
 * `npm run bench`: provflow vs a plain script vs the physical limit, in one run, against the
 * simulator in its own process (realistic profile, time compressed by --time-scale).
 * Prints one table and writes bench/results.json.
 *   --instances N (1000)  --baseline N (5)  --time-scale X (4)  --seed S (1)  --no-scale (skip the 10,000-instance enqueue)
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startLocalStack } from '../src/app/local-stack.ts';
import { enqueueBatch } from '../src/flow/enqueue-batch.ts';
import { END_STATES } from '../src/ledger/ledger.ts';
import { silentLogger } from '../src/logger.ts';
import { renderTable } from '../src/ui/table.ts';
import { simpleBatch } from '../test/helpers/batches.ts';
import { runBaseline } from './baseline.ts';
import { efficiency, idealOf, percentile } from './ideal.ts';
import { procUsage, startSimProcess } from './sim-process.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '1000' },
    baseline: { type: 'string', default: '5' },
    'time-scale': { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
    'no-scale': { type: 'boolean', default: false },
  },
});
const N = Number(values.instances);
const NB = Number(values.baseline);
const SCALE = Number(values['time-scale']);
const SEED = Number(values.seed);
const say = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

say(`provflow bench: ${N} instances, baseline ${NB}, realistic profile ×${SCALE}, seed ${SEED}, ${os.cpus().length} cores`);
const sim = await startSimProcess({ profile: 'realistic', seed: SEED, timeScale: SCALE });
const S = sim.handle.settings;
const stack = await startLocalStack({ sim: sim.handle, timeScale: SCALE, ownRedis: true });
const rt = await stack.runtime(silentLogger());
const results: Record<string, unknown> = {};
try {
  // ── provflow ────────────────────────────────────────────────────────────────────────────────
  const redisBefore = Number(/used_memory:(\d+)/.exec(await rt.redis.info('memory'))?.[1] ?? 0);
  const worker = stack.spawnProcess('worker');
  const poller = stack.spawnProcess('poller');
  await sleep(2500); // both processes up (tsx start-up) before the clock starts
  const t0 = Date.now();
  const enq = await enqueueBatch({ batch: simpleBatch('bench', N, (i) => `AWS Bench ${String(i).padStart(5, '0')}`), redis: rt.redis, prefix: rt.prefix, ledger: rt.ledger, vault: rt.vault, stepsQueue: rt.stepsQueue });
  say(`enqueued ${N} in ${enq.durationMs} ms`);
  let rows = await rt.ledger.listInstances('bench');
  let last = 0;
  for (;;) {
    rows = await rt.ledger.listInstances('bench');
    const ended = rows.filter((r) => END_STATES.has(r.state)).length;
    const started = rows.filter((r) => r.startedAt).length;
    if (Date.now() - last > 5000) {
      say(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: started ${started}/${N}, ended ${ended}/${N}`);
      last = Date.now();
    }
    if (ended === N || Date.now() - t0 > 30 * 60_000) break;
    await sleep(250);
  }
  const wallMs = Date.now() - t0;
  const stats = await sim.stats();
  const w = procUsage(worker.pid!);
  const p = procUsage(poller.pid!);
  const s = procUsage(sim.child.pid!);
  const redisAfter = Number(/used_memory:(\d+)/.exec(await rt.redis.info('memory'))?.[1] ?? 0);
  const toStarted = rows.filter((r) => r.startedAt && r.enqueuedAt).map((r) => r.startedAt! - t0);
  const toSteady = rows.filter((r) => r.endedAt).map((r) => r.endedAt! - t0);
  const writesPerInstance = stats.writes / N;
  const requestsPerInstance = stats.requests / N;
  const readsPerInstance = requestsPerInstance - writesPerInstance - stats.throttled / N;
  const ideal = idealOf({
    instances: N,
    writesPerInstance: 5,
    readsRuPerInstance: readsPerInstance,
    writeLimit: S.writeLimit,
    writeWindowMs: S.writeWindowMs,
    ruLimit: S.ruLimit,
    ruWindowMs: S.ruWindowMs,
    firstCycleMs: S.firstCycleMs,
  });
  const steady = rows.filter((r) => r.state === 'steady').length;
  const provflow = {
    instances: N,
    steady,
    wallSeconds: wallMs / 1000,
    instancesPerMinute: (steady / wallMs) * 60_000,
    efficiency: efficiency(ideal.seconds, wallMs / 1000),
    requestsPerInstance,
    writesPerInstance,
    readsPerInstance,
    throttled: stats.throttled,
    throttledShare: stats.throttled / stats.requests,
    retryAfterViolations: stats.retryAfterViolations,
    duplicateApplications: stats.duplicateApplications,
    p50ToStartedSeconds: percentile(toStarted, 50) / 1000,
    p95ToStartedSeconds: percentile(toStarted, 95) / 1000,
    p50ToSteadySeconds: percentile(toSteady, 50) / 1000,
    p95ToSteadySeconds: percentile(toSteady, 95) / 1000,
    peakRssMb: { worker: w.peakRssMb, poller: p.peakRssMb, simulator: s.peakRssMb, bench: Math.round(process.resourceUsage().maxRSS / 1024) },
    cpuMsPerInstance: { worker: w.cpuMs / N, poller: p.cpuMs / N },
    redisBytesPerInstance: Math.round((redisAfter - redisBefore) / N),
    byRoute: stats.byRoute,
  };
  results.provflow = provflow;
  results.ideal = { ...ideal, writesPerInstance: 5, writeLimit: S.writeLimit, writeWindowMs: S.writeWindowMs, firstCycleMs: S.firstCycleMs };
  worker.kill('SIGTERM');
  poller.kill('SIGTERM');

  // ── baseline ────────────────────────────────────────────────────────────────────────────────
  say(`baseline: ${NB} instances, one after another…`);
  const base = await runBaseline(sim.handle, NB, SCALE, (i) => say(`  baseline ${i}/${NB}`));
  results.baseline = { instances: NB, instancesPerMinute: base.instancesPerMinute, wallSeconds: base.wallMs / 1000, perInstanceSeconds: base.perInstanceMs.map((x) => x / 1000), requestsPerInstance: base.requests / NB };
  results.speedupVsBaseline = provflow.instancesPerMinute / base.instancesPerMinute;

  // ── scale: 10,000-instance enqueue ──────────────────────────────────────────────────────────
  if (!values['no-scale']) {
    say('scale: enqueueing 10,000 instances (no workers)…');
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const big = simpleBatch('scale10k', 10_000, (i) => `AWS Scale ${String(i).padStart(5, '0')}`);
    const e = await enqueueBatch({ batch: big, redis: rt.redis, prefix: `${rt.prefix}x`, ledger: new (rt.ledger.constructor as typeof import('../src/ledger/ledger.ts').Ledger)(rt.redis, `${rt.prefix}x`), vault: rt.vault, stepsQueue: rt.stepsQueue });
    clearInterval(timer);
    results.scale = { enqueue10kSeconds: e.durationMs / 1000, enqueueProcessPeakRssMb: Math.round(Math.max(peak, process.resourceUsage().maxRSS * 1024) / 1048576) };
  }

  // ── report ──────────────────────────────────────────────────────────────────────────────────
  const b = results.baseline as { instancesPerMinute: number; instances: number };
  const table = renderTable(
    [
      ['instances', N, NB, N],
      ['wall time', `${provflow.wallSeconds.toFixed(1)} s`, `${(base.wallMs / 1000).toFixed(1)} s`, `${ideal.seconds.toFixed(1)} s`],
      ['instances / min', provflow.instancesPerMinute.toFixed(0), b.instancesPerMinute.toFixed(1), ideal.instancesPerMinute.toFixed(0)],
      ['efficiency (ideal ÷ actual)', provflow.efficiency.toFixed(2), '', '1.00'],
      ['Graph requests / instance', requestsPerInstance.toFixed(1), (base.requests / NB).toFixed(1), ''],
      ['writes / instance', writesPerInstance.toFixed(2), '5', '5'],
      ['429s (share of requests)', `${stats.throttled} (${(provflow.throttledShare * 100).toFixed(2)} %)`, '', ''],
      ['Retry-After violations', stats.retryAfterViolations, '', ''],
      ['duplicate applications', stats.duplicateApplications, '', ''],
      ['p50 / p95 to started', `${provflow.p50ToStartedSeconds.toFixed(1)} / ${provflow.p95ToStartedSeconds.toFixed(1)} s`, '', ''],
      ['p50 / p95 to steady', `${provflow.p50ToSteadySeconds.toFixed(1)} / ${provflow.p95ToSteadySeconds.toFixed(1)} s`, '', ''],
      ['peak RSS worker / poller / sim', `${w.peakRssMb} / ${p.peakRssMb} / ${s.peakRssMb} MB`, '', ''],
      ['CPU ms / instance (worker)', provflow.cpuMsPerInstance.worker.toFixed(1), '', ''],
      ['Redis bytes / instance', provflow.redisBytesPerInstance, '', ''],
      ...(results.scale ? [['10k enqueue (time, peak RSS)', `${(results.scale as { enqueue10kSeconds: number }).enqueue10kSeconds.toFixed(1)} s, ${(results.scale as { enqueueProcessPeakRssMb: number }).enqueueProcessPeakRssMb} MB`, '', '']] : []),
      ['speed-up vs baseline', `${(results.speedupVsBaseline as number).toFixed(0)}×`, '1×', ''],
    ] as (string | number)[][],
    [
      { header: `measure (realistic ×${SCALE})`, get: (r) => r[0] },
      { header: 'provflow', get: (r) => r[1], align: 'right' },
      { header: 'baseline script', get: (r) => r[2], align: 'right' },
      { header: 'ideal (quota-bound)', get: (r) => r[3], align: 'right' },
    ],
  );
  process.stdout.write(`${table}\n`);
  results.machine = { cores: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, timeScale: SCALE, profile: 'realistic', seed: SEED, date: new Date().toISOString() };
  writeFileSync(path.join(HERE, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  say(`wrote ${path.join(HERE, 'results.json')}`);
} finally {
  await rt.close();
  await stack.close();
  await sim.close();
}
process.exit(0);
