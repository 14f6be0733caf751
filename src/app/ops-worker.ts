/**
 * The ops queue's worker (runs in `provflow worker` next to the steps worker), and the optional
 * verify schedule (a BullMQ job scheduler the poller keeps in step with PROVFLOW_VERIFY_INTERVAL_MS).
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { Runtime } from './runtime.ts';
import { JOB_POLICIES } from '../flow/job-policies.ts';
import { QUEUES } from '../flow/queues.ts';
import { canStartOp } from '../ledger/instance-state.ts';
import { addOpJobs, specOfRecord } from '../ops/ops-queue.ts';
import { createOpProcessor } from '../ops/op-processor.ts';

const VERIFY_FLEET = 'verify-fleet';

/** Adds one verify op per instance whose job runs, in every batch. */
async function verifyFleet(rt: Runtime, ops: Queue, job: Job): Promise<number> {
  const runId = `s${(job.timestamp || Date.now()).toString(36)}`;
  let n = 0;
  for (const b of await rt.ledger.listBatches()) {
    const rows = (await rt.ledger.listInstances(b.batchId)).filter(
      (r) => r.servicePrincipalId && r.jobId && canStartOp('verify', r.state),
    );
    await addOpJobs(
      ops,
      'verify',
      runId,
      rows.map((r) => specOfRecord(b.batchId, r)),
    );
    n += rows.length;
  }
  return n;
}

export function startOpsWorker(rt: Runtime, opts: { concurrency?: number } = {}): Worker {
  if (!rt.graph) throw new Error('the ops worker needs a Graph client (createRuntime withGraph)');
  const eventsQueue = rt.cfg.PROVFLOW_WEBHOOK_URL
    ? new Queue(QUEUES.events, { connection: rt.redis, prefix: rt.prefix })
    : null;
  const opsQueue = new Queue(QUEUES.ops, { connection: rt.redis, prefix: rt.prefix });
  const processOp = createOpProcessor({
    steps: {
      graph: rt.graph,
      store: rt.ledger,
      vault: rt.vault,
      settings: rt.stepSettings,
      logger: rt.logger,
      now: Date.now,
    },
    ledger: rt.ledger,
    pollQueue: rt.pollQueue,
    eventsQueue,
    logger: rt.logger,
  });
  const connection = rt.redis.duplicate();
  const worker = new Worker(
    QUEUES.ops,
    async (job, token) =>
      job.name === VERIFY_FLEET ? { added: await verifyFleet(rt, opsQueue, job) } : processOp(job, token),
    {
      connection,
      prefix: rt.prefix,
      concurrency: opts.concurrency ?? rt.cfg.WORKER_CONCURRENCY,
      maxStalledCount: 10,
      stalledInterval: rt.cfg.WORKER_STALLED_INTERVAL_MS,
      lockDuration: rt.cfg.WORKER_LOCK_DURATION_MS,
    },
  );
  worker.on('error', (err) => rt.logger.error({ err: err.message }, 'ops worker error'));
  worker.on('closed', () => {
    connection.disconnect();
    void eventsQueue?.close();
    void opsQueue.close();
  });
  return worker;
}

/** Called by the poller at start: schedules (or unschedules) the fleet verify. */
export async function syncVerifySchedule(rt: Runtime): Promise<void> {
  const ops = new Queue(QUEUES.ops, { connection: rt.redis, prefix: rt.prefix });
  try {
    const every = rt.cfg.PROVFLOW_VERIFY_INTERVAL_MS;
    if (every > 0)
      await ops.upsertJobScheduler(
        VERIFY_FLEET,
        { every },
        { name: VERIFY_FLEET, data: {}, opts: JOB_POLICIES.verifyFleet },
      );
    else await ops.removeJobScheduler(VERIFY_FLEET);
  } finally {
    await ops.close();
  }
}
