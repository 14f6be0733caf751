/**
 * Step 7: start the provisioning job — only when it is not running already (Microsoft warns
 * against calling start on a running job; a quarantined job is left for the poller to report).
 */
import { refusedBy } from '../graph/classify-error.ts';
import type { InstanceIds, StepDeps, StepInput } from './types.ts';
import { need, StepWait, defineStep } from './types.ts';

/** Status codes that mean "running or about to": start would be a restart. */
const RUNNING = new Set(['Active', 'NotRun', 'Quarantine']);

export async function startJob(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { instance, prev } = input;
  const spId = need(prev, 'servicePrincipalId');
  const jobId = need(prev, 'jobId');
  const job = await deps.graph.getSynchronizationJob(spId, jobId);
  if (!job) {
    throw new StepWait(deps.settings.replicationPollMs, input.state, `provisioning job ${jobId} not yet visible`);
  }
  const code = job.status?.code ?? 'NotConfigured';
  const scheduleActive = job.schedule?.state === 'Active';
  if (RUNNING.has(code) && scheduleActive) {
    const startedAt = Number((await deps.store.get(instance, ['startedAt'])).startedAt ?? deps.now());
    return { ...prev, startedAt, alreadyRunning: true };
  }
  try {
    await deps.graph.startSynchronizationJob(spId, jobId);
  } catch (err) {
    throw refusedBy(err, `Graph refused to start the provisioning job of '${instance.displayName}'`);
  }
  const startedAt = deps.now();
  await deps.store.set(instance, { startedAt });
  return { ...prev, startedAt, alreadyRunning: false };
}

export const startJobStep = defineStep({
  name: 'start-job',
  runningState: 'starting',
  retry: { attempts: 8, backoffMs: 1000 },
  needs: ['servicePrincipalId', 'jobId'],
  run: startJob,
});
