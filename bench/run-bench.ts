/**
 * `npm run bench`: provflow vs a plain script vs the physical limit, in one run, against the
 * Graph simulator in its own process (`realistic` profile, every simulated duration — quota
 * windows, latency, replication lag, cycles — divided by --time-scale). Prints one table
 * (stdout; progress goes to stderr) and writes bench/results.json. See bench/README.md.
 *
 *   --instances N        provflow instances (1000)
 *   --baseline N         baseline-script instances (10; 0 skips it)
 *   --time-scale X       simulator clock compression (4: 3,000 writes / 37.5 s)
 *   --seed S             simulator seed (1)
 *   --no-scale           skip the scale runs (10,000-instance enqueue, poller over 10,000 jobs)
 *   --scale-only         only the scale runs; merged into an existing results.json
 *   --scale-instances N  size of both scale runs (10000)
 *   --poller-warmup S    seconds the poller watches the unchanged jobs before they change (60)
 *   --workers N          steps-worker processes (1; with --tenants too, their CPU summed)
 *   --throttle-engine E  native (default) or bottleneck: which engine keeps the pacing windows
 *                        (PROVFLOW_THROTTLE_ENGINE for the worker and poller processes)
 *   --env KEY=VALUE      extra environment for the worker and poller processes, repeatable
 *                        (tuning experiments, e.g. --env WORKER_CONCURRENCY=150)
 *   --timeline           keep every finished step job and print where an instance's time goes, step
 *                        by step (the Redis-per-instance figure is then not the default retention's)
 *   --debug-logs DIR     worker and poller at LOG_LEVEL=debug, their output in DIR; implies --timeline
 *                        (diagnosis: logging costs CPU, figures not comparable)
 *   --tenants N          only the multi-tenant run: N simulated tenants sharing --instances, the last
 *                        under a 429 storm (--storm-rate, 0.02), time ×1 unless --time-scale is given;
 *                        merged into results.json as multiTenant; --no-faults turns off the realistic
 *                        profile's random faults (5xx, 503s, ambiguous creates), leaving only the storm
 */
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLocalStack } from '../src/dev/local-stack.ts';
import { enqueueBatch } from '../src/flow/enqueue-batch.ts';
import { END_STATES } from '../src/ledger/instance-state.ts';
import type { InstanceRecord } from '../src/ledger/ledger.ts';
import { silentLogger } from '../src/logger.ts';
import { ROOT_STEP, STEPS } from '../src/steps/index.ts';
import { renderTable } from '../src/ui/table.ts';
import { simpleBatch } from '../test/helpers/batches.ts';
import { BASE_WRITES_PER_INSTANCE, meanPlannedWrites } from '../src/onboarding/writes.ts';
import { runBaseline, type BaselineResult } from './baseline.ts';
import { accountRoutes, efficiency, fmtInt, idealOf, percentile } from './ideal.ts';
import { captureOutput, procUsage, selfUsage, stopChild, usageSince, waitForWorkers, type ProcUsage } from './proc.ts';
import { runEnqueueScale, type EnqueueScaleResult } from './scale-enqueue.ts';
import { runPollerScale, type PollerScaleResult } from './scale-poller.ts';
import { startSimProcess } from '../src/dev/sim/process.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RESULTS = path.join(HERE, 'results.json');
const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '1000' },
    baseline: { type: 'string', default: '10' },
    'time-scale': { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
    'no-scale': { type: 'boolean', default: false },
    'scale-only': { type: 'boolean', default: false },
    'scale-instances': { type: 'string', default: '10000' },
    'poller-warmup': { type: 'string', default: '60' },
    'debug-logs': { type: 'string' },
    timeline: { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
    env: { type: 'string', multiple: true, default: [] },
    'throttle-engine': { type: 'string' },
    tenants: { type: 'string', default: '1' },
    'storm-rate': { type: 'string', default: '0.02' },
    'no-faults': { type: 'boolean', default: false },
  },
});
if (Number(values.tenants) > 1) {
  const { runMultiTenantCli } = await import('./multi-tenant-cli.ts');
  await runMultiTenantCli({
    tenants: Number(values.tenants),
    instances: Number(values.instances),
    // Real time unless asked: at ×4 eight tenants' quotas ask more CPU than two cores have, and the
    // run would measure the machine, not the fleet's fairness.
    timeScale: process.argv.some((a) => a.startsWith('--time-scale')) ? Number(values['time-scale']) : 1,
    seed: Number(values.seed),
    stormRate: Number(values['storm-rate']),
    workers: Number(values.workers),
    faults: !values['no-faults'],
    results: path.join(path.dirname(fileURLToPath(import.meta.url)), 'results.json'),
  });
  process.exit(0);
}
const N = Number(values.instances);
const NB = Number(values.baseline);
const SCALE = Number(values['time-scale']);
const SEED = Number(values.seed);
const NS = Number(values['scale-instances']);
const WARMUP_MS = Number(values['poller-warmup']) * 1000;
const RUN_MAIN = !values['scale-only'];
const RUN_SCALE = !values['no-scale'];
const DEBUG_DIR = values['debug-logs'];
const TIMELINE = values.timeline || !!DEBUG_DIR;
const WORKERS = Number(values.workers);
const EXTRA_ENV: Record<string, string> = {};
for (const kv of values.env ?? []) {
  const i = kv.indexOf('=');
  if (i <= 0) {
    process.stderr.write(`--env wants KEY=VALUE, got ${kv}\n`);
    process.exit(2);
  }
  EXTRA_ENV[kv.slice(0, i)] = kv.slice(i + 1);
}
const ENGINE = values['throttle-engine'];
if (ENGINE !== undefined) {
  if (ENGINE !== 'native' && ENGINE !== 'bottleneck') {
    process.stderr.write(`--throttle-engine wants native or bottleneck, got ${ENGINE}\n`);
    process.exit(2);
  }
  EXTRA_ENV.PROVFLOW_THROTTLE_ENGINE = ENGINE;
}
for (const [k, v] of Object.entries({
  workers: WORKERS,
  instances: N,
  baseline: NB,
  'time-scale': SCALE,
  seed: SEED,
  'scale-instances': NS,
  'poller-warmup': WARMUP_MS,
})) {
  if (!Number.isFinite(v) || v < 0 || (k !== 'seed' && k !== 'baseline' && v === 0)) {
    process.stderr.write(`--${k} must be a positive number\n`);
    process.exit(2);
  }
}

