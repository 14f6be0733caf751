/**
 * Scale run 2: the poller (its own process, production code, default settings scaled like the
 * simulator's clock) watching 10,000 started provisioning jobs.
 *
 * 1. Seed: the simulator is told (POST /_sim/configure) to drop latency, replication lag,
 *    faults and quotas and to make first cycles last a day; the bench then creates 10,000
 *    instances itself with plain Graph calls (instantiate, create job, save secrets, start),
 *    registers them in the ledger and adds one watch job each, exactly as step 7 does.
 *    The simulator has no bulk-injection API, so seeding goes through its Graph endpoints.
 * 2. Restore the profile's real quotas, latency and faults; start the poller; let it watch the
 *    10,000 unchanged jobs for a warm-up (its adaptive intervals grow, its quota share binds).
 * 3. Measure poll requests per minute (simulator's count of GET …/jobs/{jobId}) against the
 *    poller's share: POLLER_QUOTA_SHARE × RU quota (at the limiter's safety factor).
 * 4. Trigger the state change: set firstCycleMs so every job's first cycle ends a little after
 *    now, spread like their starts. The change time of each job is read back exactly
 *    afterwards (`steadyStateFirstAchievedTime`), and the detection delay is the ledger's
 *    `endedAt` (the poller recorded "steady") minus it.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { LocalStack } from '../src/dev/local-stack.ts';
import type { WatchJobData } from '../src/flow/job-data.ts';
import { JOB_POLICIES } from '../src/flow/job-policies.ts';
import { watchJobId } from '../src/flow/watch-job.ts';
import { QUEUES } from '../src/flow/queues.ts';
import { Ledger } from '../src/ledger/ledger.ts';
import type { SimulatorSettings } from '../src/dev/sim/index.ts';
import { fmtInt, percentile, pollerSharePerMinute } from './ideal.ts';
import { plainGraph } from './plain-graph.ts';
import { captureOutput, procUsage, stopChild, waitForWorkers } from './proc.ts';
import type { SimProcess } from '../src/dev/sim/process.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const POLL_ROUTE = 'GET /servicePrincipals/{id}/synchronization/jobs/{jobId}';
const DAY_MS = 86_400_000;

/** Runs `fn(i)` for i in [0, n) with at most `concurrency` at a time. */
export async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(n, concurrency) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      await fn(i);
    }
  });
  await Promise.all(lanes);
}

export interface PollerScaleResult {
  jobs: number;
  seedSeconds: number;
  seedSpanSeconds: number;
  warmupSeconds: number;
  pollerQuotaShare: number;
  /** POLLER_QUOTA_SHARE × RU quota, at the limiter's safety factor, in polls per minute. */
  sharePollsPerMinute: number;
  /** Mean over the warm-up (after its first 10 s), and the busiest 10-second window of the whole watch. */
  pollsPerMinuteMean: number;
  pollsPerMinutePeak10s: number;
  shareUsed: number;
  /** 429s and Retry-After violations while the poller watched. */
  throttled: number;
  retryAfterViolations: number;
  /** At the trigger: the intervals the poller had scheduled (p50/p95), and the per-job interval its throughput allows (jobs ÷ polls per second). */
  scheduledIntervalP50Seconds: number;
  scheduledIntervalP95Seconds: number;
  effectiveIntervalSeconds: number;
  detected: number;
  notDetected: number;
  detectionP50Seconds: number;
  detectionP95Seconds: number;
  detectionMaxSeconds: number;
  /** p95 over jobs of (detection delay ÷ the interval the poller had scheduled for that job): the goal's measure (< 2). */
  detectionP95OverScheduled: number;
  /** p95 detection delay ÷ the effective interval (jobs ÷ polls per second): < 1 means no lag beyond one pass over the fleet. */
  detectionP95OverEffective: number;
  /** Poll rate while the changes were being detected (mean). */
  pollsPerMinuteDuringDetection: number;
  pollerPeakRssMb: number;
  pollerCpuMsPerPoll: number;
  /** Share of one core the poller used while watching. */
  pollerCpuShare: number;
  pollerConcurrency: number;
}

