/**
 * Builds one instance's flow as data: a chain by nesting of the steps that apply to it (the last
 * is the root, the first the deepest leaf; BullMQ completes children before parents). Pure and
 * deterministic: the same instance always yields the same job ids, so enqueueing a batch twice
 * adds nothing.
 */
import type { FlowJob } from 'bullmq';
import { STEPS, stepsFor } from '../steps/index.ts';
import type { InstanceSpec } from '../steps/instance.ts';
import { DEFAULT_RETENTION, stepJobOptions, type Retention } from './job-policies.ts';
import { QUEUES } from './queues.ts';
import type { StepJobData } from './job-data.ts';

/** `{batchId}.{instanceKey}.{step}`: no ':' and never all digits, as BullMQ requires of custom ids. */
export function stepJobId(batchId: string, instanceKey: string, step: string): string {
  return `${batchId}.${instanceKey}.${step}`;
}

export function buildInstanceFlow(instance: InstanceSpec, retention: Retention = DEFAULT_RETENTION): FlowJob {
  let child: FlowJob | undefined;
  // A step with nothing to do for this instance gets no job: each costs a dozen Redis round trips.
  for (const step of stepsFor(instance)) {
    // Priorities by place in the whole list, so instances of every shape interleave the same way.
    const index = STEPS.findIndex((s) => s.name === step.name);
    const data: StepJobData = { v: 1, instance };
    const job: FlowJob = {
      name: step.name,
      queueName: QUEUES.steps,
      data,
      opts: {
        jobId: stepJobId(instance.batchId, instance.instanceKey, step.name),
        // Later steps first (1 = highest): instances flow through depth-first, so the first ones
        // start within seconds and the write quota is spent evenly instead of step by step.
        priority: STEPS.length - index,
        ...stepJobOptions(step, retention),
      },
      ...(child ? { children: [child] } : {}),
    };
    child = job;
  }
  return child!;
}
