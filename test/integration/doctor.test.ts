/**
 * `provflow doctor` against the simulator and a real Redis: all green on a good setup, then each
 * broken piece (a token lacking a role, Redis evicting keys, no secret key, a sealed value from
 * another key, the simulator's CA not trusted) named with its fix; exit codes through the CLI.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctorChecks, type Check } from '../../src/commands/doctor.ts';
import { ledgerKeys } from '../../src/ledger/keys.ts';
import { spawnRedisServer, type RedisHandle } from '../../src/dev/redis-server.ts';
import { generateSecretKey, sealSecretPairs } from '../../src/secrets/seal.ts';
import { SIM_TOKEN_ROLES, startSimulator, type SimulatorHandle } from '../../src/dev/sim/index.ts';
import { writeSimTenantsFile } from '../../src/dev/sim-tenants.ts';
import { tenantPrefix, tenantRegistryKey } from '../../src/redis-keys.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let redis: RedisHandle;
let client: Redis;
let sim: SimulatorHandle;
let simNoLogs: SimulatorHandle;
const prefix = `{doctor-${randomBytes(3).toString('hex')}}`;
const secretKey = randomBytes(32).toString('base64');

function envFor(s: SimulatorHandle, over: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    REDIS_URL: redis.url,
    BULLMQ_PREFIX: prefix,
    AZURE_TENANT_ID: s.tenantId,
    AZURE_CLIENT_ID: s.clientId,
    AZURE_CLIENT_SECRET: s.clientSecret,
    AZURE_AUTHORITY_HOST: s.authorityHost,
    GRAPH_BASE_URL: s.graphBaseUrl,
    NODE_EXTRA_CA_CERTS: s.caCertPath,
    PROVFLOW_SECRET_KEY: secretKey,
    ...over,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env;
}

const byName = (checks: Check[], name: string) => checks.find((c) => c.name.startsWith(name));
const failed = (checks: Check[]) => checks.filter((c) => !c.ok).map((c) => c.name);

beforeAll(async () => {
  redis = await spawnRedisServer({ appendonly: true });
  client = new Redis(redis.url);
  sim = await startSimulator({ profile: 'fast' });
  simNoLogs = await startSimulator({
    profile: 'fast',
    overrides: { tokenRoles: SIM_TOKEN_ROLES.filter((r) => r !== 'AuditLog.Read.All') },
  });
}, 60_000);
afterAll(async () => {
  client?.disconnect();
  await sim?.close();
  await simNoLogs?.close();
  await redis?.close();
});

function provflow(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // A clean environment: nothing from the developer's shell (or a .env) decides the outcome.
    const base = { PATH: process.env.PATH, HOME: process.env.HOME };
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/provflow.js'), ...args],
      { cwd: ROOT, env: { ...base, ...env }, timeout: 90_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('provflow doctor', () => {
  it('all green against the simulator, through the CLI: exit 0 and { checks } behind --json', async () => {
    const r = await provflow(['doctor', '--json'], envFor(sim));
    const { checks } = JSON.parse(r.stdout) as { checks: Check[] };
    expect(failed(checks), r.stdout).toEqual([]);
    expect(r.code).toBe(0);
    for (const name of [
      'configuration valid',
      'Redis reachable',
      'Redis version',
      'Redis maxmemory-policy',
      'Redis AOF',
      'token acquired',
      'permission: ',
      'Graph reachable',
      'clock skew',
      'secret key',
      'simulator CA trusted',
    ]) {
      expect(byName(checks, name), name).toMatchObject({ ok: true, fix: null });
    }
    expect(checks.filter((c) => c.name.startsWith('permission: '))).toHaveLength(3);
    expect(r.stdout).not.toContain(sim.clientSecret);
    for (const t of sim.issuedTokens()) expect(r.stdout).not.toContain(t);
  }, 120_000);

  it('a token lacking AuditLog.Read.All: the permission and the feature needing it, with the fix', async () => {
    const { checks } = await runDoctorChecks(envFor(simNoLogs));
    expect(failed(checks)).toEqual(['permission: provisioning logs']);
    const c = byName(checks, 'permission: provisioning logs')!;
    expect(c.detail).toMatch(
      /missing AuditLog\.Read\.All, needed for provisioning logs \(quarantine details, failures by error code\)/,
    );
    expect(c.fix).toMatch(
      /grant the Microsoft Graph application permission AuditLog\.Read\.All to app .*admin consent/,
    );
  }, 60_000);

  it('Redis with allkeys-lru (and AOF off): each named with its fix', async () => {
    await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
    await client.config('SET', 'appendonly', 'no');
    try {
      const { checks } = await runDoctorChecks(envFor(sim));
      expect(failed(checks)).toEqual(['Redis maxmemory-policy', 'Redis AOF persistence']);
      expect(byName(checks, 'Redis maxmemory-policy')).toMatchObject({
        detail: expect.stringMatching(/^allkeys-lru/),
        fix: expect.stringMatching(/CONFIG SET maxmemory-policy noeviction/),
      });
      expect(byName(checks, 'Redis AOF')!.fix).toMatch(/appendonly yes/);
    } finally {
      await client.config('SET', 'maxmemory-policy', 'noeviction');
      await client.config('SET', 'appendonly', 'yes');
    }
  }, 60_000);

  it('no secret key: named with how to make one; a sealed value from another key: named too', async () => {
    const missing = await runDoctorChecks(envFor(sim, { PROVFLOW_SECRET_KEY: undefined }));
    expect(failed(missing.checks)).toEqual(['secret key']);
    expect(byName(missing.checks, 'secret key')!.fix).toMatch(/PROVFLOW_SECRET_KEY=\$\(openssl rand -base64 32\)/);

    const k = ledgerKeys(prefix);
    const other = generateSecretKey();
    await client.zadd(k.batches, Date.now(), 'b1');
    await client.hset(
      k.secrets('b1'),
      'inst-1',
      sealSecretPairs(other, [{ key: 'ClientSecret', value: 'x' }], 'b1/inst-1'),
    );
    try {
      const wrong = await runDoctorChecks(envFor(sim));
      expect(failed(wrong.checks)).toEqual(['secret key opens sealed values in Redis']);
      expect(byName(wrong.checks, 'secret key opens')!.detail).toMatch(/batch b1 does not open/);
      // The key that sealed it, given as the previous key (a rotation), opens it.
      const rotated = await runDoctorChecks(
        envFor(sim, { PROVFLOW_SECRET_KEY_PREVIOUS: other.bytes.toString('base64') }),
      );
      expect(failed(rotated.checks)).toEqual([]);
    } finally {
      await client.del(k.batches, k.secrets('b1'));
    }
  }, 60_000);

  it("the simulator's CA not trusted: named with NODE_EXTRA_CA_CERTS as the fix", async () => {
    const { checks } = await runDoctorChecks(envFor(sim, { NODE_EXTRA_CA_CERTS: undefined }));
    expect(byName(checks, 'simulator CA trusted')).toMatchObject({
      ok: false,
      fix: expect.stringMatching(/NODE_EXTRA_CA_CERTS/),
    });
  }, 60_000);

  it('bad configuration: exit 2 naming the variable', async () => {
    const r = await provflow(['doctor'], envFor(sim, { AZURE_TENANT_ID: undefined, REDIS_URL: 'http://nope' }));
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/configuration valid/);
    expect(r.stdout).toMatch(/REDIS_URL/);
  }, 60_000);
});

describe('provflow doctor with a tenants file', () => {
  let two: SimulatorHandle;
  beforeAll(async () => {
    two = await startSimulator({ profile: 'fast', tenants: [{}] });
  }, 60_000);
  afterAll(async () => {
    await two?.close();
  });

  /** The environment of a deployment with two tenants (t1, t2): no AZURE_* identity at all. */
  function tenantsEnv(over: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    const file = writeSimTenantsFile(two);
    const env: NodeJS.ProcessEnv = {
      REDIS_URL: redis.url,
      BULLMQ_PREFIX: prefix,
      NODE_EXTRA_CA_CERTS: two.caCertPath,
      PROVFLOW_SECRET_KEY: secretKey,
      PROVFLOW_TENANTS: file.path,
      ...file.env,
      ...over,
    };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    return env;
  }

  it('a row per tenant for its token, permissions, Graph and clock, through the CLI', async () => {
    const r = await provflow(['doctor', '--json'], tenantsEnv());
    const { checks } = JSON.parse(r.stdout) as { checks: Check[] };
    expect(failed(checks), r.stdout).toEqual([]);
    expect(r.code).toBe(0);
    expect(byName(checks, 'configuration valid')!.detail).toMatch(/2 tenant\(s\) in .*: t1, t2/);
    for (const t of ['t1', 't2'])
      for (const name of ['token acquired', 'Graph reachable', 'clock skew', 'permission: instantiate'])
        expect(byName(checks, `${name} (${t})`), `${name} (${t})`).toMatchObject({ ok: true });
    expect(byName(checks, 'token acquired (t2)')!.detail).toContain(two.tenants[1]!.tenantId);
    // One TLS line for the host both tenants share.
    expect(checks.filter((c) => c.name === 'simulator CA trusted')).toHaveLength(1);
    for (const t of two.tenants) expect(r.stdout).not.toContain(t.clientSecret);
  }, 120_000);

  it("one tenant's wrong secret fails that tenant's lines alone, naming it in the fix", async () => {
    const { checks } = await runDoctorChecks(tenantsEnv({ PROVFLOW_SIM_T2_SECRET: 'not-the-secret' }));
    expect(failed(checks)).toEqual(expect.arrayContaining(['token acquired (t2)']));
    expect(failed(checks).some((n) => n.endsWith('(t1)'))).toBe(false);
    expect(byName(checks, 'token acquired (t2)')!.fix).toMatch(/tenant t2's tenantId, clientId and clientSecret/);
  }, 60_000);

  it("a sealed value in a tenant's own lane is tried too", async () => {
    const k = ledgerKeys(tenantPrefix(prefix, 't2'));
    const other = generateSecretKey();
    await client.sadd(tenantRegistryKey(prefix), 't2');
    await client.zadd(k.batches, Date.now(), 'b2');
    await client.hset(k.secrets('b2'), 'inst-2', sealSecretPairs(other, [{ key: 'SecretToken', value: 'y' }], 'b2/i'));
    try {
      const { checks } = await runDoctorChecks(tenantsEnv());
      expect(failed(checks)).toEqual(['secret key opens sealed values in Redis']);
      expect(byName(checks, 'secret key opens')!.detail).toMatch(/batch b2 does not open/);
    } finally {
      await client.del(k.batches, k.secrets('b2'));
      await client.srem(tenantRegistryKey(prefix), 't2');
    }
  }, 60_000);

  it('a broken tenants file: exit 2 naming the problem', async () => {
    const r = await provflow(['doctor'], tenantsEnv({ PROVFLOW_SIM_T1_SECRET: undefined }));
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/PROVFLOW_SIM_T1_SECRET is not set/);
  }, 60_000);
});
