/**
 * Step 2: create the gallery application — at most once, whatever happens.
 *
 * Graph's instantiate is not idempotent, may answer 404/5xx/time out after creating the app,
 * and a new app is invisible to queries for a while. So: look before acting (adopt an app
 * that already has this display name and template), record the intent durably before the
 * POST, and after any ambiguous outcome (or a crash that leaves an intent behind) keep
 * reconciling by query — until the earlier request can no longer be in flight plus
 * `reconcileWindowMs` — before daring to POST again.
 */
import type { Application } from '../graph/schemas.ts';
import { objectIdOf } from '../graph/schemas.ts';
import { errorClassOf, GraphError, PermanentError } from '../graph/errors.ts';
import type { InstanceIds, StepDeps, StepInput } from './types.ts';
import { need, reconcileDeadline, sendWindowLeft, StepWait, defineStep } from './types.ts';

/**
 * The ledger field holding the intent marker `{token}@{epoch ms}`, and `@{epoch ms}` more once
 * Graph answered the POST ambiguously (404/5xx): the request is over then.
 */
export const INTENT_FIELD = 'instantiateIntent';

function parseIntent(v: string | null): { token: string; at: number; answeredAt: number | null } | null {
  if (!v) return null;
  const [token, at, answeredAt] = v.split('@');
  return token && at ? { token, at: Number(at), answeredAt: answeredAt ? Number(answeredAt) : null } : null;
}

async function adopt(deps: StepDeps, input: StepInput, apps: Application[], how: 'recovered' | 'existing'): Promise<InstanceIds> {
  // Several matches would be a duplicate made outside provflow (or before it existed): adopt the
  // first by id for determinism and say so in the ledger, rather than guess which one to delete.
  const sorted = [...apps].sort((a, b) => objectIdOf(a).localeCompare(objectIdOf(b)));
  const app = sorted[0]!;
  const sps = await deps.graph.findServicePrincipalsByAppId(app.appId);
  if (sps.length === 0) {
    throw new StepWait(deps.settings.replicationPollMs, { ...input.state, waitingForSp: true }, `application ${app.appId} found, its servicePrincipal not visible yet`);
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
    ...(sorted.length > 1 ? { warning: `${sorted.length} applications named '${input.instance.displayName}' exist; adopted ${ids.applicationObjectId}` } : {}),
  });
  return ids;
}

/** True when the app may have been created although the call did not say so. */
function isAmbiguous(err: unknown): boolean {
  // Throttled means not processed: a 429/503 with Retry-After, or our own limiter refusing to send.
  if (errorClassOf(err) === 'throttled') return false;
  if (err instanceof GraphError) {
    if (err.errorClass === 'throttled') return false; // rejected before processing
    if (err.status === null) return true; // timeout / network: we cannot know
    if (err.status === 404 || err.status >= 500) return true;
    return false;
  }
  return true; // unknown failure between intent and answer
}

/**
 * The POST, and — if Graph is slow to answer — a look for the app it may already have created.
 * A hung instantiate would otherwise hold the instance for the whole request timeout and then
 * the reconcile; Graph usually created the app at once. When the query finds it, the request is
 * abandoned and the app adopted: the intent marker was recorded before the POST and no app of
 * that name and template existed then, so the app found is the one this POST created.
 */