const t00 = Date.now();
const say = (s: string) => process.stderr.write(`[${((Date.now() - t00) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const usedMemory = (info: string) => Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
const s1 = (x: number) => x.toFixed(1);
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

const machine = {
  cores: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.type()} ${os.release()}`,
  date: new Date().toISOString(),
};
say(
  `provflow bench: ${RUN_MAIN ? `provflow ${N} instances, baseline ${NB}` : 'scale runs only'}${RUN_SCALE ? `, scale runs ${NS}` : ''}; ` +
    `simulator realistic profile, time ×${SCALE}, seed ${SEED}; ${machine.cores} cores, ${machine.memGiB} GiB, Node ${machine.node}`,
);

// The probe (bench/proc-probe.mjs, preloaded, no code change) reports event-loop use and HTTP times
// of the simulator, the worker(s) and the poller.
const probeDir = mkdtempSync(path.join(os.tmpdir(), 'provflow-bench-probe-'));
const probeEnv = (name: string) => ({
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${path.join(HERE, 'proc-probe.mjs')}`.trim(),
  BENCH_PROBE_DIR: probeDir,
  BENCH_PROBE_NAME: name,
});
const readProbe = (name: string) => {
  try {
    return JSON.parse(readFileSync(path.join(probeDir, `${name}.json`), 'utf8'));
  } catch {
    return null;
  }
};
const sim = await startSimProcess({ profile: 'realistic', seed: SEED, timeScale: SCALE, env: probeEnv('simulator') });
const S = sim.settings;
say(
  `simulator pid ${sim.child.pid} at ${sim.handle.graphBaseUrl}: writes ${S.writeLimit} / ${S.writeWindowMs / 1000} s, RU ${S.ruLimit} / ${S.ruWindowMs / 1000} s, ` +
    `latency ${S.latencyMs.min}–${S.latencyMs.max} ms, replication ${S.replicationLagMs.min}–${S.replicationLagMs.max} ms, first cycle ${S.firstCycleMs / 1000} s`,
);
const stack = await startLocalStack({ sim: sim.handle, timeScale: SCALE, ownRedis: true, env: EXTRA_ENV });
if (Object.keys(EXTRA_ENV).length)
  say(
    `extra environment for provflow's processes: ${Object.entries(EXTRA_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
const rt = await stack.runtime(silentLogger());
const results: Record<string, any> = RUN_MAIN
  ? {}
  : existsSync(RESULTS)
    ? JSON.parse(readFileSync(RESULTS, 'utf8'))
    : {};
let failed = false;

try {
  if (RUN_MAIN) {
    // ── provflow ──────────────────────────────────────────────────────────────────────────────
    say(`provflow: starting the steps worker and the poller as separate processes…`);
    const logEnv: Record<string, string> = DEBUG_DIR ? { LOG_LEVEL: 'debug' } : {};
    const workerNames = Array.from({ length: WORKERS }, (_, i) => (WORKERS === 1 ? 'worker' : `worker${i + 1}`));
    const workers = workerNames.map((name) => stack.spawnProcess('worker', { ...logEnv, ...probeEnv(name) }));
    const poller = stack.spawnProcess('poller', { ...logEnv, ...probeEnv('poller') });
    const named = [...workerNames.map((n, i) => [n, workers[i]!] as const), ['poller', poller] as const];
    const outs = named.map(([name, child]) => [name, child, captureOutput(child)] as const);
    if (DEBUG_DIR) {
      mkdirSync(DEBUG_DIR, { recursive: true });
      for (const [name, child] of named) {
        const file = createWriteStream(path.join(DEBUG_DIR, `${name}.log`));
        child.stdout?.pipe(file);
        child.stderr?.pipe(file);
      }
      say(`provflow: debug logs in ${DEBUG_DIR} (figures of this run are not comparable)`);
    }
    const exited = () => {
      const gone = outs.find(([, child]) => child.exitCode !== null);
      return gone ? `the ${gone[0]} exited (${gone[1].exitCode}):\n${gone[2].lines().join('\n')}` : null;
    };
    await waitForWorkers(rt.stepsQueue, WORKERS, 60_000, exited);
    await waitForWorkers(rt.pollQueue, 1, 60_000, exited);
    await sim.reset(); // counters from zero (tokens the processes already hold stay valid)
    const redisPid = stack.redis.child?.pid;
    const workersUsage = () =>
      workers
        .map((w) => procUsage(w.pid))
        .reduce((a, u) => ({
          rssMb: a.rssMb + u.rssMb,
          peakRssMb: Math.max(a.peakRssMb, u.peakRssMb),
          cpuMs: a.cpuMs + u.cpuMs,
        }));
    const u0 = {
      worker: workersUsage(),
      poller: procUsage(poller.pid),
      sim: procUsage(sim.child.pid),
      redis: procUsage(redisPid),
      bench: selfUsage(),
    };
    const redisBefore = usedMemory(await rt.redis.info('memory'));
    const batch = simpleBatch('bench', N, (i) => `AWS Bench ${String(i).padStart(5, '0')}`);
    // Derived from the batch's fields, never assumed: onboarding fields add writes (src/onboarding/writes.ts).
    const plannedWritesPerInstance = meanPlannedWrites(batch.instances);
    const estimate = idealOf({
      instances: N,
      writesPerInstance: plannedWritesPerInstance,
      readsRuPerInstance: 15,
      writeLimit: S.writeLimit,
      writeWindowMs: S.writeWindowMs,
      ruLimit: S.ruLimit,
      ruWindowMs: S.ruWindowMs,
      firstCycleMs: S.firstCycleMs,
    });
    say(
      `provflow: ready (worker pid ${workers.map((w) => w.pid).join(', ')}, poller pid ${poller.pid}); enqueueing ${N} instances — quota-bound ideal ≈ ${s1(estimate.seconds)} s`,
    );

    const t0 = Date.now();
    const enq = await enqueueBatch(rt, batch, {
      // Diagnosis keeps every finished step job, for the per-step timeline below (changes the Redis figure).
      ...(TIMELINE
        ? { retention: { completedAgeSeconds: 86_400, completedCount: 1_000_000, failedAgeSeconds: 86_400 } }
        : {}),
      onProgress: (d, t) => (t >= 1000 && d % 1000 === 0 ? say(`  enqueued ${d}/${t}`) : undefined),
    });
    say(`  enqueued ${enq.added} in ${enq.durationMs} ms`);
    const timeoutMs = Math.max(600_000, 20 * estimate.seconds * 1000);
    // Light polling (one small field per instance), so the bench takes little from Redis and the CPUs.
    const keys = batch.instances.map((i) => rt.ledger.keys.instance('bench', i.instanceKey));
    const readStates = async () => {
      const p = rt.redis.pipeline();
      for (const k of keys) p.hmget(k, 'state', 'startedAt');
      return ((await p.exec()) ?? []).map((r) => r[1] as [string | null, string | null]);
    };
    const backlog: { t: number; waiting: number; active: number; delayed: number }[] = [];
    let lastSay = 0;
    for (;;) {
      const why = exited();
      if (why) throw new Error(why);
      const states = await readStates();
      const ended = states.filter(([st]) => st !== null && END_STATES.has(st)).length;
      if (Date.now() - lastSay >= 5000 || ended === N) {
        lastSay = Date.now();
        const st = await sim.stats();
        const c = await rt.stepsQueue.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'waiting-children');
        backlog.push({
          t: Date.now() - t0,
          waiting: (c.wait ?? 0) + (c.prioritized ?? 0),
          active: c.active ?? 0,
          delayed: c.delayed ?? 0,
        });
        const started = states.filter(([, at]) => at).length;
        const steady = states.filter(([x]) => x === 'steady').length;
        const bad = states.filter(([x]) => x === 'failed' || x === 'timed-out' || x === 'quarantined').length;
        say(
          `  ${s1((Date.now() - t0) / 1000).padStart(6)} s: started ${started}/${N}, steady ${steady}/${N}${bad ? `, failed/quarantined/timed-out ${bad}` : ''}` +
            ` · steps queue: ${c.active ?? 0} active, ${(c.wait ?? 0) + (c.prioritized ?? 0)} ready, ${c.delayed ?? 0} delayed` +
            ` · Graph ${fmtInt(st.requests)} requests, ${fmtInt(st.writes)} writes, ${st.throttled} × 429, ${st.retryAfterViolations} violations`,
        );
      }
      if (ended === N) break;
      if (Date.now() - t0 > timeoutMs) {
        say(`  TIMEOUT after ${timeoutMs / 1000} s: ${N - ended} instances not finished`);
        failed = true;
        break;
      }
      await sleep(1000);
    }
    const rows: InstanceRecord[] = await rt.ledger.listInstances('bench');
    const lastEnd = Math.max(...rows.map((r) => r.endedAt ?? 0));
    const wallMs = (rows.every((r) => END_STATES.has(r.state)) ? lastEnd : Date.now()) - t0;
    const stats = await sim.stats();
    const u1 = {
      worker: workersUsage(),
      poller: procUsage(poller.pid),
      sim: procUsage(sim.child.pid),
      redis: procUsage(redisPid),
      bench: selfUsage(),
    };
    const redisAfter = usedMemory(await rt.redis.info('memory'));
    await Promise.all([...workers.map((w) => stopChild(w)), stopChild(poller)]);
    await sleep(2100); // the simulator's probe writes every 2 s
    const probes: Record<string, any> = Object.fromEntries(
      [...workerNames, 'poller', 'simulator'].map((n) => [n, readProbe(n)]),
    );
    if (WORKERS > 1) probes.worker = probes.worker1;

    if (TIMELINE) {
      // Where an instance's time goes: from the previous step's completion (the enqueue, for the
      // first) to this step's completion — queue wait, replication waits and Graph calls together.
      const jobs = [
        ...(await rt.stepsQueue.getJobs(['completed'], 0, -1)),
        ...(await rt.pollQueue.getJobs(['completed'], 0, -1)),
      ];
      const by = new Map<string, Map<string, { finishedOn: number; processedOn: number; runs: number }>>();
      for (const j of jobs) {
        const key = (j.data as { instance: { instanceKey: string } }).instance.instanceKey;
        if (!by.has(key)) by.set(key, new Map());
        by.get(key)!.set(j.name, {
          finishedOn: j.finishedOn ?? 0,
          processedOn: j.processedOn ?? 0,
          runs: j.attemptsStarted ?? 0,
        });
      }
      const order: string[] = [...STEPS.map((s) => s.name), 'watch'];
      const perStep: Record<
        string,
        { p50: number; p95: number; mean: number; runs: number; lastRunMs: number; n: number }
      > = {};
      order.forEach((step, i) => {
        const d: number[] = [];
        const runs: number[] = [];
        const last: number[] = [];
        for (const m of by.values()) {
          const end = m.get(step);
          const from = i === 0 ? t0 : m.get(order[i - 1]!)?.finishedOn;
          if (end?.finishedOn && from) {
            d.push(end.finishedOn - from);
            runs.push(end.runs);
            last.push(end.finishedOn - end.processedOn);
          }
        }
        const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
        perStep[step] = {
          p50: percentile(d, 50) / 1000,
          p95: percentile(d, 95) / 1000,
          mean: mean(d) / 1000,
          runs: mean(runs),
          lastRunMs: mean(last),
          n: d.length,
        };
      });
      results.stepTimeline = perStep;
      // The tail: the five instances that ended last, step by step (seconds from the previous step; runs).
      const tail = [...by.entries()]
        .map(([key, m]) => ({ key, end: m.get('watch')?.finishedOn ?? m.get(ROOT_STEP)?.finishedOn ?? 0, m }))
        .sort((a, b) => b.end - a.end)
        .slice(0, 5);
      results.tail = tail.map(({ key, end, m }) => ({
        instance: key,
        endedSeconds: (end - t0) / 1000,
        steps: order.map((step, i) => {
          const e = m.get(step);
          const from = i === 0 ? t0 : m.get(order[i - 1]!)?.finishedOn;
          return { step, seconds: e?.finishedOn && from ? (e.finishedOn - from) / 1000 : null, runs: e?.runs ?? 0 };
        }),
      }));
      for (const t of results.tail)
        say(
          `    tail ${t.instance} ended at ${t.endedSeconds.toFixed(1)} s: ${t.steps.map((x: { step: string; seconds: number | null; runs: number }) => `${x.step} ${x.seconds?.toFixed(1) ?? '-'} s×${x.runs}`).join(', ')}`,
        );
      say(`  seconds per step (from the previous step's completion) p50 / p95; runs per step; ms of its last run:`);
      for (const k of order) {
        const x = perStep[k]!;
        say(
          `    ${k.padEnd(22)} ${x.p50.toFixed(2).padStart(6)} / ${x.p95.toFixed(2).padStart(6)} s; ${x.runs.toFixed(2)} runs; last run ${x.lastRunMs.toFixed(0)} ms  (n ${x.n})`,
        );
      }
    }

    const acct = accountRoutes(stats.byRoute);
    const ideal = idealOf({
      instances: N,
      writesPerInstance: plannedWritesPerInstance,
      readsRuPerInstance: acct.readRu / N,
      writeLimit: S.writeLimit,
      writeWindowMs: S.writeWindowMs,
      ruLimit: S.ruLimit,
      ruWindowMs: S.ruWindowMs,
      firstCycleMs: S.firstCycleMs,
    });
    const steady = rows.filter((r) => r.state === 'steady').length;
    const toStarted = rows.filter((r) => r.startedAt && r.enqueuedAt).map((r) => r.startedAt! - r.enqueuedAt!);
    const toSteady = rows
      .filter((r) => r.state === 'steady' && r.endedAt && r.enqueuedAt)
      .map((r) => r.endedAt! - r.enqueuedAt!);
    const cpu = (k: keyof typeof u1) => usageSince(u1[k] as ProcUsage, u0[k] as ProcUsage).cpuMs / N;
    const notSteady: Record<string, number> = {};
    for (const r of rows) if (r.state !== 'steady') notSteady[r.state] = (notSteady[r.state] ?? 0) + 1;
    const provflow = {
      instances: N,
      steady,
      notSteady,
      wallSeconds: wallMs / 1000,
      instancesPerMinute: (steady / wallMs) * 60_000,
      efficiency: efficiency(ideal.seconds, wallMs / 1000),
      efficiencyVsSlidingWindowFloor: efficiency(ideal.slidingWindowSeconds, wallMs / 1000),
      enqueueSeconds: enq.durationMs / 1000,
      requestsPerInstance: stats.requests / N,
      /** Writes the simulator applied (past its quota and fault checks). */
      writesPerInstance: stats.writes / N,
      /** Write requests sent, including those answered 429 or with an injected fault. */
      writeRequestsPerInstance: acct.writeRequests / N,
      readsPerInstance: acct.reads / N,
      readRuPerInstance: acct.readRu / N,
      throttled: stats.throttled,
      throttledShare: stats.requests ? stats.throttled / stats.requests : 0,
      throttledByRoute: stats.throttledByRoute,
      retryAfterViolations: stats.retryAfterViolations,
      /** The simulator's record of each violation: route, ms since the caller was told to wait, ms it still had to wait. */
      violations: stats.violations,
      duplicateApplications: stats.duplicateApplications,
      faultsInjected: stats.faultsInjected,
      byStatus: stats.byStatus,
      p50ToStartedSeconds: percentile(toStarted, 50) / 1000,
      p95ToStartedSeconds: percentile(toStarted, 95) / 1000,
      p50ToSteadySeconds: percentile(toSteady, 50) / 1000,
      p95ToSteadySeconds: percentile(toSteady, 95) / 1000,
      peakRssMb: {
        worker: u1.worker.peakRssMb,
        poller: u1.poller.peakRssMb,
        simulator: u1.sim.peakRssMb,
        redis: u1.redis.peakRssMb,
        bench: u1.bench.peakRssMb,
      },
      cpuMsPerInstance: {
        worker: cpu('worker'),
        poller: cpu('poller'),
        simulator: cpu('sim'),
        redis: cpu('redis'),
        bench: cpu('bench'),
      },
      /** CPU of all five processes over the wall time, in cores (the machine has `machine.cores`). */
      coresBusy:
        (['worker', 'poller', 'sim', 'redis', 'bench'] as const).reduce(
          (a, k) => a + usageSince(u1[k], u0[k]).cpuMs,
          0,
        ) / wallMs,
      redisBytesPerInstance: Math.round((redisAfter - redisBefore) / N),
      /** From bench/proc-probe.mjs: event-loop utilisation and delay, HTTP request times (created → headers) as undici saw them. */
      probes,
      /** Steps queue every ~5 s: jobs ready but not taken (a backlog means the workers' slots are the limit), active, delayed. */
      stepsQueueBacklog: backlog,
      /** Mean ready-but-not-taken steps jobs over the run, and the workers' slots (WORKERS × WORKER_CONCURRENCY). */
      meanReadyBacklog: backlog.reduce((a, b) => a + b.waiting, 0) / Math.max(1, backlog.length),
      workerSlots: WORKERS * stack.cfg.WORKER_CONCURRENCY,
      byRoute: stats.byRoute,
      workers: WORKERS,
      workerConcurrency: stack.cfg.WORKER_CONCURRENCY,
      pollerConcurrency: stack.cfg.POLLER_CONCURRENCY,
      extraEnv: EXTRA_ENV,
      debugRun: !!DEBUG_DIR,
      timelineRun: TIMELINE,
    };
    results.provflow = provflow;
    results.ideal = {
      ...ideal,
      writesPerInstance: plannedWritesPerInstance,
      writeLimit: S.writeLimit,
      writeWindowMs: S.writeWindowMs,
      ruLimit: S.ruLimit,
      ruWindowMs: S.ruWindowMs,
      firstCycleMs: S.firstCycleMs,
    };
    say(
      `provflow: ${steady}/${N} steady in ${s1(wallMs / 1000)} s (ideal ${s1(ideal.seconds)} s, efficiency ${provflow.efficiency.toFixed(2)}; ${provflow.coresBusy.toFixed(2)} of ${machine.cores} cores busy)`,
    );
    if (steady < N) failed = true;

    // ── baseline ──────────────────────────────────────────────────────────────────────────────
    if (NB > 0) {
      await sim.reset();
      say(`baseline: ${NB} instances, one after another, SDK retry behaviour…`);
      const base: BaselineResult = await runBaseline({ ...sim.handle, timeScale: SCALE }, NB, {
        onProgress: (d, ms) => say(`  baseline ${d}/${NB} (${s1(ms / 1000)} s)`),
      });
      const bs = await sim.stats();
      const bAcct = accountRoutes(bs.byRoute);
      results.baseline = {
        instances: NB,
        steady: base.steady,
        failed: base.failed,
        failures: base.failures,
        instancesPerMinute: base.instancesPerMinute,
        wallSeconds: base.wallMs / 1000,
        perInstanceSeconds: base.perInstanceMs.map((x) => x / 1000),
        meanPerInstanceSeconds:
          base.perInstanceMs.reduce((a, b) => a + b, 0) / Math.max(1, base.perInstanceMs.length) / 1000,
        requestsPerInstance: bs.requests / NB,
        writesPerInstance: bs.writes / NB,
        writeRequestsPerInstance: bAcct.writeRequests / NB,
        throttled: bs.throttled,
        retryAfterViolations: bs.retryAfterViolations,
        duplicateApplications: bs.duplicateApplications,
        sdkRetries: base.sdkRetries,
        reruns: base.reruns,
      };
      results.speedupVsBaseline =
        base.instancesPerMinute > 0 ? provflow.instancesPerMinute / base.instancesPerMinute : null;
    }
  }

  // ── scale runs ──────────────────────────────────────────────────────────────────────────────
  if (RUN_SCALE) {
    say(`scale 1/2: ${NS}-instance enqueue`);
    const e: EnqueueScaleResult = await runEnqueueScale(NS, say);
    say(
      `  ${NS} enqueued: ${s1(e.enqueueSeconds)} s enqueueing, ${s1(e.processSeconds)} s for the whole process, peak RSS ${e.peakRssMb} MB`,
    );
    say(`scale 2/2: the poller watching ${NS} started jobs`);
    const p: PollerScaleResult = await runPollerScale({ sim, stack, jobs: NS, warmupMs: WARMUP_MS, say });
    say(
      `  detection p95 ${s1(p.detectionP95Seconds)} s (${p.detectionP95OverScheduled.toFixed(1)} × the scheduled interval; effective interval ${s1(p.effectiveIntervalSeconds)} s); ` +
        `${fmtInt(p.pollsPerMinutePeak10s)} polls/min at peak vs a share of ${fmtInt(p.sharePollsPerMinute)}`,
    );
    results.scale = { enqueue: e, poller: p };
  }

  // ── goals ─────────────────────────────────────────────────────────────────────────────────
  const pf = results.provflow;
  const bl = results.baseline;
  const sc = results.scale;
  const goals: { goal: string; measured: string; met: boolean | null }[] = [];
  if (pf) {
    goals.push({
      goal: `efficiency ≥ 0.9 at N = 1,000`,
      measured: `${pf.efficiency.toFixed(2)} at N = ${fmtInt(pf.instances)}`,
      met: pf.instances >= 1000 ? pf.efficiency >= 0.9 : null,
    });
    goals.push({
      goal: '0 Retry-After violations',
      measured: String(pf.retryAfterViolations),
      met: pf.retryAfterViolations === 0,
    });
    goals.push({
      goal: '0 duplicate applications',
      measured: String(pf.duplicateApplications),
      met: pf.duplicateApplications === 0,
    });
    goals.push({ goal: '429s < 1 % of requests', measured: pct(pf.throttledShare), met: pf.throttledShare < 0.01 });
    if (results.speedupVsBaseline != null)
      goals.push({
        goal: '≥ 10× baseline instances/min',
        measured: `${results.speedupVsBaseline.toFixed(0)}×`,
        met: results.speedupVsBaseline >= 10,
      });
    const plannedWrites = results.ideal?.writesPerInstance ?? BASE_WRITES_PER_INSTANCE;
    goals.push({
      goal: `writes / instance = ${plannedWrites.toFixed(2)} (planned from the batch)`,
      measured: pf.writesPerInstance.toFixed(2),
      met: pf.writesPerInstance < plannedWrites + 0.005,
    });
    goals.push({
      goal: 'Redis < 10 KB / completed instance',
      measured: `${fmtInt(pf.redisBytesPerInstance)} B`,
      met: pf.timelineRun ? null : pf.redisBytesPerInstance < 10_240,
    });
  }
  if (sc) {
    goals.push({
      goal: '10,000-instance enqueue < 30 s',
      measured: `${s1(sc.enqueue.processSeconds)} s (${fmtInt(sc.enqueue.instances)})`,
      met: sc.enqueue.instances >= 10_000 ? sc.enqueue.processSeconds < 30 : null,
    });
    goals.push({
      goal: 'enqueuer < 300 MB RSS',
      measured: `${sc.enqueue.peakRssMb} MB`,
      met: sc.enqueue.peakRssMb < 300,
    });
    goals.push({
      goal: 'poller within its quota share',
      measured: `${fmtInt(sc.poller.pollsPerMinutePeak10s)} of ${fmtInt(sc.poller.sharePollsPerMinute)} /min, ${sc.poller.throttled} × 429`,
      met: sc.poller.pollsPerMinutePeak10s <= sc.poller.sharePollsPerMinute * 1.02 && sc.poller.throttled === 0,
    });
    goals.push({
      goal: 'poller detection p95 < 2 × interval',
      measured: `p95 ${sc.poller.detectionP95OverScheduled.toFixed(1)} × the scheduled interval (${s1(sc.poller.detectionP95Seconds)} s)`,
      met: sc.poller.notDetected === 0 && sc.poller.detectionP95OverScheduled < 2,
    });
  }
  results.goals = goals;
  results.machine = {
    ...machine,
    timeScale: SCALE,
    profile: 'realistic',
    seed: SEED,
    workers: WORKERS,
    extraEnv: EXTRA_ENV,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    simulatorSettings: S,
  };

  // ── the table ───────────────────────────────────────────────────────────────────────────────
  const mark = (g: string) => {
    const x = goals.find((y) => y.goal.startsWith(g));
    return x ? (x.met === null ? 'n/a' : x.met ? 'met' : 'MISSED') : '';
  };
  type Row = [string, string, string, string, string];
  const out: Row[] = [];
  if (pf) {
    const id = results.ideal;
    out.push(
      ['instances', fmtInt(pf.instances), bl ? fmtInt(bl.instances) : '', fmtInt(pf.instances), ''],
      [
        'wall time, enqueue → all steady',
        `${s1(pf.wallSeconds)} s`,
        bl ? `${s1(bl.wallSeconds)} s` : '',
        `${s1(id.seconds)} s`,
        '',
      ],
      [
        '  ideal = write bound + first cycle',
        '',
        '',
        `${s1(id.writeBoundSeconds)} + ${s1(id.firstCycleSeconds)} s`,
        '',
      ],
      ['  RU bound; sliding-window floor', '', '', `${s1(id.ruBoundSeconds)} s; ${s1(id.slidingWindowSeconds)} s`, ''],
      [
        'instances / min',
        fmtInt(pf.instancesPerMinute),
        bl ? bl.instancesPerMinute.toFixed(1) : '',
        fmtInt(id.instancesPerMinute),
        '',
      ],
      ['efficiency (ideal ÷ actual)', pf.efficiency.toFixed(2), '', '1.00', `≥ 0.90  ${mark('efficiency')}`],
    );
    if (bl) {
      out.push([
        'speed-up vs baseline',
        `${results.speedupVsBaseline.toFixed(0)}×`,
        '1×',
        '',
        `≥ 10×  ${mark('≥ 10×')}`,
      ]);
      out.push(['time per instance (baseline: mean)', '', `${s1(bl.meanPerInstanceSeconds)} s`, '', '']);
    }
    out.push(
      [
        'Graph requests / instance',
        pf.requestsPerInstance.toFixed(1),
        bl ? bl.requestsPerInstance.toFixed(1) : '',
        '',
        '',
      ],
      [
        '  reads / instance (their RU)',
        `${pf.readsPerInstance.toFixed(1)} (${pf.readRuPerInstance.toFixed(1)})`,
        '',
        '',
        '',
      ],
      [
        '  writes / instance applied (sent)',
        `${pf.writesPerInstance.toFixed(2)} (${pf.writeRequestsPerInstance.toFixed(2)})`,
        bl ? `${bl.writesPerInstance.toFixed(2)} (${bl.writeRequestsPerInstance.toFixed(2)})` : '',
        id.writesPerInstance.toFixed(2),
        `= ${id.writesPerInstance.toFixed(2)}  ${mark('writes')}`,
      ],
      [
        '429s (share of requests)',
        `${pf.throttled} (${pct(pf.throttledShare)})`,
        bl ? String(bl.throttled) : '',
        '0',
        `< 1 %  ${mark('429s')}`,
      ],
      [
        'Retry-After violations',
        String(pf.retryAfterViolations),
        bl ? String(bl.retryAfterViolations) : '',
        '0',
        `0  ${mark('0 Retry')}`,
      ],
      [
        'duplicate applications',
        String(pf.duplicateApplications),
        bl ? String(bl.duplicateApplications) : '',
        '0',
        `0  ${mark('0 dup')}`,
      ],
      ['p50 / p95 enqueue → started', `${s1(pf.p50ToStartedSeconds)} / ${s1(pf.p95ToStartedSeconds)} s`, '', '', ''],
      ['p50 / p95 enqueue → steady', `${s1(pf.p50ToSteadySeconds)} / ${s1(pf.p95ToSteadySeconds)} s`, '', '', ''],
      [
        `peak RSS worker${pf.workers > 1 ? ` (max of ${pf.workers})` : ''} / poller`,
        `${pf.peakRssMb.worker} / ${pf.peakRssMb.poller} MB`,
        '',
        '',
        '',
      ],
      [
        'peak RSS sim / redis / bench',
        `${pf.peakRssMb.simulator} / ${pf.peakRssMb.redis} / ${pf.peakRssMb.bench} MB`,
        '',
        '',
        '',
      ],
      [
        `CPU ms / instance worker${pf.workers > 1 ? 's' : ''} / poller`,
        `${s1(pf.cpuMsPerInstance.worker)} / ${s1(pf.cpuMsPerInstance.poller)}`,
        '',
        '',
        '',
      ],
      [
        'CPU ms / instance sim / redis / bench',
        `${s1(pf.cpuMsPerInstance.simulator)} / ${s1(pf.cpuMsPerInstance.redis)} / ${s1(pf.cpuMsPerInstance.bench)}`,
        '',
        '',
        '',
      ],
      ['cores busy (all processes)', `${pf.coresBusy.toFixed(2)} of ${machine.cores}`, '', '', ''],
      ...(pf.workerSlots
        ? ([
            [
              'steps ready but waiting for a slot (mean)',
              `${fmtInt(pf.meanReadyBacklog)} (${fmtInt(pf.workerSlots)} slots)`,
              '',
              '',
              '',
            ],
          ] as Row[])
        : []),
      ...(pf.probes?.worker
        ? ([
            [
              'worker event loop busy; delay p99',
              `${(pf.probes.worker.eventLoopUtilization * 100).toFixed(0)} %; ${s1(pf.probes.worker.eventLoopDelayMs.p99)} ms`,
              '',
              '',
              '',
            ],
            [
              'worker HTTP p50 / p95 (client side)',
              `${s1(pf.probes.worker.httpMs.p50)} / ${s1(pf.probes.worker.httpMs.p95)} ms`,
              '',
              '',
              '',
            ],
            ...(pf.probes.simulator
              ? ([
                  [
                    '  simulator side p50 / p95 (latency)',
                    `${s1(pf.probes.simulator.servedMs.p50)} / ${s1(pf.probes.simulator.servedMs.p95)} ms`,
                    '',
                    `${S.latencyMs.min}–${S.latencyMs.max} ms`,
                    '',
                  ],
                  [
                    '  simulator event loop busy',
                    `${(pf.probes.simulator.eventLoopUtilization * 100).toFixed(0)} %`,
                    '',
                    '',
                    '',
                  ],
                ] as Row[])
              : []),
          ] as Row[])
        : []),
      ['Redis / completed instance', `${fmtInt(pf.redisBytesPerInstance)} B`, '', '', `< 10 KB  ${mark('Redis')}`],
    );
  }
  if (sc) {
    const e = sc.enqueue as EnqueueScaleResult;
    const p = sc.poller as PollerScaleResult;
    out.push(
      [
        `enqueue ${fmtInt(e.instances)} (CLI process)`,
        `${s1(e.processSeconds)} s (${s1(e.enqueueSeconds)} s enqueueing)`,
        '',
        '',
        `< 30 s  ${mark('10,000-instance')}`,
      ],
      ['  enqueuer peak RSS', `${e.peakRssMb} MB`, '', '', `< 300 MB  ${mark('enqueuer')}`],
      ['  Redis / queued instance', `${fmtInt(e.redisBytesPerQueuedInstance)} B`, '', '', ''],
      [
        `poller over ${fmtInt(p.jobs)} jobs: polls / min`,
        `${fmtInt(p.pollsPerMinutePeak10s)} peak, ${fmtInt(p.pollsPerMinuteMean)} mean`,
        '',
        `${fmtInt(p.sharePollsPerMinute)} (share)`,
        `≤ share  ${mark('poller within')}`,
      ],
      [
        '  interval: scheduled p50 / effective',
        `${s1(p.scheduledIntervalP50Seconds)} / ${s1(p.effectiveIntervalSeconds)} s`,
        '',
        '',
        '',
      ],
      [
        '  detection p50 / p95 / max',
        `${s1(p.detectionP50Seconds)} / ${s1(p.detectionP95Seconds)} / ${s1(p.detectionMaxSeconds)} s`,
        '',
        '',
        '',
      ],
      [
        '  detection ÷ scheduled interval (p95)',
        `${p.detectionP95OverScheduled.toFixed(1)}×`,
        '',
        '',
        `< 2×  ${mark('poller detection')}`,
      ],
      [
        '  429s / violations; peak RSS; CPU',
        `${p.throttled} / ${p.retryAfterViolations}; ${p.pollerPeakRssMb} MB; ${(p.pollerCpuShare * 100).toFixed(0)} % core`,
        '',
        '',
        '',
      ],
    );
  }
  const table = renderTable(
    out,
    [
      { header: `realistic profile, time ×${SCALE}`, get: (r) => r[0] },
      { header: 'provflow', get: (r) => r[1], align: 'right' },
      { header: 'baseline script', get: (r) => r[2], align: 'right' },
      { header: 'ideal (quota)', get: (r) => r[3], align: 'right' },
      { header: 'goal (issue 7)', get: (r) => r[4] },
    ],
    { width: Infinity },
  ); // a record for bench/README.md, not a screen: never cut
  process.stdout.write(`${table}\n`);
  results.table = table.split('\n');
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  say(`wrote ${RESULTS} (${((Date.now() - t00) / 1000).toFixed(0)} s in all)`);
} catch (e) {
  failed = true;
  say(`bench failed: ${(e as Error).stack ?? e}`);
} finally {
  rmSync(probeDir, { recursive: true, force: true });
  await rt.close().catch(() => {});
  await stack.close().catch(() => {});
  await sim.close().catch(() => {});
}
process.exit(failed ? 1 : 0);
