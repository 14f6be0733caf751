/**
 * The long-running processes (`provflow worker`, `provflow poller`): build the runtime, start
 * the worker, and close gracefully on SIGTERM/SIGINT within a deadline — active jobs finish or
 * are returned to the queue by BullMQ's close, nothing is left stalled on purpose.
 */
import { tenantsOf } from '../tenants/tenants-config.ts';
import { createRuntime } from '../app/runtime.ts';
import { startStepsWorkers } from '../app/steps-worker.ts';
import { startPoller } from '../poller/start-poller.ts';
import { startOpsWorkers, syncVerifySchedule } from '../app/ops-worker.ts';
import { configFor, processLogger } from './common.ts';
import type { StuckWorker } from '../flow/fetch-watchdog.ts';
import type { Logger } from '../logger.ts';

/** How long a graceful close may take before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 25_000;

function onSignals(
  close: () => Promise<void>,
  logger: { info: (o: object, m: string) => void; error: (o: object, m: string) => void },
) {
  let closing = false;
  const handler = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'graceful shutdown timed out; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    timer.unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: (err as Error).message }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}

/** Exit code of a process whose worker stopped fetching: its supervisor starts a fresh one. */
const EXIT_STUCK = 3;

function exitWhenStuck(logger: Logger) {
  return (why: StuckWorker) => {
    logger.error(why, 'worker fetches nothing while jobs are ready; exiting so the supervisor restarts it');
    process.exit(EXIT_STUCK);
  };
}

export async function runWorker(opts: { concurrency?: number }): Promise<void> {
  const cfg = await configFor(['redis', 'graph', 'secretKey']);
  const logger = processLogger(cfg, 'worker');
  // The tenants file is checked before Redis is reached: a broken one exits 2 at once.
  const tenants = await tenantsOf(cfg);
  const rt = await createRuntime(cfg, { logger, withGraph: true, tenants });
  const workers = startStepsWorkers(rt, { ...opts, onStuck: exitWhenStuck(logger) });
  // Day-two operations (rotate, verify, teardown) share the process, its limiter and its concurrency.
  const opsWorkers = startOpsWorkers(rt, opts);
  await Promise.all([workers.waitUntilReady(), opsWorkers.waitUntilReady()]);
  logger.info(
    { concurrency: opts.concurrency ?? cfg.WORKER_CONCURRENCY, tenants: rt.served, prefix: rt.basePrefix },
    'steps worker ready',
  );
  onSignals(async () => {
    await Promise.all([workers.close(), opsWorkers.close()]);
    await rt.close();
  }, logger);
}

export async function runPoller(opts: { concurrency?: number }): Promise<void> {
  const cfg = await configFor(['redis', 'graph']);
  const logger = processLogger(cfg, 'poller');
  const tenants = await tenantsOf(cfg);
  const rt = await createRuntime(cfg, { logger, withGraph: true, ruShare: cfg.POLLER_QUOTA_SHARE, tenants });
  const poller = startPoller(rt, { ...opts, onStuck: exitWhenStuck(logger) });
  await poller.waitUntilReady();
  await syncVerifySchedule(rt);
  logger.info(
    { tenants: rt.served, prefix: rt.basePrefix, verifyEveryMs: cfg.PROVFLOW_VERIFY_INTERVAL_MS },
    'poller ready',
  );
  onSignals(async () => {
    await poller.close();
    await rt.close();
  }, logger);
}
