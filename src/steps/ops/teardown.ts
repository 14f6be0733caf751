/**
 * `provflow teardown`: pause the job, delete it, delete the application (its service principal
 * goes with it), and with --purge remove it from deleted items. Only ids the ledger holds are
 * touched, each read by id before its delete; a 404 means the object is already gone.
 */
import { refusedBy } from '../../graph/classify-error.ts';
import { PermanentError } from '../../graph/errors.ts';
import { defineStep, type InstanceIds, type StepDeps, type StepInput } from '../types.ts';

export async function pauseJob(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { prev, instance } = input;
  if (!prev.servicePrincipalId || !prev.jobId) return prev;
  const job = await deps.graph.getSynchronizationJob(prev.servicePrincipalId, prev.jobId);
  if (!job || job.status?.code === 'Paused' || job.schedule?.state === 'Paused') return prev;
  try {
    await deps.graph.pauseSynchronizationJob(prev.servicePrincipalId, prev.jobId);
  } catch (err) {
    throw refusedBy(err, `Graph refused to pause the provisioning job of '${instance.displayName}'`);
  }
  return prev;
}

export async function deleteJob(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { prev, instance } = input;
  if (!prev.servicePrincipalId || !prev.jobId) return prev;
  if (!(await deps.graph.getSynchronizationJob(prev.servicePrincipalId, prev.jobId))) return prev;
  try {
    await deps.graph.deleteSynchronizationJob(prev.servicePrincipalId, prev.jobId);
  } catch (err) {
    throw refusedBy(err, `Graph refused to delete the provisioning job of '${instance.displayName}'`);
  }
  return prev;
}

export async function deleteApplication(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { prev, instance } = input;
  if (!prev.applicationObjectId) {
    throw new PermanentError(
      `The ledger holds no application id for '${instance.displayName}': provflow neither created nor adopted ` +
        'an application for it, so it deletes none.',
    );
  }
  const app = await deps.graph.getApplication(prev.applicationObjectId);
  if (!app) return prev; // already deleted (or in deleted items)
  if (prev.appId && app.appId !== prev.appId) {
    throw new PermanentError(
      `Application ${prev.applicationObjectId} has appId ${app.appId}, not the ${prev.appId} the ledger recorded ` +
        `for '${instance.displayName}': not deleted.`,
    );
  }
  try {
    await deps.graph.deleteApplication(prev.applicationObjectId);
  } catch (err) {
    throw refusedBy(err, `Graph refused to delete the application of '${instance.displayName}'`);
  }
  return prev;
}

/** Only with --purge (the op passes `purge` in the step state). */
export async function purgeApplication(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { prev, instance } = input;
  if (!input.state.purge || !prev.applicationObjectId) return prev;
  if (!(await deps.graph.getDeletedApplication(prev.applicationObjectId))) return prev;
  try {
    await deps.graph.purgeDeletedApplication(prev.applicationObjectId);
  } catch (err) {
    throw refusedBy(err, `Graph refused to remove the application of '${instance.displayName}' from deleted items`);
  }
  return prev;
}

const retry = { attempts: 8, backoffMs: 1000 };
export const pauseJobStep = defineStep({
  name: 'teardown-pause',
  runningState: 'tearing-down',
  retry,
  needs: [],
  run: pauseJob,
});
export const deleteJobStep = defineStep({
  name: 'teardown-delete-job',
  runningState: 'tearing-down',
  retry,
  needs: [],
  run: deleteJob,
});
export const deleteApplicationStep = defineStep({
  name: 'teardown-delete-app',
  runningState: 'tearing-down',
  retry,
  needs: [],
  run: deleteApplication,
});
export const purgeApplicationStep = defineStep({
  name: 'teardown-purge',
  runningState: 'tearing-down',
  retry,
  needs: [],
  run: purgeApplication,
});
