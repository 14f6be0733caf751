/**
 * OData query building for Graph. Two separate escapings happen, in this order:
 *  1. OData: a string literal is wrapped in `'…'` and an embedded `'` is doubled
 *     (`O'Brien's AWS` → `'O''Brien''s AWS'`), so a display name cannot end the literal.
 *  2. URL: the whole query value is percent-encoded (encodeURIComponent), so `&`, `#`, `+`,
 *     spaces and non-ASCII survive the trip.
 * Doing only one of them is the classic bug: names with quotes then break `$filter`.
 */
import { PermanentError } from './errors.ts';

/** An OData string literal: `'…'` with `'` doubled. */
export function odataString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** `field eq 'value'`. */
export function eq(field: string, value: string): string {
  return `${checkField(field)} eq ${odataString(value)}`;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * `field gt 2024-01-01T00:00:00Z` (DateTimeOffset literals are unquoted in OData v4). The value
 * is checked, not escaped: anything other than an ISO-8601 timestamp is refused.
 */
export function gtDateTime(field: string, isoDateTime: string): string {
  if (!ISO_DATE_TIME.test(isoDateTime)) {
    throw new PermanentError(`not an ISO-8601 date-time for $filter on ${field}: ${JSON.stringify(isoDateTime)}`);
  }
  return `${checkField(field)} gt ${isoDateTime}`;
}

/** Joins clauses with `and`, dropping empty ones. */
export function and(...clauses: Array<string | null | undefined | false>): string {
  return clauses.filter((c): c is string => typeof c === 'string' && c.length > 0).join(' and ');
}

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*(?:\/[A-Za-z_][A-Za-z0-9_]*)*$/;

// Field names come from our code, never from input; this catches a programming slip early.
function checkField(field: string): string {
  if (!FIELD.test(field)) throw new Error(`invalid OData field name: ${field}`);
  return field;
}

/** Query parameters; undefined/null values are left out. Keys like `$filter` are kept literal. */
export type QueryParams = Record<string, string | number | boolean | null | undefined>;

/** `?$filter=…&$top=…` (empty string when nothing is set), every value percent-encoded. */
export function buildQuery(params: QueryParams): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    parts.push(`${key}=${encode(String(value))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** A path segment (an id), percent-encoded so an odd id cannot change the route. */
export function segment(id: string): string {
  if (id.length === 0) throw new PermanentError('empty id in a Graph path');
  return encode(id);
}

function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    // Only lone UTF-16 surrogates make encodeURIComponent throw: that is bad input, not a retry.
    throw new PermanentError(`value is not valid Unicode text (lone surrogate): ${JSON.stringify(value)}`);
  }
}
