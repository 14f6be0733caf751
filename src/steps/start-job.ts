/**
 * Start the provisioning job — only when it is not running already (Microsoft warns against
 * calling start on a running job; a quarantined job is left for the poller to report). A
 * running job whose scope (SyncAll) save-secrets just changed is restarted instead: Microsoft
 * documents that a scope change has no effect on a running job until it is restarted.
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
  const marks = await deps.store.get(instance, ['startedAt', 'scopeChanged']);
  if (RUNNING.has(code) && scheduleActive) {
    const startedAt = Number(marks.startedAt ?? deps.now());
    if (marks.scopeChanged === '1') {
      try {
        await deps.graph.restartSynchronizationJob(spId, jobId, 'Full');
      } catch (err) {
        throw refusedBy(err, `Graph refused to restart the provisioning job of '${instance.displayName}'`);
      }
      await deps.store.del(instance, ['scopeChanged']);
    }
    return { ...prev, startedAt, alreadyRunning: true };
  }
  try {
    await deps.graph.startSynchronizationJob(spId, jobId);
  } catch (err) {
    throw refusedBy(err, `Graph refused to start the provisioning job of '${instance.displayName}'`);
  }
  const startedAt = deps.now();
  await deps.store.set(instance, { startedAt });
  // A job started now reads the new scope anyway.
  if (marks.scopeChanged === '1') await deps.store.del(instance, ['scopeChanged']);
  return { ...prev, startedAt, alreadyRunning: false };
}

export const startJobStep = defineStep({
  name: 'start-job',
  runningState: 'starting',
  retry: { attempts: 8, backoffMs: 1000 },
  needs: ['servicePrincipalId', 'jobId'],
  run: startJob,
});
