/**
 * Per-instance summary of provisioning logs (`GET /auditLogs/provisioning?$filter=jobId eq …`),
 * built page by page and small enough to persist next to the paging cursor.
 *
 * Idempotency — the choice and why: the poller persists `{nextLink, newestActivity, summary}`
 * after each page, so a crash between "page added" and "cursor saved" makes the restarted
 * poller read that page again, and a re-query from `newestActivity` (when a nextLink has
 * expired) re-reads the entries that share the boundary timestamp. Both replays are bounded by
 * about one page, so the summary keeps a bounded window of the ids it counted last
 * (`seenIds`, newest last, at most `DEFAULT_ID_WINDOW`) and skips entries already in it,
 * counting them in `duplicatesIgnored`. Ids are stored as 12-hex-character hashes (48 bits)
 * so the window costs ~7 KB per watched instance; `compactSummary` drops it once the watch
 * ends. A full-set dedupe would be exact but grows without bound (jobs log every cycle);
 * a last-page fingerprint would be O(1) but miss partial overlaps.
 */
import { createHash } from 'node:crypto';

/** Failures of one error code. */
export interface ErrorCodeStats {
  count: number;
  /** The first non-empty `reason` seen for this code (whitespace collapsed, clipped). */
  exampleReason: string | null;
  recommendedAction: string | null;
  /** Normalised to Graph's enum spelling (`nonServiceFailure`): Graph sends both casings. */
  errorCategory: string | null;
}

/** Mergeable counts over provisioning log entries. */
export interface LogSummary {
  entries: number;
  successes: number;
  failures: number;
  warnings: number;
  skipped: number;
  /** Failures only, keyed by errorCode (`NO_ERROR_CODE` when Graph gave none). */
  byErrorCode: Record<string, ErrorCodeStats>;
  /** Latest `activityDateTime` counted (as Graph wrote it): the `since` for a re-query. */
  newestActivity: string | null;
  /** Hashes of the most recently counted ids, newest last (see the module comment). */
  seenIds?: string[];
  /** Entries skipped because they were already counted: > 0 means a page was replayed. */
  duplicatesIgnored: number;
}

/** The part of a provisioningObjectSummary the summary reads; parsed Graph items fit it. */
export interface LogEntryLike {
  id?: string | null;
  activityDateTime?: string | null;
  statusInfo?: StatusInfoLike | null;
  provisioningStatusInfo?: { status?: string | null; errorInformation?: StatusInfoLike | null } | null;
}
interface StatusInfoLike {
  status?: string | null;
  errorCode?: string | null;
  reason?: string | null;
  errorCategory?: string | null;
  recommendedAction?: string | null;
}

const DEFAULT_ID_WINDOW = 500;
export const NO_ERROR_CODE = '(no error code)';
const MAX_TEXT = 500;

export function emptySummary(): LogSummary {
  return {
    entries: 0,
    successes: 0,
    failures: 0,
    warnings: 0,
    skipped: 0,
    byErrorCode: {},
    newestActivity: null,
    seenIds: [],
    duplicatesIgnored: 0,
  };
}

function idHash(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 12);
}

function text(value: string | null | undefined): string | null {
  if (value == null) return null;
  const t = value.replace(/\s+/g, ' ').trim();
  if (t === '') return null;
  return t.length > MAX_TEXT ? `${t.slice(0, MAX_TEXT - 1)}…` : t;
}

/** `NonServiceFailure` and `nonServiceFailure` are the same category: keep Graph's enum casing. */
export function normalizeErrorCategory(category: string | null | undefined): string | null {
  const t = text(category);
  return t === null ? null : t.charAt(0).toLowerCase() + t.slice(1);
}

/** Case-insensitive comparison of two error categories. */
export function sameErrorCategory(a: string | null | undefined, b: string | null | undefined): boolean {
  return (a ?? '').trim().toLowerCase() === (b ?? '').trim().toLowerCase();
}

/** success | warning | failure | skipped (or whatever else Graph sends, lower-cased); null when absent. */
export function entryStatus(e: LogEntryLike): string | null {
  const s = text(e.provisioningStatusInfo?.status) ?? text(e.statusInfo?.status);
  return s === null ? null : s.toLowerCase();
}

/** Error details, field by field: `provisioningStatusInfo.errorInformation` first, then `statusInfo`. */
export function entryError(e: LogEntryLike): Omit<ErrorCodeStats, 'count'> & { errorCode: string | null } {
  const info = e.provisioningStatusInfo?.errorInformation ?? null;
  const legacy = e.statusInfo ?? null;
  return {
    errorCode: text(info?.errorCode) ?? text(legacy?.errorCode),
    exampleReason: text(info?.reason) ?? text(legacy?.reason),
    recommendedAction: text(info?.recommendedAction) ?? text(legacy?.recommendedAction),
    errorCategory: normalizeErrorCategory(info?.errorCategory ?? legacy?.errorCategory),
  };
}

