/** Hands an instance to the poller: one watch job per instance, with the watch policy. */
import type { Queue } from 'bullmq';
import { stepJobId } from './build-flow.ts';
import { JOB_POLICIES } from './job-policies.ts';
import type { WatchJobData } from './job-data.ts';

/** The watch job's id: deterministic, so adding it again (a retried hand-off) adds nothing. */
export function watchJobId(batchId: string, instanceKey: string): string {
  return stepJobId(batchId, instanceKey, 'watch');
}

export async function addWatchJob(pollQueue: Queue, data: WatchJobData): Promise<void> {
  const jobId = watchJobId(data.instance.batchId, data.instance.instanceKey);
  await pollQueue.add('watch', data, { jobId, ...JOB_POLICIES.watch });
}
