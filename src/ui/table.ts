/**
 * Plain-text tables for people (JSON is behind --json). Every table fits a width: columns shrink
 * (cut with …) or drop by priority, and a terminal never wraps a row.
 *
 * Hand-written rather than cli-table3: cli-table3 needs fixed column widths and cannot drop
 * columns by priority to fit a terminal; this is ~100 lines over string-width.
 */
import stringWidth from 'string-width';
import { terminalSafe } from './terminal-safe.ts';

/** A column: header, how to get the cell, alignment, and how it gives way when space runs out. */
export interface Column<T> {
  header: string;
  get: (row: T) => string | number | null | undefined;
  align?: 'left' | 'right';
  /** Never wider than this (longer cells are cut with …). */
  max?: number;
  /** Shrinks down to this width before any column is dropped (default: the header's width, at most 12). */
  min?: number;
  /** Lower numbers matter more: when columns must go, the highest priority number goes first. Default 5. */
  priority?: number;
  /** Leave the column out when no row has a value in it. */
  optional?: boolean;
  /** Long cells continue on following lines inside the column instead of being cut (error messages with a fix). */
  wrap?: boolean;
}

export interface TableOptions {
  /** Total width in terminal cells; default `terminalWidth()`. `Infinity` for files. */
  width?: number;
}

const GAP = 2;
const EMPTY = '–';

/** Width of the terminal: `process.stdout.columns`, else `COLUMNS`, else 100. */
export function terminalWidth(stream: { columns?: number } = process.stdout): number {
  if (stream.columns && stream.columns > 0) return stream.columns;
  const env = Number(process.env.COLUMNS);
  return Number.isInteger(env) && env > 0 ? env : 100;
}

/** Display width in terminal cells (wide CJK letters count 2, combining marks 0). */
export const displayWidth = (s: string): number => stringWidth(s);

const segmenter = new Intl.Segmenter();
const graphemes = (s: string) => Array.from(segmenter.segment(s), (g) => g.segment);

/** `s` cut to at most `max` cells, ending in … when something was cut. */
export function cut(s: string, max: number): string {
  if (displayWidth(s) <= max) return s;
  if (max <= 0) return '';
  let outStr = '';
  let w = 0;
  for (const g of graphemes(s)) {
    const gw = displayWidth(g);
    if (w + gw > max - 1) break;
    outStr += g;
    w += gw;
  }
  return `${outStr}…`;
}

/** `s` split into lines of at most `max` cells, at spaces where possible. */
function wrapText(s: string, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of s.split(' ')) {
    const candidate = line ? `${line} ${word}` : word;
    if (displayWidth(candidate) <= max) {
      line = candidate;
      continue;
    }
    if (line) lines.push(line);
    line = word;
    while (displayWidth(line) > max) {
      const gs = graphemes(line);
      let head = '';
      while (gs.length && displayWidth(head + gs[0]!) <= max) head += gs.shift()!;
      if (!head) head = gs.shift()!; // one grapheme wider than the column: the final cut handles it
      lines.push(head);
      line = gs.join('');
    }
  }
  lines.push(line);
  return lines;
}

/** Column widths that fit `width`, or null when even every column at its minimum is too wide. */
function fit(natural: number[], mins: number[], order: number[], width: number): number[] | null {
  const widths = [...natural];
  let excess = widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1) - width;
  // Least important first, each down to its minimum, until the excess is gone.
  for (const i of order) {
    if (excess <= 0) break;
    const give = Math.min(excess, widths[i]! - mins[i]!);
    if (give > 0) {
      widths[i] = widths[i]! - give;
      excess -= give;
    }
  }
  return excess <= 0 ? widths : null;
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], opts: TableOptions = {}): string {
  const width = opts.width ?? terminalWidth();
  const raw = rows.map((r) =>
    columns.map((c) => {
      const v = c.get(r);
      return v === null || v === undefined || v === '' ? '' : terminalSafe(String(v));
    }),
  );
  let keep = columns.map((c, i) => !(c.optional && raw.every((row) => row[i] === '')));
  const cellsFor = (i: number) => raw.map((row) => row[i] || EMPTY);
  const naturalOf = (i: number) => {
    const c = columns[i]!;
    const w = Math.max(displayWidth(c.header), ...cellsFor(i).map(displayWidth));
    return c.max ? Math.min(w, Math.max(c.max, displayWidth(c.header))) : w;
  };
  const minOf = (i: number) => {
    const c = columns[i]!;
    return Math.min(naturalOf(i), c.min ?? Math.min(12, displayWidth(c.header)));
  };
  const prio = (i: number) => columns[i]!.priority ?? 5;

  let widths: number[] = [];
  let idx: number[] = [];
  for (;;) {
    idx = columns.map((_, i) => i).filter((i) => keep[i]);
    const byLeastImportant = [...idx.keys()].sort((a, b) => prio(idx[b]!) - prio(idx[a]!) || b - a);
    const fitted = fit(idx.map(naturalOf), idx.map(minOf), byLeastImportant, width);
    if (fitted || idx.length <= 1) {
      widths = fitted ?? [Math.min(naturalOf(idx[0]!), width)];
      break;
    }
    keep = keep.map((k, i) => k && i !== idx[byLeastImportant[0]!]); // drop the least important column
  }

  const pad = (s: string, w: number, align: Column<T>['align']) => {
    const gap = ' '.repeat(Math.max(0, w - displayWidth(s)));
    return align === 'right' ? gap + s : s + gap;
  };
  const lines: string[] = [];
  const emit = (vals: string[][]) => {
    const height = Math.max(...vals.map((v) => v.length));
    for (let k = 0; k < height; k++) {
      const line = idx.map((ci, j) => pad(vals[j]![k] ?? '', widths[j]!, columns[ci]!.align)).join(' '.repeat(GAP));
      lines.push(cut(line.trimEnd(), width));
    }
  };
  emit(idx.map((ci, j) => [cut(columns[ci]!.header, widths[j]!)]));
  emit(widths.map((w) => ['─'.repeat(w)]));
  const all = idx.map(cellsFor);
  for (let r = 0; r < rows.length; r++) {
    emit(
      idx.map((ci, j) =>
        (columns[ci]!.wrap ? wrapText(all[j]![r]!, widths[j]!) : [all[j]![r]!]).map((s) => cut(s, widths[j]!)),
      ),
    );
  }
  return lines.join('\n');
}

/** Free text broken at spaces so no line is wider than `width`. */
export function fitLines(s: string, width: number): string {
  return s
    .split('\n')
    .flatMap((line) => wrapText(terminalSafe(line), width).map((l) => cut(l, width)))
    .join('\n');
}

/** A one-line bar: `label ▕█████░░░░░▏ 12/50`. */
export function bar(label: string, done: number, total: number, size = 28): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const full = Math.round(frac * size);
  return `${label} ▕${'█'.repeat(full)}${'░'.repeat(size - full)}▏ ${done}/${total}`;
}
