/**
 * A forgiving JSON reader. Microsoft's own examples are not always valid JSON: the provisioning
 * seed has trailing commas and the validateCredentials/secrets examples use unquoted keys
 * (`{ credentials: [ { key: "ClientSecret", … } ] }`). Graph itself reads strict JSON only (and
 * so does the simulator's request handling): this is for the contract tests, to load Microsoft's
 * examples unchanged.
 * Accepts: strict JSON, unquoted identifier keys, single-quoted strings, trailing commas, comments.
 */

/** Parse `text` as JSON, falling back to the lenient grammar. Throws SyntaxError on garbage. */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return new LenientParser(text).parseDocument();
  }
}

class LenientParser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseDocument(): unknown {
    const v = this.value();
    this.ws();
    if (this.i < this.s.length) this.fail('unexpected trailing content');
    return v;
  }

  private fail(msg: string): never {
    throw new SyntaxError(`lenient JSON: ${msg} at offset ${this.i}`);
  }

  private ws(): void {
    for (;;) {
      const c = this.s[this.i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\uFEFF') this.i++;
      else if (c === '/' && this.s[this.i + 1] === '/') {
        while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
      } else if (c === '/' && this.s[this.i + 1] === '*') {
        const end = this.s.indexOf('*/', this.i + 2);
        this.i = end < 0 ? this.s.length : end + 2;
      } else return;
    }
  }

  private value(): unknown {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"' || c === "'") return this.string();
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(this.s.slice(this.i, this.i + 64));
    if (!m) this.fail('expected a value');
    this.i += m[0].length;
    return JSON.parse(m[0]);
  }

  private object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.i++; // {
    for (;;) {
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return out;
      }
      const key = this.key();
      this.ws();
      if (this.s[this.i] !== ':') this.fail("expected ':'");
      this.i++;
      out[key] = this.value();
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== '}') this.fail("expected ',' or '}'");
    }
  }

  private array(): unknown[] {
    const out: unknown[] = [];
    this.i++; // [
    for (;;) {
      this.ws();
      if (this.s[this.i] === ']') {
        this.i++;
        return out;
      }
      out.push(this.value());
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== ']') this.fail("expected ',' or ']'");
    }
  }

  private key(): string {
    const c = this.s[this.i];
    if (c === '"' || c === "'") return this.string();
    const m = /^[A-Za-z_$@][\w$@.-]*/.exec(this.s.slice(this.i, this.i + 256));
    if (!m) this.fail('expected a key');
    this.i += m[0].length;
    return m[0];
  }

  private string(): string {
    const quote = this.s[this.i];
    let out = '';
    this.i++;
    while (this.i < this.s.length) {
      const c = this.s[this.i++];
      if (c === quote) return out;
      if (c === '\\') {
        const e = this.s[this.i++];
        if (e === 'u') {
          out += String.fromCharCode(parseInt(this.s.slice(this.i, this.i + 4), 16));
          this.i += 4;
        } else out += ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' } as Record<string, string>)[e ?? ''] ?? e;
      } else out += c;
    }
    this.fail('unterminated string');
  }
}
