/**
 * provflow on a real Redis Cluster (3 masters + 3 replicas on loopback): one batch spanning three
 * tenants runs end to end with two fleets of in-process workers and pollers (each serving every
 * tenant's lane), each tenant's keys land in its own slot on the master that slot maps to, and
 * status reads every tenant's part. The failover (a master
 * SIGKILLed mid-batch, workers in child processes) is `npm run chaos -- --only cluster-failover`.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/app/runtime.ts';
import { startLocalStack, type LocalStack } from '../../src/dev/local-stack.ts';
import { clusterToolsAvailable, startRedisCluster, type RedisClusterHandle } from '../../src/dev/redis-cluster.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { connectRedis } from '../../src/app/redis-connection.ts';
import { runBoard } from '../../src/board/run-board.ts';
import { startStepsWorkers } from '../../src/app/steps-worker.ts';
import type { WorkerSet } from '../../src/app/worker-set.ts';
import { knownTenants } from '../../src/ledger/tenant-ledgers.ts';
import { batchAcrossTenants } from '../../src/ledger/tenant-ledgers.ts';
import { silentLogger } from '../../src/logger.ts';
import { startPoller, type PollerHandle } from '../../src/poller/start-poller.ts';
import { keySlot } from '../../src/redis-keys.ts';
import { batchOf, instance } from '../helpers/batches.ts';
import { waitFor } from '../helpers/wait.ts';

const TENANTS = ['t1', 't2', 't3'];
const available = await clusterToolsAvailable();

describe.skipIf(!available)('Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let stack: LocalStack;
  const fleets: Runtime[] = [];
  const workers: WorkerSet[] = [];
  const pollers: PollerHandle[] = [];
  let rt: Runtime;
  const prefixOf = (tenant: string) => rt.lane(tenant).prefix;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    // The simulator hosts three Graph tenants (t1…t3 in the tenants file), each with its own quota.
    stack = await startLocalStack({
      profile: 'fast',
      timeScale: 50,
      cluster,
      tenants: 3,
      prefix: '{pf-cluster-smoke}',
      env: { GRAPH_WRITE_LIMIT: '100', GRAPH_RU_LIMIT: '1000' },
    });
    // Two fleets, as two processes would be: both serve every lane and compete for its jobs.
    for (let i = 0; i < 2; i++) {
      const fleet = await stack.runtime(silentLogger());
      fleets.push(fleet);
      workers.push(startStepsWorkers(fleet, { concurrency: 10 }));
      pollers.push(startPoller(fleet));
    }
    rt = fleets[0]!;
  }, 90_000);

  afterAll(async () => {
    await Promise.allSettled([...workers.map((w) => w.close()), ...pollers.map((p) => p.close())]);
    for (const fleet of fleets) await fleet.close().catch(() => {});
    await stack?.close();
    await cluster?.close();
  });

  it('runs one batch across three tenants to its end states, one app per instance', async () => {
    const insts = TENANTS.flatMap((tenant, t) => {
      const four = [0, 1, 2].map((i) => instance(4 * t + i, `AWS cluster smoke ${tenant} ${i}`));
      four.push(instance(4 * t + 3, `AWS cluster smoke ${tenant} 3`, 'quarantine-3', 'quarantined'));
      return four.map((inst) => ({ ...inst, tenant }));
    });
    expect((await enqueueBatch(rt, batchOf('smoke', insts))).added).toBe(12);
    expect(await knownTenants(rt.redis, rt.basePrefix)).toEqual(['default', ...TENANTS]);
    const ended = (states: string[]) => states.every((s) => ['steady', 'quarantined', 'failed'].includes(s));
    let parts: Awaited<ReturnType<typeof batchAcrossTenants>> = [];
    await waitFor(
      'every tenant part of the batch to end',
      async () => {
        parts = await batchAcrossTenants(rt.redis, rt.basePrefix, 'smoke');
        return parts.length === 3 && parts.every((p) => p.rows.length === 4 && ended(p.rows.map((r) => r.state)));
      },
      120_000,
    );
    expect(parts.map((p) => p.tenant)).toEqual(TENANTS);
    for (const p of parts) {
      expect(p.rows.map((r) => r.state).sort()).toEqual(['quarantined', 'steady', 'steady', 'steady']);
      expect(new Set(p.rows.map((r) => r.tenant))).toEqual(new Set([p.tenant]));
    }
    for (const t of stack.sim.tenants) {
      const stats = stack.sim.statsOf(t.tenantId);
      expect(stats.applications).toBe(4);
      expect(stats.duplicateApplications).toBe(0);
    }
  }, 150_000);

  it("keeps each tenant's keys in its own slot, on the master serving that slot, spread over masters", async () => {
    const masters = await cluster.masters();
    const owner = (slot: number) => masters.find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b))!.port;
    const keysPerMaster = new Map<number, number>();
    for (const m of masters) {
      const c = new Redis(m.port, '127.0.0.1');
      try {
        keysPerMaster.set(m.port, await c.dbsize());
        for (const tenant of TENANTS) {
          const prefix = prefixOf(tenant);
          const n = Number(await c.call('CLUSTER', 'COUNTKEYSINSLOT', String(keySlot(prefix))));
          if (owner(keySlot(prefix)) === m.port) expect(n, `${tenant} keys on :${m.port}`).toBeGreaterThan(10);
          // Every key of the tenant carries its tag: SCAN on its master finds none outside the slot.
          const keys = (await c.keys(`${prefix}*`)) as string[];
          expect(new Set(keys.map(keySlot)).size, tenant).toBeLessThanOrEqual(1);
        }
      } finally {
        c.disconnect();
      }
    }
    // The deployment's own keys (default lane, metrics, tenant registry) share the base prefix's slot.
    const tenantMasters = new Set([...TENANTS.map(prefixOf), stack.prefix].map((p) => owner(keySlot(p))));
    const mastersWithKeys = [...keysPerMaster].filter(([, n]) => n > 0).map(([p]) => p);
    expect(new Set(mastersWithKeys)).toEqual(tenantMasters);
    expect(tenantMasters.size).toBeGreaterThan(1);
  });

  it('serves the board on the cluster: /healthz sees the workers, /metrics the counters', async () => {
    const board = await runBoard({
      redisUrl: cluster.url,
      connect: (options) => connectRedis(stack.cfg, options),
      prefix: stack.prefix,
      port: 0,
      insecureNoAuth: true,
    });
    try {
      const origin = new URL(board.url).origin;
      const health = (await (await fetch(`${origin}/healthz`)).json()) as { status: string; redis: { ok: boolean } };
      expect(health).toMatchObject({ status: 'ok', redis: { ok: true } });
      // Every tenant's processes count into the deployment's metrics hashes (one slot, one pipeline):
      // 9 steady is 3 per tenant.
      const metrics = await waitFor('metrics of all three tenants', async () => {
        const text = await (await fetch(`${origin}/metrics`)).text();
        return /^provflow_instances_ended_total\{state="steady"\} 9$/m.test(text) ? text : null;
      });
      expect(metrics).toMatch(/^provflow_redis_up 1$/m);
    } finally {
      await board.close();
    }
  });
});
