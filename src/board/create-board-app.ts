/**
 * The board process's HTTP app: Bull Board under `/board/` behind Basic auth, plus the
 * unauthenticated probe endpoints `/healthz` and `/metrics` (which expose counts, never job
 * data). Pure wiring: no listening, no signals (see run-board.ts).
 */
import { createBullBoard } from '@bull-board/api';
import type { IServerAdapter } from '@bull-board/api/typings/app';
import { ExpressAdapter } from '@bull-board/express';
import express from 'express';
import { Redis, type RedisOptions } from 'ioredis';
import { ALL_QUEUE_NAMES } from '../flow/queues.ts';
import { silentLogger, type Logger } from '../logger.ts';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus, type ScrapeData } from '../metrics/prometheus.ts';
import { createMetricsReader, type MetricsSource } from '../metrics/redis-counters.ts';
import { basicAuth, type BoardCredentials } from './basic-auth.ts';
import { batchDashboard } from './batch-dashboard.ts';
import { boardHooks } from './board-hooks.ts';
import { createQueueAdapters, type BoardMode } from './board-queues.ts';
import { createBoardLanes } from './board-lanes.ts';
import { LoginThrottle, loopbackHostOnly, sameOriginMutations } from './security.ts';
import { checkHealth, pingRedis, queueCounts, withDeadline, workerCounts } from './health.ts';

/** Where the board UI is mounted. */
export const BOARD_BASE_PATH = '/board';

/** Options for `createBoardApp`. */
export interface CreateBoardAppOptions {
  /** Redis URL (`redis://…`, `rediss://…`) or ioredis options. */
  redis: string | RedisOptions;
  /** Builds the connection instead (a Redis Cluster: src/app/redis-connection.ts), given the board's options. */
  connect?: (options: RedisOptions) => Redis;
  /**
   * The deployment's prefix (`BULLMQ_PREFIX`, default `{provflow}`): the `default` tenant's queues,
   * and the tenant list naming the others (each under its own prefix: src/redis-keys.ts).
   */
  prefix: string;
  /** No changes from the board (default true). Ignored when `allowRetries` is set. */
  readOnly?: boolean;
  /** Allow retrying failed jobs and promoting delayed ones, and nothing else (default false). */
  allowRetries?: boolean;
  /** The operator account, or null for no authentication (callers must bind to loopback then). */
  auth: BoardCredentials | null;
  /** Board title (default `provflow`). */
  title?: string;
  /** Shown in every queue's description, e.g. "Per-instance state: provflow status BATCH". */
  statusHint?: string;
  /** Cross-process counters for /metrics (default: read from Redis under `prefix`). */
  metrics?: MetricsSource;
  logger?: Logger;
  /** Deadline for each Redis read behind /healthz and /metrics (default 2000 ms). */
  probeTimeoutMs?: number;
  /** How often `/batches` samples the Graph counters for its charts (default 10 s). */
  dashboardSampleMs?: number;
  /** Queue names to show (default: every provflow queue). */
  queueNames?: readonly string[];
  /** Failed-login throttling (default: 5 free failures per address, then 1 s doubling to 15 min). */
  loginThrottle?: LoginThrottle;
}

/** A board app and how to release its Redis connection. */
export interface BoardApp {
  app: express.Express;
  mode: BoardMode;
  close(): Promise<void>;
}

/** Default text pointing operators from a job to provflow's per-instance view. */
const DEFAULT_STATUS_HINT = 'Per-instance state, ids and quarantine reasons: `provflow status <batchId>`.';

function boardMode(opts: Pick<CreateBoardAppOptions, 'readOnly' | 'allowRetries'>): BoardMode {
  if (opts.allowRetries) return 'retries';
  return opts.readOnly === false ? 'full' : 'read-only';
}

