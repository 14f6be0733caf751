/**
 * Attribute-mapping expressions (`Join(" ", [givenName], [surname])`) parsed into Graph's
 * attributeMappingSource tree, with every function checked against `…/schema/functions`.
 * Grammar: `Fn(arg, …)` | `[attribute]` | `"constant"` (a `\"` inside a constant is a quote).
 */
import type { AttributeMappingSource, MappingFunction } from '../graph/onboarding-schemas.ts';

export type Parsed = { ok: true; source: AttributeMappingSource } | { ok: false; problem: string };

export function attributeSource(name: string): AttributeMappingSource {
  return { expression: `[${name}]`, name, type: 'Attribute', parameters: [] };
}

export function constantSource(value: string): AttributeMappingSource {
  return { expression: `"${value.replace(/"/g, '\\"')}"`, name: value, type: 'Constant', parameters: [] };
}

/** Parses `text`; function names are matched case-insensitively and written as Graph spells them. */
export function parseExpression(text: string, functions: readonly MappingFunction[]): Parsed {
  const byName = new Map(functions.map((f) => [f.name.toLowerCase(), f]));
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const fail = (why: string): never => {
    throw new Error(`${why} at character ${i + 1} of the expression`);
  };
  const node = (): AttributeMappingSource => {
    ws();
    const start = i;
    if (text[i] === '[') {
      const end = text.indexOf(']', i);
      if (end < 0) fail('an attribute "[" is not closed');
      i = end + 1;
      return attributeSource(text.slice(start + 1, end));
    }
    if (text[i] === '"') {
      let value = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && text[i + 1] === '"') i++;
        value += text[i++];
      }
      if (text[i] !== '"') fail('a constant is not closed with "');
      i++;
      return constantSource(value);
    }
    const m = /^[A-Za-z][A-Za-z0-9]*/.exec(text.slice(i));
    if (!m) fail('expected a function, an [attribute] or a "constant"');
    i += m![0].length;
    ws();
    if (text[i] !== '(') fail(`'${m![0]}' must be followed by "("`);
    i++;
    const fn = byName.get(m![0].toLowerCase());
    if (!fn) throw new Error(`'${m![0]}' is not a function this app's schema supports (see …/schema/functions)`);
    const args: AttributeMappingSource[] = [];
    ws();
    if (text[i] === ')') i++;
    else
      for (;;) {
        args.push(node());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ')') {
          i++;
          break;
        } else fail('expected "," or ")"');
      }
    const defs = fn.parameters ?? [];
    const last = defs[defs.length - 1];
    const parameters = args.map((value, k) => ({
      key: defs[k]?.name ?? (last?.allowMultipleOccurrences ? last.name : `parameter${k + 1}`),
      value,
    }));
    return { expression: text.slice(start, i).trim(), name: fn.name, type: 'Function', parameters };
  };
  try {
    const source = node();
    ws();
    if (i < text.length) fail('unexpected text after the expression');
    return { ok: true, source: { ...source, expression: text.trim() } };
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
}
