/**
 * The poller's processor: one watch job per started synchronization job. Each run reads the
 * job once, classifies it, records it in the ledger, and either re-schedules itself with an
 * adaptive delay (BullMQ delayed job: no sleeping, no slot held) or, at a terminal state,
 * summarises the provisioning-log failures page by page and finishes.
 *
 * Reports are rationed (5 requests per 10 s per app per tenant), so logs are read once per
 * instance, when its watch ends, and only where the last cycle reported problems; the paging
 * cursor and the partial summary are saved after every page, so a restarted poller resumes
 * exactly where it stopped.
 */
import { DelayedError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import { retryAfterOf } from '../graph/classify-error.ts';
import { errorClassOf } from '../graph/errors.ts';
import type { GraphApi } from '../graph/graph-api.ts';
import { tenantOf } from '../steps/instance.ts';
import { LEDGER_STATE, type WatchState } from '../ledger/instance-state.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { Logger } from '../logger.ts';
import { watchJobDataSchema, type WatchJobData } from '../flow/job-data.ts';
import { describeZodError } from '../zod-error.ts';
import { classifyJob, type JobAssessment, type JobState } from './classify-job.ts';
import { addPage, compactSummary, emptySummary, type LogSummary } from './log-summary.ts';
import { nextPollDelay, type FleetBudget, type PollSettings } from './poll-interval.ts';
import type { WebhookEvent } from '../events/webhook.ts';
import { enqueueEvent } from '../flow/enqueue-event.ts';

/** Poller tunables (scaled down in tests and the demo). */
export interface WatchSettings {
  poll: PollSettings;
  deadlineMs: number;
  /** Log pages read per run before yielding the worker slot. */
  maxLogPagesPerRun: number;
  /** Page size asked of /auditLogs/provisioning. */
  logPageSize: number;
  startGraceMs?: number;
}

export interface WatchDeps {
  graph: GraphApi;
  /** The Graph client of an instance's tenant (its identity, its quota share); unset, `graph` serves all. */
  graphFor?: (tenant: string) => GraphApi;
  ledger: Ledger;
  logger: Logger;
  settings: WatchSettings;
  /** Where operator events go (a queue, so delivery retries with backoff survive restarts). */
  eventsQueue: Queue | null;
  now?: () => number;
  onEnd?: (state: string, tenant?: string) => void;
  /** How many jobs are watched and what the quota share allows (kept fresh by the poller); null = unknown. */
  fleet?: () => FleetBudget | null;
}

/** Every job state the classifier can give has its ledger state (a compile error otherwise). */
const TO_LEDGER: Record<JobState, WatchState> = LEDGER_STATE;

function ledgerFields(a: JobAssessment) {
  return {
    state: TO_LEDGER[a.state],
    jobCode: a.code,
    lastExecution: a.lastExecutionState
      ? `${a.lastExecutionState}${a.lastExecutionEnded ? ` ${a.lastExecutionEnded}` : ''}`
      : null,
    quarantineReason: a.quarantine?.reason ?? null,
    quarantineNextAttempt: a.quarantine?.nextAttempt ?? null,
    detail: a.detail,
  };
}

/** Logs are worth their rationed reads only when the last cycle reported problems. */
function wantsLogs(a: JobAssessment): boolean {
  return (
    a.lastExecutionState === 'EntryLevelErrors' ||
    a.lastExecutionState === 'Failed' ||
    a.state === 'quarantined' ||
    a.state === 'failed'
  );
}

function failureCounts(s: LogSummary): Record<string, number> {
  return Object.fromEntries(Object.entries(s.byErrorCode).map(([code, st]) => [code, st.count]));
}

async function delay(job: Job, token: string | undefined, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + Math.max(1, Math.round(ms)), token);
  throw new DelayedError();
}

