/** Step 6: save the credentials on the servicePrincipal (PUT is naturally idempotent), then forget them. */
import { refusedBy } from '../graph/classify-error.ts';
import type { InstanceIds, StepDeps, StepInput } from './types.ts';
import { need, defineStep } from './types.ts';
import { openCredentials } from './open-credentials.ts';

export async function saveSecrets(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { instance, prev } = input;
  const spId = need(prev, 'servicePrincipalId');
  const done = await deps.store.get(instance, ['secretsSaved']);
  if (done.secretsSaved === '1') return { ...prev, secretsSaved: true };
  const credentials = await openCredentials(deps, instance);
  try {
    await deps.graph.saveSecrets(spId, credentials);
  } catch (err) {
    throw refusedBy(err, `Graph refused to save the credentials of '${instance.displayName}'`);
  }
  // Mark first, then drop: a crash in between leaves a mark and a sealed blob that expires anyway.
  await deps.store.set(instance, { secretsSaved: '1' });
  await deps.store.deleteSealedCredentials(instance);
  return { ...prev, secretsSaved: true };
}

export const saveSecretsStep = defineStep({
  name: 'save-secrets',
  runningState: 'saving-secrets',
  retry: { attempts: 8, backoffMs: 1000 },
  needs: ['servicePrincipalId'],
  run: saveSecrets,
});
