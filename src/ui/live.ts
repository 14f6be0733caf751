/**
 * Live progress on a terminal: an area redrawn in place (log-update), with log lines for people
 * printed above it instead of through it, and the full JSON log kept in a file.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogUpdate } from 'log-update';
import { terminalSafe } from './terminal-safe.ts';
import { bar, cut, displayWidth, terminalWidth } from './table.ts';

/** A terminal stream as far as we use it (process.stderr, or a test's fake). */
export interface TermStream {
  write(s: string): unknown;
  columns?: number;
  rows?: number;
  isTTY?: boolean;
}

export interface LiveArea {
  /** Redraws the area (lines are cut to the width, never wrapped). */
  update(text: string): void;
  /** Prints a line above the area; the area is redrawn below it. */
  note(line: string): void;
  /** Leaves the last frame on screen and stops redrawing. */
  done(): void;
  readonly width: number;
}

export function createLiveArea(stream: TermStream): LiveArea {
  // A pseudo-terminal may report 0×0 (script, CI); log-update would then draw nothing or wrap at 0.
  const view = {
    isTTY: stream.isTTY,
    get columns() {
      return terminalWidth(stream);
    },
    get rows() {
      return stream.rows && stream.rows > 0 ? stream.rows : 24;
    },
    write: (s: string) => stream.write(s),
  };
  const lu = createLogUpdate(view as unknown as NodeJS.WriteStream);
  let frame = '';
  let finished = false;
  const fitLines = (text: string) =>
    text
      .split('\n')
      .map((l) => cut(l, view.columns - 1))
      .join('\n');
  return {
    get width() {
      return view.columns;
    },
    update(text) {
      frame = fitLines(text);
      lu(frame);
    },
    note(line) {
      // After done() the last frame stays where it is: later lines go below it, not redrawn above.
      if (!finished) lu.clear();
      stream.write(`${fitLines(line)}\n`);
      if (frame && !finished) lu(frame);
    },
    done() {
      finished = true;
      lu.done();
    },
  };
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

/** One pino JSON line as a person reads it: `warn  msg (key=value, …)`. */
export function humanLogLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return terminalSafe(json);
  }
  const level = LEVELS[Number(o.level)] ?? String(o.level);
  const extras = Object.entries(o)
    .filter(([k, v]) => !SKIP.has(k) && v !== undefined && (typeof v !== 'object' || v === null))
    .map(([k, v]) => `${k}=${String(v)}`);
  const errMsg = typeof o.err === 'object' && o.err && 'message' in o.err ? ` — ${String(o.err.message)}` : '';
  return terminalSafe(
    `${level.padEnd(5)} ${String(o.msg ?? '')}${errMsg}${extras.length ? ` (${extras.join(', ')})` : ''}`,
  );
}

/**
 * A pino destination for the time a live area is on screen: every line goes whole to a log file,
 * and lines at `showLevel` or above are also shown to people, above the area.
 */
export function liveLogDestination(live: LiveArea, opts: { file?: string; showLevel?: number } = {}) {
  const file =
    opts.file ?? path.join(tmpdir(), `provflow-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
  const fileStream: WriteStream = createWriteStream(file, { flags: 'a', mode: 0o600 });
  const showLevel = opts.showLevel ?? 40;
  let lines = 0;
  return {
    file,
    get lines() {
      return lines;
    },
    write(chunk: string) {
      fileStream.write(chunk);
      for (const line of chunk.split('\n')) {
        if (!line) continue;
        lines++;
        const level = Number((/"level":(\d+)/.exec(line) ?? [])[1] ?? 0);
        if (level >= showLevel) live.note(humanLogLine(line));
      }
      return true;
    },
    close: () => new Promise<void>((resolve) => fileStream.end(resolve)),
  };
}

/** Rate and ETA from a sliding window of (time, done) samples. */
export class RateMeter {
  private samples: { t: number; done: number }[] = [];
  constructor(private readonly windowMs = 20_000) {}

  add(t: number, done: number): void {
    this.samples.push({ t, done });
    while (this.samples.length > 2 && this.samples[0]!.t < t - this.windowMs) this.samples.shift();
  }

  /** Items per second over the window, or null before anything was measured. */
  rate(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.t - first.t < 1000 || last.done <= first.done) return null;
    return ((last.done - first.done) * 1000) / (last.t - first.t);
  }

  /** Milliseconds until `total` at the measured rate, or null when unknown. */
  etaMs(total: number): number | null {
    const r = this.rate();
    const last = this.samples.at(-1);
    if (!r || !last) return null;
    return (Math.max(0, total - last.done) / r) * 1000;
  }
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export interface ProgressCounts {
  total: number;
  started: number;
  ended: number;
  steady: number;
  quarantined: number;
  failed: number;
}

/** The live area's text: two bars sized to the width, then counts, rate and ETA. */
export function progressFrame(c: ProgressCounts, meter: RateMeter, width: number): string {
  const rate = meter.rate();
  const eta = meter.etaMs(c.total);
  const digits = String(c.total).length * 2 + 1;
  // "started ▕…▏ n/N" costs label + 2 + digits around the bar.
  const barSize = Math.max(5, Math.min(40, width - 'started'.length - 4 - digits - 1));
  const stats = [
    `steady ${c.steady}`,
    `quarantined ${c.quarantined}`,
    `failed ${c.failed}`,
    rate ? `${rate.toFixed(1)}/s` : 'measuring rate…',
    c.ended >= c.total ? 'done' : eta !== null ? `ETA ${formatDuration(eta)}` : 'ETA –',
  ].join(' · ');
  const lines = [bar('started', c.started, c.total, barSize), bar('ended  ', c.ended, c.total, barSize), stats];
  return lines.map((l) => (displayWidth(l) > width ? cut(l, width) : l)).join('\n');
}
