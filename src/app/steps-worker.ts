/** Starts the BullMQ worker of the steps queue over a runtime (composition root). */
import { Queue, Worker } from 'bullmq';
import type { Runtime } from './runtime.ts';
import { QUEUES } from '../flow/queues.ts';
import { createStepProcessor } from '../flow/processor.ts';
import { countingProcessor, watchFetching, type StuckWorker } from '../flow/fetch-watchdog.ts';
import type { StepDeps } from '../steps/types.ts';

/**
 * Most slots one tenant may hold when a worker serves several: twice its even share (tenants with
 * no work leave theirs idle), never more than half, so a throttled, slow or huge tenant can never
 * take every slot from the others' ready work.
 */
function tenantSlotCap(tenants: number, concurrency: number): number | undefined {
  if (tenants <= 1) return undefined;
  return Math.max(1, Math.min(Math.ceil(concurrency / 2), Math.ceil((2 * concurrency) / tenants)));
}

export function startStepsWorker(
  rt: Runtime,
  opts: { concurrency?: number; onStuck?: (why: StuckWorker) => void } = {},
): Worker {
  if (!rt.graph) throw new Error('the steps worker needs a Graph client (createRuntime withGraph)');
  const eventsQueue = rt.cfg.PROVFLOW_WEBHOOK_URL
    ? new Queue(QUEUES.events, { connection: rt.redis, prefix: rt.prefix })
    : null;
  const base = {
    graph: rt.graph,
    store: rt.ledger,
    vault: rt.vault,
    settings: rt.stepSettings,
    logger: rt.logger,
    now: Date.now,
  };
  // One deps object per tenant, built once: its Graph client carries that tenant's identity and quota.
  const byTenant = new Map<string, StepDeps>();
  const tenants = rt.tenants;
  const stepsFor = (tenant: string): StepDeps => {
    let deps = byTenant.get(tenant);
    if (!deps) {
      const graph = tenants ? tenants.graphFor(tenant) : base.graph;
      byTenant.set(tenant, (deps = { ...base, graph, logger: rt.logger.child({ tenant }) }));
    }
    return deps;
  };
  const counted = countingProcessor(
    createStepProcessor({
      steps: base,
      stepsFor,
      tenantSlots: tenantSlotCap(rt.tenants?.names().length ?? 1, opts.concurrency ?? rt.cfg.WORKER_CONCURRENCY),
      ledger: rt.ledger,
      pollQueue: rt.pollQueue,
      eventsQueue,
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
    prefix: rt.prefix,
    concurrency,
    // Crash-restarts are expected (SIGKILL, deploys): a job may stall several times and still be safe
    // to re-run, because every step looks before it acts.
    maxStalledCount: 10,
    stalledInterval: rt.cfg.WORKER_STALLED_INTERVAL_MS,
    lockDuration: rt.cfg.WORKER_LOCK_DURATION_MS,
  });
  worker.on('error', (err) => rt.logger.error({ err: err.message }, 'steps worker error'));
  const { onStuck } = opts;
  const stopWatchdog = onStuck
    ? watchFetching(worker, rt.stepsQueue, {
        intervalMs: rt.cfg.WORKER_FETCH_WATCHDOG_MS,
        concurrency,
        counts: counted,
        onStuck,
      })
    : () => {};
  worker.on('closed', () => {
    stopWatchdog();
    connection.disconnect();
    void eventsQueue?.close();
  });
  return worker;
}
