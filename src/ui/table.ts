/** Plain-text tables for people (JSON is behind --json). Width-aware, no dependencies. */
import { terminalSafe } from './terminal-safe.ts';

/** A column: header, how to get the cell, alignment, and a max width (longer cells are cut with …). */
export interface Column<T> {
  header: string;
  get: (row: T) => string | number | null | undefined;
  align?: 'left' | 'right';
  max?: number;
}

const width = (s: string) => [...s].length;

function cut(s: string, max: number | undefined): string {
  if (!max || width(s) <= max) return s;
  return [...s].slice(0, Math.max(1, max - 1)).join('') + '…';
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  // Cells hold text from batch files and Graph: escape controls before measuring and cutting.
  const cells = rows.map((r) => columns.map((c) => cut(terminalSafe(String(c.get(r) ?? '–')), c.max)));
  const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((row) => width(row[i]!))));
  const pad = (s: string, i: number) => {
    const gap = ' '.repeat(Math.max(0, widths[i]! - width(s)));
    return columns[i]!.align === 'right' ? gap + s : s + gap;
  };
  const line = (vals: string[]) => vals.map(pad).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), line(widths.map((w) => '─'.repeat(w))), ...cells.map(line)].join('\n');
}

/** A one-line bar: `label ▕█████░░░░░▏ 12/50`. */
export function bar(label: string, done: number, total: number, size = 28): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const full = Math.round(frac * size);
  return `${label} ▕${'█'.repeat(full)}${'░'.repeat(size - full)}▏ ${done}/${total}`;
}
