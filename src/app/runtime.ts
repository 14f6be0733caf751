/**
 * The composition root: everything long-lived (Redis connections, the HTTP agent, MSAL, the
 * per-tenant Graph clients and throttles, the ledger) is built here once and passed down.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ConfigError, type Config } from '../config.ts';
import { queuesFor } from '../flow/tenant-queues.ts';
import type { GraphApi } from '../graph/graph-api.ts';
import { resolveHoldSecret } from '../secrets/hold-key.ts';
import { createHttpAgent } from '../graph/http-agent.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { Logger } from '../logger.ts';
import { createMetricsRecorder } from '../metrics/redis-counters.ts';
import type { StepSettings } from '../steps/types.ts';
import { createVault, type Vault } from '../secrets/vault.ts';
import { createTenantRegistry, defaultTenantFromEnv, type TenantRegistry } from '../tenants/tenant-registry.ts';
import { DEFAULT_TENANT, type TenantConfig } from '../tenants/tenant-schema.ts';
import { tenantsOf } from '../tenants/tenants-config.ts';
import { connectRedis } from './redis-connection.ts';
import { createLanes, servedTenants, type TenantLane } from './lanes.ts';

export interface Runtime {
  cfg: Config;
  logger: Logger;
  /** For BullMQ workers/queues (blocking commands live on their own duplicated connections). */
  redis: Redis;
  /** The tenant of `ledger`, `stepsQueue` and `pollQueue` below (`default` unless PROVFLOW_TENANT). */
  tenant: string;
  /** That tenant's prefix: its queues, ledger and limiter windows (one Redis Cluster slot). */
  prefix: string;
  /** The deployment's prefix (BULLMQ_PREFIX): deployment-wide keys (metrics, hold key, tenant registry). */
  basePrefix: string;
  ledger: Ledger;
  vault: Vault;
  graph: GraphApi | null;
  /** Every tenant's Graph client (withGraph); steps and the poller pick the instance's tenant's. */
  tenants: TenantRegistry | null;
  pollQueue: Queue;
  stepsQueue: Queue;
  /** Any tenant's queues and ledger (src/app/lanes.ts), built on first use. */
  lane(tenant: string): TenantLane;
  /** Whose queues this process's workers serve: PROVFLOW_TENANT, else default + the tenants (withGraph). */
  served: string[];
  metrics: ReturnType<typeof createMetricsRecorder>;
  stepSettings: StepSettings;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  logger: Logger;
  /** Build the Graph client (workers); the CLI's enqueue/status do not need one. */
  withGraph?: boolean;
  /** A CA to trust beyond Node's roots (the in-process simulator's). */
  extraCaPem?: string;
  /** Share of the tenant's RU quota this process may use (the poller's cap), 1 = full. */
  ruShare?: number;
  stepSettings?: Partial<StepSettings>;
  /** The tenants (already loaded); unset, PROVFLOW_TENANTS is read, or the AZURE_* tenant is `default`. */
  tenants?: TenantConfig[] | null;
  /**
   * One-shot commands: fail with RedisUnreachableError when Redis is not ready within this long
   * (and stay quiet while trying). Unset, the runtime retries for ever, as long-running processes must.
   */
  connectTimeoutMs?: number;
  /** The runtime's own tenant (`ledger`, `stepsQueue`…); default: PROVFLOW_TENANT, else `default`. */
  tenant?: string;
}

/** Redis did not answer within the connect timeout of a one-shot command. */
export class RedisUnreachableError extends Error {
  override readonly name = 'RedisUnreachableError';
}

/** The URL with any password masked, fit for messages. */
function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable REDIS_URL)';
  }
}

function waitForReady(redis: Redis, timeoutMs: number, url: string): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError = '';
    const onError = (err: Error) => (lastError = err.message);
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
    };
    const onReady = () => {
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      redis.disconnect();
      reject(
        new RedisUnreachableError(
          `cannot reach Redis at REDIS_URL=${redactRedisUrl(url)} within ${timeoutMs} ms` +
            ` (${lastError || 'no answer'}); check that Redis is running and REDIS_URL points at it` +
            ' (REDIS_CONNECT_TIMEOUT_MS sets how long to wait)',
        ),
      );
    }, timeoutMs);
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}

