/**
 * Shared by the list routes: paging with signed continuation tokens, `$top`, `$filter`,
 * `$orderby` and `$select`, each answering Graph's 400 itself when the query is bad.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { sendGraphError, type SimContext } from '../http.ts';
import { compileFilter, FilterError, type FilterDialect } from '../odata-filter.ts';

/** Signs continuation tokens: a token is opaque to callers and cannot be forged or edited. */
const TOKEN_KEY = randomBytes(32);

function sign(payload: unknown): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${createHmac('sha256', TOKEN_KEY).update(body).digest('base64url').slice(0, 22)}`;
}

function unsign(token: string): unknown {
  const [body, mac] = token.split('.');
  if (!body || !mac) return undefined;
  if (createHmac('sha256', TOKEN_KEY).update(body).digest('base64url').slice(0, 22) !== mac) return undefined;
  try {
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** `$top` as given: a whole number ≥ 1 (capped at `max`), the default when absent, null (400 sent) when bad. */
function topOf(ctx: SimContext, dflt: number, max: number): number | null {
  const raw = ctx.url.searchParams.get('$top');
  if (raw === null) return dflt;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) {
    const why = `Invalid value '${raw}' for $top: a whole number of at least 1 is required.`;
    sendGraphError(ctx, 400, 'BadRequest', why);
    return null;
  }
  return Math.min(Number(raw), max);
}

/**
 * One page of `items` (already filtered and in their final order). The continuation names the
 * last item sent (`keyOf`), not an offset: entries arriving between pages never shift a page.
 * The token is bound to the query's $filter and $orderby; a bad one is a 400.
 */
export function page<T>(
  ctx: SimContext,
  items: T[],
  pageSize: number,
  maxTop: number,
  context: string,
  keyOf: (t: T) => string,
  /** Order of keys in `items` (to resume after a key that has gone); none: such a token ends the list. */
  cmp?: (a: string, b: string) => number,
): Record<string, unknown> | null {
  const top = topOf(ctx, pageSize, maxTop);
  if (top === null) return null;
  const query = `${ctx.url.searchParams.get('$filter') ?? ''}|${ctx.url.searchParams.get('$orderby') ?? ''}`;
  const token = ctx.url.searchParams.get('$skiptoken');
  let start = 0;
  if (token !== null) {
    const t = unsign(token) as { after?: unknown; q?: unknown } | undefined;
    if (!t || typeof t.after !== 'string' || t.q !== query) {
      const why = 'Invalid $skiptoken: follow @odata.nextLink as returned, with the same query.';
      sendGraphError(ctx, 400, 'BadRequest', why);
      return null;
    }
    const i = items.findIndex((x) => keyOf(x) === t.after);
    // The last item sent has gone (retention, a delete): resume after where it sorted.
    const after = t.after;
    start = i >= 0 ? i + 1 : cmp ? items.findIndex((x) => cmp(keyOf(x), after) > 0) : -1;
    if (start < 0) start = items.length;
  }
  const slice = items.slice(start, start + top);
  const odataContext = `${ctx.url.origin}/${ctx.apiVersion}/$metadata#${context}`;
  const body: Record<string, unknown> = { '@odata.context': odataContext, value: slice };
  if (start + top < items.length && slice.length) {
    const next = new URL(ctx.url.toString());
    next.searchParams.set('$top', String(top));
    next.searchParams.set('$skiptoken', sign({ after: keyOf(slice[slice.length - 1]!), q: query }));
    body['@odata.nextLink'] = next.toString();
  }
  return body;
}

/**
 * `$orderby` (a property, asc|desc) and `$select` (properties kept; `id` always) on a list.
 * Returns null after answering 400 for an unknown property.
 */
export function selectAndOrder(
  ctx: SimContext,
  items: object[],
  type = 'microsoft.graph.applicationTemplate',
): object[] | null {
  const known = new Set(items.length ? Object.keys(items[0]!) : []);
  let out = items;
  const order = ctx.url.searchParams.get('$orderby');
  if (order !== null) {
    const m = /^(\w+)(?:\s+(asc|desc))?$/.exec(order.trim());
    if (!m || (items.length && !known.has(m[1]!))) {
      sendGraphError(ctx, 400, 'BadRequest', `Invalid $orderby '${order}'.`);
      return null;
    }
    const dir = m[2] === 'desc' ? -1 : 1;
    const k = m[1]!;
    out = [...out].sort((a, b) => {
      const x = String((a as Record<string, unknown>)[k] ?? '').toLowerCase();
      const y = String((b as Record<string, unknown>)[k] ?? '').toLowerCase();
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
  }
  const select = ctx.url.searchParams.get('$select');
  if (select !== null) {
    const fields = select
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
    const unknown = fields.find((f) => items.length && !known.has(f));
    if (!fields.length || unknown !== undefined) {
      const why = `Could not find a property named '${unknown ?? ''}' on type '${type}'.`;
      sendGraphError(ctx, 400, 'BadRequest', why);
      return null;
    }
    out = out.map((o) => Object.fromEntries(Object.entries(o).filter(([k]) => k === 'id' || fields.includes(k))));
  }
  return out;
}

export function filtered<T>(ctx: SimContext, items: T[], dialect: FilterDialect = 'directory'): T[] | null {
  try {
    return items.filter(compileFilter(ctx.url.searchParams.get('$filter'), dialect));
  } catch (e) {
    if (e instanceof FilterError) {
      sendGraphError(ctx, 400, 'BadRequest', `Invalid filter clause: ${e.message}`);
      return null;
    }
    throw e;
  }
}
