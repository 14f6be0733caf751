/**
 * `provflow rotate`: new credentials for a running instance, in three steps. The saved set is
 * only ever replaced by one complete PUT (Graph replaces the whole set; credential values read
 * back as `*`, so they cannot be carried over): a crash leaves either the old set or the new.
 */
import { refusedBy } from '../../graph/classify-error.ts';
import { PermanentError } from '../../graph/errors.ts';
import type { SavedSecret, SecretPair } from '../../graph/graph-api.ts';
import { defineStep, need, type InstanceIds, type StepDeps, type StepInput } from '../types.ts';

/** Ledger field holding the sealed new credentials until they are saved to Graph. */
export const ROTATION_FIELD = 'rotationSealed';
/** Ledger field: the run id whose credentials were saved (look before you act on a re-run). */
export const ROTATED_FIELD = 'rotationSaved';

/** Graph's mask for a credential value read back. */
const MASKED = '*';

/**
 * The complete set to PUT: every key Graph holds, with the new value where the rotate file gives
 * one and the read-back value for settings; a masked key the file does not give would be lost.
 */
export function completeSecretSet(saved: SavedSecret[], fresh: SecretPair[], displayName: string): SecretPair[] {
  const byKey = new Map(fresh.map((p) => [p.key, p.value]));
  // A value read back masked (or empty) cannot be carried over: the file must give it.
  const unreadable = (p: SavedSecret) => p.value === MASKED || p.value === null;
  const missing = saved.filter((p) => unreadable(p) && !byKey.has(p.key)).map((p) => p.key);
  if (missing.length) {
    throw new PermanentError(
      `The rotate file gives no value for ${missing.join(', ')} of '${displayName}', which Graph holds masked: ` +
        'a PUT replaces the whole set, so add those keys to the rotate file. The saved credentials were not changed.',
    );
  }
  const out = saved.filter((p) => !byKey.has(p.key)).map((p) => ({ key: p.key, value: p.value ?? '' }));
  return [...out, ...fresh];
}

async function rotationSet(deps: StepDeps, input: StepInput): Promise<SecretPair[] | null> {
  const { instance, prev } = input;
  const sealed = (await deps.store.get(instance, [ROTATION_FIELD]))[ROTATION_FIELD];
  if (!sealed) return null;
  const fresh = await deps.vault.open(sealed, instance);
  const saved = await deps.graph.getSynchronizationSecrets(need(prev, 'servicePrincipalId'));
  return completeSecretSet(saved, fresh, instance.displayName);
}

function runId(input: StepInput): string {
  return String(input.state.runId ?? '');
}

export async function validateRotation(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { instance, prev } = input;
  const done = await deps.store.get(instance, [ROTATED_FIELD]);
  if (done[ROTATED_FIELD] === runId(input)) return prev; // saved before a crash: nothing left to test
  const set = await rotationSet(deps, input);
  if (!set) throw new PermanentError(`No new credentials are stored for '${instance.displayName}': run rotate again.`);
  try {
    await deps.graph.validateCredentials(need(prev, 'servicePrincipalId'), need(prev, 'jobId'), set);
  } catch (err) {
    throw refusedBy(
      err,
      `The target app rejected the new credentials of '${instance.displayName}' (the saved ones are unchanged)`,
    );
  }
  return { ...prev, credentialsValidated: true };
}

export async function saveRotation(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { instance, prev } = input;
  const done = await deps.store.get(instance, [ROTATED_FIELD]);
  if (done[ROTATED_FIELD] === runId(input)) return { ...prev, secretsSaved: true };
  const set = await rotationSet(deps, input);
  if (!set) throw new PermanentError(`No new credentials are stored for '${instance.displayName}': run rotate again.`);
  try {
    await deps.graph.saveSecrets(need(prev, 'servicePrincipalId'), set);
  } catch (err) {
    throw refusedBy(err, `Graph refused to save the new credentials of '${instance.displayName}'`);
  }
  // Mark first, then drop the sealed copy (as save-secrets does).
  await deps.store.set(instance, { [ROTATED_FIELD]: runId(input), rotatedAt: deps.now() });
  await deps.store.del(instance, [ROTATION_FIELD]);
  return { ...prev, secretsSaved: true };
}

/** A quarantined job (expired credentials, typically) only leaves quarantine on a restart. */
export async function restartIfQuarantined(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { instance, prev } = input;
  const spId = need(prev, 'servicePrincipalId');
  const jobId = need(prev, 'jobId');
  const job = await deps.graph.getSynchronizationJob(spId, jobId);
  if (!job) throw new PermanentError(`The provisioning job of '${instance.displayName}' no longer exists.`);
  if (job.status?.code !== 'Quarantine') return { ...prev, startedAt: deps.now() };
  try {
    await deps.graph.restartSynchronizationJob(spId, jobId, 'QuarantineState');
  } catch (err) {
    throw refusedBy(err, `Graph refused to restart the provisioning job of '${instance.displayName}'`);
  }
  return { ...prev, startedAt: deps.now() };
}

const retry = { attempts: 8, backoffMs: 1000 };
const needs = ['servicePrincipalId', 'jobId'] as const;

export const validateRotationStep = defineStep({
  name: 'rotate-validate',
  runningState: 'rotating',
  retry,
  needs,
  run: validateRotation,
});
export const saveRotationStep = defineStep({
  name: 'rotate-save',
  runningState: 'rotating',
  retry,
  needs,
  run: saveRotation,
});
export const restartIfQuarantinedStep = defineStep({
  name: 'rotate-restart',
  runningState: 'rotating',
  retry,
  needs,
  run: restartIfQuarantined,
});
