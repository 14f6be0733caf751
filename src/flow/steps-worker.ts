/** Starts the BullMQ worker of the steps queue over a runtime (composition root). */
import { Worker } from 'bullmq';
import type { Runtime } from '../app/runtime.ts';
import { QUEUES } from './queues.ts';
import { createStepProcessor } from './processor.ts';

export function startStepsWorker(rt: Runtime, opts: { concurrency?: number } = {}): Worker {
  if (!rt.graph) throw new Error('the steps worker needs a Graph client (createRuntime withGraph)');
  const processor = createStepProcessor({
    steps: { graph: rt.graph, store: rt.ledger, vault: rt.vault, settings: rt.stepSettings, logger: rt.logger, now: Date.now },
    ledger: rt.ledger,
    pollQueue: rt.pollQueue,
    logger: rt.logger,
    hooks: {
      stepOutcome: (step, outcome) => rt.metrics.stepOutcome(step, outcome),
      throttledWait: (ms) => rt.metrics.throttledWait(ms),
      instanceEnd: (state) => rt.metrics.instanceEnd(state),
    },
  });
  const worker = new Worker(QUEUES.steps, processor, {
    connection: rt.redis.duplicate(),
    prefix: rt.prefix,
    concurrency: opts.concurrency ?? rt.cfg.WORKER_CONCURRENCY,
    // Crash-restarts are expected (SIGKILL, deploys): a job may stall several times and still be safe
    // to re-run, because every step looks before it acts.
    maxStalledCount: 10,
    stalledInterval: 15_000,
    lockDuration: 30_000,
  });
  worker.on('error', (err) => rt.logger.error({ err: err.message }, 'steps worker error'));
  return worker;
}
