/**
 * The one adapter between BullMQ and the steps: validate the payload, gather the predecessor's
 * ids, run the step, and map its outcome to queue operations:
 *   value        → completed (and, after the flow's root step, the instance is handed to the poller)
 *   StepWait     → state saved, job delayed (DelayedError: no attempt spent, no slot held)
 *   throttled    → job delayed by Retry-After (no attempt spent)
 *   permanent    → UnrecoverableError: the instance fails alone with its reason
 *   transient    → rethrown: BullMQ retries with the step declaration's backoff
 */
import { DelayedError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import { retryAfterOf } from '../graph/classify-error.ts';
import { errorClassOf } from '../graph/errors.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { Logger } from '../logger.ts';
import { STARTED } from '../ledger/instance-state.ts';
import { STEP_BY_NAME } from '../steps/index.ts';
import { instanceIdsSchema, tenantOf, type InstanceIds } from '../steps/instance.ts';
import { need, StepWait, type StepDeps } from '../steps/types.ts';
import { describeZodError } from '../zod-error.ts';
import { stepJobDataSchema } from './job-data.ts';
import { enqueueEvent } from './enqueue-event.ts';
import { addWatchJob } from './watch-job.ts';

/** Hooks for metrics; all optional. */
export interface ProcessorHooks {
  stepOutcome?(step: string, outcome: 'completed' | 'failed'): void;
  throttledWait?(ms: number): void;
  instanceEnd?(state: string, tenant?: string): void;
}

export interface StepProcessorDeps {
  steps: StepDeps;
  /** The deps for an instance's tenant (its Graph client); unset, `steps` serves every instance. */
  stepsFor?: (tenant: string) => StepDeps;
  ledger: Ledger;
  pollQueue: Queue;
  /** Operator events (webhooks); null when no webhook is configured. */
  eventsQueue?: Queue | null;
  logger: Logger;
  hooks?: ProcessorHooks;
}

/** Jitter so a crowd of throttled jobs does not wake up in the same millisecond. */
function jitter(ms: number): number {
  return Math.round(ms + Math.random() * Math.min(1000, ms * 0.2 + 50));
}

/** One line for the ledger and failedReason: never contains secrets (steps never put them in messages). */
function reasonOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

export function createStepProcessor(d: StepProcessorDeps) {
  return async function processStep(job: Job, token?: string): Promise<InstanceIds> {
    const entry = STEP_BY_NAME.get(job.name);
    if (!entry)
      throw new UnrecoverableError(`unknown step '${job.name}': this job was not created by provflow's flow builder`);
    const parsed = stepJobDataSchema.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(`malformed job data for step ${job.name}: ${describeZodError(parsed.error)}`);
    }
    const { instance, state } = parsed.data;
    const childValues = Object.values(await job.getChildrenValues());
    const prev: InstanceIds = {};
    for (const v of childValues) {
      const ids = instanceIdsSchema.safeParse(v);
      if (!ids.success)
        throw new UnrecoverableError(`malformed output of the previous step: ${describeZodError(ids.error)}`);
      Object.assign(prev, ids.data);
    }
    // Built on first use: most runs log nothing, and a child logger redacts its bindings when made.
    let child: Logger | undefined;
    const log = () =>
      (child ??= d.logger.child({
        tenant: tenantOf(instance),
        batchId: instance.batchId,
        instanceKey: instance.instanceKey,
        step: job.name,
        jobId: job.id,
      }));
    if (!state) await d.ledger.recordAttempt(instance.batchId, instance.instanceKey, job.name, entry.runningState);

    let out: InstanceIds;
    try {
      for (const key of entry.needs) need(prev, key);
      const deps = d.stepsFor ? d.stepsFor(tenantOf(instance)) : d.steps;
      out = await entry.run(deps, { instance, prev, state: state ?? {} });
    } catch (err) {
      if (err instanceof StepWait) {
        if (d.logger.isLevelEnabled('debug')) log().debug({ delayMs: err.delayMs, reason: err.reason }, 'step waits');
        await job.updateData({ ...parsed.data, state: err.state });
        await d.ledger.recordWait(instance.batchId, instance.instanceKey, job.name, err.reason, entry.runningState);
        await job.moveToDelayed(Date.now() + Math.max(1, err.delayMs), token);
        throw new DelayedError();
      }
      const cls = errorClassOf(err);
      if (cls === 'throttled') {
        const wait = retryAfterOf(err);
        d.hooks?.throttledWait?.(wait);
        log().info({ waitMs: wait }, 'throttled: job delayed, no attempt spent');
        await job.moveToDelayed(Date.now() + jitter(wait), token);
        throw new DelayedError();
      }
      const reason = reasonOf(err);
      const attemptsLeft = (job.opts.attempts ?? 1) - (job.attemptsMade + 1);
      if (cls === 'permanent' || attemptsLeft <= 0) {
        const final = cls === 'permanent' ? reason : `${reason} (gave up after ${job.opts.attempts} attempts)`;
        log().warn({ err: final }, 'instance failed');
        await d.ledger.update(instance.batchId, instance.instanceKey, {
          state: 'failed',
          step: job.name,
          lastError: final,
          endedAt: Date.now(),
        });
        d.hooks?.stepOutcome?.(job.name, 'failed');
        d.hooks?.instanceEnd?.('failed', tenantOf(instance));
        if (d.eventsQueue) {
          const ids = await d.ledger.getInstance(instance.batchId, instance.instanceKey);
          await enqueueEvent(
            d.eventsQueue,
            {
              type: 'instance.failed',
              batchId: instance.batchId,
              instanceKey: instance.instanceKey,
              displayName: instance.displayName,
              state: 'failed',
              detail: final,
              ids: {
                ...(ids?.applicationObjectId ? { applicationObjectId: ids.applicationObjectId } : {}),
                ...(ids?.servicePrincipalId ? { servicePrincipalId: ids.servicePrincipalId } : {}),
                ...(ids?.jobId ? { jobId: ids.jobId } : {}),
              },
              ...(ids?.smokeTest ? { smokeTest: ids.smokeTest } : {}),
              at: new Date().toISOString(),
            },
            job.name,
          ).catch((e: unknown) => log().warn({ err: (e as Error).message }, 'could not queue the failure event'));
        }
        throw new UnrecoverableError(final);
      }
      log().info({ err: reason, attemptsLeft }, 'transient failure, will retry');
      await d.ledger.update(instance.batchId, instance.instanceKey, { lastError: reason });
      throw err instanceof Error ? err : new Error(reason);
    }

    const ledgerFields: Record<string, string | number | boolean | null> = { step: job.name, detail: null };
    if (out.templateId) ledgerFields.templateId = out.templateId;
    if (out.jobId) ledgerFields.jobId = out.jobId;
    // The flow's root, whichever step it is (flows leave out steps that do not apply; flows built
    // before that have every step): the one job with no parent. It hands over to the poller.
    if (!job.parentKey) {
      // The ledger says "started" BEFORE the poller can see the job: a fast poller may otherwise
      // record "steady" first and have it overwritten by this late "started".
      const started = { ...ledgerFields, startedAt: out.startedAt ?? Date.now(), lastError: null };
      await d.ledger.updateWithState(instance.batchId, instance.instanceKey, started, STARTED);
      // Hand-off before completing: if we crash after this add, the retry re-adds the same id (a no-op).
      await addWatchJob(d.pollQueue, {
        v: 1,
        instance,
        servicePrincipalId: out.servicePrincipalId!,
        jobId: out.jobId!,
        startedAt: out.startedAt ?? Date.now(),
      });
      d.hooks?.stepOutcome?.(job.name, 'completed');
      return out;
    }
    await d.ledger.update(instance.batchId, instance.instanceKey, ledgerFields);
    d.hooks?.stepOutcome?.(job.name, 'completed');
    return out;
  };
}
