/** Starts the BullMQ workers of the steps queues over a runtime (composition root): one per tenant lane. */
import { Worker } from 'bullmq';
import type { Runtime } from './runtime.ts';
import { QUEUES } from '../flow/queues.ts';
import { createStepProcessor } from '../flow/processor.ts';
import { countingProcessor, watchFetching, type StuckWorker } from '../flow/fetch-watchdog.ts';
import { depsByTenant } from './step-deps.ts';
import { DEFAULT_TENANT } from '../redis-keys.ts';
import { stallOptions, workerSet, type WorkerSet } from './worker-set.ts';

export interface StepsWorkerOptions {
  /** Slots of each tenant's worker; default WORKER_CONCURRENCY. */
  concurrency?: number;
  onStuck?: (why: StuckWorker) => void;
}

/**
 * The steps worker of one tenant's queue (`default` unless `tenant`). Its jobs are steps of that
 * tenant's instances; each job's instance names the tenant whose Graph client it uses (flows
 * enqueued before per-tenant queues mixed tenants in the `default` queue, and still run there).
 */
export function startStepsWorker(rt: Runtime, opts: StepsWorkerOptions & { tenant?: string } = {}): Worker {
  if (!rt.graph) throw new Error('the steps worker needs a Graph client (createRuntime withGraph)');
  const lane = rt.lane(opts.tenant ?? DEFAULT_TENANT);
  const deps = depsByTenant(rt, lane.ledger);
  const counted = countingProcessor(
    createStepProcessor({
      steps: deps.base,
      stepsFor: deps.forTenant,
      ledger: lane.ledger,
      pollQueue: lane.pollQueue,
      eventsQueue: rt.cfg.PROVFLOW_WEBHOOK_URL ? lane.eventsQueue : null,
      logger: rt.logger,
      hooks: {
        stepOutcome: (step, outcome) => rt.metrics.stepOutcome(step, outcome),
        throttledWait: (ms) => rt.metrics.throttledWait(ms),
        instanceEnd: (state, tenant) => rt.metrics.instanceEnd(state, tenant),
      },
    }),
  );
  // A connection of its own; BullMQ does not close connections it was given, so we do.
  const connection = rt.redis.duplicate();
  const concurrency = opts.concurrency ?? rt.cfg.WORKER_CONCURRENCY;
  const worker = new Worker(QUEUES.steps, counted.processor, {
    connection,
    prefix: lane.prefix,
    concurrency,
    ...stallOptions(rt.cfg),
  });
  worker.on('error', (err) => rt.logger.error({ err: err.message, tenant: lane.tenant }, 'steps worker error'));
  const { onStuck } = opts;
  const stopWatchdog = onStuck
    ? watchFetching(worker, lane.stepsQueue, {
        intervalMs: rt.cfg.WORKER_FETCH_WATCHDOG_MS,
        concurrency,
        counts: counted,
        onStuck,
      })
    : () => {};
  worker.on('closed', () => {
    stopWatchdog();
    connection.disconnect();
  });
  return worker;
}

/**
 * One steps worker per tenant this process serves (`rt.served`), each with its own slots: a
 * tenant under a 429 storm, slow or with a 10,000-instance batch holds only its own worker's
 * slots, and every other tenant's ready jobs are fetched by their own worker at once.
 */
export function startStepsWorkers(rt: Runtime, opts: StepsWorkerOptions = {}): WorkerSet {
  return workerSet(rt.served.map((tenant) => startStepsWorker(rt, { ...opts, tenant })));
}