export async function runPollerScale(args: {
  sim: SimProcess;
  stack: LocalStack;
  jobs: number;
  warmupMs: number;
  say: (s: string) => void;
}): Promise<PollerScaleResult> {
  const { sim, stack, jobs: n, say } = args;
  const original: SimulatorSettings = sim.settings;
  const prefix = `${stack.prefix.replace(/}$/, '')}-poll}`;
  const batchId = 'pollscale';
  const cfg = stack.cfg;

  // ── 1. seed ─────────────────────────────────────────────────────────────────────────────────
  await sim.reset();
  await sim.configure({
    latencyMs: { min: 0, max: 0 },
    replicationLagMs: { min: 0, max: 0 },
    transientFaultRate: 0,
    throttle503Rate: 0,
    ambiguousInstantiateRate: 0,
    writeLimit: 1e9,
    ruLimit: 1e9,
    firstCycleMs: DAY_MS,
  });
  const graph = await plainGraph({ ...sim.handle, timeScale: sim.handle.timeScale, connections: 32 });
  const client = new Redis(stack.redis.url, { maxRetriesPerRequest: null });
  const ledger = new Ledger(client, prefix);
  const pollQueue = new Queue(QUEUES.poll, { connection: client, prefix });
  let poller: ReturnType<LocalStack['spawnProcess']> | null = null;
  try {
    const tpl = await graph.call(
      'GET',
      `/applicationTemplates?$filter=${encodeURIComponent("displayName eq 'Amazon Web Services (AWS)'")}`,
    );
    const templateId = tpl.json.value[0].id as string;
    const seeded: { spId: string; jobId: string; startedAt: number }[] = new Array(n);
    const t0 = Date.now();
    let done = 0;
    const progress = setInterval(
      () => say(`    seeding started jobs in the simulator: ${done}/${n} (${((Date.now() - t0) / 1000).toFixed(0)} s)`),
      3000,
    );
    try {
      await pool(n, 32, async (i) => {
        const must = async (what: string, p: Promise<{ status: number; json: any }>, ok: number[]) => {
          const a = await p;
          if (!ok.includes(a.status))
            throw new Error(`seeding ${what}: ${a.status} ${JSON.stringify(a.json).slice(0, 200)}`);
          return a.json;
        };
        const inst = await must(
          'instantiate',
          graph.call('POST', `/applicationTemplates/${templateId}/instantiate`, {
            displayName: `AWS Poll ${String(i).padStart(5, '0')}`,
          }),
          [201],
        );
        const spId = (inst.servicePrincipal.objectId ?? inst.servicePrincipal.id) as string;
        const job = await must(
          'create job',
          graph.call('POST', `/servicePrincipals/${spId}/synchronization/jobs`, { templateId: 'aws' }),
          [200, 201],
        );
        await must(
          'save secrets',
          graph.call('PUT', `/servicePrincipals/${spId}/synchronization/secrets`, {
            value: [
              { key: 'ClientSecret', value: 'cs' },
              { key: 'SecretToken', value: `t${i}` },
            ],
          }),
          [204],
        );
        const startedAt = Date.now();
        await must(
          'start',
          graph.call('POST', `/servicePrincipals/${spId}/synchronization/jobs/${job.id}/start`),
          [204],
        );
        seeded[i] = { spId, jobId: job.id as string, startedAt };
        done++;
      });
    } finally {
      clearInterval(progress);
    }
    const seedSeconds = (Date.now() - t0) / 1000;
    const starts = seeded.map((s) => s.startedAt);
    const firstStart = Math.min(...starts);
    const seedSpanSeconds = (Math.max(...starts) - firstStart) / 1000;
    say(`    seeded ${n} started jobs in ${seedSeconds.toFixed(1)} s`);

    // The profile's real quotas, latency and faults again (first cycles still a day long).
    await sim.configure({ ...original, firstCycleMs: DAY_MS });

    const keyOf = (i: number) => `poll-${String(i).padStart(5, '0')}`;
    const nameOf = (i: number) => `AWS Poll ${String(i).padStart(5, '0')}`;
    const createdAt = Date.now();
    for (let i = 0; i < n; i += 1000) {
      const idx = Array.from({ length: Math.min(1000, n - i) }, (_, j) => i + j);
      await ledger.registerBatch(
        { batchId, createdAt, instances: n, sourceFile: '(bench)' },
        idx.map((k) => ({ instanceKey: keyOf(k), index: k, displayName: nameOf(k), sealedCredentials: null })),
      );
      const p = client.pipeline();
      for (const k of idx)
        p.hset(ledger.keys.instance(batchId, keyOf(k)), { state: 'started', startedAt: String(seeded[k]!.startedAt) });
      await p.exec();
      await pollQueue.addBulk(
        idx.map((k) => {
          const data: WatchJobData = {
            v: 1,
            instance: {
              batchId,
              instanceKey: keyOf(k),
              displayName: nameOf(k),
              applicationTemplate: { displayName: 'Amazon Web Services (AWS)' },
              synchronizationTemplateId: 'aws',
            },
            servicePrincipalId: seeded[k]!.spId,
            jobId: seeded[k]!.jobId,
            startedAt: seeded[k]!.startedAt,
          };
          // The same options the root step hands over with (src/flow/watch-job.ts).
          return { name: 'watch', data, opts: { jobId: watchJobId(batchId, keyOf(k)), ...JOB_POLICIES.watch } };
        }),
      );
    }
    say(`    ${n} watch jobs added to the poll queue; starting the poller…`);

    // ── 2. watch ──────────────────────────────────────────────────────────────────────────────
    const statsBefore = await sim.stats();
    poller = stack.spawnProcess('poller', { BULLMQ_PREFIX: prefix });
    const out = captureOutput(poller);
    const exitedWhy = () =>
      poller!.exitCode !== null ? `the poller exited (${poller!.exitCode}):\n${out.lines().join('\n')}` : null;
    await waitForWorkers(pollQueue, 1, 60_000, exitedWhy);
    const watchStart = Date.now();
    const cpu0 = procUsage(poller.pid).cpuMs;
    const samples: { t: number; polls: number }[] = [{ t: watchStart, polls: statsBefore.byRoute[POLL_ROUTE] ?? 0 }];
    const sample = async () => {
      const s = await sim.stats();
      samples.push({ t: Date.now(), polls: s.byRoute[POLL_ROUTE] ?? 0 });
      return s;
    };
    const rateBetween = (a: { t: number; polls: number }, b: { t: number; polls: number }) =>
      b.t > a.t ? ((b.polls - a.polls) / (b.t - a.t)) * 60_000 : 0;
    const rateOver = (ms: number) => {
      const last = samples[samples.length - 1]!;
      const first = [...samples].reverse().find((s) => last.t - s.t >= ms) ?? samples[0]!;
      return rateBetween(first, last);
    };
    const share = pollerSharePerMinute({
      ruLimit: cfg.GRAPH_RU_LIMIT,
      ruWindowMs: cfg.GRAPH_RU_WINDOW_MS,
      share: cfg.POLLER_QUOTA_SHARE,
      safety: cfg.GRAPH_LIMIT_SAFETY,
    });
    let lastSay = 0;
    while (Date.now() - watchStart < args.warmupMs) {
      await sleep(2000);
      if (exitedWhy()) throw new Error(exitedWhy()!);
      const s = await sample();
      if (Date.now() - lastSay >= 5000) {
        lastSay = Date.now();
        say(
          `    watching ${n} unchanged jobs: ${((Date.now() - watchStart) / 1000).toFixed(0)}/${(args.warmupMs / 1000).toFixed(0)} s warm-up, ` +
            `${fmtInt(rateOver(10_000))} polls/min (share ${fmtInt(share)}), 429s ${s.throttled - statsBefore.throttled}, poller RSS ${procUsage(poller.pid).rssMb} MB`,
        );
      }
    }
    const warmFrom = samples.find((s) => s.t - watchStart >= 10_000) ?? samples[0]!;
    const pollsPerMinuteMean = rateBetween(warmFrom, samples[samples.length - 1]!);

    // What the poller has scheduled for each job, and what its throughput allows.
    const watchJobs = await pollQueue.getJobs(['delayed', 'wait', 'waiting', 'prioritized', 'active'], 0, -1);
    const intervalOf = new Map<string, number>();
    for (const j of watchJobs) {
      const d = j.data as WatchJobData;
      // The delay the poller itself chose after its last poll (adaptive, within the fleet budget);
      // a job not polled yet waits for the first pass over the fleet (its interval: see below).
      if (d.state?.lastDelayMs !== undefined) intervalOf.set(d.instance.instanceKey, d.state.lastDelayMs);
    }
    const rateNow = rateOver(10_000) / 60_000; // polls per ms
    const effectiveIntervalMs = rateNow > 0 ? n / rateNow : Infinity;
    const notPolledYet = n - intervalOf.size;
    for (let i = 0; i < n; i++) if (!intervalOf.has(keyOf(i))) intervalOf.set(keyOf(i), effectiveIntervalMs);
    const scheduled = [...intervalOf.values()];
    const scheduledP50 = percentile(scheduled, 50);

    // ── 3. trigger: every first cycle ends between now + 2 s and now + 2 s + the seeding span ──
    const lead = 2000;
    const trigger = Date.now();
    const triggerSample = samples[samples.length - 1]!;
    await sim.configure({ firstCycleMs: trigger + lead - firstStart });
    say(
      `    state change: first cycles now end over ${seedSpanSeconds.toFixed(0)} s from +${lead / 1000} s; ` +
        `scheduled interval p50 ${(scheduledP50 / 1000).toFixed(1)} s, effective (jobs ÷ poll rate) ${(effectiveIntervalMs / 1000).toFixed(1)} s` +
        (notPolledYet ? `; ${notPolledYet} jobs not polled yet (warm-up shorter than one pass)` : ''),
    );
    const keys = Array.from({ length: n }, (_, i) => keyOf(i));
    const deadline =
      trigger +
      Math.max(
        120_000,
        4 * (seedSpanSeconds * 1000 + Math.max(scheduledP50, effectiveIntervalMs) + (n / share) * 60_000),
      );
    let ended = 0;
    for (;;) {
      await sleep(2000);
      if (exitedWhy()) throw new Error(exitedWhy()!);
      await sample();
      const p = client.pipeline();
      for (const k of keys) p.hget(ledger.keys.instance(batchId, k), 'state');
      const states = ((await p.exec()) ?? []).map((r) => r[1] as string | null);
      const steady = states.filter((s) => s === 'steady').length;
      ended = states.filter((s) => s === 'steady' || s === 'failed' || s === 'timed-out' || s === 'quarantined').length;
      if (Date.now() - lastSay >= 5000 || ended >= n) {
        lastSay = Date.now();
        say(
          `    detecting: ${steady}/${n} steady in the ledger ${((Date.now() - trigger) / 1000).toFixed(0)} s after the trigger, ${fmtInt(rateOver(10_000))} polls/min`,
        );
      }
      if (ended >= n || Date.now() > deadline) break;
    }
    const statsAfter = await sim.stats();
    const pu = procUsage(poller.pid);
    const watchMs = Date.now() - watchStart;
    const polls = (statsAfter.byRoute[POLL_ROUTE] ?? 0) - (statsBefore.byRoute[POLL_ROUTE] ?? 0);
    const pollsPerMinuteDuringDetection = rateBetween(triggerSample, samples[samples.length - 1]!);
    await stopChild(poller);

    // Busiest 10-second window of the whole watch.
    let peak = 0;
    for (let i = 0; i < samples.length; i++) {
      const j = samples.findIndex((s) => s.t - samples[i]!.t >= 10_000);
      if (j < 0) break;
      peak = Math.max(peak, rateBetween(samples[i]!, samples[j]!));
    }

    // ── 4. exact change times, read back with the quota lifted, against the ledger ────────────
    await sim.configure({ ruLimit: 1e9, latencyMs: { min: 0, max: 0 }, transientFaultRate: 0, throttle503Rate: 0 });
    const changeAt: number[] = new Array(n).fill(NaN);
    await pool(n, 32, async (i) => {
      const a = await graph.call(
        'GET',
        `/servicePrincipals/${seeded[i]!.spId}/synchronization/jobs/${seeded[i]!.jobId}`,
      );
      const t = a.json?.status?.steadyStateFirstAchievedTime as string | undefined;
      if (t && !t.startsWith('0001')) changeAt[i] = Date.parse(t);
    });
    const pe = client.pipeline();
    for (const k of keys) pe.hget(ledger.keys.instance(batchId, k), 'endedAt');
    const endedAt = ((await pe.exec()) ?? []).map((r) => (r[1] ? Number(r[1]) : NaN));
    const delays: number[] = [];
    const ratios: number[] = [];
    keys.forEach((k, i) => {
      if (Number.isFinite(endedAt[i]) && Number.isFinite(changeAt[i])) {
        const d = Math.max(0, endedAt[i]! - changeAt[i]!);
        delays.push(d);
        ratios.push(d / (intervalOf.get(k) ?? scheduledP50));
      }
    });
    await sim.configure({ ...original }); // the profile again, for whatever runs next
    return {
      jobs: n,
      seedSeconds,
      seedSpanSeconds,
      warmupSeconds: args.warmupMs / 1000,
      pollerQuotaShare: cfg.POLLER_QUOTA_SHARE,
      sharePollsPerMinute: share,
      pollsPerMinuteMean,
      pollsPerMinutePeak10s: peak,
      shareUsed: peak / share,
      throttled: statsAfter.throttled - statsBefore.throttled,
      retryAfterViolations: statsAfter.retryAfterViolations - statsBefore.retryAfterViolations,
      scheduledIntervalP50Seconds: scheduledP50 / 1000,
      scheduledIntervalP95Seconds: percentile(scheduled, 95) / 1000,
      effectiveIntervalSeconds: effectiveIntervalMs / 1000,
      detected: delays.length,
      notDetected: n - delays.length,
      detectionP50Seconds: percentile(delays, 50) / 1000,
      detectionP95Seconds: percentile(delays, 95) / 1000,
      detectionMaxSeconds: percentile(delays, 100) / 1000,
      detectionP95OverScheduled: percentile(ratios, 95),
      detectionP95OverEffective: Number.isFinite(effectiveIntervalMs)
        ? percentile(delays, 95) / effectiveIntervalMs
        : 0,
      pollsPerMinuteDuringDetection,
      pollerPeakRssMb: pu.peakRssMb,
      pollerCpuMsPerPoll: polls > 0 ? (pu.cpuMs - cpu0) / polls : 0,
      pollerCpuShare: watchMs > 0 ? (pu.cpuMs - cpu0) / watchMs : 0,
      pollerConcurrency: cfg.POLLER_CONCURRENCY,
    };
  } finally {
    if (poller) await stopChild(poller);
    await pollQueue.close().catch(() => {});
    client.disconnect();
    await graph.close();
  }
}
