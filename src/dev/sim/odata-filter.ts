/**
 * A small OData `$filter` evaluator for what Graph supports on the resources provflow uses,
 * clauses joined with `and`. String literals escape `'` as `''`. Field paths use `/`.
 * Two dialects: directory objects (`eq`, `ne`, `gt|lt|ge|le`, `startswith`, `contains`,
 * `categories/any(c:c eq 'v')`; `eq` case-insensitive, as Entra does) and the reports API
 * (Microsoft's list page: `eq`, `contains`, `gt`, `lt`; case-sensitive; `gt`/`lt` on
 * unquoted DateTimeOffset values). Anything else is a FilterError (the route answers 400).
 */

type Predicate = (o: unknown) => boolean;

/** Thrown for filters Graph would refuse (the route answers 400 BadRequest). */
export class FilterError extends Error {}

export type FilterDialect = 'directory' | 'reports';

function get(o: unknown, path: string): unknown {
  let cur: unknown = o;
  for (const part of path.split('/')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Splits on a keyword (` and `, ` or `) outside string literals and parentheses. */
function splitOn(expr: string, word: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inStr = false;
  let start = 0;
  const w = ` ${word} `;
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
    else if (!inStr && depth === 0 && expr.slice(i, i + w.length).toLowerCase() === w) {
      parts.push(expr.slice(start, i));
      start = i + w.length;
      i += w.length - 1;
    }
  }
  if (inStr) throw new FilterError('unterminated string literal');
  if (depth !== 0) throw new FilterError('unbalanced parentheses');
  parts.push(expr.slice(start));
  return parts.map((p) => p.trim());
}

const STRING = /^'((?:[^']|'')*)'$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Literal =
  | { kind: 'string'; v: string }
  | { kind: 'date'; v: number; raw: string }
  | { kind: 'other'; v: number | boolean | null | string };

function literal(raw: string): Literal {
  const t = raw.trim();
  const str = STRING.exec(t);
  if (str) return { kind: 'string', v: str[1]!.replace(/''/g, "'") };
  if (t === 'null') return { kind: 'other', v: null };
  if (t === 'true' || t === 'false') return { kind: 'other', v: t === 'true' };
  if (/^-?\d+(\.\d+)?$/.test(t)) return { kind: 'other', v: Number(t) };
  if (DATE_TIME.test(t) && !Number.isNaN(Date.parse(t))) return { kind: 'date', v: Date.parse(t), raw: t };
  if (GUID.test(t)) return { kind: 'other', v: t };
  throw new FilterError(`invalid literal: ${t}`);
}

function clause(c: string, dialect: FilterDialect): Predicate {
  const reports = dialect === 'reports';
  const any = /^([\w/]+)\/any\(\s*(\w+)\s*:\s*(\w+)\s+eq\s+('(?:[^']|'')*')\s*\)$/i.exec(c);
  if (any && !reports) {
    const [, field, v1, v2, lit] = any;
    if (v1 !== v2) throw new FilterError(`lambda variable '${v2}' is not '${v1}'`);
    const want = (literal(lit!) as { v: string }).v.toLowerCase();
    return (o) => {
      const x = get(o, field!);
      return Array.isArray(x) && x.some((e) => typeof e === 'string' && e.toLowerCase() === want);
    };
  }
  const fn = /^(\w+)\(\s*([\w/]+)\s*,\s*(.+?)\s*\)$/.exec(c);
  if (fn) {
    const [, name, field, rawLit] = fn;
    const lit = literal(rawLit!);
    const allowed = reports ? ['contains'] : ['contains', 'startswith'];
    if (!allowed.includes(name!)) {
      throw new FilterError(`unsupported function '${name}' (supported: ${allowed.join(', ')})`);
    }
    if (lit.kind !== 'string') throw new FilterError(`${name} needs a string literal`);
    const want = reports ? lit.v : lit.v.toLowerCase();
    return (o) => {
      const x = get(o, field!);
      if (typeof x !== 'string') return false;
      const have = reports ? x : x.toLowerCase();
      return name === 'contains' ? have.includes(want) : have.startsWith(want);
    };
  }
  const m = /^([\w/]+)\s+(\w+)\s+(.+)$/.exec(c);
  if (!m) throw new FilterError(`invalid clause: ${c}`);
  const [, field, op, raw] = m;
  const ops = reports ? ['eq', 'gt', 'lt'] : ['eq', 'ne', 'gt', 'lt', 'ge', 'le'];
  if (!ops.includes(op!)) throw new FilterError(`unsupported operator '${op}' (supported: ${ops.join(', ')})`);
  const lit = literal(raw!);
  if (op === 'eq' || op === 'ne') {
    if (lit.kind === 'date') throw new FilterError(`${field} ${op}: use gt or lt with a DateTimeOffset`);
    const eq = (x: unknown) => {
      if (lit.kind === 'string') {
        return typeof x === 'string' && (reports ? x === lit.v : x.toLowerCase() === lit.v.toLowerCase());
      }
      return x === lit.v || (x === undefined && lit.v === null);
    };
    return op === 'eq' ? (o) => eq(get(o, field!)) : (o) => !eq(get(o, field!));
  }
  // Ordering: DateTimeOffset values are unquoted; the reports API compares nothing else.
  if (reports && lit.kind !== 'date') {
    throw new FilterError(`${field} ${op} needs an unquoted DateTimeOffset (e.g. 2024-01-01T00:00:00Z)`);
  }
  return (o) => {
    const x = get(o, field!);
    let d: number;
    if (lit.kind === 'date') {
      if (typeof x !== 'string') return false;
      d = Date.parse(x) - lit.v;
    } else if (typeof x === 'number' && typeof lit.v === 'number') d = x - lit.v;
    else if (typeof x === 'string' && typeof lit.v === 'string') d = x < lit.v ? -1 : x > lit.v ? 1 : 0;
    else return false;
    if (Number.isNaN(d)) return false;
    return op === 'gt' ? d > 0 : op === 'lt' ? d < 0 : op === 'ge' ? d >= 0 : d <= 0;
  };
}

/** Compiles a `$filter` in a dialect (see the file comment). */
export function compileFilter(expr: string | null, dialect: FilterDialect = 'directory'): Predicate {
  if (!expr || !expr.trim()) return () => true;
  if (splitOn(expr.trim(), 'or').length > 1) {
    throw new FilterError("'or' is not supported here: send one request per alternative");
  }
  const parts = splitOn(expr.trim(), 'and');
  if (parts.some((p) => !p)) throw new FilterError("empty clause around 'and'");
  const preds = parts.map((c) => clause(c, dialect));
  return (o) => preds.every((p) => p(o));
}
