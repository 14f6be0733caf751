/**
 * The composition root: everything long-lived (Redis connections, the HTTP agent, MSAL, the
 * Graph client, the shared limiter, the ledger) is built here once and passed down.
 */
import { Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.ts';
import { QUEUES } from '../flow/queues.ts';
import type { GraphApi } from '../graph/graph-api.ts';
import { createGraphClient } from '../graph/graph-client.ts';
import { resolveHoldSecret } from '../graph/hold-secret.ts';
import { createHttpAgent } from '../graph/http-agent.ts';
import { createGraphLimiter } from '../graph/limiter.ts';
import { createTokenProvider } from '../graph/token-provider.ts';
import { Ledger } from '../ledger/ledger.ts';
import type { Logger } from '../logger.ts';
import { createMetricsRecorder } from '../metrics/redis-counters.ts';
import type { StepSettings } from '../steps/types.ts';
import { createShareLimiter } from './share-limiter.ts';
import { createVault, type Vault } from '../secrets/vault.ts';

/** ioredis options for BullMQ workers: never give up on a command while Redis restarts. */
export function workerRedisOptions(): RedisOptions {
  return { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy: (n) => Math.min(n * 200, 2000) };
}

export interface Runtime {
  cfg: Config;
  logger: Logger;
  /** For BullMQ workers/queues (blocking commands live on their own duplicated connections). */
  redis: Redis;
  prefix: string;
  ledger: Ledger;
  vault: Vault;
  graph: GraphApi | null;
  pollQueue: Queue;
  stepsQueue: Queue;
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
  /**
   * One-shot commands: fail with RedisUnreachableError when Redis is not ready within this long
   * (and stay quiet while trying). Unset, the runtime retries for ever, as long-running processes must.
   */
  connectTimeoutMs?: number;
}

/** Redis did not answer within the connect timeout of a one-shot command. */
export class RedisUnreachableError extends Error {
  override readonly name = 'RedisUnreachableError';
}

/** The URL with any password masked, fit for messages. */
export function redactRedisUrl(url: string): string {
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

export function stepSettingsFrom(cfg: Config, overrides: Partial<StepSettings> = {}): StepSettings {
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
  const redis = new Redis(cfg.REDIS_URL, workerRedisOptions());
  // A one-shot command reports an unreachable Redis once, as its error, not as a warning every retry.
  let quiet = opts.connectTimeoutMs !== undefined;
  redis.on('error', (err) => {
    if (!quiet) logger.warn({ err: err.message }, 'redis connection error');
  });
  if (opts.connectTimeoutMs !== undefined) {
    await waitForReady(redis, opts.connectTimeoutMs, cfg.REDIS_URL);
    quiet = false;
  }
  const prefix = cfg.BULLMQ_PREFIX;
  const ledger = new Ledger(redis, prefix);
  const vault = createVault(cfg);
  const metrics = createMetricsRecorder(redis, prefix);
  const closers: (() => Promise<unknown>)[] = [];

  let graph: GraphApi | null = null;
  if (opts.withGraph) {
    if (!cfg.AZURE_TENANT_ID || !cfg.AZURE_CLIENT_ID)
      throw new Error('AZURE_TENANT_ID and AZURE_CLIENT_ID are required');
    const dispatcher = createHttpAgent({ extraCaPem: opts.extraCaPem, logger, connectionsPerOrigin: 128 }); // ≥ the requests 100 concurrent jobs have in flight: none waits for a socket
    closers.push(() => dispatcher.close());
    const tokenProvider = createTokenProvider({
      tenantId: cfg.AZURE_TENANT_ID,
      clientId: cfg.AZURE_CLIENT_ID,
      clientSecret: cfg.AZURE_CLIENT_SECRET,
      certificatePath: cfg.AZURE_CLIENT_CERTIFICATE_PATH,
      authorityHost: cfg.AZURE_AUTHORITY_HOST,
      dispatcher,
      logger,
    });
    const limits = {
      writeLimit: cfg.GRAPH_WRITE_LIMIT,
      writeWindowMs: cfg.GRAPH_WRITE_WINDOW_MS,
      ruLimit: cfg.GRAPH_RU_LIMIT,
      ruWindowMs: cfg.GRAPH_RU_WINDOW_MS,
      reportsLimit: cfg.GRAPH_REPORTS_LIMIT,
      reportsWindowMs: cfg.GRAPH_REPORTS_WINDOW_MS,
    };
    // One hold key for every process of the deployment, so a 503's hold binds them all.
    const holdSecret = await resolveHoldSecret({ redis, prefix, secretKey: cfg.PROVFLOW_SECRET_KEY, logger });
    const safety = cfg.GRAPH_LIMIT_SAFETY;
    const tenantLimiter = createGraphLimiter({ redis, prefix, limits, safety, holdSecret, logger });
    const share = opts.ruShare ?? 1;
    const limiter =
      share < 1
        ? createShareLimiter({
            main: tenantLimiter,
            redis,
            prefix,
            group: 'poller',
            limits,
            share,
            safety: cfg.GRAPH_LIMIT_SAFETY,
            logger,
          })
        : tenantLimiter;
    closers.push(async () => limiter.close());
    graph = createGraphClient({
      tenantId: cfg.AZURE_TENANT_ID,
      graphBaseUrl: cfg.GRAPH_BASE_URL,
      tokenProvider,
      limiter,
      dispatcher,
      logger,
      requestTimeoutMs: cfg.GRAPH_REQUEST_TIMEOUT_MS,
      onResponse: (e) => metrics.graphResponse(e),
      onHeldBack: (why) => metrics.heldBack(why),
    });
  }

  const connection = redis;
  // BullMQ's event streams default to 10,000 entries per queue (~2 MB): the ledger and the
  // metrics are the record, so a short stream is enough for the board's live updates.
  const streams = { events: { maxLen: 1000 } };
  const pollQueue = new Queue(QUEUES.poll, { connection, prefix, streams });
  const stepsQueue = new Queue(QUEUES.steps, { connection, prefix, streams });
  // Connection errors while Redis restarts are expected and retried: log them, don't crash on them.
  for (const q of [pollQueue, stepsQueue])
    q.on('error', (err) => logger.warn({ err: err.message, queue: q.name }, 'queue connection error'));
  return {
    cfg,
    logger,
    redis,
    prefix,
    ledger,
    vault,
    graph,
    pollQueue,
    stepsQueue,
    metrics,
    stepSettings: stepSettingsFrom(cfg, opts.stepSettings),
    async close() {
      await Promise.allSettled([pollQueue.close(), stepsQueue.close()]);
      await metrics.close?.();
      for (const c of closers.reverse()) await c().catch(() => {});
      redis.disconnect();
    },
  };
}
