/** Adding day-two operation jobs: one per instance and run, with the ops policy and a deterministic id. */
import type { Queue } from 'bullmq';
import { JOB_POLICIES } from '../flow/job-policies.ts';
import type { OpJobData } from '../flow/job-data.ts';
import type { InstanceRecord } from '../ledger/ledger.ts';
import type { OpName } from '../steps/ops/index.ts';
import type { InstanceSpec } from '../steps/instance.ts';
import { DEFAULT_TENANT } from '../redis-keys.ts';

/** `{op}.{batchId}.{instanceKey}.{runId}`: the same run adds each instance once. */
function opJobId(op: string, batchId: string, instanceKey: string, runId: string): string {
  return `${op}.${batchId}.${instanceKey}.${runId}`;
}

/** A run id from the clock: lowercase base-36, sortable enough to read in the board. */
export function newRunId(now = Date.now()): string {
  return `r${now.toString(36)}${Math.floor(Math.random() * 1296)
    .toString(36)
    .padStart(2, '0')}`;
}

/** The instance spec of a ledger record (ops need no template: the ids are in the ledger). */
export function specOfRecord(batchId: string, r: InstanceRecord): InstanceSpec {
  return {
    batchId,
    instanceKey: r.instanceKey,
    displayName: r.displayName,
    applicationTemplate: r.templateId ? { id: r.templateId } : { displayName: 'unknown' },
    synchronizationTemplateId: null,
    // The instance's own tenant: its Graph client, as when it was onboarded.
    ...(r.tenant && r.tenant !== DEFAULT_TENANT ? { tenant: r.tenant } : {}),
  };
}

export async function addOpJobs(
  queue: Queue,
  op: OpName,
  runId: string,
  instances: InstanceSpec[],
  options: OpJobData['options'] = {},
): Promise<void> {
  if (!instances.length) return;
  await queue.addBulk(
    instances.map((instance) => ({
      name: op,
      data: { v: 1, op, instance, runId, options } satisfies OpJobData,
      opts: { jobId: opJobId(op, instance.batchId, instance.instanceKey, runId), ...JOB_POLICIES.op },
    })),
  );
}
