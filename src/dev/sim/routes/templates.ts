/**
 * `/applicationTemplates`: the gallery catalogue (list, one) and `instantiate`, which creates an
 * application and its service principal — or, seeded, fails ambiguously (hang, 404, 500, 504).
 */
import { sendGraph, sendGraphError, type SimContext } from '../http.ts';
import { CATALOGUE, catalogueEntry } from '../catalogue.ts';
import type { SimState } from '../state.ts';
import { appRolesOf } from '../app-roles.ts';
import { filtered, page, selectAndOrder } from './paging.ts';
import { appView, betaAppView, betaSpView, spView } from './views.ts';

/** Handles `/applicationTemplates[/{id}[/instantiate]]`; false when the request is not one. */
export async function handleTemplateRoutes(
  st: SimState,
  ctx: SimContext,
  seg: string[],
  now: number,
): Promise<boolean> {
  if (seg[0] !== 'applicationTemplates') return false;
  const { method } = ctx;
  const s = st.settings();
  if (seg.length === 1 && method === 'GET') {
    const items = filtered(
      ctx,
      CATALOGUE.map((c) => c.template),
    );
    const shaped = items && selectAndOrder(ctx, items);
    if (!shaped) return true;
    const idOf = (t: object) => String((t as { id?: unknown }).id);
    const body = page(ctx, shaped, s.listPageSize, 999, 'applicationTemplates', idOf);
    if (body) sendGraph(ctx, 200, body);
    return true;
  }
  const entry = catalogueEntry(seg[1]);
  if (seg.length === 2 && method === 'GET') {
    if (!entry) sendGraphError(ctx, 404, 'ResourceNotFound', `Application template ${seg[1]} not found.`);
    else {
      const odataContext = `${ctx.url.origin}/${ctx.apiVersion}/$metadata#applicationTemplates/$entity`;
      sendGraph(ctx, 200, { '@odata.context': odataContext, ...entry.template });
    }
    return true;
  }
  if (seg.length === 3 && seg[2] === 'instantiate' && method === 'POST') {
    if (!entry) {
      sendGraphError(ctx, 404, 'ResourceNotFound', `Application template ${seg[1]} not found.`);
      return true;
    }
    const displayName = (ctx.body as { displayName?: unknown } | undefined)?.displayName;
    if (typeof displayName !== 'string' || !displayName.trim()) {
      sendGraphError(
        ctx,
        400,
        'Request_BadRequest',
        "Invalid value specified for property 'displayName' of resource 'Application'.",
      );
      return true;
    }
    const { app, sp } = st.createApp(entry.template.id, displayName, now);
    const fault = st.ambiguousInstantiate(displayName);
    if (fault) {
      st.stats.faultsInjected[`instantiate-${fault}`] = (st.stats.faultsInjected[`instantiate-${fault}`] ?? 0) + 1;
      if (fault === 'hang') {
        await st.sleep(s.instantiateHangMs);
        sendGraphError(ctx, 504, 'GatewayTimeout', 'The operation timed out.');
      } else if (fault === '404')
        sendGraphError(
          ctx,
          404,
          'Request_ResourceNotFound',
          `Resource '${seg[1]}' does not exist or one of its queried reference-property objects are not present.`,
        );
      else if (fault === '500') sendGraphError(ctx, 500, 'InternalServerError', 'An internal server error occurred.');
      else sendGraphError(ctx, 504, 'GatewayTimeout', 'The operation timed out.');
      return true;
    }
    // Each version's shape: v1.0 returns `id`, beta `objectId` and the older AAD Graph-style keys.
    const context = `${ctx.url.origin}/${ctx.apiVersion}/$metadata#microsoft.graph.applicationServicePrincipal`;
    if (ctx.apiVersion === 'v1.0') {
      const servicePrincipal = spView(sp, appRolesOf(sp, [], s, now));
      sendGraph(ctx, 201, { '@odata.context': context, application: appView(app), servicePrincipal });
      return true;
    }
    const servicePrincipal = betaSpView(sp, st.tenantId);
    sendGraph(ctx, 201, { '@odata.context': context, application: betaAppView(app), servicePrincipal });
    return true;
  }
  return false;
}
