/** Reads and opens an instance's sealed credentials; the only way a step sees them in clear. */
import type { SecretPair } from '../graph/graph-api.ts';
import { PermanentError } from '../graph/errors.ts';
import type { InstanceSpec, StepDeps } from './types.ts';

export async function openCredentials(deps: StepDeps, instance: InstanceSpec): Promise<SecretPair[]> {
  const sealed = await deps.store.getSealedCredentials(instance);
  if (!sealed) {
    throw new PermanentError(
      `No credentials are stored for '${instance.displayName}' (they expire after a week unused, ` +
        'or were never given). Add credentials to the batch file and enqueue it again.',
    );
  }
  return deps.vault.open(sealed, instance);
}