export function createWatchProcessor(d: WatchDeps) {
  const now = d.now ?? Date.now;
  return async function processWatch(job: Job, token?: string): Promise<unknown> {
    const parsed = watchJobDataSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed watch job data: ${describeZodError(parsed.error)}`);
    const data: WatchJobData = parsed.data;
    const { instance } = data;
    const st = data.state ?? {};
    const deadlineAt = st.deadlineAt ?? data.startedAt + d.settings.deadlineMs;
    const tenant = tenantOf(instance);
    const graph = () => (d.graphFor ? d.graphFor(tenant) : d.graph);
    // Built on first use: a poll that logs nothing (most) does not pay for a child logger.
    const log = () =>
      d.logger.child({ tenant, batchId: instance.batchId, instanceKey: instance.instanceKey, jobId: data.jobId });
    const save = (patch: NonNullable<WatchJobData['state']>) =>
      job.updateData({ ...data, state: { ...st, deadlineAt, ...patch } });

    try {
      // Phase 1: watch until terminal.
      let assessment: JobAssessment | null = null;
      if (!st.finalState) {
        const sj = await graph().getSynchronizationJob(data.servicePrincipalId, data.jobId);
        assessment = classifyJob(sj, {
          startedAt: new Date(data.startedAt).toISOString(),
          now: new Date(now()),
          deadlineAt: new Date(deadlineAt).toISOString(),
          ...(d.settings.startGraceMs !== undefined ? { startGraceMs: d.settings.startGraceMs } : {}),
        });
        await d.ledger.update(instance.batchId, instance.instanceKey, ledgerFields(assessment));
        if (assessment.state === 'quarantined' && st.notified !== 'quarantined') {
          await notify(d, data, assessment, 'instance.quarantined');
          st.notified = 'quarantined';
        }
        if (!assessment.terminal) {
          const next = nextPollDelay({
            assessment,
            previous: st.lastState
              ? {
                  state: st.lastState as JobAssessment['state'],
                  unchangedPolls: st.unchangedPolls ?? 0,
                  ...(st.fingerprint ? { fingerprint: st.fingerprint } : {}),
                }
              : null,
            now: new Date(now()),
            settings: d.settings.poll,
            deadlineAt: new Date(deadlineAt).toISOString(),
            fleet: d.fleet?.() ?? null,
          });
          await save({
            lastState: assessment.state,
            unchangedPolls: next.unchangedPolls,
            fingerprint: next.fingerprint,
            notified: st.notified,
            lastDelayMs: next.delayMs,
            delayReason: next.reason,
          });
          return await delay(job, token, next.delayMs);
        }
        const finalState = assessment.finalState ?? assessment.state;
        await save({
          finalState,
          lastState: assessment.state,
          logNextLink: null,
          logSummary: wantsLogs(assessment) ? emptySummary() : undefined,
        });
        st.finalState = finalState;
        st.logSummary = wantsLogs(assessment) ? emptySummary() : undefined;
        st.logNextLink = null;
      }

      // Phase 2: summarise the log failures (only when the cycle had problems), page by page.
      let summary = (st.logSummary as LogSummary | undefined) ?? null;
      if (summary) {
        let link = st.logNextLink ?? null;
        let pages = st.logPagesRead ?? 0;
        for (let i = 0; i < d.settings.maxLogPagesPerRun; i++) {
          const page = await graph().listProvisioningLogs({
            jobId: data.jobId,
            since: new Date(data.startedAt - 60_000).toISOString(),
            top: d.settings.logPageSize,
            nextLink: link,
          });
          summary = compactSummary(addPage(summary, page.items));
          pages++;
          link = page.nextLink;
          // Persist after every page: a restarted poller resumes from this cursor, never re-reading.
          await save({ finalState: st.finalState, logSummary: summary, logNextLink: link, logPagesRead: pages });
          await d.ledger.update(instance.batchId, instance.instanceKey, {
            logFailures: JSON.stringify(failureCounts(summary)),
            logEntries: summary.entries,
            logPagesRead: pages,
          });
          if (!link) break;
        }
        if (link) return await delay(job, token, 1000); // more pages: yield the slot, come back
      }

      const finalState = st.finalState!;
      const state = TO_LEDGER[finalState as JobState] ?? finalState;
      await d.ledger.update(instance.batchId, instance.instanceKey, { state, endedAt: now() });
      d.onEnd?.(finalState, tenantOf(instance));
      if (finalState === 'steady' || finalState === 'failed') {
        const rec = await d.ledger.getInstance(instance.batchId, instance.instanceKey);
        await notify(d, data, null, finalState === 'steady' ? 'instance.steady' : 'instance.failed', rec?.detail ?? '');
      }
      log().info({ finalState }, 'watch finished');
      return { finalState, logFailures: summary ? failureCounts(summary) : {} };
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      const cls = errorClassOf(err);
      if (cls === 'throttled') {
        const wait = retryAfterOf(err);
        return await delay(job, token, wait + Math.random() * 500);
      }
      if (cls === 'permanent') {
        const reason = `watching the provisioning job failed: ${(err as Error).message}`;
        await d.ledger.update(instance.batchId, instance.instanceKey, {
          state: 'failed',
          lastError: reason,
          endedAt: now(),
        });
        throw new UnrecoverableError(reason);
      }
      throw err;
    }
  };
}

async function notify(
  d: WatchDeps,
  data: WatchJobData,
  a: JobAssessment | null,
  type: WebhookEvent['type'],
  detail?: string,
): Promise<void> {
  if (!d.eventsQueue) return;
  const rec = await d.ledger.getInstance(data.instance.batchId, data.instance.instanceKey);
  const event: WebhookEvent = {
    type,
    batchId: data.instance.batchId,
    instanceKey: data.instance.instanceKey,
    displayName: data.instance.displayName,
    state: type.replace('instance.', ''),
    detail: a?.detail ?? detail ?? '',
    ids: {
      ...(rec?.applicationObjectId ? { applicationObjectId: rec.applicationObjectId } : {}),
      servicePrincipalId: data.servicePrincipalId,
      jobId: data.jobId,
    },
    ...(rec?.smokeTest ? { smokeTest: rec.smokeTest } : {}),
    at: new Date().toISOString(),
  };
  await enqueueEvent(d.eventsQueue, event, data.startedAt);
}
