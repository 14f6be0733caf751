/**
 * Step 2: create the gallery application — at most once, whatever happens.
 *
 * Graph's instantiate is not idempotent, may answer 404/5xx/time out after creating the app,
 * and a new app is invisible to queries for a while. So: look before acting (adopt an app
 * that already has this display name and template), record the intent durably before the
 * POST, and after any ambiguous outcome (or a crash that leaves an intent behind) keep
 * reconciling by query — until the earlier request can no longer be in flight plus
 * `reconcileWindowMs` — before daring to POST again. The mechanism is create-once.ts.
 */
import type { Application } from '../graph/schemas.ts';
import { objectIdOf } from '../graph/schemas.ts';
import { refusedBy } from '../graph/classify-error.ts';
import type { InstanceIds, StepDeps, StepInput } from './types.ts';
import { need, StepWait, defineStep } from './types.ts';
import {
  claimIntent,
  INSTANTIATE_AMBIGUITY,
  parseIntent,
  postWhileLooking,
  reconcileLeft,
  sendWindowLeft,
  settleFailedCreate,
} from './create-once.ts';

/** The ledger field holding this step's intent marker (format: create-once.ts). */
export const INTENT_FIELD = 'instantiateIntent';

async function adopt(
  deps: StepDeps,
  input: StepInput,
  apps: Application[],
  how: 'recovered' | 'existing',
): Promise<InstanceIds> {
  // Several matches would be a duplicate made outside provflow (or before it existed): adopt the
  // first by id for determinism and say so in the ledger, rather than guess which one to delete.
  const sorted = [...apps].sort((a, b) => objectIdOf(a).localeCompare(objectIdOf(b)));
  const app = sorted[0]!;
  const sps = await deps.graph.findServicePrincipalsByAppId(app.appId);
  if (sps.length === 0) {
    throw new StepWait(
      deps.settings.replicationPollMs,
      { ...input.state, waitingForSp: true },
      `application ${app.appId} found, its servicePrincipal not visible yet`,
    );
  }
  const ids: InstanceIds = {
    ...input.prev,
    applicationObjectId: objectIdOf(app),
    appId: app.appId,
    servicePrincipalId: objectIdOf(sps[0]!),
    createdAt: deps.now(),
    adopted: how,
  };
  await deps.store.set(input.instance, {
    createdAt: ids.createdAt!,
    applicationObjectId: ids.applicationObjectId!,
    appId: ids.appId!,
    servicePrincipalId: ids.servicePrincipalId!,
    adopted: how,
    ...(sorted.length > 1
      ? {
          warning:
            `${sorted.length} applications named '${input.instance.displayName}' exist; ` +
            `adopted ${ids.applicationObjectId}`,
        }
      : {}),
  });
  return ids;
}

export async function instantiateApp(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { instance } = input;
  const templateId = need(input.prev, 'templateId');
  const recorded = await deps.store.get(instance, [
    INTENT_FIELD,
    'applicationObjectId',
    'appId',
    'servicePrincipalId',
    'createdAt',
    'adopted',
  ]);
  if (recorded.applicationObjectId && recorded.appId && recorded.servicePrincipalId) {
    // A previous attempt got Graph's answer and recorded it: nothing to do.
    return {
      ...input.prev,
      applicationObjectId: recorded.applicationObjectId,
      appId: recorded.appId,
      servicePrincipalId: recorded.servicePrincipalId,
      createdAt: Number(recorded.createdAt ?? deps.now()),
      adopted: (recorded.adopted as InstanceIds['adopted']) ?? 'created',
    };
  }
  const intent = parseIntent(recorded[INTENT_FIELD]);

  const existing = await deps.graph.findApplications({
    displayName: instance.displayName,
    applicationTemplateId: templateId,
  });
  if (existing.length > 0) return adopt(deps, input, existing, intent ? 'recovered' : 'existing');

  if (intent) {
    const age = deps.now() - intent.at;
    const left = reconcileLeft(deps, intent);
    if (left > 0) {
      // An earlier POST may have created the app (or still be in flight); replication hides it for a while.
      // Look again later.
      throw new StepWait(
        Math.min(deps.settings.replicationPollMs, left),
        { ...input.state, reconciling: true },
        `reconciling an earlier instantiate of '${instance.displayName}' (${Math.round(age / 1000)} s ago)`,
      );
    }
    deps.logger.warn(
      { instanceKey: instance.instanceKey, intentAgeMs: age },
      'earlier instantiate left no application after the reconcile window; creating it again',
    );
  }

  const mine = await claimIntent(deps, instance, INTENT_FIELD, recorded[INTENT_FIELD] != null);
  if (!mine) {
    // Another worker is instantiating this very instance (a stalled job re-run): let it finish.
    throw new StepWait(deps.settings.replicationPollMs, input.state, 'another attempt holds the instantiate intent');
  }

  let created;
  try {
    // Sent within the send window of the intent, or not at all: see reconcileDeadline.
    const sendWithinMs = sendWindowLeft(deps, mine.at);
    const raced = await postWhileLooking({
      post: ({ signal, onSent }) =>
        deps.graph.instantiateApplication(templateId, instance.displayName, { signal, onSent, sendWithinMs }),
      look: () => deps.graph.findApplications({ displayName: instance.displayName, applicationTemplateId: templateId }),
      slowMs: deps.settings.slowInstantiateMs ?? 2 * deps.settings.replicationPollMs,
      pollMs: deps.settings.replicationPollMs,
    });
    if (raced.found) {
      const why = 'instantiate unanswered, but the app exists: adopting it and abandoning the request';
      deps.logger.info({ displayName: instance.displayName }, why);
      return adopt(deps, { ...input, state: { ...input.state, reconciling: true } }, raced.found, 'recovered');
    }
    created = raced.created;
  } catch (err) {
    if (await settleFailedCreate(deps, instance, INTENT_FIELD, mine, err, INSTANTIATE_AMBIGUITY)) {
      throw new StepWait(
        deps.settings.replicationPollMs,
        { ...input.state, reconciling: true },
        `instantiate outcome unknown (${(err as Error).message}); reconciling by query`,
      );
    }
    throw refusedBy(err, `Graph refused to create '${instance.displayName}' from template ${templateId}`);
  }
  const createdAt = deps.now();
  await deps.store.set(instance, {
    applicationObjectId: created.applicationObjectId,
    appId: created.appId,
    servicePrincipalId: created.servicePrincipalId,
    adopted: 'created',
    createdAt,
  });
  return {
    ...input.prev,
    applicationObjectId: created.applicationObjectId,
    appId: created.appId,
    servicePrincipalId: created.servicePrincipalId,
    createdAt,
    adopted: 'created',
  };
}

export const instantiateAppStep = defineStep({
  name: 'instantiate-app',
  runningState: 'instantiating',
  // Many attempts: each retry first reconciles by query, so retrying is always safe here.
  retry: { attempts: 12, backoffMs: 1000 },
  needs: ['templateId'],
  run: instantiateApp,
});