function stepSettingsFrom(cfg: Config, overrides: Partial<StepSettings> = {}): StepSettings {
  return {
    replicationReadsInARow: 2,
    replicationPollMs: cfg.REPLICATION_POLL_MS,
    replicationTimeoutMs: cfg.REPLICATION_TIMEOUT_MS,
    reconcileWindowMs: cfg.RECONCILE_WINDOW_MS,
    slowInstantiateMs: 2 * cfg.REPLICATION_POLL_MS,
    requestTimeoutMs: cfg.GRAPH_REQUEST_TIMEOUT_MS,
    roleImportTimeoutMs: cfg.ROLE_IMPORT_TIMEOUT_MS,
    ...overrides,
  };
}

export async function createRuntime(cfg: Config, opts: RuntimeOptions): Promise<Runtime> {
  const { logger } = opts;
  if (!cfg.REDIS_URL) throw new Error('REDIS_URL is not set');
  const redis = connectRedis(cfg);
  // A one-shot command reports an unreachable Redis once, as its error, not as a warning every retry.
  let quiet = opts.connectTimeoutMs !== undefined;
  redis.on('error', (err) => {
    if (!quiet) logger.warn({ err: err.message }, 'redis connection error');
  });
  if (opts.connectTimeoutMs !== undefined) {
    await waitForReady(redis, opts.connectTimeoutMs, cfg.REDIS_URL);
    quiet = false;
  }
  const basePrefix = cfg.BULLMQ_PREFIX;
  const tenant = opts.tenant ?? cfg.PROVFLOW_TENANT ?? DEFAULT_TENANT;
  const lanes = createLanes(redis, basePrefix, logger);
  const own = lanes.lane(tenant);
  const vault = createVault(cfg);
  const metrics = createMetricsRecorder(redis, basePrefix);
  const closers: (() => Promise<unknown>)[] = [];

  let tenants: TenantRegistry | null = null;
  if (opts.withGraph) {
    // 128 sockets ≥ the requests 100 concurrent jobs have in flight: none waits for a socket.
    const dispatcher = createHttpAgent({ extraCaPem: opts.extraCaPem, logger, connectionsPerOrigin: 128 });
    closers.push(() => dispatcher.close());
    // One hold key for every process of the deployment, so a 503's hold binds them all.
    const holdSecret = await resolveHoldSecret({
      redis,
      prefix: basePrefix,
      secretKey: cfg.PROVFLOW_SECRET_KEY,
      logger,
    });
    const fromFile = opts.tenants !== undefined ? opts.tenants : await tenantsOf(cfg);
    tenants = createTenantRegistry({
      cfg,
      tenants: fromFile ?? [defaultTenantFromEnv(cfg)],
      redis,
      // Each tenant's limiter windows under its own hash tag (its own Redis Cluster slot).
      prefixFor: (name) => queuesFor(name, basePrefix).prefix,
      holdSecret,
      dispatcher,
      logger,
      ruShare: opts.ruShare ?? 1,
      onResponse: (tenant, e) => metrics.graphResponse(e, tenant),
      onHeldBack: (why) => metrics.heldBack(why),
    });
    const registry = tenants;
    const only = cfg.PROVFLOW_TENANT;
    if (only && !registry.has(only)) {
      await registry.close();
      redis.disconnect();
      throw new ConfigError(
        `PROVFLOW_TENANT=${only} names no tenant this process has credentials for ` +
          `(${registry.names().join(', ')}); fix the name or add the tenant to PROVFLOW_TENANTS`,
      );
    }
    closers.push(async () => registry.close());
  }
  // The runtime's tenant's client (single-tenant commands: plan, restart), else default's, else the first.
  const ownGraph = tenants && [tenant, DEFAULT_TENANT, ...tenants.names()].find((n) => tenants!.has(n));
  const graph = tenants && ownGraph ? tenants.graphFor(ownGraph) : null;
  return {
    cfg,
    logger,
    redis,
    tenant,
    prefix: own.prefix,
    basePrefix,
    ledger: own.ledger,
    vault,
    graph,
    tenants,
    pollQueue: own.pollQueue,
    stepsQueue: own.stepsQueue,
    lane: lanes.lane,
    served: servedTenants(cfg.PROVFLOW_TENANT, tenants?.names() ?? []),
    metrics,
    stepSettings: stepSettingsFrom(cfg, opts.stepSettings),
    async close() {
      await lanes.close();
      await metrics.close?.();
      for (const c of closers.reverse()) await c().catch(() => {});
      redis.disconnect();
    },
  };
}
