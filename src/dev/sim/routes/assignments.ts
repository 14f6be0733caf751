/**
 * `…/servicePrincipals/{id}/appRoleAssignedTo`: POST (Graph's refusals: an unknown principal, a
 * role the service principal does not offer, a duplicate, a group needing a privileged role),
 * GET (with `$filter`), DELETE `…/{assignmentId}`.
 */
import { createHash } from 'node:crypto';
import type { SimContext } from '../http.ts';
import { iso, sendGraph, sendGraphError, sendNotFound } from '../http.ts';
import { compileFilter, FilterError } from '../odata-filter.ts';
import type { SimAssignment } from '../onboarding-state.ts';
import { seedGroup, seedUser } from '../seed-directory.ts';
import type { SimState } from '../state.ts';
import { appRolesOf, DEFAULT_ACCESS_ROLE_ID, jobsBySp } from '../app-roles.ts';
import type { SimSp } from '../directory.ts';
import { spOr404 } from './lookup.ts';

const view = (a: SimAssignment, sp: SimSp) => ({
  id: a.id,
  deletedDateTime: null,
  appRoleId: a.appRoleId,
  createdDateTime: iso(a.createdAt),
  principalDisplayName: a.principalDisplayName,
  principalId: a.principalId,
  principalType: a.principalType,
  resourceDisplayName: sp.displayName,
  resourceId: a.resourceId,
});

/** Replication lag of a new assignment in list reads (the profile's range; none in `fast`). */
function lagMs(st: SimState): number {
  const { min, max } = st.settings().replicationLagMs;
  return max > 0 ? st.random.int(min, max) : 0;
}

/** The principal an assignment names: a seeded user or group, or a service principal. */
function principalOf(st: SimState, id: string, now: number) {
  const u = seedUser(id);
  if (u) return { type: 'User' as const, displayName: u.displayName, roleAssignable: false };
  const g = seedGroup(id);
  if (g) return { type: 'Group' as const, displayName: g.displayName, roleAssignable: g.isAssignableToRole };
  const sp = st.sps.get(id);
  if (sp && sp.visibleAt <= now)
    return { type: 'ServicePrincipal' as const, displayName: sp.displayName, roleAssignable: false };
  return null;
}

/** Handles `/servicePrincipals/{id}/appRoleAssignedTo[/{assignmentId}]`; false: not one. */
export function handleAssignmentRoutes(st: SimState, ctx: SimContext): boolean {
  const seg = ctx.path.split('/').filter(Boolean).map(decodeURIComponent);
  if (seg[0] !== 'servicePrincipals' || seg[2] !== 'appRoleAssignedTo' || seg.length > 4) return false;
  const { method } = ctx;
  const now = Date.now();
  if (seg.length === 4 && method !== 'DELETE') return false;
  if (seg.length === 3 && method !== 'GET' && method !== 'POST') return false;
  const sp = spOr404(st, ctx, seg[1]!, now, method !== 'GET');
  if (!sp) return true;
  const list = st.onboarding.assignmentsOf(sp.id);
  const context = `${ctx.url.origin}/${ctx.apiVersion}/$metadata#servicePrincipals('${sp.id}')/appRoleAssignedTo`;
  if (method === 'GET') {
    try {
      // Recent assignments may be missing from the list for a while (replication), never from the duplicate check.
      const value = list
        .filter((a) => a.visibleAt <= now)
        .map((a) => view(a, sp))
        .filter(compileFilter(ctx.url.searchParams.get('$filter'), 'directory'));
      sendGraph(ctx, 200, { '@odata.context': context, value });
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      sendGraphError(ctx, 400, 'BadRequest', `Invalid filter clause: ${e.message}`);
    }
    return true;
  }
  if (method === 'DELETE') {
    const i = list.findIndex((a) => a.id === seg[3]);
    if (i < 0) sendNotFound(ctx, seg[3]!);
    else {
      list.splice(i, 1);
      sendGraph(ctx, 204);
    }
    return true;
  }
  const body = (ctx.body ?? {}) as Record<string, unknown>;
  for (const field of ['principalId', 'resourceId', 'appRoleId']) {
    if (typeof body[field] !== 'string' || !body[field]) {
      const why = `Invalid value specified for property '${field}' of resource 'AppRoleAssignment'.`;
      sendGraphError(ctx, 400, 'Request_BadRequest', why);
      return true;
    }
  }
  const [principalId, resourceId, appRoleId] = [body.principalId, body.resourceId, body.appRoleId] as string[] as [
    string,
    string,
    string,
  ];
  if (resourceId !== sp.id) {
    const why = `The resourceId '${resourceId}' does not match the service principal in the request URI.`;
    sendGraphError(ctx, 400, 'Request_BadRequest', why);
    return true;
  }
  const principal = principalOf(st, principalId, now);
  if (!principal) {
    sendNotFound(ctx, principalId);
    return true;
  }
  const roles = appRolesOf(sp, jobsBySp(st.logJobs.values()).get(sp.id) ?? [], st.settings(), now);
  if (appRoleId !== DEFAULT_ACCESS_ROLE_ID && !roles.some((r) => r.id === appRoleId && r.isEnabled)) {
    sendGraphError(ctx, 400, 'Request_BadRequest', 'Permission being assigned was not found on application.');
    return true;
  }
  if (principal.roleAssignable || st.settings().refusedAssignmentPrincipals.includes(principalId)) {
    sendGraphError(ctx, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    return true;
  }
  if (list.some((a) => a.principalId === principalId && a.appRoleId === appRoleId)) {
    st.stats.appRoleAssignmentsRefused++;
    sendGraphError(ctx, 400, 'Request_BadRequest', 'Permission being assigned already exists on the object.');
    return true;
  }
  // Graph's assignment ids are 43 base64url characters.
  const id = createHash('sha256')
    .update(`${sp.id}|${principalId}|${appRoleId}|${now}|${list.length}`)
    .digest('base64url');
  const a: SimAssignment = {
    id,
    resourceId,
    principalId,
    principalType: principal.type,
    principalDisplayName: principal.displayName,
    appRoleId,
    createdAt: now,
    visibleAt: now + lagMs(st),
  };
  list.push(a);
  st.stats.appRoleAssignments++;
  sendGraph(ctx, 201, { '@odata.context': `${context}/$entity`, ...view(a, sp) });
  return true;
}
