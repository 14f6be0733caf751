/**
 * `provflow plan`'s check of the synchronization (provisioning) template each instance will use,
 * with the same rule as step 4 (create-sync-job): the batch's `synchronizationTemplateId` must
 * be one the app offers; without one, the app's default (or its only) template is used.
 *
 * Only an app that exists can be asked (`GET /servicePrincipals/{id}/synchronization/templates`):
 * Graph has no read of a gallery template's synchronization templates before it is instantiated,
 * so for an app still to be created the check is left to run time.
 */
import type { GraphApi } from '../graph/graph-api.ts';
import { objectIdOf, type Application } from '../graph/schemas.ts';

/** Verdict for one instance: `ok` false makes the plan row an error. */
export interface SyncTemplateCheck {
  ok: boolean;
  detail: string;
}

/** For an instance whose app will be created. */
export function syncTemplateAtRunTime(wanted: string | null): SyncTemplateCheck {
  const which = wanted ? `'${wanted}'` : '(the default)';
  return { ok: true, detail: `synchronization template ${which} checked at run time` };
}

/** A plan row with the check's verdict: its detail appended, and an error when the check failed. */
export function withSyncTemplate<R extends { action: string; detail: string }>(row: R, sync: SyncTemplateCheck): R {
  return sync.ok
    ? { ...row, detail: `${row.detail}; ${sync.detail}` }
    : { ...row, action: 'error', detail: `${row.detail}: ${sync.detail}` };
}

/** For an instance adopting one of `apps` (the one step 2 adopts): its service principal's templates. */
export async function checkExistingSyncTemplates(
  graph: GraphApi,
  apps: Application[],
  wanted: string | null,
): Promise<SyncTemplateCheck> {
  const app = [...apps].sort((a, b) => objectIdOf(a).localeCompare(objectIdOf(b)))[0];
  const sp = app ? (await graph.findServicePrincipalsByAppId(app.appId))[0] : undefined;
  if (!sp) return { ok: true, detail: 'no service principal yet; synchronization template checked at run time' };
  const templates = await graph.listSynchronizationTemplates(objectIdOf(sp));
  const list = templates.map((t) => `'${t.id}'${t.default ? ' (default)' : ''}`).join(', ');
  const offered = templates.length ? `it offers ${list}` : 'it offers none';
  if (wanted) {
    return templates.some((t) => t.id === wanted)
      ? { ok: true, detail: `synchronization template '${wanted}'` }
      : { ok: false, detail: `synchronizationTemplateId '${wanted}' is not offered by this app (${offered})` };
  }
  const pick = templates.find((t) => t.default) ?? (templates.length === 1 ? templates[0] : undefined);
  if (pick) return { ok: true, detail: `synchronization template '${pick.id}'` };
  return {
    ok: false,
    detail: templates.length
      ? `the app offers ${templates.length} synchronization templates (${list}), none the default: ` +
        'set synchronizationTemplateId'
      : 'the app offers no synchronization template: it does not support automatic provisioning',
  };
}
