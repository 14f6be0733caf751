/**
 * The ops queue's adapter: one job runs one operation (rotate, verify, teardown) on one instance,
 * its steps in order, checkpointing the completed ones in the job so a crash or a retry resumes
 * at the step that did not finish. Outcomes map to queue operations as for the onboarding flow:
 * StepWait and throttling delay the job (no attempt spent), a permanent error fails the operation
 * for that instance alone (its reason in the ledger and a webhook), a transient one is retried.
 */
import { DelayedError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import { retryAfterOf } from '../graph/classify-error.ts';
import { errorClassOf } from '../graph/errors.ts';
import { enqueueEvent } from '../flow/enqueue-event.ts';
import type { WebhookEventType } from '../events/webhook.ts';
import { opJobDataSchema, type OpJobData } from '../flow/job-data.ts';
import { addWatchJob, watchJobId } from '../flow/watch-job.ts';
import { REMOVED, STARTED, TEARING_DOWN } from '../ledger/instance-state.ts';
import type { InstanceRecord, Ledger } from '../ledger/ledger.ts';
import type { Logger } from '../logger.ts';
import { OPERATIONS, type OpName } from '../steps/ops/index.ts';
import { ROTATION_FIELD } from '../steps/ops/rotate.ts';
import { tenantOf, type InstanceIds } from '../steps/instance.ts';
import { need, StepWait, type StepDeps } from '../steps/types.ts';
import { describeZodError } from '../zod-error.ts';

interface OpProcessorDeps {
  steps: StepDeps;
  /** The deps for an instance's tenant (its Graph client); unset, `steps` serves every instance. */
  stepsFor?: (tenant: string) => StepDeps;
  ledger: Ledger;
  pollQueue: Queue;
  eventsQueue: Queue | null;
  logger: Logger;
}

function idsOf(r: InstanceRecord): InstanceIds {
  const ids: InstanceIds = {};
  if (r.applicationObjectId) ids.applicationObjectId = r.applicationObjectId;
  if (r.appId) ids.appId = r.appId;
  if (r.servicePrincipalId) ids.servicePrincipalId = r.servicePrincipalId;
  if (r.jobId) ids.jobId = r.jobId;
  if (r.templateId) ids.templateId = r.templateId;
  return ids;
}

async function notify(d: OpProcessorDeps, data: OpJobData, r: InstanceRecord, type: WebhookEventType, detail: string) {
  if (!d.eventsQueue) return;
  const ids = idsOf(r);
  await enqueueEvent(
    d.eventsQueue,
    {
      type,
      batchId: data.instance.batchId,
      instanceKey: data.instance.instanceKey,
      displayName: data.instance.displayName,
      state: r.state,
      detail,
      ids: {
        ...(ids.applicationObjectId ? { applicationObjectId: ids.applicationObjectId } : {}),
        ...(ids.servicePrincipalId ? { servicePrincipalId: ids.servicePrincipalId } : {}),
        ...(ids.jobId ? { jobId: ids.jobId } : {}),
      },
      at: new Date().toISOString(),
    },
    `${data.op}-${data.runId}`,
  ).catch((e: unknown) => d.logger.warn({ err: (e as Error).message }, 'could not queue the event'));
}

export function createOpProcessor(d: OpProcessorDeps) {
  return async function processOp(job: Job, token?: string): Promise<{ done: string[] }> {
    const parsed = opJobDataSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed op job data: ${describeZodError(parsed.error)}`);
    const data = parsed.data;
    const { instance } = data;
    const op = data.op as OpName;
    const { batchId, instanceKey } = instance;
    const rec = await d.ledger.getInstance(batchId, instanceKey);
    if (!rec) throw new UnrecoverableError(`instance ${instanceKey} is not in the ledger of batch ${batchId}`);
    const done = data.done ?? [];
    const log = d.logger.child({ batchId, instanceKey, op, jobId: job.id });
    if (done.length === 0 && !data.state) {
      await d.ledger.update(batchId, instanceKey, { op, opState: 'running', opRunId: data.runId, opError: null });
      if (op === 'teardown') {
        // The poller stops watching first: a watch of a deleted job would end "timed-out", not removed.
        await d.pollQueue.remove(watchJobId(batchId, instanceKey)).catch(() => 0);
        await d.ledger.update(batchId, instanceKey, { state: TEARING_DOWN, detail: 'teardown' });
      }
    }
    const prev = idsOf(rec);
    for (const step of OPERATIONS[op]) {
      if (done.includes(step.name)) continue;
      try {
        for (const key of step.needs) need(prev, key);
        const state = { ...(data.state ?? {}), runId: data.runId, purge: data.options?.purge === true };
        Object.assign(prev, await step.run(d.stepsFor?.(tenantOf(instance)) ?? d.steps, { instance, prev, state }));
      } catch (err) {
        if (err instanceof StepWait) {
          await job.updateData({ ...data, done, state: err.state });
          await job.moveToDelayed(Date.now() + Math.max(1, err.delayMs), token);
          throw new DelayedError();
        }
        const cls = errorClassOf(err);
        if (cls === 'throttled') {
          await job.moveToDelayed(Date.now() + retryAfterOf(err) + Math.round(Math.random() * 500), token);
          throw new DelayedError();
        }
        const reason = err instanceof Error ? err.message : String(err);
        const attemptsLeft = (job.opts.attempts ?? 1) - (job.attemptsMade + 1);
        if (cls === 'permanent' || attemptsLeft <= 0) {
          const final = cls === 'permanent' ? reason : `${reason} (gave up after ${job.opts.attempts} attempts)`;
          log.warn({ err: final, step: step.name }, 'operation failed');
          // A refused rotation leaves the saved credentials as they were and keeps no sealed copy of the new ones.
          const cleanup: Record<string, null> = op === 'rotate' ? { [ROTATION_FIELD]: null } : {};
          await d.ledger.update(batchId, instanceKey, {
            opState: 'failed',
            opError: final,
            opStep: step.name,
            ...cleanup,
          });
          await notify(d, data, rec, 'instance.operation-failed', `${op}: ${final}`);
          throw new UnrecoverableError(final);
        }
        await d.ledger.update(batchId, instanceKey, { opError: reason, opStep: step.name });
        throw err instanceof Error ? err : new Error(reason);
      }
      done.push(step.name);
      await job.updateData({ ...data, done, state: undefined });
    }
    await finish(d, data, rec, prev);
    return { done };
  };
}

/** What each operation leaves behind once all its steps are done. */
async function finish(d: OpProcessorDeps, data: OpJobData, rec: InstanceRecord, ids: InstanceIds): Promise<void> {
  const { batchId, instanceKey } = data.instance;
  if (data.op === 'rotate') {
    // Watched to steady again: the poller records what the new credentials do.
    const startedAt = Date.now();
    await d.ledger.update(batchId, instanceKey, {
      state: STARTED,
      startedAt,
      endedAt: null,
      quarantineReason: null,
      quarantineNextAttempt: null,
      detail: 'credentials rotated',
      credentialsCheck: null,
      credentialsError: null,
    });
    await d.pollQueue.remove(watchJobId(batchId, instanceKey)).catch(() => 0);
    await addWatchJob(d.pollQueue, {
      v: 1,
      instance: data.instance,
      servicePrincipalId: ids.servicePrincipalId!,
      jobId: ids.jobId!,
      startedAt,
    });
  } else if (data.op === 'teardown') {
    await d.pollQueue.remove(watchJobId(batchId, instanceKey)).catch(() => 0);
    await d.ledger.update(batchId, instanceKey, {
      state: REMOVED,
      removedAt: Date.now(),
      endedAt: Date.now(),
      detail: data.options?.purge ? 'removed (purged from deleted items)' : 'removed (application in deleted items)',
    });
  } else if (data.op === 'verify') {
    const after = await d.ledger.getInstance(batchId, instanceKey);
    if (after?.credentialsCheck === 'failing' && rec.credentialsCheck !== 'failing') {
      await notify(d, data, after, 'instance.credentials-failing', after.credentialsError ?? 'credentials refused');
    }
  }
  await d.ledger.update(batchId, instanceKey, { opState: 'done', opError: null, opStep: null });
}
