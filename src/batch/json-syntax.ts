/**
 * Where a JSON document is broken, as line and column. V8's `JSON.parse` messages are no use
 * here: some carry no position, and "Unexpected token" quotes a slice of the input, which may
 * be a credential. So when `JSON.parse` fails, this small scanner walks the text by the JSON
 * grammar and reports the first offending place in its own words.
 */
import { type JsonStructure, MAX_JSON_DEPTH, scanJsonStructure } from './json-structure.ts';

/** The first syntax error: 1-based line and column (UTF-16 units) and a fix-it message. */
export interface JsonSyntaxError {
  line: number;
  column: number;
  message: string;
}

// Same bound as for valid JSON, so deep nesting gets one message whether or not the text parses.
const MAX_DEPTH = MAX_JSON_DEPTH;

class Stop extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Parses `text`, or returns where and why it is not JSON (or nested too deep to be a batch file). */
export function parseJson(
  text: string,
): { ok: true; value: unknown; structure: JsonStructure } | { ok: false; error: JsonSyntaxError } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: locateJsonSyntaxError(text) };
  }
  const structure = scanJsonStructure(text);
  if (structure.tooDeepAt !== null) return { ok: false, error: at(text, structure.tooDeepAt, tooDeep()) };
  return { ok: true, value, structure };
}

const tooDeep = () => `nesting deeper than ${MAX_DEPTH} levels; a batch file is only a few levels deep`;

/** Scans `text` (which `JSON.parse` rejected) for the first syntax error. */
export function locateJsonSyntaxError(text: string): JsonSyntaxError {
  try {
    new Scanner(text).document();
    // The scanner found nothing: fall back to the end of the text rather than guess.
    return at(text, text.length, 'is not valid JSON; check it with a JSON validator');
  } catch (e) {
    if (e instanceof Stop) return at(text, e.offset, e.reason);
    throw e;
  }
}

function at(text: string, offset: number, message: string): JsonSyntaxError {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1, message };
}

function show(ch: string | undefined): string {
  if (ch === undefined) return 'the end of the file';
  if (ch === "'") return 'a single quote (JSON strings and names need double quotes)';
  const code = ch.charCodeAt(0);
  if (code < 0x20 || code === 0x7f)
    return `a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')})`;
  return `'${ch}'`;
}

class Scanner {
  private i = 0;
  constructor(private readonly s: string) {}

  document(): void {
    this.ws();
    if (this.i >= this.s.length)
      throw new Stop(0, 'the file is empty; a batch file is a JSON object such as {"instances": [...]}');
    this.value(0);
    this.ws();
    if (this.i < this.s.length) {
      throw new Stop(
        this.i,
        `unexpected ${show(this.s[this.i])} after the end of the JSON document; ` +
          "remove it (or add a missing '[' / '{' earlier)",
      );
    }
  }

  private ws(): void {
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.i++;
      else break;
    }
  }

  private value(depth: number): void {
    const c = this.s[this.i];
    if (depth >= MAX_DEPTH && (c === '{' || c === '[')) throw new Stop(this.i, tooDeep());
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const word of ['true', 'false', 'null']) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return;
      }
    }
    if (c === "'") throw new Stop(this.i, 'strings must use double quotes ("…"), not single quotes');
    if (c === undefined) throw new Stop(this.i, 'the file ends where a value was expected; it looks cut off');
    throw new Stop(
      this.i,
      'expected a value (a "string", number, object, array, true, false or null) ' +
        `but found ${show(c)}; quote text values`,
    );
  }

  private object(depth: number): void {
    this.i++; // {
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      const c = this.s[this.i];
      if (c === '}') throw new Stop(this.i, "trailing comma before '}'; remove the last comma");
      if (c !== '"') {
        throw new Stop(
          this.i,
          `expected a property name in double quotes but found ${show(c)}` +
            (c === undefined ? '; the file looks cut off' : ''),
        );
      }
      this.string();
      this.ws();
      if (this.s[this.i] !== ':')
        throw new Stop(this.i, `expected ':' after the property name but found ${show(this.s[this.i])}`);
      this.i++;
      this.ws();
      this.value(depth + 1);
      this.ws();
      const next = this.s[this.i];
      if (next === ',') {
        this.i++;
        continue;
      }
      if (next === '}') {
        this.i++;
        return;
      }
      throw new Stop(
        this.i,
        `expected ',' or '}' after a property value but found ${show(next)}; a comma is probably missing`,
      );
    }
  }

  private array(depth: number): void {
    this.i++; // [
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] === ']') throw new Stop(this.i, "trailing comma before ']'; remove the last comma");
      this.value(depth + 1);
      this.ws();
      const next = this.s[this.i];
      if (next === ',') {
        this.i++;
        continue;
      }
      if (next === ']') {
        this.i++;
        return;
      }
      throw new Stop(
        this.i,
        `expected ',' or ']' after an array element but found ${show(next)}; a comma is probably missing`,
      );
    }
  }

  private string(): void {
    const start = this.i;
    this.i++; // opening quote
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === '"') {
        this.i++;
        return;
      }
      if (c === '\\') {
        const e = this.s[this.i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i + 2, this.i + 6))) {
            throw new Stop(this.i, 'bad \\u escape: it needs four hex digits, e.g. \\u00e9');
          }
          this.i += 6;
          continue;
        }
        if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          this.i += 2;
          continue;
        }
        throw new Stop(this.i, 'bad escape in a string: write \\\\ for a backslash (Windows paths: use / or \\\\)');
      }
      if (c.charCodeAt(0) < 0x20) {
        throw new Stop(
          this.i,
          `${show(c)} inside a string; write it as an escape (\\n, \\t) or close the string's quote`,
        );
      }
      this.i++;
    }
    throw new Stop(start, 'a string starting here is never closed; add the closing double quote');
  }

  private number(): void {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m) throw new Stop(this.i, 'malformed number; quote text values, e.g. "123abc"');
    this.i += m[0].length;
  }
}
