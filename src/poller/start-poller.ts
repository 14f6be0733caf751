/** Starts the poller's workers (watch jobs, and operator events) over a runtime. */
import { Queue, Worker } from 'bullmq';
import type { Runtime } from '../app/runtime.ts';
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
  watchWorker: Worker;
  eventsWorker: Worker | null;
  close(): Promise<void>;
}

export function startPoller(
  rt: Runtime,
  opts: { concurrency?: number; settings?: Partial<WatchSettings>; onStuck?: (why: StuckWorker) => void } = {},
): PollerHandle {
  if (!rt.graph) throw new Error('the poller needs a Graph client (createRuntime withGraph)');
  const webhookUrl = rt.cfg.PROVFLOW_WEBHOOK_URL;
  const eventsQueue = webhookUrl ? new Queue(QUEUES.events, { connection: rt.redis, prefix: rt.prefix }) : null;
  // The fleet: every watch job not yet ended, counted across all poller processes (they share
  // the quota share, so each schedules as if it served the whole fleet alone, and together they
  // stay inside it). Refreshed every 2 s; a stale count only shifts delays a little.
  // Many tenants: each has its own share of its own quota, so the fleet's capacity is their sum
  // (the schedule assumes watch jobs spread over the tenants as their quotas do).
  const tenants = rt.tenants;
  const limits = tenants ? tenants.names().map((n) => tenants.info(n).limits) : [limitsFor(rt.cfg, null)];
  const pollsPerSecond =
    limits.reduce(
      (sum, l) =>
        sum + pollShareCapacity({ ruLimit: l.ruLimit, ruWindowMs: l.ruWindowMs, share: rt.cfg.POLLER_QUOTA_SHARE }),
      0,
    ) * rt.cfg.GRAPH_LIMIT_SAFETY;
  let activeJobs = 0;
  const countFleet = async () => {
    const c = await rt.pollQueue.getJobCounts('active', 'wait', 'delayed', 'prioritized');
    activeJobs = Object.values(c).reduce((a, b) => a + b, 0);
  };
  const fleetTimer = setInterval(() => void countFleet().catch(() => {}), 2000);
  fleetTimer.unref();
  void countFleet().catch(() => {});
  const counted = countingProcessor(
    createWatchProcessor({
      graph: rt.graph,
      graphFor: tenants ? (tenant) => tenants.graphFor(tenant) : undefined,
      ledger: rt.ledger,
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
    prefix: rt.prefix,
    concurrency,
    maxStalledCount: 10,
    stalledInterval: rt.cfg.WORKER_STALLED_INTERVAL_MS,
    lockDuration: rt.cfg.WORKER_LOCK_DURATION_MS,
  });
  watchWorker.on('error', (err) => rt.logger.error({ err: err.message }, 'poller worker error'));
  const { onStuck } = opts;
  const stopWatchdog = onStuck
    ? watchFetching(watchWorker, rt.pollQueue, {
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
      { connection: connections[connections.push(rt.redis.duplicate()) - 1]!, prefix: rt.prefix, concurrency: 4 },
    );
    eventsWorker.on('error', (err) => rt.logger.error({ err: err.message }, 'events worker error'));
  }
  return {
    watchWorker,
    eventsWorker,
    async close() {
      clearInterval(fleetTimer);
      stopWatchdog();
      await Promise.allSettled([watchWorker.close(), eventsWorker?.close(), eventsQueue?.close()]);
      // BullMQ does not close connections it was given.
      for (const c of connections) c.disconnect();
    },
  };
}
