/**
 * How long to wait after Graph said "not now": the `Retry-After` header when present (delta
 * seconds, `0` included, or an HTTP-date), else exponential backoff with full jitter.
 *
 * Why full jitter: many workers throttled at the same instant would otherwise come back at the
 * same instant and be throttled again (AWS Architecture Blog, "Exponential Backoff and Jitter").
 */

/** Options for `backoffMs`. */
export interface BackoffOptions {
  /** First step's ceiling. */
  baseMs?: number;
  /** Ceiling for any step. */
  maxMs?: number;
  /** Injected for tests; returns [0, 1). */
  random?: () => number;
}

const DELTA_SECONDS = /^\s*(\d+(?:\.\d+)?)\s*$/;

/**
 * Parses a `Retry-After` value into milliseconds from `nowMs`.
 * Returns null when absent or unparseable (the caller then backs off), 0 for `0` or a past date.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | null {
  if (value == null) return null;
  const trimmed = value.trim();
  if (trimmed === '') return null;
  const delta = DELTA_SECONDS.exec(trimmed);
  if (delta) return Math.ceil(Number(delta[1]) * 1000);
  // Anything that starts like a number but did not match (e.g. "-5", "5s") is garbage, not a date.
  if (/^[-+\d]/.test(trimmed)) return null;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}

/** Full-jitter exponential backoff: uniform in [0, min(maxMs, baseMs · 2^attempt)]. `attempt` starts at 0. */
export function backoffMs(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? 1000;
  const max = opts.maxMs ?? 60_000;
  const random = opts.random ?? Math.random;
  const exp = Math.min(max, base * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(random() * exp);
}

/** `Retry-After` when Graph sent a usable one, else backoff for this attempt. */
export function retryDelayMs(
  retryAfter: string | null | undefined,
  attempt: number,
  opts: BackoffOptions & { nowMs?: number } = {},
): number {
  return parseRetryAfter(retryAfter, opts.nowMs) ?? backoffMs(attempt, opts);
}
