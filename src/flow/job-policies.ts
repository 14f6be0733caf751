/**
 * The job policies: how every kind of job is retried and how long it stays visible once finished,
 * in one table. Every `add` takes its options from here (steps from their declaration's retry plus
 * the shared step options), so no two adds of one kind can drift apart.
 */
import type { JobsOptions } from 'bullmq';
import type { StepDeclaration } from '../steps/types.ts';

const HOUR_S = 3600;
const FORTNIGHT_S = 14 * 24 * HOUR_S;

/** How long finished step jobs stay visible (board, debugging) before BullMQ trims them. */
export interface Retention {
  completedAgeSeconds: number;
  completedCount: number;
  failedAgeSeconds: number;
}

/**
 * Finished step jobs are only for looking at recent work on the board: the ledger keeps each
 * instance's ids and outcome. Keeping few holds Redis under 10 KB per finished instance.
 */
export const DEFAULT_RETENTION: Retention = {
  completedAgeSeconds: HOUR_S,
  completedCount: 500,
  failedAgeSeconds: FORTNIGHT_S,
};

/** Options of the job kinds that are not steps (the job id is the caller's: it makes adds idempotent). */
export const JOB_POLICIES = {
  /** A poller watch job, one per started provisioning job: added when start-job completes and by `provflow restart`. */
  watch: {
    attempts: 20,
    backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
    removeOnComplete: { age: HOUR_S, count: 500 },
    removeOnFail: { age: FORTNIGHT_S },
  },
  /** An operator event (webhook delivery). */
  event: {
    attempts: 8,
    backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
    removeOnComplete: { age: 24 * HOUR_S, count: 1000 },
    removeOnFail: { age: FORTNIGHT_S },
  },
  /**
   * A day-two operation on one instance (rotate, verify, teardown): its steps run in order and
   * checkpoint in the job, so a retry resumes at the step that failed. Throttling spends no attempt.
   */
  op: {
    attempts: 8,
    backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
    removeOnComplete: { age: 24 * HOUR_S, count: 1000 },
    removeOnFail: { age: FORTNIGHT_S },
  },
  /** The poller's repeating `verify-fleet` job, which adds one verify op per running instance. */
  verifyFleet: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 5000 },
    removeOnComplete: { age: HOUR_S, count: 10 },
    removeOnFail: { age: 24 * HOUR_S, count: 10 },
  },
} as const satisfies Record<string, JobsOptions>;

/** A step job's options: attempts and backoff from the step's declaration, the rest shared by every step. */
export function stepJobOptions(
  step: Pick<StepDeclaration, 'retry'>,
  retention: Retention = DEFAULT_RETENTION,
): JobsOptions {
  return {
    attempts: step.retry.attempts,
    backoff: { type: 'exponential', delay: step.retry.backoffMs, jitter: 0.5 },
    // A failed step fails the whole chain upwards: the instance is failed, visibly, at once.
    failParentOnFailure: true,
    removeOnComplete: { age: retention.completedAgeSeconds, count: retention.completedCount },
    removeOnFail: { age: retention.failedAgeSeconds },
  };
}
