/**
 * Builds one instance's flow as data: a chain by nesting (the last step is the root, the first
 * the deepest leaf; BullMQ completes children before parents). Pure and deterministic: the
 * same instance always yields the same job ids, so enqueueing a batch twice adds nothing.
 */
import type { FlowJob } from 'bullmq';
import type { InstanceSpec } from '../steps/types.ts';
import { QUEUES } from './queues.ts';
import { STEP_REGISTRY } from './step-registry.ts';
import type { StepJobData } from './job-data.ts';

/** `{batchId}.{instanceKey}.{step}`: no ':' and never all digits, as BullMQ requires of custom ids. */
export function stepJobId(batchId: string, instanceKey: string, step: string): string {
  return `${batchId}.${instanceKey}.${step}`;
}

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
  completedAgeSeconds: 3600,
  completedCount: 500,
  failedAgeSeconds: 14 * 24 * 3600,
};

export function buildInstanceFlow(instance: InstanceSpec, retention: Retention = DEFAULT_RETENTION): FlowJob {
  let child: FlowJob | undefined;
  for (const [index, step] of STEP_REGISTRY.entries()) {
    const data: StepJobData = { v: 1, instance };
    const job: FlowJob = {
      name: step.name,
      queueName: QUEUES.steps,
      data,
      opts: {
        jobId: stepJobId(instance.batchId, instance.instanceKey, step.name),
        // Later steps first (1 = highest): instances flow through depth-first, so the first ones
        // start within seconds and the write quota is spent evenly instead of step by step.
        priority: STEP_REGISTRY.length - index,
        attempts: step.attempts,
        backoff: { type: 'exponential', delay: step.backoffMs, jitter: 0.5 },
        // A failed step fails the whole chain upwards: the instance is failed, visibly, at once.
        failParentOnFailure: true,
        removeOnComplete: { age: retention.completedAgeSeconds, count: retention.completedCount },
        removeOnFail: { age: retention.failedAgeSeconds },
      },
      ...(child ? { children: [child] } : {}),
    };
    child = job;
  }
  return child!;
}
