/**
 * `/directory/deletedItems`: list deleted applications or service principals (the OData cast is
 * required, as in Graph), get one by id, permanently delete it (204), or restore it (200, the
 * object). A restored service principal comes back without its synchronization jobs: deleting it
 * deleted them.
 */
import { iso, sendGraph, sendGraphError, sendNotFound, type SimContext } from '../http.ts';
import type { SimApp, SimSp } from '../directory.ts';
import type { DeletedObject } from '../deleted-items.ts';
import { filtered, page, selectAndOrder } from './paging.ts';
import { appView, spView } from './views.ts';
import type { SimState } from '../state.ts';
import { appRolesOf } from '../app-roles.ts';

const CASTS: Record<string, 'application' | 'servicePrincipal'> = {
  'microsoft.graph.application': 'application',
  'microsoft.graph.serviceprincipal': 'servicePrincipal',
};

/** The deleted object as Graph shows a directoryObject: its type, its properties, `deletedDateTime`. */
function view(st: SimState, now: number, d: DeletedObject, deletedDateTime: string | null): Record<string, unknown> {
  // A deleted service principal shows the gallery's roles: its jobs (and the roles they imported) are gone.
  const sp = d.obj as SimSp;
  const body = d.kind === 'application' ? appView(d.obj as SimApp) : spView(sp, appRolesOf(sp, [], st.settings(), now));
  return { '@odata.type': `#microsoft.graph.${d.kind}`, ...body, deletedDateTime };
}

/** Handles `/directory/deletedItems…`; false when the request is not one. */
export function handleDeletedItems(st: SimState, ctx: SimContext, seg: string[], now: number): boolean {
  if (seg[0] !== 'directory' || seg[1]?.toLowerCase() !== 'deleteditems') return false;
  const simNow = st.clock.now(now);
  const base = `${ctx.url.origin}/${ctx.apiVersion}/$metadata`;
  const { method } = ctx;
  if (seg.length === 2) {
    const why =
      'The OData cast is required: /directory/deletedItems/microsoft.graph.application (or servicePrincipal).';
    sendGraphError(ctx, 400, 'Request_BadRequest', why);
    return true;
  }
  const kind = CASTS[seg[2]!.toLowerCase()];
  if (seg.length === 3 && kind && method === 'GET') {
    const all = st.deleted.list(kind, simNow).map((d) => view(st, now, d, iso(d.deletedDate)));
    const matched = filtered(ctx, all);
    // $select, $orderby (displayName, deletedDateTime) and $count=true, as Microsoft's examples use them.
    const items = matched && selectAndOrder(ctx, matched, `microsoft.graph.${kind}`);
    if (!items) return true;
    const select = ctx.url.searchParams.get('$select');
    const collection = kind === 'application' ? 'applications' : 'servicePrincipals';
    const context = `${base}#${collection}${select ? `(${select})` : ''}`;
    const count = ctx.url.searchParams.get('$count') === 'true' ? { '@odata.count': items.length } : {};
    const body = page(ctx, items as { id: string }[], st.settings().listPageSize, 999, '', (x) => x.id);
    if (body) sendGraph(ctx, 200, { ...body, '@odata.context': context, ...count });
    return true;
  }
  const id = seg[2]!;
  const item = st.deleted.get(id, simNow);
  if (seg.length === 3 && method === 'GET') {
    if (!item) sendNotFound(ctx, id);
    else
      sendGraph(ctx, 200, {
        '@odata.context': `${base}#directoryObjects/$entity`,
        ...view(st, now, item, iso(item.deletedDate)),
      });
    return true;
  }
  if (seg.length === 3 && method === 'DELETE') {
    if (!item) sendNotFound(ctx, id);
    else {
      st.deleted.purge(id);
      sendGraph(ctx, 204);
    }
    return true;
  }
  if (seg.length === 4 && seg[3] === 'restore' && method === 'POST') {
    if (!item) {
      sendNotFound(ctx, id);
      return true;
    }
    st.deleted.restore(id);
    if (item.kind === 'application') st.apps.set(id, item.obj as SimApp);
    else st.sps.set(id, item.obj as SimSp);
    sendGraph(ctx, 200, { '@odata.context': `${base}#directoryObjects/$entity`, ...view(st, now, item, null) });
    return true;
  }
  return false;
}
