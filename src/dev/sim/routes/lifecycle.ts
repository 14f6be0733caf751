/**
 * Removing what onboarding created: `DELETE /applications/{id}` moves the application to deleted
 * items and its service principal with it (their synchronization jobs are deleted; their
 * provisioning logs stay, as audit records); `DELETE /servicePrincipals/{id}` does the same for
 * a service principal alone. Both answer 204, then 404.
 */
import type { SimSp } from '../directory.ts';
import { sendGraph, sendNotFound, type SimContext } from '../http.ts';
import type { SimState } from '../state.ts';

/** Soft-delete a service principal: its jobs are deleted, its secrets dropped. */
function softDeleteSp(st: SimState, sp: SimSp, now: number): void {
  for (const job of [...st.jobs.values()]) if (job.spId === sp.id) st.deleteJob(job, now);
  st.secrets.delete(sp.id);
  st.sps.delete(sp.id);
  st.deleted.add('servicePrincipal', sp, st.clock.now(now));
}

/** Handles DELETE on an application or service principal; false when the request is not one. */
export function handleLifecycle(st: SimState, ctx: SimContext, seg: string[], now: number): boolean {
  if (ctx.method !== 'DELETE' || seg.length !== 2) return false;
  if (seg[0] === 'applications') {
    const app = st.apps.get(seg[1]!);
    if (!app || app.visibleAt > now) {
      sendNotFound(ctx, seg[1]!);
      return true;
    }
    for (const sp of [...st.sps.values()]) if (sp.appId === app.appId) softDeleteSp(st, sp, now);
    st.apps.delete(app.id);
    st.deleted.add('application', app, st.clock.now(now));
    sendGraph(ctx, 204);
    return true;
  }
  if (seg[0] === 'servicePrincipals') {
    const sp = st.sps.get(seg[1]!);
    if (!sp || sp.visibleAt > now) sendNotFound(ctx, seg[1]!);
    else {
      softDeleteSp(st, sp, now);
      sendGraph(ctx, 204);
    }
    return true;
  }
  return false;
}
