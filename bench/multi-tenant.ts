/**
 * `npm run bench -- --tenants 8`: one fleet (one steps worker, one poller, one Redis) onboarding
 * into several simulated tenants at once, each with its own app registration and quotas, one of
 * them under a 429 storm. Measures aggregate instances/min against the sum of the tenants'
 * quota-bound ideals, each tenant's efficiency, whether the storm stayed inside its tenant, and
 * the CPU each process spent per onboarded instance (/proc utime + stime, before and after).
 */
import { startLocalStack } from '../src/dev/local-stack.ts';
import { startSimProcess } from '../src/dev/sim/process.ts';
import { enqueueBatch } from '../src/flow/enqueue-batch.ts';
import { END_STATES } from '../src/ledger/instance-state.ts';
import { batchAcrossTenants, rowsInFileOrder } from '../src/ledger/tenant-ledgers.ts';
import { silentLogger } from '../src/logger.ts';
import { simpleBatch } from '../test/helpers/batches.ts';
import { idealOf } from './ideal.ts';
import { meanPlannedWrites } from '../src/onboarding/writes.ts';
import { stepsFor } from '../src/steps/index.ts';
import { stepJobId } from '../src/flow/build-flow.ts';
import { procUsage } from './proc.ts';
import { startBenchFleet, statesOf, type BenchFleet } from './fleet.ts';

export interface TenantFigures {
  tenant: string;
  instances: number;
  steady: number;
  idealSeconds: number;
  seconds: number;
  efficiency: number;
  throttled: number;
  storm: boolean;
  /** Seconds from the enqueue to the first and to the last instance's job start (its steps done). */
  firstStartSeconds: number;
  medianStartSeconds: number;
  p95StartSeconds: number;
  lastStartSeconds: number;
  /** Median seconds from an instance's job start to the poller recording its end state. */
  medianStartToEndSeconds: number;
}

export interface MultiTenantResult {
  tenants: number;
  instances: number;
  /** Steps worker processes in the run. */
  workers: number;
  /** Whether the simulator injected the realistic profile's random faults besides the storm. */
  faults: boolean;
  instancesPerMinute: number;
  /** Aggregate instances/min ÷ the sum of the tenants' quota-bound ideal rates (storm tenant included). */
  efficiency: number;
  /** Lowest efficiency among the tenants not under the storm. */
  minTenantEfficiency: number;
  /** Every tenant but the storm's kept ≥ 0.9 of its ideal. */
  stormTenantIsolated: boolean;
  stormTenant: string;
  stormRate: number;
  wallSeconds: number;
  perTenant: TenantFigures[];
  /** CPU ms per onboarded instance, per process, and worker + poller + Redis. */
  cpuMsPerInstance: { worker: number; poller: number; redis: number; simulator: number; total: number };
  /** CPU cores one deployment needs per 1,000 instances/min (worker + poller + Redis). */
  coresPer1000PerMinute: number;
  loadAverage: number[];
  note: string;
}

/** When a tenant's jobs started, and how long from start to the recorded end state (see TenantFigures). */
function startFigures(rows: { startedAt: number | null; endedAt: number | null }[], t0: number) {
  const starts = rows.flatMap((r) => (r.startedAt ? [(r.startedAt - t0) / 1000] : [])).sort((a, b) => a - b);
  const at = (q: number) => (starts.length ? starts[Math.min(starts.length - 1, Math.floor(q * starts.length))]! : NaN);
  const spans = rows
    .flatMap((r) => (r.startedAt && r.endedAt ? [(r.endedAt - r.startedAt) / 1000] : []))
    .sort((a, b) => a - b);
  return {
    firstStartSeconds: at(0),
    medianStartSeconds: at(0.5),
    p95StartSeconds: at(0.95),
    lastStartSeconds: at(1),
    medianStartToEndSeconds: spans.length ? spans[Math.floor(spans.length / 2)]! : NaN,
  };
}

export interface MultiTenantOptions {
  tenants: number;
  instances: number;
  timeScale: number;
  seed: number;
  stormRate: number;
  /** Steps worker processes (one per core a deployment would give them); their CPU is summed. */
  workers: number;
  /** The realistic profile's random faults (default); false: none, only the storm. */
  faults: boolean;
  say: (s: string) => void;
}

