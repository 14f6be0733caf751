/**
 * Reads Microsoft's examples as published: lenient JSON (trailing commas, unquoted keys) and,
 * for examples Microsoft cut short ("truncated": true), the closing brackets they lack.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLenientJson } from '../../src/dev/sim/lenient-json.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Directory of the verbatim examples. */
const EXAMPLES_DIR = path.resolve(here, '../fixtures/graph-examples');

/** The raw text of an example file. */
export function exampleText(name: string): string {
  return readFileSync(path.join(EXAMPLES_DIR, name), 'utf8');
}

/** The closers an unbalanced JSON-ish text needs (`]`/`}` for every bracket left open). */
function missingClosers(text: string): string {
  const stack: string[] = [];
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '{') stack.push('}');
    else if (c === '[') stack.push(']');
    else if (c === '}' || c === ']') stack.pop();
  }
  return stack.reverse().join('');
}

/** Parse an example as published, closing a truncated one. */
export function parseExample(name: string): unknown {
  const text = exampleText(name).trim();
  return parseLenientJson(text + missingClosers(text));
}
