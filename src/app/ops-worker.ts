/**
 * The ops queue's worker (runs in `provflow worker` next to the steps worker), and the optional
 * verify schedule (a BullMQ job scheduler the poller keeps in step with PROVFLOW_VERIFY_INTERVAL_MS).
 */
import { Worker, type Job, type Queue } from 'bullmq';
import type { Runtime } from './runtime.ts';
import type { TenantLane } from './lanes.ts';
import { stallOptions, workerSet, type WorkerSet } from './worker-set.ts';
import { depsByTenant } from './step-deps.ts';
import { DEFAULT_TENANT } from '../redis-keys.ts';
import { JOB_POLICIES } from '../flow/job-policies.ts';
import { QUEUES } from '../flow/queues.ts';
import { canStartOp } from '../ledger/instance-state.ts';
import { addOpJobs, specOfRecord } from '../ops/ops-queue.ts';
import { createOpProcessor } from '../ops/op-processor.ts';

const VERIFY_FLEET = 'verify-fleet';

/** Adds one verify op per instance whose job runs, in every batch of the lane's tenant. */
async function verifyFleet(lane: TenantLane, ops: Queue, job: Job): Promise<number> {
  const runId = `s${(job.timestamp || Date.now()).toString(36)}`;
  let n = 0;
  for (const b of await lane.ledger.listBatches()) {
    const rows = (await lane.ledger.listInstances(b.batchId)).filter(
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

/** The ops worker of one tenant's queue (`default` unless `tenant`). */
function startOpsWorker(rt: Runtime, opts: { concurrency?: number; tenant?: string } = {}): Worker {
  if (!rt.graph) throw new Error('the ops worker needs a Graph client (createRuntime withGraph)');
  const lane = rt.lane(opts.tenant ?? DEFAULT_TENANT);
  const eventsQueue = rt.cfg.PROVFLOW_WEBHOOK_URL ? lane.eventsQueue : null;
  const opsQueue = lane.opsQueue;
  const deps = depsByTenant(rt, lane.ledger);
  const processOp = createOpProcessor({
    steps: deps.base,
    stepsFor: deps.forTenant,
    ledger: lane.ledger,
    pollQueue: lane.pollQueue,
    eventsQueue,
    logger: rt.logger,
  });
  const connection = rt.redis.duplicate();
  const worker = new Worker(
    QUEUES.ops,
    async (job, token) =>
      job.name === VERIFY_FLEET ? { added: await verifyFleet(lane, opsQueue, job) } : processOp(job, token),
    {
      connection,
      prefix: lane.prefix,
      concurrency: opts.concurrency ?? rt.cfg.WORKER_CONCURRENCY,
      ...stallOptions(rt.cfg),
    },
  );
  worker.on('error', (err) => rt.logger.error({ err: err.message, tenant: lane.tenant }, 'ops worker error'));
  worker.on('closed', () => connection.disconnect());
  return worker;
}

/** One ops worker per tenant this process serves (`rt.served`). */
export function startOpsWorkers(rt: Runtime, opts: { concurrency?: number } = {}): WorkerSet {
  return workerSet(rt.served.map((tenant) => startOpsWorker(rt, { ...opts, tenant })));
}

/** Called by the poller at start: schedules (or unschedules) the fleet verify in each tenant it serves. */
export async function syncVerifySchedule(rt: Runtime): Promise<void> {
  const every = rt.cfg.PROVFLOW_VERIFY_INTERVAL_MS;
  for (const tenant of rt.served) {
    const ops = rt.lane(tenant).opsQueue;
    if (every > 0)
      await ops.upsertJobScheduler(
        VERIFY_FLEET,
        { every },
        { name: VERIFY_FLEET, data: {}, opts: JOB_POLICIES.verifyFleet },
      );
    else await ops.removeJobScheduler(VERIFY_FLEET);
  }
}
