/**
 * Redis Cluster failover under a multi-tenant batch: a real cluster (3 masters + 3 replicas),
 * one steps worker and one poller process per tenant (PROVFLOW_TENANT), each tenant's keys under its own hash tag.
 * Mid-batch the master serving the most tenants is SIGKILLed; its replica takes over. Counted as
 * the other scenarios are: lost, unexpected end states, duplicate applications in the simulator.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Runtime } from '../../src/app/runtime.ts';
import { startLocalStack } from '../../src/dev/local-stack.ts';
import { startRedisCluster } from '../../src/dev/redis-cluster.ts';
import { startSimProcess } from '../../src/dev/sim/process.ts';
import { stepJobId } from '../../src/flow/build-flow.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { END_STATES } from '../../src/ledger/instance-state.ts';
import { silentLogger } from '../../src/logger.ts';
import { keySlot } from '../../src/redis-keys.ts';
import { batchOf, instance } from '../helpers/batches.ts';
import { kill, type ScenarioOptions, type ScenarioResult } from './scenarios.ts';

/** Fixed names and base prefix: each tenant (t1 slot 15878, t2 3685, t3 7748) on its own master, on every run. */
const CLUSTER_TENANTS = ['t1', 't2', 't3'] as const;
const BASE = '{pf-cluster-2}';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keys per master, and for each tenant whether all its keys sit on the master its hash tag maps to. */
export interface ClusterSpread {
  keysByMaster: Record<string, number>;
  tenantsOnOwnSlot: Record<string, boolean>;
}

async function spread(
  masters: { port: number; slots: [number, number][] }[],
  prefixes: Map<string, string>,
): Promise<ClusterSpread> {
  const keysByMaster: Record<string, number> = {};
  const tenantsOnOwnSlot: Record<string, boolean> = {};
  for (const [tenant] of prefixes) tenantsOnOwnSlot[tenant] = true;
  for (const m of masters) {
    const c = new Redis(m.port, '127.0.0.1', { maxRetriesPerRequest: 2 });
    c.on('error', () => {});
    try {
      keysByMaster[String(m.port)] = await c.dbsize();
      for (const [tenant, prefix] of prefixes) {
        const owns = m.slots.some(([a, b]) => keySlot(prefix) >= a && keySlot(prefix) <= b);
        const keys = await c.call('CLUSTER', 'COUNTKEYSINSLOT', String(keySlot(prefix)));
        // A tenant's keys are all in its slot: the master owning it holds some, the others none of that slot.
        if (owns && Number(keys) === 0) tenantsOnOwnSlot[tenant] = false;
      }
    } finally {
      c.disconnect();
    }
  }
  return { keysByMaster, tenantsOnOwnSlot };
}

