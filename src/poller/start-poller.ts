/** Starts the poller's workers (watch jobs, and operator events) over a runtime. */
import { Worker } from 'bullmq';
import type { Runtime } from '../app/runtime.ts';
import type { TenantLane } from '../app/lanes.ts';
import { stallOptions } from '../app/worker-set.ts';
import { QUEUES } from '../flow/queues.ts';
import { pollShareCapacity } from './poll-interval.ts';
import { limitsFor } from '../tenants/tenant-registry.ts';
import { countingProcessor, watchFetching, type StuckWorker } from '../flow/fetch-watchdog.ts';
import { createWatchProcessor, type WatchSettings } from './watch-processor.ts';
import { createWebhookNotifier, type WebhookEvent } from '../events/webhook.ts';

function watchSettingsFrom(rt: Runtime, overrides: Partial<WatchSettings> = {}): WatchSettings {
  const c = rt.cfg;
  return {
    poll: {
      minMs: c.POLLER_MIN_INTERVAL_MS,
      maxMs: c.POLLER_MAX_INTERVAL_MS,
      growth: 1.5,
      startFastMs: Math.max(10, Math.round(c.POLLER_MIN_INTERVAL_MS / 2)),
      jitterRatio: 0.1,
    },
    deadlineMs: c.POLLER_DEADLINE_MS,
    maxLogPagesPerRun: c.POLLER_LOG_PAGES_PER_RUN,
    logPageSize: c.POLLER_LOG_PAGE_SIZE,
    startGraceMs: c.POLLER_START_GRACE_MS,
    ...overrides,
  };
}

export interface PollerHandle {
  /** One watch worker per tenant lane the process serves (`rt.served`), `default` first. */
  watchWorkers: Worker[];
  eventsWorkers: Worker[];
  waitUntilReady(): Promise<void>;
  close(): Promise<void>;
}

type PollerOptions = { concurrency?: number; settings?: Partial<WatchSettings>; onStuck?: (why: StuckWorker) => void };

/**
 * The poller: per tenant lane, a watch worker (and, with a webhook, an events worker). Each lane
 * schedules its polls against its own tenant's share of its own quota, so one tenant's 10,000
 * watch jobs stretch only that tenant's poll intervals.
 */
export function startPoller(rt: Runtime, opts: PollerOptions = {}): PollerHandle {
  if (!rt.graph) throw new Error('the poller needs a Graph client (createRuntime withGraph)');
  const lanes = rt.served.map((tenant) => startLane(rt, rt.lane(tenant), opts));
  const watchWorkers = lanes.map((l) => l.watchWorker);
  const eventsWorkers = lanes.flatMap((l) => (l.eventsWorker ? [l.eventsWorker] : []));
  return {
    watchWorkers,
    eventsWorkers,
    async waitUntilReady() {
      await Promise.all([...watchWorkers, ...eventsWorkers].map((w) => w.waitUntilReady()));
    },
    async close() {
      await Promise.allSettled(lanes.map((l) => l.close()));
    },
  };
}

/**
 * Polls per second the lane's tenant may spend (its share of its RU quota). The `default` lane
 * of a tenants file without `default` holds only flows enqueued before lanes: all tenants' share.
 */
function lanePollCapacity(rt: Runtime, tenant: string): number {
  const tenants = rt.tenants;
  const names = tenants ? (tenants.has(tenant) ? [tenant] : tenants.names()) : [];
  const limits = tenants ? names.map((n) => tenants.info(n).limits) : [limitsFor(rt.cfg, null)];
  const share = rt.cfg.POLLER_QUOTA_SHARE;
  const sum = limits.reduce(
    (acc, l) => acc + pollShareCapacity({ ruLimit: l.ruLimit, ruWindowMs: l.ruWindowMs, share }),
    0,
  );
  return sum * rt.cfg.GRAPH_LIMIT_SAFETY;
}

function startLane(rt: Runtime, lane: TenantLane, opts: PollerOptions) {
  const webhookUrl = rt.cfg.PROVFLOW_WEBHOOK_URL;
  const eventsQueue = webhookUrl ? lane.eventsQueue : null;
  // The lane's fleet: every watch job not yet ended, counted across all poller processes (they
  // share the quota share, so each schedules as if it served the whole fleet alone, and together
  // they stay inside it). Refreshed every 2 s; a stale count only shifts delays a little.
  const pollsPerSecond = lanePollCapacity(rt, lane.tenant);
  const tenants = rt.tenants;
  let activeJobs = 0;
  const countFleet = async () => {
    const c = await lane.pollQueue.getJobCounts('active', 'wait', 'delayed', 'prioritized');
    activeJobs = Object.values(c).reduce((a, b) => a + b, 0);
  };
  const fleetTimer = setInterval(() => void countFleet().catch(() => {}), 2000);
  fleetTimer.unref();
  void countFleet().catch(() => {});
  const counted = countingProcessor(
    createWatchProcessor({
      graph: rt.graph!,
      graphFor: tenants ? (tenant) => tenants.graphFor(tenant) : undefined,
      ledger: lane.ledger,
      logger: rt.logger,
      settings: watchSettingsFrom(rt, opts.settings),
      eventsQueue,
      onEnd: (state, tenant) => rt.metrics.instanceEnd(state, tenant),
      // Aim at half the share for jobs that may change soon: quick detection, room for bursts.
      fleet: () => ({ activeJobs, pollsPerSecond, targetUse: 0.5 }),
    }),
  );
  const connections = [rt.redis.duplicate()];
  const concurrency = opts.concurrency ?? rt.cfg.POLLER_CONCURRENCY;
  const watchWorker = new Worker(QUEUES.poll, counted.processor, {
    connection: connections[0]!,
    prefix: lane.prefix,
    concurrency,
    ...stallOptions(rt.cfg),
  });
  watchWorker.on('error', (err) => rt.logger.error({ err: err.message, tenant: lane.tenant }, 'poller worker error'));
  const { onStuck } = opts;
  const stopWatchdog = onStuck
    ? watchFetching(watchWorker, lane.pollQueue, {
        intervalMs: rt.cfg.WORKER_FETCH_WATCHDOG_MS,
        concurrency,
        counts: counted,
        onStuck,
      })
    : () => {};

  let eventsWorker: Worker | null = null;
  if (webhookUrl) {
    // One delivery try per attempt: the queue's backoff spaces the retries, durably.
    const authorization = rt.cfg.PROVFLOW_WEBHOOK_AUTHORIZATION;
    const notifier = createWebhookNotifier({ url: webhookUrl, authorization, maxAttempts: 1, logger: rt.logger });
    eventsWorker = new Worker(
      QUEUES.events,
      async (job) => {
        const res = await notifier.notify(job.data as WebhookEvent);
        if (!res.delivered) throw new Error(`webhook not delivered: ${res.lastError ?? res.status}`);
        return { status: res.status };
      },
      { connection: connections[connections.push(rt.redis.duplicate()) - 1]!, prefix: lane.prefix, concurrency: 4 },
    );
    eventsWorker.on('error', (err) =>
      rt.logger.error({ err: err.message, tenant: lane.tenant }, 'events worker error'),
    );
  }
  return {
    watchWorker,
    eventsWorker,
    async close() {
      clearInterval(fleetTimer);
      stopWatchdog();
      await Promise.allSettled([watchWorker.close(), eventsWorker?.close()]);
      // BullMQ does not close connections it was given.
      for (const c of connections) c.disconnect();
    },
  };
}