/** Builds the Express app (not listening). */
export function createBoardApp(opts: CreateBoardAppOptions): BoardApp {
  const logger = opts.logger ?? silentLogger();
  const mode = boardMode(opts);
  const timeoutMs = opts.probeTimeoutMs ?? 2000;
  // One connection for every queue and probe. No offline queue: when Redis is down, probes
  // must fail at once (503) rather than queue commands until the orchestrator gives up.
  const connection: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 5000 };
  const redis = opts.connect
    ? opts.connect(connection)
    : typeof opts.redis === 'string'
      ? new Redis(opts.redis, connection)
      : new Redis({ ...opts.redis, ...connection });
  let lastRedisError = '';
  redis.on('error', (err: Error) => {
    // ioredis repeats the same error on every reconnect attempt; log each distinct one once.
    if (err.message !== lastRedisError) logger.warn({ err: err.message }, 'board: Redis connection error');
    lastRedisError = err.message;
  });
  redis.on('ready', () => {
    if (lastRedisError) logger.info('board: Redis connection restored');
    lastRedisError = '';
  });

  const statusHint = opts.statusHint ?? DEFAULT_STATUS_HINT;
  // Every tenant's queues: default's now, the others' as the tenant list names them.
  let addToBoard: ReturnType<typeof createBullBoard>['addQueue'] | null = null;
  const lanes = createBoardLanes({
    redis,
    basePrefix: opts.prefix,
    queueNames: opts.queueNames ?? ALL_QUEUE_NAMES,
    timeoutMs,
    onAdded: (added) => {
      for (const adapter of createQueueAdapters(added, mode, statusHint)) addToBoard?.(adapter);
    },
  });
  const metrics = opts.metrics ?? createMetricsReader(redis, opts.prefix);

  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BOARD_BASE_PATH);
  ({ addQueue: addToBoard } = createBullBoard({
    queues: createQueueAdapters(lanes.entries(), mode, statusHint),
    // @bull-board/express 9.10.1 pins its own @bull-board/api 9.10.1 while the app has 9.10.2:
    // identical shapes, but TypeScript sees two declarations of BaseAdapter's private fields.
    serverAdapter: serverAdapter as unknown as IServerAdapter,
    options: {
      handlerHooks: boardHooks(mode),
      uiConfig: {
        boardTitle: opts.title ?? 'provflow',
        miscLinks: [
          { text: 'Batches', url: '/batches' },
          { text: 'Health', url: '/healthz' },
          { text: 'Metrics', url: '/metrics' },
        ],
        environment: {
          label: mode === 'read-only' ? 'read-only' : mode === 'retries' ? 'retries enabled' : 'full access',
          color: mode === 'read-only' ? '#2563eb' : '#b45309',
          textColor: '#ffffff',
        },
        jobDetails: { defaultTab: 'Data' },
      },
    },
  }));
  void lanes.refresh();

  const app = express();
  app.disable('x-powered-by');
  // Bull Board's router is an Express app of its own, which would set the header on its pages.
  (serverAdapter.getRouter() as express.Express).disable('x-powered-by');
  app.use((_req, res, next) => {
    res.set({ 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'no-referrer' });
    next();
  });
  // Before every route (see security.ts): no authentication means loopback host names only
  // (DNS rebinding), and no change is accepted from another site's page.
  if (!opts.auth) app.use(loopbackHostOnly());
  app.use(sameOriginMutations());

  // Probes first, unauthenticated: orchestrators and scrapers carry no credentials.
  app.get('/healthz', async (_req, res) => {
    await lanes.refresh();
    const report = await checkHealth(redis, lanes.entries(), {
      timeoutMs,
      requiredWorkers: await lanes.requiredWorkers(),
    });
    res
      .status(report.redis.ok ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json(report);
  });
  app.get('/metrics', async (_req, res) => {
    const data: ScrapeData = { redisUp: (await pingRedis(redis, timeoutMs)).ok };
    if (data.redisUp) {
      try {
        await lanes.refresh();
        const queues = lanes.entries();
        if (queues.some((q) => q.name !== q.queue.name))
          data.queueLabels = Object.fromEntries(queues.map((q) => [q.name, { queue: q.queue.name, tenant: q.tenant }]));
        const [counts, workers, snapshot] = await Promise.all([
          queueCounts(queues, timeoutMs),
          workerCounts(queues, timeoutMs),
          withDeadline(metrics.read(), timeoutMs, 'metrics counters'),
        ]);
        data.queueCounts = counts;
        data.workers = Object.fromEntries(Object.entries(workers).filter((e): e is [string, number] => e[1] !== null));
        data.snapshot = snapshot;
      } catch (err) {
        // Still answer 200: Prometheus reads provflow_redis_up 0 as the alert, not a failed scrape.
        logger.warn({ err: (err as Error).message }, 'board: metrics scrape incomplete');
        data.redisUp = false;
      }
    }
    res
      .set('Content-Type', PROMETHEUS_CONTENT_TYPE)
      .set('Cache-Control', 'no-store')
      .send(await renderPrometheus(data));
  });

  // Everything else, the board's pages, API and static assets included, needs credentials.
  if (opts.auth) {
    app.use(
      basicAuth({
        credentials: opts.auth,
        realm: `${opts.title ?? 'provflow'} board`,
        throttle: opts.loginThrottle ?? new LoginThrottle(),
        onRefused: (req, reason) => {
          const what = { path: req.path, ip: req.ip, reason };
          // A browser's first request carries no credentials: routine. Wrong ones are worth a warning.
          if (reason === 'missing') logger.debug(what, 'board: authentication refused');
          else logger.warn(what, 'board: authentication refused');
        },
      }),
    );
  }
  app.use(`${BOARD_BASE_PATH}/api`, (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  const dashboard = batchDashboard({ redis, prefix: opts.prefix, metrics, sampleMs: opts.dashboardSampleMs });
  app.use('/batches', dashboard.router);
  app.get('/', (_req, res) => res.redirect(`${BOARD_BASE_PATH}/`));
  // A tenant's first batch puts its queues on the board by the next page load.
  app.use(BOARD_BASE_PATH, (_req, _res, next) => void lanes.refresh().then(() => next()));
  app.use(BOARD_BASE_PATH, serverAdapter.getRouter() as express.Router);

  let closing: Promise<void> | undefined;
  return {
    app,
    mode,
    close: () =>
      (closing ??= (async () => {
        dashboard.close();
        await lanes.close();
        // The queues share this connection and leave it open; Bull Board's cached
        // FlowProducers ride on it too, so quitting it releases everything.
        await redis.quit().catch(() => redis.disconnect());
      })()),
  };
}
