/** Step 5: test the credentials against the target app (Graph's validateCredentials). */
import { refusedBy } from '../graph/classify-error.ts';
import { GraphError } from '../graph/errors.ts';
import type { InstanceIds, StepDeps, StepInput } from './types.ts';
import { need, StepWait, defineStep } from './types.ts';
import { isReplicationLag } from './replication-window.ts';
import { openCredentials } from './open-credentials.ts';

export async function validateCredentials(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { instance, prev } = input;
  const spId = need(prev, 'servicePrincipalId');
  const jobId = need(prev, 'jobId');
  const saved = await deps.store.get(instance, ['secretsSaved']);
  if (saved.secretsSaved === '1') return { ...prev, credentialsValidated: true }; // validated and saved before a crash
  // A brand-new job is invisible for a while; validating against it would spend a write on a
  // 404. Look (a read) until it is there, then validate once.
  if (!input.state.jobVisible && !(await deps.graph.getSynchronizationJob(spId, jobId))) {
    throw new StepWait(deps.settings.replicationPollMs, input.state, 'provisioning job not yet visible');
  }
  const credentials = await openCredentials(deps, instance);
  try {
    await deps.graph.validateCredentials(spId, jobId, credentials, prev.syncTemplateId);
  } catch (err) {
    if (err instanceof GraphError && err.status === 404 && isReplicationLag(deps, prev, err)) {
      throw new StepWait(deps.settings.replicationPollMs, input.state, 'provisioning job not yet visible');
    }
    throw refusedBy(
      err,
      `The target app rejected the credentials of '${instance.displayName}'`,
      '. Fix the credential values in the batch file and enqueue it again (the created app is re-used).',
    );
  }
  return { ...prev, credentialsValidated: true };
}

export const validateCredentialsStep = defineStep({
  name: 'validate-credentials',
  runningState: 'validating-credentials',
  retry: { attempts: 8, backoffMs: 1000 },
  needs: ['servicePrincipalId', 'jobId'],
  run: validateCredentials,
});