async function instantiateWhileLooking(
  deps: StepDeps,
  templateId: string,
  displayName: string,
  sendWithinMs: number,
): Promise<{ created: Awaited<ReturnType<StepDeps['graph']['instantiateApplication']>>; found?: undefined } | { found: Application[]; created?: undefined }> {
  const abort = new AbortController();
  let settled = false;
  let markSent: () => void = () => {};
  const sent = new Promise<void>((r) => (markSent = r));
  const post = deps.graph.instantiateApplication(templateId, displayName, { signal: abort.signal, onSent: () => markSent(), sendWithinMs }).finally(() => {
    settled = true;
  });
  const outcome = post.then(
    (created) => ({ created }),
    (err: unknown) => ({ err }),
  );
  let timer: NodeJS.Timeout | undefined;
  const pause = (ms: number) =>
    Promise.race([
      new Promise<void>((r) => {
        timer = setTimeout(r, ms);
      }),
      outcome.then(() => undefined),
    ]).finally(() => clearTimeout(timer));
  const look = (async (): Promise<Application[] | null> => {
    // Slow is counted from when the POST went on the wire, not while our own limiter held it.
    await Promise.race([sent, outcome]);
    if (settled) return null;
    await pause(deps.settings.slowInstantiateMs ?? 2 * deps.settings.replicationPollMs);
    while (!settled) {
      const apps = await deps.graph.findApplications({ displayName, applicationTemplateId: templateId }).catch(() => [] as Application[]);
      if (apps.length > 0 && !settled) return apps;
      await pause(deps.settings.replicationPollMs);
    }
    return null;
  })();
  const first = await Promise.race([outcome.then((o) => ({ post: o })), look.then((apps) => ({ apps }))]);
  if ('apps' in first && first.apps) {
    abort.abort(new Error('the app was found while its instantiate was still unanswered'));
    deps.logger.info({ displayName }, 'instantiate unanswered, but the app exists: adopting it and abandoning the request');
    return { found: first.apps };
  }
  const o = 'post' in first ? first.post : await outcome;
  await look; // ends as soon as the POST has settled
  if ('err' in o) throw o.err;
  return { created: o.created };
}

export async function instantiateApp(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { instance } = input;
  const templateId = need(input.prev, 'templateId');
  const recorded = await deps.store.get(instance, [INTENT_FIELD, 'applicationObjectId', 'appId', 'servicePrincipalId', 'createdAt', 'adopted']);
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
  const intent = parseIntent(recorded[INTENT_FIELD] ?? null);

  const existing = await deps.graph.findApplications({ displayName: instance.displayName, applicationTemplateId: templateId });
  if (existing.length > 0) return adopt(deps, input, existing, intent ? 'recovered' : 'existing');

  if (intent) {
    const age = deps.now() - intent.at;
    const left = reconcileDeadline(deps.settings, intent.at, intent.answeredAt) - deps.now();
    if (left > 0) {
      // An earlier POST may have created the app (or still be in flight); replication hides it for a while. Look again later.
      throw new StepWait(
        Math.min(deps.settings.replicationPollMs, left),
        { ...input.state, reconciling: true },
        `reconciling an earlier instantiate of '${instance.displayName}' (${Math.round(age / 1000)} s ago)`,
      );
    }
    deps.logger.warn({ instanceKey: instance.instanceKey, intentAgeMs: age }, 'earlier instantiate left no application after the reconcile window; creating it again');
  }

  const intentAt = deps.now();
  const token = `${intentAt}-${Math.random().toString(36).slice(2, 10)}`;
  const mine = `${token}@${intentAt}`;
  if (intent) await deps.store.del(instance, [INTENT_FIELD]);
  const stored = await deps.store.setIfAbsent(instance, INTENT_FIELD, mine);
  if (stored !== mine) {
    // Another worker is instantiating this very instance (a stalled job re-run): let it finish.
    throw new StepWait(deps.settings.replicationPollMs, input.state, 'another attempt holds the instantiate intent');
  }

  let created;
  try {
    // Sent within the send window of the intent, or not at all: see reconcileUntilAge.
    const raced = await instantiateWhileLooking(deps, templateId, instance.displayName, sendWindowLeft(deps, intentAt));
    if (raced.found) return adopt(deps, { ...input, state: { ...input.state, reconciling: true } }, raced.found, 'recovered');
    created = raced.created;
  } catch (err) {
    if (isAmbiguous(err)) {
      // Answered (a 404 or 5xx): the request is over; only replication can hide the app now.
      if (err instanceof GraphError && err.status !== null) await deps.store.set(instance, { [INTENT_FIELD]: `${mine}@${deps.now()}` });
      throw new StepWait(deps.settings.replicationPollMs, { ...input.state, reconciling: true }, `instantiate outcome unknown (${(err as Error).message}); reconciling by query`);
    }
    await deps.store.del(instance, [INTENT_FIELD]);
    if (err instanceof GraphError && err.errorClass === 'permanent') {
      throw new PermanentError(`Graph refused to create '${instance.displayName}' from template ${templateId}: ${err.message}`);
    }
    throw err;
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
