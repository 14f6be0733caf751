/**
 * Text that came from outside (Graph error messages, display names, batch files) made safe to print
 * in a terminal: C0/C1 control characters (ESC, CR, BEL, CSI, …) and DEL are shown escaped, so a
 * value can neither move the cursor, recolour the screen nor split a table row.
 */

// C0 (U+0000–U+001F), DEL (U+007F), C1 (U+0080–U+009F); also the line/paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `a\x1b[31mb` → `a\x1b[31mb` printed literally (as the six visible characters `\x1b`). */
export function sanitizeCell(s: string): string {
  return s.replace(CONTROL, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.codePointAt(0)!;
    return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}
