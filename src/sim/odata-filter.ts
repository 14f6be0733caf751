/**
 * A small OData `$filter` evaluator for what Graph supports on the resources provflow uses:
 * `field eq 'v'`, `field eq v`, `contains(field,'v')`, `startswith(field,'v')`, `field gt|lt|ge|le v`,
 * joined with `and`. String literals escape `'` as `''`. Field paths use `/` (statusInfo/status).
 */

type Predicate = (o: unknown) => boolean;

/** Thrown for filters Graph would refuse (the route answers 400 BadRequest). */
export class FilterError extends Error {}

function get(o: unknown, path: string): unknown {
  let cur: unknown = o;
  for (const part of path.split('/')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Splits on ` and ` outside string literals and parentheses. */
function splitAnd(expr: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inStr = false;
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === "'") {
      if (inStr && expr[i + 1] === "'") {
        i++;
        continue;
      }
      inStr = !inStr;
    } else if (!inStr && c === '(') depth++;
    else if (!inStr && c === ')') depth--;
    else if (!inStr && depth === 0 && expr.slice(i, i + 5).toLowerCase() === ' and ') {
      parts.push(expr.slice(start, i));
      start = i + 5;
      i += 4;
    }
  }
  parts.push(expr.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

function literal(raw: string): string | number | boolean | null {
  const t = raw.trim();
  if (t.startsWith("'") && t.endsWith("'") && t.length >= 2) return t.slice(1, -1).replace(/''/g, "'");
  if (t === 'null') return null;
  if (t === 'true' || t === 'false') return t === 'true';
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (/^\d{4}-\d{2}-\d{2}T/.test(t)) return t; // unquoted DateTimeOffset
  if (/^[0-9a-f-]{36}$/i.test(t)) return t; // unquoted guid
  throw new FilterError(`Invalid filter literal: ${t}`);
}

function compare(a: unknown, b: string | number | boolean | null): number {
  if (typeof a === 'string' && typeof b === 'string') {
    const da = Date.parse(a);
    const db = Date.parse(b);
    if (!Number.isNaN(da) && !Number.isNaN(db) && /^\d{4}-/.test(a) && /^\d{4}-/.test(b)) return da - db;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return Number.NaN;
}

function clause(c: string, opts: { caseInsensitiveEq: boolean }): Predicate {
  const fn = /^(contains|startswith)\(\s*([\w/]+)\s*,\s*('(?:[^']|'')*')\s*\)$/i.exec(c);
  if (fn) {
    const [, name, field, lit] = fn;
    const v = String(literal(lit!)).toLowerCase();
    return (o) => {
      const x = get(o, field!);
      if (typeof x !== 'string') return false;
      return name!.toLowerCase() === 'contains' ? x.toLowerCase().includes(v) : x.toLowerCase().startsWith(v);
    };
  }
  const m = /^([\w/]+)\s+(eq|ne|gt|lt|ge|le)\s+(.+)$/i.exec(c);
  if (!m) throw new FilterError(`Invalid filter clause: ${c}`);
  const [, field, op, raw] = m;
  const v = literal(raw!);
  return (o) => {
    const x = get(o, field!);
    switch (op!.toLowerCase()) {
      case 'eq':
        if (opts.caseInsensitiveEq && typeof x === 'string' && typeof v === 'string') return x.toLowerCase() === v.toLowerCase();
        return x === v || (x === undefined && v === null);
      case 'ne':
        return x !== v;
      case 'gt':
        return compare(x, v) > 0;
      case 'lt':
        return compare(x, v) < 0;
      case 'ge':
        return compare(x, v) >= 0;
      default:
        return compare(x, v) <= 0;
    }
  };
}

/**
 * Compiles a `$filter`. Directory objects compare strings case-insensitively (as Entra does);
 * the reports API is case-sensitive (graph-api.md).
 */
export function compileFilter(expr: string | null, opts: { caseInsensitiveEq?: boolean } = {}): Predicate {
  if (!expr || !expr.trim()) return () => true;
  const preds = splitAnd(expr.trim()).map((c) => clause(c, { caseInsensitiveEq: opts.caseInsensitiveEq ?? true }));
  return (o) => preds.every((p) => p(o));
}