function later(a: string | null, b: string | null | undefined): string | null {
  if (!b || Number.isNaN(Date.parse(b))) return a;
  if (!a) return b;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

function mergeStats(into: Record<string, ErrorCodeStats>, code: string, add: ErrorCodeStats): void {
  const cur = into[code];
  into[code] = cur
    ? {
        count: cur.count + add.count,
        exampleReason: cur.exampleReason ?? add.exampleReason,
        recommendedAction: cur.recommendedAction ?? add.recommendedAction,
        errorCategory: cur.errorCategory ?? add.errorCategory,
      }
    : { ...add };
}

/** True when the page is non-empty and every entry with an id is already counted (a replay). */
export function isPageCounted(summary: LogSummary, items: readonly LogEntryLike[]): boolean {
  const seen = new Set(summary.seenIds ?? []);
  const withIds = items.filter((i) => i.id);
  return withIds.length > 0 && withIds.every((i) => seen.has(idHash(i.id as string)));
}

/**
 * Count one page of log entries into a new summary (the input is not modified). Entries whose
 * id is in the recent-id window are skipped and counted in `duplicatesIgnored`; entries
 * without an id cannot be deduplicated and are always counted.
 */
export function addPage(
  summary: LogSummary,
  items: readonly LogEntryLike[],
  opts: { idWindow?: number } = {},
): LogSummary {
  const window = opts.idWindow ?? DEFAULT_ID_WINDOW;
  const out: LogSummary = {
    ...summary,
    byErrorCode: { ...summary.byErrorCode },
    seenIds: [...(summary.seenIds ?? [])],
  };
  const seen = new Set(out.seenIds);
  for (const item of items) {
    if (item.id) {
      const h = idHash(item.id);
      if (seen.has(h)) {
        out.duplicatesIgnored += 1;
        continue;
      }
      seen.add(h);
      out.seenIds!.push(h);
    }
    out.entries += 1;
    out.newestActivity = later(out.newestActivity, item.activityDateTime);
    const status = entryStatus(item);
    if (status === 'success') out.successes += 1;
    else if (status === 'warning') out.warnings += 1;
    else if (status === 'skipped') out.skipped += 1;
    else if (status === 'failure') {
      out.failures += 1;
      const { errorCode, ...details } = entryError(item);
      mergeStats(out.byErrorCode, errorCode ?? NO_ERROR_CODE, { count: 1, ...details });
    }
  }
  if (out.seenIds!.length > window) out.seenIds = out.seenIds!.slice(-window);
  return out;
}

/**
 * Sum two summaries (e.g. instances into a batch total). Their id windows are concatenated
 * and bounded, so merging per-instance summaries keeps dedupe working for the newest pages.
 */
export function mergeSummaries(a: LogSummary, b: LogSummary, opts: { idWindow?: number } = {}): LogSummary {
  const byErrorCode: Record<string, ErrorCodeStats> = {};
  for (const [code, s] of Object.entries(a.byErrorCode)) mergeStats(byErrorCode, code, s);
  for (const [code, s] of Object.entries(b.byErrorCode)) mergeStats(byErrorCode, code, s);
  const ids = [...new Set([...(a.seenIds ?? []), ...(b.seenIds ?? [])])];
  return {
    entries: a.entries + b.entries,
    successes: a.successes + b.successes,
    failures: a.failures + b.failures,
    warnings: a.warnings + b.warnings,
    skipped: a.skipped + b.skipped,
    byErrorCode,
    newestActivity: later(a.newestActivity, b.newestActivity),
    seenIds: ids.slice(-(opts.idWindow ?? DEFAULT_ID_WINDOW)),
    duplicatesIgnored: a.duplicatesIgnored + b.duplicatesIgnored,
  };
}

/** The summary without its dedupe window: what to keep in the ledger once the watch has ended. */
export function compactSummary(summary: LogSummary): LogSummary {
  const { seenIds: _drop, ...rest } = summary;
  return rest;
}

/**
 * `SystemForCrossDomainIdentityManagementBadResponse×3, EntrySynchronizationError×1 (+2 more)`;
 * '' when no failures.
 */
export function formatTopErrors(summary: LogSummary, n = 3): string {
  const ranked = Object.entries(summary.byErrorCode).sort(
    ([ca, a], [cb, b]) => b.count - a.count || ca.localeCompare(cb),
  );
  const shown = ranked.slice(0, Math.max(0, n)).map(([code, s]) => `${code}×${s.count}`);
  const rest = ranked.length - shown.length;
  return rest > 0 ? `${shown.join(', ')} (+${rest} more)`.trim() : shown.join(', ');
}
