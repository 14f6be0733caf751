/**
 * One way to connect to the deployment's Redis, single node or Redis Cluster (REDIS_CLUSTER or
 * REDIS_CLUSTER_NODES): every key provflow writes carries its tenant's hash tag, so the same code
 * runs on both (docs/adr/0007-redis-cluster.md).
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { redisIsCluster, type Config } from '../config.ts';

/** ioredis options for BullMQ workers: never give up on a command while Redis restarts. */
function workerRedisOptions(): RedisOptions {
  return { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy: (n) => Math.min(n * 200, 2000) };
}

/** Seed nodes: REDIS_URL's host first, then REDIS_CLUSTER_NODES. */
export function clusterSeeds(cfg: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>): { host: string; port: number }[] {
  const seeds: { host: string; port: number }[] = [];
  if (cfg.REDIS_URL) {
    const u = new URL(cfg.REDIS_URL);
    seeds.push({ host: u.hostname, port: Number(u.port || 6379) });
  }
  for (const hp of cfg.REDIS_CLUSTER_NODES?.split(',') ?? []) {
    const at = hp.lastIndexOf(':');
    seeds.push({ host: hp.slice(0, at), port: Number(hp.slice(at + 1)) });
  }
  return seeds;
}

/** Options for the nodes of a cluster: REDIS_URL's credentials, database 0 and TLS apply to each. */
function nodeOptions(url: string | undefined, base: RedisOptions): RedisOptions {
  if (!url) return base;
  const u = new URL(url);
  return {
    ...base,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: { servername: u.hostname } } : {}),
  };
}

/**
 * Cluster options that ride out a failover: a command sent to a master that just died is retried
 * (every second, up to 60 times) until the cluster has promoted its replica and the slot map is
 * refreshed, instead of failing after ioredis's default 1.6 s.
 */
export function clusterOptions(cfg: Pick<Config, 'REDIS_URL'>, base: RedisOptions): ClusterOptions {
  return {
    redisOptions: nodeOptions(cfg.REDIS_URL, base),
    retryDelayOnFailover: 1000,
    retryDelayOnClusterDown: 1000,
    retryDelayOnTryAgain: 200,
    maxRedirections: 60,
    enableOfflineQueue: true,
    // Managed clusters announce nodes by IP behind TLS certificates issued for a host name.
    dnsLookup: (address, callback) => callback(null, address),
    clusterRetryStrategy: (n) => Math.min(n * 200, 2000),
  };
}

/**
 * A connection to the deployment's Redis. A Cluster is returned typed as `Redis`: provflow uses
 * only commands both share on keys of one slot, and BullMQ accepts either.
 */
export function connectRedis(
  cfg: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER' | 'REDIS_CLUSTER_NODES'>,
  options: RedisOptions = workerRedisOptions(),
): Redis {
  if (redisIsCluster(cfg)) return new Cluster(clusterSeeds(cfg), clusterOptions(cfg, options)) as unknown as Redis;
  if (!cfg.REDIS_URL) throw new Error('REDIS_URL is not set');
  return new Redis(cfg.REDIS_URL, options);
}
