/**
 * The seeded users and groups: `GET /users`, `/users/{id}`, `/groups` (`$filter` on displayName
 * and the other properties, as Entra filters directory objects), `/groups/{id}` and
 * `/groups/{id}/members`. Read-only: the simulator's people never change.
 */
import type { SimContext } from '../http.ts';
import { sendGraph, sendGraphError, sendNotFound } from '../http.ts';
import { compileFilter, FilterError } from '../odata-filter.ts';
import { SEED_GROUPS, SEED_USERS, groupView, seedGroup, seedUser, userView } from '../seed-directory.ts';

const TOP_MAX = 999;

/** Handles `/users…` and `/groups…` reads; false: not one of them. */
export function handleDirectoryObjectRoutes(ctx: SimContext): boolean {
  const seg = ctx.path.split('/').filter(Boolean).map(decodeURIComponent);
  if ((seg[0] !== 'users' && seg[0] !== 'groups') || ctx.method !== 'GET' || seg.length > 3) return false;
  const base = `${ctx.url.origin}/${ctx.apiVersion}/$metadata`;
  const isUser = seg[0] === 'users';
  if (seg.length === 1) {
    const all: object[] = isUser ? SEED_USERS.map(userView) : SEED_GROUPS.map(groupView);
    let items: object[];
    try {
      items = all.filter(compileFilter(ctx.url.searchParams.get('$filter'), 'directory'));
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      sendGraphError(ctx, 400, 'BadRequest', `Invalid filter clause: ${e.message}`);
      return true;
    }
    const top = Number(ctx.url.searchParams.get('$top') ?? TOP_MAX);
    if (!Number.isInteger(top) || top < 1) {
      sendGraphError(ctx, 400, 'BadRequest', `Invalid value '${ctx.url.searchParams.get('$top')}' for $top.`);
      return true;
    }
    sendGraph(ctx, 200, { '@odata.context': `${base}#${seg[0]}`, value: items.slice(0, Math.min(top, TOP_MAX)) });
    return true;
  }
  const id = seg[1]!;
  if (isUser) {
    const u = seedUser(id) ?? SEED_USERS.find((x) => x.userPrincipalName.toLowerCase() === id.toLowerCase());
    if (!u || seg.length > 2) {
      if (!u) sendNotFound(ctx, id);
      return !u;
    }
    sendGraph(ctx, 200, { '@odata.context': `${base}#users/$entity`, ...userView(u) });
    return true;
  }
  const g = seedGroup(id);
  if (!g) {
    sendNotFound(ctx, id);
    return true;
  }
  if (seg.length === 2) {
    sendGraph(ctx, 200, { '@odata.context': `${base}#groups/$entity`, ...groupView(g) });
    return true;
  }
  if (seg[2] !== 'members') return false;
  const members = g.members.map((m) => ({ '@odata.type': '#microsoft.graph.user', ...userView(seedUser(m)!) }));
  sendGraph(ctx, 200, { '@odata.context': `${base}#directoryObjects`, value: members });
  return true;
}
