/**
 * Text from batch files, Graph or Redis shown on a terminal: control characters are written as
 * visible escapes, so an ESC in a field name cannot clear the screen, fake colours or set the
 * window title, and a line or bidi control cannot break or reorder a table row.
 */

// C0 controls, DEL, C1 controls (8-bit CSI, OSC…), line/paragraph separators, bidi controls.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const escape = (c: string): string => {
  const hex = c.charCodeAt(0).toString(16).toUpperCase();
  return hex.length <= 2 ? `\\x${hex.padStart(2, '0')}` : `\\u${hex}`;
};

/** One table cell or line: every control character escaped (`\x1B`, `\x0A`, `\u202E`). */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, escape);
}