export async function runMultiTenantBench(o: MultiTenantOptions): Promise<MultiTenantResult> {
  const { say } = o;
  const perTenant = Math.ceil(o.instances / o.tenants);
  const total = perTenant * o.tenants;
  // --no-faults: the realistic profile without its random faults (5xx, 503s, ambiguous creates). At
  // 125 instances per tenant one ambiguous create (a safety wait of RECONCILE_WINDOW_MS before
  // creating again) decides a tenant's last instance, and hides what the storm does to the others.
  const quiet = o.faults ? {} : { transientFaultRate: 0, throttle503Rate: 0, ambiguousInstantiateRate: 0 };
  const sim = await startSimProcess({
    profile: 'realistic',
    seed: o.seed,
    timeScale: o.timeScale,
    tenants: o.tenants,
    overrides: quiet,
  });
  const stack = await startLocalStack({ sim: sim.handle, timeScale: o.timeScale, ownRedis: true, tenants: o.tenants });
  const S = sim.settings;
  const names = stack.tenantNames;
  const stormTenant = names[names.length - 1]!;
  const stormTenantId = sim.handle.tenants[names.length - 1]!.tenantId;
  const rt = await stack.runtime(silentLogger());
  let fleet: BenchFleet | null = null;
  try {
    fleet = await startBenchFleet(stack, rt, { workers: o.workers });
    const { workers, poller, exited } = fleet;
    await sim.reset();
    await sim.configureTenant(stormTenantId, { throttleStormRate: o.stormRate });
    say(
      `multi-tenant: ${o.tenants} tenants × ${perTenant} instances; tenant ${stormTenant} under a 429 storm ` +
        `(rate ${o.stormRate}, Retry-After ${S.throttleStormRetryAfterSec} s); ` +
        `worker pid ${workers.map((w) => w.pid).join(', ')}, poller pid ${poller.pid}`,
    );

    // Tenant after tenant in the file: with one FIFO queue the last tenant's instances would wait
    // behind everyone else's; with a lane per tenant each tenant's worker starts on its part at once.
    const batch = simpleBatch('bench-mt', total, (i) => `AWS MT ${String(i).padStart(5, '0')}`);
    batch.instances.forEach((inst, i) => (inst.tenant = names[Math.floor(i / perTenant)]!));
    const ideal = idealOf({
      instances: perTenant,
      // Derived from the batch, as the single-tenant run does (5 without onboarding fields).
      writesPerInstance: meanPlannedWrites(batch.instances),
      readsRuPerInstance: 15,
      writeLimit: S.writeLimit,
      writeWindowMs: S.writeWindowMs,
      ruLimit: S.ruLimit,
      ruWindowMs: S.ruWindowMs,
      firstCycleMs: S.firstCycleMs,
    });
    const redisPid = stack.redis.child?.pid;
    const cpu = () => ({
      worker: workers.reduce((sum, w) => sum + procUsage(w.pid).cpuMs, 0),
      poller: procUsage(poller.pid).cpuMs,
      redis: procUsage(redisPid).cpuMs,
      simulator: procUsage(sim.child.pid).cpuMs,
    });
    const c0 = cpu();
    const t0 = Date.now();
    await enqueueBatch(rt, batch);
    say(
      `  enqueued ${total} in ${Date.now() - t0} ms; each tenant's quota-bound ideal ≈ ${ideal.seconds.toFixed(1)} s`,
    );
    // Each tenant's part lives in its own lane (its own queues and ledger, its own hash tag).
    const keys = batch.instances.map((i) =>
      rt.lane(i.tenant ?? 'default').ledger.keys.instance('bench-mt', i.instanceKey),
    );
    const timeoutMs = Math.max(600_000, 8 * ideal.seconds * 1000);
    let lastSay = 0;
    for (;;) {
      const why = exited();
      if (why) throw new Error(`a provflow process exited:\n${why}`);
      const states = await statesOf(rt.redis, keys);
      const ended = states.filter((s) => s !== null && END_STATES.has(s)).length;
      if (Date.now() - lastSay > 5000 || ended === total) {
        lastSay = Date.now();
        const byTenant = names.map((n, t) => {
          const mine = states.slice(t * perTenant, (t + 1) * perTenant);
          return `${n} ${mine.filter((s) => s !== null && END_STATES.has(s)).length}`;
        });
        say(
          `  ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s: ended ${ended}/${total} (${byTenant.join(', ')})`,
        );
      }
      if (ended === total) break;
      if (Date.now() - t0 > timeoutMs) {
        say(`  TIMEOUT after ${timeoutMs / 1000} s`);
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const c1 = cpu();
    const rows = rowsInFileOrder(await batchAcrossTenants(rt.redis, rt.basePrefix, 'bench-mt'));
    const figures: TenantFigures[] = [];
    for (const [t, name] of names.entries()) {
      const mine = rows.filter((r) => r.tenant === name);
      const end = Math.max(...mine.map((r) => r.endedAt ?? Date.now()));
      const seconds = (end - t0) / 1000;
      const stats = await sim.statsOf(sim.handle.tenants[t]!.tenantId);
      figures.push({
        tenant: name,
        instances: mine.length,
        steady: mine.filter((r) => r.state === 'steady').length,
        idealSeconds: ideal.seconds,
        seconds,
        efficiency: ideal.seconds / seconds,
        throttled: stats.throttled,
        storm: name === stormTenant,
        ...startFigures(mine, t0),
      });
      if (process.env.PROVFLOW_BENCH_TAIL) {
        const late = [...mine].sort((x, y) => (y.startedAt ?? 0) - (x.startedAt ?? 0)).slice(0, 3);
        const lane = rt.lane(name);
        const steps = await Promise.all(
          stepsFor({
            batchId: 'bench-mt',
            instanceKey: late[0]!.instanceKey,
            displayName: '',
            applicationTemplate: { displayName: '' },
            synchronizationTemplateId: null,
          }).map(async (st) => {
            const j = await lane.stepsQueue.getJob(stepJobId('bench-mt', late[0]!.instanceKey, st.name));
            const rel = (x?: number) => (x ? ((x - t0) / 1000).toFixed(1) : '-');
            return `${st.name} ts ${rel(j?.timestamp)} proc ${rel(j?.processedOn)} fin ${rel(j?.finishedOn)} made ${j?.attemptsMade ?? '-'}`;
          }),
        );
        say(`  tail ${name} steps: ${steps.join(' | ')}`);
        for (const r of late)
          say(
            `  tail ${name}: start ${(((r.startedAt ?? 0) - t0) / 1000).toFixed(0)} s attempts ${r.attempts} ` +
              `adopted ${r.adopted ?? '-'} lastError ${r.lastError ?? '-'} detail ${r.detail ?? '-'} warning ${r.warning ?? '-'}`,
          );
      }
    }
    const wallSeconds = Math.max(...figures.map((f) => f.seconds));
    const instancesPerMinute = (total / wallSeconds) * 60;
    const idealPerMinute = figures.reduce((sum, f) => sum + (f.instances / f.idealSeconds) * 60, 0);
    const others = figures.filter((f) => !f.storm);
    const minTenantEfficiency = Math.min(...others.map((f) => f.efficiency));
    const per = (k: keyof typeof c0) => (c1[k] - c0[k]) / total;
    const cpuMsPerInstance = {
      worker: per('worker'),
      poller: per('poller'),
      redis: per('redis'),
      simulator: per('simulator'),
      total: per('worker') + per('poller') + per('redis'),
    };
    return {
      tenants: o.tenants,
      instances: total,
      workers: workers.length,
      faults: o.faults,
      instancesPerMinute,
      efficiency: instancesPerMinute / idealPerMinute,
      minTenantEfficiency,
      stormTenantIsolated: minTenantEfficiency >= 0.9,
      stormTenant,
      stormRate: o.stormRate,
      wallSeconds,
      perTenant: figures,
      cpuMsPerInstance,
      // ms per instance × 1,000 instances per minute ÷ 60,000 ms per core-minute.
      coresPer1000PerMinute: (cpuMsPerInstance.total * 1000) / 60_000,
      loadAverage: (await import('node:os')).loadavg().map((x) => Math.round(x * 100) / 100),
      // The load average says how quiet the machine was; the simulator's CPU is not the deployment's.
      note: 'the simulator (its own process) is not counted in the deployment figures',
    };
  } finally {
    await fleet?.stop();
    await rt.close();
    await stack.close();
    await sim.close();
  }
}
