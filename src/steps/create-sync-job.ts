/**
 * Step 4: create the provisioning (synchronization) job from its template — or reuse the one
 * that already exists with the same templateId (a re-run, or a job created in the portal).
 */
import { refusedBy } from '../graph/classify-error.ts';
import { GraphError, PermanentError } from '../graph/errors.ts';
import type { InstanceIds, StepDeps, StepInput } from './types.ts';
import { need, StepWait, defineStep } from './types.ts';
import {
  claimIntent,
  CREATE_JOB_AMBIGUITY,
  parseIntent,
  reconcileLeft,
  sendWindowLeft,
  settleFailedCreate,
} from './create-once.ts';
import { inReplicationWindow, isReplicationLag } from './replication-window.ts';

/** The ledger field holding this step's intent marker (format: create-once.ts). */
export const JOB_INTENT_FIELD = 'createJobIntent';

export async function createSyncJob(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { instance, prev } = input;
  const spId = need(prev, 'servicePrincipalId');
  try {
    let syncTemplateId = instance.synchronizationTemplateId;
    const jobs = await deps.graph.listSynchronizationJobs(spId);
    if (!syncTemplateId) {
      const templates = await deps.graph.listSynchronizationTemplates(spId);
      const pick = templates.find((t) => t.default) ?? (templates.length === 1 ? templates[0] : undefined);
      if (!pick) {
        throw new PermanentError(
          templates.length === 0
            ? `The app '${instance.displayName}' offers no provisioning (synchronization) template: ` +
                'this gallery app does not support automatic provisioning.'
            : `The app offers ${templates.length} synchronization templates ` +
                `(${templates.map((t) => t.id).join(', ')}) and none is the default: ` +
                'set synchronizationTemplateId in the batch file.',
        );
      }
      syncTemplateId = pick.id;
    }
    const reuse = jobs.find((j) => j.templateId === syncTemplateId);
    if (reuse) {
      await deps.store.set(instance, { jobId: reuse.id });
      return { ...prev, jobId: reuse.id, syncTemplateId, jobReused: true };
    }
    const recorded = (await deps.store.get(instance, [JOB_INTENT_FIELD]))[JOB_INTENT_FIELD];
    const intent = parseIntent(recorded);
    if (intent && reconcileLeft(deps, intent) > 0) {
      // An earlier create may have succeeded; the new job can lag in the list like any object.
      throw new StepWait(deps.settings.replicationPollMs, input.state, 'reconciling an earlier job creation');
    }
    const mine = await claimIntent(deps, instance, JOB_INTENT_FIELD, recorded != null);
    if (!mine) {
      // Another worker is creating this very job (a stalled job re-run): let it finish.
      throw new StepWait(deps.settings.replicationPollMs, input.state, 'another attempt holds the job-creation intent');
    }
    let job;
    try {
      const sendWithinMs = sendWindowLeft(deps, mine.at);
      job = await deps.graph.createSynchronizationJob(spId, syncTemplateId, { sendWithinMs });
    } catch (err) {
      // 409: a job from this template exists (an earlier create, still lagging in the list):
      // list again and adopt it rather than fail or create a second one.
      if (err instanceof GraphError && err.status === 409) {
        await deps.store.del(instance, [JOB_INTENT_FIELD]);
        const why = `a job from template '${syncTemplateId}' already exists; adopting it`;
        throw new StepWait(deps.settings.replicationPollMs, input.state, why);
      }
      if (await settleFailedCreate(deps, instance, JOB_INTENT_FIELD, mine, err, CREATE_JOB_AMBIGUITY)) {
        throw new StepWait(
          deps.settings.replicationPollMs,
          input.state,
          `job creation outcome unknown (${(err as Error).message})`,
        );
      }
      throw err;
    }
    await deps.store.set(instance, { jobId: job.id });
    return { ...prev, jobId: job.id, syncTemplateId, jobReused: false };
  } catch (err) {
    // A 400 naming our template: lag, or a template this app does not offer? Graph's answer
    // alone cannot tell (same status, a generic code), its template list can.
    const unknown = await unknownSyncTemplate(deps, input, spId, err);
    if (unknown) {
      throw new PermanentError(`Could not create the provisioning job for '${instance.displayName}': ${unknown}`);
    }
    if (isReplicationLag(deps, prev, err)) {
      throw new StepWait(
        deps.settings.replicationPollMs,
        input.state,
        `servicePrincipal not yet usable (${(err as Error).message})`,
      );
    }
    throw refusedBy(err, `Could not create the provisioning job for '${instance.displayName}'`);
  }
}

/**
 * After a 400 on creating the job from the batch's `synchronizationTemplateId`: the reason when
 * the servicePrincipal answers its template list and the id is not on it (the instance fails
 * now, not after the replication window), else null (lag, or another error: handled as before).
 * An empty list inside the replication window may be lag too, so it is not taken as a verdict.
 */
async function unknownSyncTemplate(
  deps: StepDeps,
  input: StepInput,
  spId: string,
  err: unknown,
): Promise<string | null> {
  const wanted = input.instance.synchronizationTemplateId;
  if (!wanted || !(err instanceof GraphError) || err.status !== 400) return null;
  let templates;
  try {
    templates = await deps.graph.listSynchronizationTemplates(spId);
  } catch {
    return null;
  }
  if (templates.some((t) => t.id === wanted)) return null;
  if (templates.length === 0 && inReplicationWindow(deps, input.prev)) return null;
  const ids = templates.map((t) => `'${t.id}'${t.default ? ' (default)' : ''}`).join(', ');
  const offered = templates.length ? `it offers ${ids}` : 'it offers none';
  return (
    `synchronizationTemplateId '${wanted}' is not a synchronization template of this app (${offered}; ` +
    `fix or remove synchronizationTemplateId in the batch file). Graph said: ${err.message}`
  );
}

export const createSyncJobStep = defineStep({
  name: 'create-sync-job',
  runningState: 'creating-sync-job',
  retry: { attempts: 12, backoffMs: 1000 },
  needs: ['servicePrincipalId'],
  run: createSyncJob,
});
