/**
 * Step 6: save the credentials — and the batch's `settings`, compiled with them into ONE
 * complete `PUT …/secrets` (see src/onboarding/settings.ts for why never a partial or read-back
 * set) — then read the settings back, then forget the credentials. PUT is idempotent.
 */
import { refusedBy } from '../graph/classify-error.ts';
import {
  compareSettings,
  compileSettings,
  completeSecrets,
  describeDifferences,
  savedScope,
} from '../onboarding/settings.ts';
import type { InstanceIds, StepDeps, StepInput } from './types.ts';
import { need, defineStep } from './types.ts';
import { openCredentials } from './open-credentials.ts';

export async function saveSecrets(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { instance, prev } = input;
  const spId = need(prev, 'servicePrincipalId');
  const done = await deps.store.get(instance, ['secretsSaved']);
  if (done.secretsSaved === '1') return { ...prev, secretsSaved: true };
  const credentials = await openCredentials(deps, instance);
  const settings = compileSettings(instance.onboarding?.settings);
  try {
    if (instance.onboarding?.settings?.scope !== undefined) {
      // A scope change on a running job takes effect only after a restart (a known issue
      // Microsoft documents): start-job restarts when this mark is set.
      const before = savedScope(await deps.graph.getSynchronizationSecrets(spId));
      if (before !== null && before !== instance.onboarding.settings.scope)
        await deps.store.set(instance, { scopeChanged: '1' });
    }
    await deps.graph.saveSecrets(spId, completeSecrets(credentials, settings));
    if (settings.length) {
      const diffs = compareSettings(settings, await deps.graph.getSynchronizationSecrets(spId));
      if (diffs.length)
        // Plain Error = transient: a read-back may lag the PUT; after the retries the instance fails naming the keys.
        throw new Error(`Graph did not keep the settings of '${instance.displayName}': ${describeDifferences(diffs)}`);
    }
  } catch (err) {
    throw refusedBy(err, `Graph refused to save the credentials and settings of '${instance.displayName}'`);
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
