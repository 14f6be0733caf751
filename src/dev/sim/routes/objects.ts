/** `GET /applications` and `GET /servicePrincipals`, as lists or one by id (hidden until replicated). */
import { sendGraph, sendNotFound, type SimContext } from '../http.ts';
import type { SimApp, SimSp } from '../directory.ts';
import type { SimState } from '../state.ts';
import { appRolesOf, jobsBySp } from '../app-roles.ts';
import { filtered, page } from './paging.ts';
import { appView, spView } from './views.ts';

/** Handles GET on the two collections and their members; false when the request is not one. */
export function handleObjectRoutes(st: SimState, ctx: SimContext, seg: string[], now: number): boolean {
  const { method } = ctx;
  if (!((seg[0] === 'applications' || seg[0] === 'servicePrincipals') && seg.length <= 2 && method === 'GET')) {
    return false;
  }
  const s = st.settings();
  const isApp = seg[0] === 'applications';
  if (seg.length === 1) {
    const all: unknown[] = isApp
      ? [...st.apps.values()].filter((a) => a.visibleAt <= now).map(appView)
      : ((bySp) =>
          [...st.sps.values()]
            .filter((x) => x.visibleAt <= now)
            .map((x) => spView(x, appRolesOf(x, bySp.get(x.id) ?? [], s, now))))(jobsBySp(st.logJobs.values()));
    const items = filtered(ctx, all);
    if (!items) return true;
    const body = page(ctx, items as { id: string }[], s.listPageSize, 999, seg[0], (x) => x.id);
    if (body) sendGraph(ctx, 200, body);
    return true;
  }
  const obj = isApp ? st.apps.get(seg[1]!) : st.sps.get(seg[1]!);
  if (!obj || obj.visibleAt > now) sendNotFound(ctx, seg[1]!);
  else {
    const odataContext = `${ctx.url.origin}/${ctx.apiVersion}/$metadata#${seg[0]}/$entity`;
    const roles = () => appRolesOf(obj as SimSp, jobsBySp(st.logJobs.values()).get(obj.id) ?? [], s, now);
    const view = isApp ? appView(obj as SimApp) : spView(obj as SimSp, roles());
    sendGraph(ctx, 200, { '@odata.context': odataContext, ...view });
  }
  return true;
}
