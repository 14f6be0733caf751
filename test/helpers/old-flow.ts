/**
 * A flow of the shape provflow built before steps with nothing to do were left out: every step of
 * the list, smoke-test at the root. Jobs in Redis outlive deploys, so such flows must still run.
 */
import type { FlowJob } from 'bullmq';
import { stepJobId } from '../../src/flow/build-flow.ts';
import type { StepJobData } from '../../src/flow/job-data.ts';
import { DEFAULT_RETENTION, stepJobOptions } from '../../src/flow/job-policies.ts';
import { QUEUES } from '../../src/flow/queues.ts';
import { STEPS } from '../../src/steps/index.ts';
import type { InstanceSpec } from '../../src/steps/instance.ts';

export function buildAllStepsFlow(instance: InstanceSpec): FlowJob {
  let child: FlowJob | undefined;
  for (const [index, step] of STEPS.entries()) {
    const data: StepJobData = { v: 1, instance };
    child = {
      name: step.name,
      queueName: QUEUES.steps,
      data,
      opts: {
        jobId: stepJobId(instance.batchId, instance.instanceKey, step.name),
        priority: STEPS.length - index,
        ...stepJobOptions(step, DEFAULT_RETENTION),
      },
      ...(child ? { children: [child] } : {}),
    };
  }
  return child!;
}
