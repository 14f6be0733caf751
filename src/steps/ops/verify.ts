/**
 * `provflow verify`: ask the target app whether the SAVED credentials still work
 * (`validateCredentials` with `useSavedCredentials: true`), so an expiring token shows before
 * the job quarantines. A refusal is a finding, not a failure: it is recorded and the step ends.
 */
import { GraphError } from '../../graph/errors.ts';
import { defineStep, need, type InstanceIds, type StepDeps, type StepInput } from '../types.ts';

// Writes the ledger fields credentialsCheck (`ok` | `failing`), credentialsCheckedAt, credentialsError.
export async function verifySavedCredentials(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { instance, prev } = input;
  try {
    // No credentials in the body: the client sends useSavedCredentials: true.
    await deps.graph.validateCredentials(need(prev, 'servicePrincipalId'), need(prev, 'jobId'), []);
  } catch (err) {
    if (!(err instanceof GraphError) || err.errorClass !== 'permanent' || err.status === 404) throw err;
    await deps.store.set(instance, {
      credentialsCheck: 'failing',
      credentialsCheckedAt: deps.now(),
      credentialsError: err.message,
    });
    return { ...prev, credentialsValidated: false };
  }
  await deps.store.set(instance, { credentialsCheck: 'ok', credentialsCheckedAt: deps.now() });
  await deps.store.del(instance, ['credentialsError']);
  return { ...prev, credentialsValidated: true };
}

export const verifyCredentialsStep = defineStep({
  name: 'verify-credentials',
  runningState: 'verifying',
  retry: { attempts: 5, backoffMs: 2000 },
  needs: ['servicePrincipalId', 'jobId'],
  run: verifySavedCredentials,
});
