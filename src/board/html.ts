/** Escaping for the board's server-rendered pages. */
import { terminalSafe } from '../ui/terminal-safe.ts';

/** HTML-escaped, control characters shown escaped too. */
export const h = (v: unknown): string =>
  terminalSafe(v === null || v === undefined ? '' : String(v)).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
