/**
 * What `JSON.parse` accepts silently but a batch file must not have: nesting deep enough to
 * overflow the stack of later recursive code (V8 parses a million levels), duplicate keys (the
 * last one wins, so a second `instances` drops the first list) and inline strings too long to
 * be a value. One iterative pass over text that `JSON.parse` already accepted.
 */
import type { PathSegment } from './problem-path.ts';
import type { RawProblem } from './zod-problems.ts';

/** Deeper nesting than this is refused (a batch file is five levels deep). */
export const MAX_JSON_DEPTH = 64;

/** Longest string value written in a batch file (credential values included), in UTF-16 units. */
export const MAX_INLINE_VALUE_CHARS = 64 * 1024;

/** A key written twice in one object: its path and the lines of both (1-based). */
export interface DuplicateKey {
  path: PathSegment[];
  firstLine: number;
  line: number;
}

/** A string value longer than MAX_INLINE_VALUE_CHARS. */
export interface LongString {
  path: PathSegment[];
  length: number;
}

export interface JsonStructure {
  /** Offset of the first bracket past MAX_JSON_DEPTH; the scan stops there. */
  tooDeepAt: number | null;
  duplicates: DuplicateKey[];
  longStrings: LongString[];
}

type Frame = { object: true; keys: Map<string, number>; key: string | null } | { object: false; index: number };

/** Scans valid JSON `text` for excessive depth, duplicate keys and over-long strings. */
export function scanJsonStructure(text: string): JsonStructure {
  const out: JsonStructure = { tooDeepAt: null, duplicates: [], longStrings: [] };
  const stack: Frame[] = [];
  // Each object frame's `key` is the key being read, so this is the path of the current value.
  const pathTo = (): PathSegment[] => stack.map((f) => (f.object ? (f.key ?? '') : f.index));
  // In an object, a string is a key when the last significant character was '{' or ','.
  let expectKey = false;
  // Raw line breaks only occur between tokens in valid JSON, so counting them here is exact.
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (top?.object && expectKey) {
        const key = decode(text, i, end);
        top.key = key;
        const first = top.keys.get(key);
        if (first !== undefined) out.duplicates.push({ path: pathTo(), firstLine: first, line });
        else top.keys.set(key, line);
        expectKey = false;
      } else if (end - i - 1 > MAX_INLINE_VALUE_CHARS) {
        const length = decode(text, i, end).length;
        if (length > MAX_INLINE_VALUE_CHARS) out.longStrings.push({ path: pathTo(), length });
      }
      i = end + 1;
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= MAX_JSON_DEPTH) {
        out.tooDeepAt = i;
        return out;
      }
      stack.push(c === 0x7b ? { object: true, keys: new Map(), key: null } : { object: false, index: 0 });
      expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x0a) {
      line++;
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.object) expectKey = true;
      else if (top) top.index++;
    }
    i++;
  }
  return out;
}

/** Index of the closing quote of the string opening at `start` (the text is valid JSON). */
function stringEnd(text: string, start: number): number {
  let j = start + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) return text.length;
    let backslashes = 0;
    for (let k = q - 1; text.charCodeAt(k) === 0x5c; k--) backslashes++;
    if (backslashes % 2 === 0) return q;
    j = q + 1;
  }
}

function decode(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end);
  return raw.includes('\\') ? (JSON.parse(text.slice(start, end + 1)) as string) : raw;
}

/** Duplicate keys and over-long strings as problems at their paths. */
export function structureProblems(structure: JsonStructure): RawProblem[] {
  const problems: RawProblem[] = [];
  for (const d of structure.duplicates) {
    problems.push({
      path: d.path,
      message:
        `is written twice in the same object (lines ${d.firstLine} and ${d.line}); ` +
        'JSON keeps only the last one, silently dropping the first: keep one',
    });
  }
  for (const l of structure.longStrings) {
    problems.push({
      path: l.path,
      message:
        `is ${l.length} characters long; values written in a batch file are limited to ` +
        `${MAX_INLINE_VALUE_CHARS}: put a longer credential in a file and write {"file": "./path"}`,
    });
  }
  return problems;
}
