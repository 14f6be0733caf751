/**
 * Two tenants on one simulator through the runtime's tenant registry: real MSAL, real HTTP, real
 * Redis. Each tenant's token request carries its own client id and secret (the simulator refuses
 * any other at that tenant's endpoint), its calls land in its own directory, and its limiter
 * windows and pauses are keyed by its own tenant id.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/app/runtime.ts';
import { loadConfig } from '../../src/config.ts';
import { startSimulator, type SimulatorHandle } from '../../src/dev/sim/index.ts';
import { writeSimTenantsFile } from '../../src/dev/sim-tenants.ts';
import { silentLogger } from '../../src/logger.ts';
import { loadTenantsFile } from '../../src/tenants/load-tenants.ts';
import { UnknownTenantError } from '../../src/tenants/tenant-registry.ts';
import { queuesFor } from '../../src/flow/tenant-queues.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';

let sim: SimulatorHandle;
let redis: RedisHandle;
let rt: Runtime;
let env: Record<string, string>;
let file: string;
const prefix = testPrefix('tenants');

beforeAll(async () => {
  sim = await startSimulator({ profile: 'fast', seed: 11, tenants: [{}] });
  redis = await testRedis();
  const written = writeSimTenantsFile(sim);
  file = written.path;
  env = written.env;
  const cfg = loadConfig({ REDIS_URL: redis.url, BULLMQ_PREFIX: prefix, PROVFLOW_TENANTS: file });
  const loaded = await loadTenantsFile(file, env);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  rt = await createRuntime(cfg, {
    logger: silentLogger(),
    withGraph: true,
    extraCaPem: sim.caCertPem,
    tenants: loaded.tenants,
  });
});

afterAll(async () => {
  await rt?.close();
  await sim?.close();
  await redis?.close();
});

describe('two tenants on one simulator', () => {
  it('each tenant gets its own token, from its own app registration, and works in its own directory', async () => {
    const [a, b] = sim.tenants;
    expect(a!.clientId).not.toBe(b!.clientId);
    const t1 = rt.tenants!.graphFor('t1');
    const t2 = rt.tenants!.graphFor('t2');
    const [tpl] = await t1.findApplicationTemplatesByName('AWS Single-Account Access');
    expect(tpl).toBeTruthy();
    await t1.instantiateApplication(tpl!.id, 'Only In Tenant One');
    await t2.findApplicationTemplatesByName('AWS Single-Account Access');
    // One token each, issued by each tenant's own endpoint to its own client id and secret.
    expect(sim.statsOf(a!.tenantId).tokensIssued).toBe(1);
    expect(sim.statsOf(b!.tenantId).tokensIssued).toBe(1);
    expect(sim.statsOf(a!.tenantId).applications).toBe(1);
    expect(sim.statsOf(b!.tenantId).applications).toBe(0);
    // The limiter's windows are keyed by each tenant id (their own quotas), nothing shared.
    const r = new (await import('ioredis')).Redis(redis.url);
    const keys = await r.keys(`*:limiter:*`);
    r.disconnect();
    // …each under its tenant's own hash tag (its own Redis Cluster slot).
    expect(keys.some((k) => k.startsWith(`${queuesFor('t1', prefix).prefix}:limiter:${a!.tenantId}:`))).toBe(true);
    expect(keys.some((k) => k.startsWith(`${queuesFor('t2', prefix).prefix}:limiter:${b!.tenantId}:`))).toBe(true);
  });

  it("a tenant entry carrying another tenant's secret is refused by that tenant's endpoint", async () => {
    const [a, b] = sim.tenants;
    const swapped = JSON.stringify([
      {
        name: 'mixed',
        tenantId: a!.tenantId,
        clientId: b!.clientId,
        clientSecret: { env: 'PROVFLOW_SIM_T2_SECRET' },
        authorityHost: sim.authorityHost,
        graphBaseUrl: sim.graphBaseUrl,
        size: 'S',
      },
    ]);
    writeFileSync(`${file}.mixed.json`, swapped);
    const loaded = await loadTenantsFile(`${file}.mixed.json`, env);
    if (!loaded.ok) throw new Error('unexpected');
    const cfg = loadConfig({ REDIS_URL: redis.url, BULLMQ_PREFIX: `${prefix}x`, PROVFLOW_TENANTS: file });
    const other = await createRuntime(cfg, {
      logger: silentLogger(),
      withGraph: true,
      extraCaPem: sim.caCertPem,
      tenants: loaded.tenants,
    });
    try {
      await expect(other.tenants!.graphFor('mixed').findApplicationTemplatesByName('AWS')).rejects.toThrow(
        /not found in the directory|unauthorized_client|700016/,
      );
      expect(sim.statsOf(a!.tenantId).tokensIssued).toBe(1); // no new token for the wrong app
    } finally {
      await other.close();
    }
  });

  it('the tier sets the quota; an unknown tenant is a clear error', () => {
    expect(rt.tenants!.info('t1').limits.ruLimit).toBe(rt.cfg.GRAPH_RU_LIMIT);
    expect(() => rt.tenants!.graphFor('t3')).toThrow(UnknownTenantError);
    expect(() => rt.tenants!.graphFor('t3')).toThrow(/tenant 't3' is not served by this process \(known: t1, t2\)/);
  });

  it('a pause is per tenant: pausing t1 leaves t2 free', async () => {
    const [a, b] = sim.tenants;
    const t2 = rt.tenants!.graphFor('t2');
    // Pause tenant one through the shared limiter keys (what a 429 does), then call tenant two.
    const { Redis } = await import('ioredis');
    const r = new Redis(redis.url);
    await r.set(`${queuesFor('t1', prefix).prefix}:limiter:${a!.tenantId}:pause`, '1', 'PX', 60_000);
    const before = sim.statsOf(b!.tenantId).requests;
    await t2.findApplicationTemplatesByName('AWS Single-Account Access');
    expect(sim.statsOf(b!.tenantId).requests).toBe(before + 1);
    await expect(rt.tenants!.graphFor('t1').findApplicationTemplatesByName('AWS')).rejects.toMatchObject({
      errorClass: 'throttled',
    });
    r.disconnect();
  });
});
