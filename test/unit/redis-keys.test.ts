/**
 * The key layout for Redis Cluster: one hash tag per tenant, `default` unchanged, slots as Redis
 * computes them, and the cluster settings checked at start-up.
 */
import { describe, expect, it } from 'vitest';
import { clusterSeeds, clusterOptions } from '../../src/app/redis-connection.ts';
import { loadConfig, redisIsCluster } from '../../src/config.ts';
import { queuesFor } from '../../src/flow/tenant-queues.ts';
import { QUEUES } from '../../src/flow/queues.ts';
import { ledgerKeys } from '../../src/ledger/keys.ts';
import { metricsKeys } from '../../src/metrics/redis-counters.ts';
import { hashTagOf, hasHashTag, keySlot, tenantNameProblem, tenantPrefix } from '../../src/redis-keys.ts';

describe('redis keys per tenant', () => {
  it('keeps the default tenant on the deployment prefix: single-tenant keys do not change', () => {
    const q = queuesFor('default', '{provflow}');
    expect(q).toEqual({ tenant: 'default', prefix: '{provflow}', ...QUEUES });
    expect(queuesFor()).toEqual(q);
    expect(ledgerKeys(q.prefix).instance('b', 'k')).toBe('{provflow}:pf:inst:b:k');
  });

  it('gives every other tenant a hash tag of its own, whatever the base looks like', () => {
    expect(tenantPrefix('{provflow}', 'contoso')).toBe('{provflow@contoso}');
    expect(tenantPrefix('pf-test', 'contoso')).toBe('{pf-test@contoso}');
    expect(hashTagOf(`${tenantPrefix('{provflow}', 'contoso')}:provflow-steps:1`)).toBe('provflow@contoso');
    expect(tenantPrefix('{provflow}', 'a')).not.toBe(tenantPrefix('{provflow}', 'b'));
  });

  it("puts a tenant's queues, flows, ledger and limiter keys in one slot, and deployment keys in another", () => {
    const p = queuesFor('contoso', '{provflow}').prefix;
    const slots = new Set(
      [
        `${p}:${QUEUES.steps}:wait`,
        `${p}:${QUEUES.steps}:b.k.start-job`,
        `${p}:${QUEUES.poll}:prioritized`,
        ledgerKeys(p).instance('b', 'k'),
        ledgerKeys(p).secrets('b'),
        ledgerKeys(p).batches,
        `${p}:limiter:tid:writes`,
      ].map(keySlot),
    );
    expect(slots.size).toBe(1);
    expect(keySlot(metricsKeys('{provflow}').steps)).toBe(keySlot('{provflow}'));
    expect(keySlot(metricsKeys('{provflow}').steps)).not.toBe([...slots][0]);
  });

  it('computes slots as CLUSTER KEYSLOT does (values from the Redis documentation)', () => {
    expect(keySlot('somekey')).toBe(11058);
    expect(keySlot('foo{hash_tag}')).toBe(2515);
    expect(keySlot('foo{}{bar}')).toBe(keySlot('foo{}{bar}')); // empty tag: the whole key
    expect(hashTagOf('foo{}{bar}')).toBe('foo{}{bar}');
    expect(hasHashTag('{provflow}')).toBe(true);
    expect(hasHashTag('provflow')).toBe(false);
  });

  it('refuses tenant names that could break a key or a hash tag, naming the rule', () => {
    for (const bad of ['', 'a}b', 'a:b', 'a b', 'x@y', '-lead', 'a'.repeat(41)])
      expect(tenantNameProblem(bad), bad).toMatch(/lower-case letters, digits/);
    expect(tenantNameProblem('contoso-prod-2')).toBeNull();
    expect(() => tenantPrefix('{provflow}', 'a}b')).toThrow(/tenant name/);
  });
});

describe('redis cluster configuration', () => {
  const url = 'redis://user:p%40ss@10.0.0.1:7000';
  it('reads REDIS_CLUSTER and REDIS_CLUSTER_NODES; the URL is a seed whose credentials apply to every node', () => {
    const cfg = loadConfig({ REDIS_URL: url, REDIS_CLUSTER_NODES: '10.0.0.2:7001,10.0.0.3:7002' });
    expect(redisIsCluster(cfg)).toBe(true);
    expect(clusterSeeds(cfg)).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
      { host: '10.0.0.3', port: 7002 },
    ]);
    const o = clusterOptions(cfg, {});
    expect(o.redisOptions).toMatchObject({ username: 'user', password: 'p@ss' });
    expect(redisIsCluster(loadConfig({ REDIS_URL: url }))).toBe(false);
    expect(redisIsCluster(loadConfig({ REDIS_URL: url, REDIS_CLUSTER: 'true' }))).toBe(true);
    expect(clusterOptions(loadConfig({ REDIS_URL: 'rediss://h:1' }), {}).redisOptions?.tls).toEqual({
      servername: 'h',
    });
  });

  it('stops at start-up when a cluster would get a prefix without a hash tag, or bad settings', () => {
    expect(() => loadConfig({ REDIS_URL: url, REDIS_CLUSTER: 'yes', BULLMQ_PREFIX: 'provflow' })).toThrow(
      /BULLMQ_PREFIX: on Redis Cluster it must start with a hash tag/,
    );
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.2' })).toThrow(/REDIS_CLUSTER_NODES: must look like/);
    expect(() => loadConfig({ REDIS_CLUSTER: 'maybe' })).toThrow(/REDIS_CLUSTER: must be true or false/);
    expect(() => loadConfig({ PROVFLOW_TENANT: 'a:b' })).toThrow(/PROVFLOW_TENANT: tenant name/);
    // Unset: a worker or poller serves `default` and every tenant of its tenants file (src/app/lanes.ts).
    expect(loadConfig({}).PROVFLOW_TENANT).toBeUndefined();
  });
});