export async function clusterFailoverScenario(o: ScenarioOptions): Promise<ScenarioResult & { spread: ClusterSpread }> {
  const t0 = Date.now();
  const cluster = await startRedisCluster();
  const sim = await startSimProcess({
    profile: 'fast',
    seed: o.seed,
    timeScale: 50,
    overrides: { latencyMs: { min: 10, max: 60 } },
    tenants: CLUSTER_TENANTS.length,
  });
  const procs: ChildProcess[] = [];
  const runtimes = new Map<string, Runtime>();
  const tenants = CLUSTER_TENANTS;
  // The simulator hosts three Graph tenants (the tenants file's t1…t3), each with its own quota.
  const stack = await startLocalStack({
    sim: sim.handle,
    cluster,
    prefix: BASE,
    timeScale: 50,
    tenants: tenants.length,
    env: {
      WORKER_LOCK_DURATION_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      POLLER_DEADLINE_MS: '120000',
      WORKER_FETCH_WATCHDOG_MS: '3000',
    },
  });
  const batchId = 'rel-cluster';
  const perTenant = Math.ceil(o.instances / tenants.length);
  const expected = new Map<string, string>();
  let failoverMs = 0;
  let finishing = false;
  const restarts: string[] = [];
  let killed: string[] = [];
  try {
    for (const tenant of tenants) {
      const rt = await stack.runtime(silentLogger(), { tenant });
      runtimes.set(tenant, rt);
      const insts = Array.from({ length: perTenant }, (_, i) => {
        const n = `${tenant} ${String(i).padStart(4, '0')}`;
        if (i % 10 === 7) return instance(i, `AWS cluster ${n}`, `quarantine-${i}`, 'quarantined');
        return instance(i, `AWS cluster ${n}`, `tok-${i}`, 'steady');
      }).map((inst) => ({ ...inst, tenant }));
      for (const i of insts) expected.set(`${tenant}/${i.instanceKey}`, i.expect ?? 'steady');
      // Each tenant's part goes into its own lane (the runtime's own tenant is the same one).
      await enqueueBatch(rt, batchOf(batchId, insts));
    }
    // A supervisor, as compose's `restart: unless-stopped`: a process that exits is started again.
    const supervise = (slot: number, kind: 'worker' | 'poller', tenant: string) => {
      const child = stack.spawnProcess(kind, { PROVFLOW_TENANT: tenant });
      procs[slot] = child;
      child.once('exit', (code) => {
        if (finishing) return;
        restarts.push(`${kind} ${tenant} exit ${code}`);
        o.log?.(`  cluster-failover: ${kind} of ${tenant} exited (${code}); restarting it`);
        supervise(slot, kind, tenant);
      });
    };
    tenants.forEach((tenant, i) => {
      supervise(2 * i, 'worker', tenant);
      supervise(2 * i + 1, 'poller', tenant);
    });
    const rows = async () =>
      (
        await Promise.all(
          [...runtimes].map(async ([tenant, rt]) =>
            (await rt.ledger.listInstances(batchId)).map((r) => ({ ...r, tenant })),
          ),
        )
      ).flat();
    const progress = async () => {
      const all = await rows();
      return all.length ? all.filter((r) => END_STATES.has(r.state)).length / all.length : 0;
    };
    // Mid-batch: kill the master that serves the most tenants' slots.
    const until = Date.now() + 300_000;
    while (Date.now() < until && (await progress()) < 0.3) await sleep(100);
    const masters = await cluster.masters();
    const load = (port: number) =>
      tenants.filter((t) =>
        masters
          .find((m) => m.port === port)!
          .slots.some(([a, b]) => {
            const slot = keySlot(runtimes.get(t)!.prefix);
            return slot >= a && slot <= b;
          }),
      ).length;
    const victim = [...masters].sort((a, b) => load(b.port) - load(a.port))[0]!.port;
    killed = tenants.filter((t) => {
      const slot = keySlot(runtimes.get(t)!.prefix);
      return masters.find((m) => m.port === victim)!.slots.some(([a, b]) => slot >= a && slot <= b);
    });
    const tKill = Date.now();
    await cluster.kill(victim);
    o.log?.(
      `  cluster-failover: SIGKILL master :${victim} (serving ${killed.join(', ')}) at ${((await progress()) * 100).toFixed(0)} %`,
    );
    await cluster.waitHealthy(60_000);
    failoverMs = Date.now() - tKill;
    o.log?.(`  cluster-failover: replica promoted after ${failoverMs} ms`);

    const deadline = Date.now() + (Number(process.env.PROVFLOW_CLUSTER_WAIT_MS) || 180_000);
    while (Date.now() < deadline && (await progress()) < 1) await sleep(250);
    const all = await rows();
    // Every simulated tenant's counters, summed: a duplicate or a violation in any tenant counts.
    const perSimTenant = await Promise.all(sim.handle.tenants.map((t) => sim.statsOf(t.tenantId)));
    const stats = {
      duplicateApplications: perSimTenant.reduce((n, st) => n + st.duplicateApplications, 0),
      retryAfterViolations: perSimTenant.reduce((n, st) => n + st.retryAfterViolations, 0),
      throttled: perSimTenant.reduce((n, st) => n + st.throttled, 0),
      lateReadsExcused: perSimTenant.reduce((n, st) => n + (st.lateReadsExcused ?? 0), 0),
    };
    const count = (st: string) => all.filter((r) => r.state === st).length;
    const sp = await spread(await cluster.masters(), new Map([...runtimes].map(([t, rt]) => [t, rt.prefix])));
    const lostRows = all.filter((r) => !END_STATES.has(r.state));
    if (lostRows.length) {
      const file = path.join(os.tmpdir(), `provflow-reliability-cluster-${o.seed}-${Date.now()}.log`);
      const jobs: string[] = [];
      for (const r of lostRows.slice(0, 10)) {
        const id = stepJobId(batchId, r.instanceKey, r.step ?? '');
        jobs.push(
          `job ${id}: ${await runtimes
            .get(r.tenant)!
            .stepsQueue.getJobState(id)
            .catch((e: Error) => e.message)}`,
        );
      }
      for (const [t, rt] of runtimes) {
        const counts = await rt.stepsQueue.getJobCounts().catch(() => ({}));
        const workers = await rt.stepsQueue.getWorkersCount().catch(() => -1);
        jobs.push(`${t}: steps ${JSON.stringify(counts)}, ${workers} workers`);
      }
      writeFileSync(
        file,
        [
          ...jobs,
          ...lostRows.map(
            (r) => `lost: ${r.tenant}/${r.instanceKey} state=${r.state} step=${r.step ?? '-'} ${r.lastError ?? ''}`,
          ),
          ...procs.flatMap((c, i) => [`── process ${i} (${tenants[i >> 1]}) ──`, ...stack.outputOf(c)]),
        ].join('\n'),
      );
      o.log?.(`  ${lostRows.length} lost: details in ${file}`);
    }
    const mastersUsed = Object.values(sp.keysByMaster).filter((n) => n > 0).length;
    return {
      scenario: 'cluster-failover',
      seed: o.seed,
      instances: all.length,
      steady: count('steady'),
      quarantined: count('quarantined'),
      failed: count('failed'),
      lost: all.filter((r) => !END_STATES.has(r.state)).length + (perTenant * tenants.length - all.length),
      unexpected: all.filter((r) => END_STATES.has(r.state) && expected.get(`${r.tenant}/${r.instanceKey}`) !== r.state)
        .length,
      duplicateApplications: stats.duplicateApplications,
      retryAfterViolations: stats.retryAfterViolations,
      throttled: stats.throttled,
      wallMs: Date.now() - t0,
      notes:
        `${tenants.length} tenants, a worker and a poller process each; keys on ${mastersUsed} of 3 masters; ` +
        `SIGKILL of the master serving ${killed.join(', ')}, replica promoted in ${(failoverMs / 1000).toFixed(1)} s` +
        (restarts.length ? `; restarted by the fetch watchdog: ${restarts.join(', ')}` : ''),
      lateReadsExcused: stats.lateReadsExcused,
      spread: sp,
    };
  } finally {
    finishing = true;
    await Promise.all(procs.map((c) => kill(c)));
    for (const rt of runtimes.values()) await rt.close().catch(() => {});
    await stack.close();
    await sim.close();
    await cluster.close();
  }
}
