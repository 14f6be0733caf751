/** The status table and summary line shared by `provflow status` and `provflow demo`. */
import { END_STATES, STARTED_STATES } from '../ledger/instance-state.ts';
import type { InstanceRecord } from '../ledger/ledger.ts';
import { renderTable, type Column } from './table.ts';
import { DEFAULT_TENANT } from '../redis-keys.ts';

/** Counts by end state (and in-flight), the batch summary. */
export interface BatchSummary {
  instances: number;
  steady: number;
  started: number;
  quarantined: number;
  failed: number;
  timedOut: number;
  inFlight: number;
  byState: Record<string, number>;
}

export function summarise(rows: readonly InstanceRecord[]): BatchSummary {
  const byState: Record<string, number> = {};
  for (const r of rows) byState[r.state] = (byState[r.state] ?? 0) + 1;
  return {
    instances: rows.length,
    steady: byState.steady ?? 0,
    started: rows.filter((r) => STARTED_STATES.has(r.state)).length,
    quarantined: byState.quarantined ?? 0,
    failed: byState.failed ?? 0,
    timedOut: byState['timed-out'] ?? 0,
    inFlight: rows.filter((r) => !END_STATES.has(r.state)).length,
    byState,
  };
}

export function summaryLine(batchId: string, s: BatchSummary): string {
  const others = Object.entries(s.byState)
    .filter(([k]) => !['steady', 'quarantined', 'failed', 'timed-out'].includes(k))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `batch ${batchId}: ${s.instances} instances — steady ${s.steady}, quarantined ${s.quarantined}, ` +
    `failed ${s.failed}, timed-out ${s.timedOut}${others ? `, in flight: ${others}` : ''}`
  );
}

function topFailures(r: InstanceRecord): string {
  const entries = Object.entries(r.logFailures).sort((a, b) => b[1] - a[1]);
  return entries.length ? entries.map(([code, n]) => `${code}×${n}`).join(', ') : '';
}

const quarantineText = (r: InstanceRecord) =>
  r.quarantineReason
    ? `${r.quarantineReason}${r.quarantineNextAttempt ? ` (next ${r.quarantineNextAttempt})` : ''}`
    : '';

/** Over this many instances, tables show counts by state and only the instances needing attention. */
const CONDENSE_OVER = 50;

/** End states a person has to act on (a smoke-test failure will join them). */
const ATTENTION_STATES: ReadonlySet<string> = new Set(['failed', 'quarantined', 'timed-out']);

export interface StatusViewOptions {
  /** Graph ids too. */
  wide?: boolean;
  /** Every row even for a large batch. */
  all?: boolean;
  /** Only this tenant's instances. */
  tenant?: string;
  /** Width to fit (default: the terminal's). */
  width?: number;
  /** Clock for "running long" (tests). */
  now?: number;
  /** In flight longer than this counts as running long (default: 3× the median time to end, at least 10 min). */
  longMs?: number;
}

function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** How long an in-flight instance may run before it counts as running long. */
export function runningLongAfterMs(rows: readonly InstanceRecord[]): number {
  const durations = rows.flatMap((r) => (r.endedAt && r.enqueuedAt ? [r.endedAt - r.enqueuedAt] : []));
  return Math.max(10 * 60_000, 3 * (median(durations) ?? 0));
}

/** Why an instance needs a person, or null: failed, quarantined, timed out, running long. */
export function attentionReason(r: InstanceRecord, now: number, longMs: number): string | null {
  if (ATTENTION_STATES.has(r.state)) return r.state;
  // `provflow verify` found the saved credentials refused: the job will quarantine at a next cycle.
  if (r.credentialsCheck === 'failing') return 'credentials failing';
  if (r.opState === 'failed') return `${r.op ?? 'operation'} failed`;
  if (END_STATES.has(r.state) || r.state === 'queued') return null; // waiting in line is not running
  const since = r.startedAt ?? r.enqueuedAt;
  return since && now - since > longMs ? 'running long' : null;
}

/** Whether the rows span tenants other than `default` (the single-tenant table keeps its columns). */
export const hasTenants = (rows: readonly InstanceRecord[]): boolean => rows.some((r) => r.tenant !== DEFAULT_TENANT);

/** What a day-two command left to read: a failed operation, or credentials verify found refused. */
export function dayTwoNote(r: InstanceRecord): string | null {
  if (r.opState === 'failed') return `${r.op ?? 'operation'} failed: ${r.opError ?? ''}`;
  if (r.credentialsCheck === 'failing') return `credentials failing: ${r.credentialsError ?? ''}`;
  return null;
}

function instanceColumns(opts: StatusViewOptions, tenants = false): Column<InstanceRecord>[] {
  const cols: Column<InstanceRecord>[] = [
    { header: 'instance', get: (r) => r.displayName, max: 32, min: 24, priority: 0 },
    ...(tenants ? [{ header: 'tenant', get: (r: InstanceRecord) => r.tenant, max: 32, priority: 1 }] : []),
    { header: 'state', get: (r) => r.state, priority: 0 },
    { header: 'job code', get: (r) => r.jobCode, min: 10, priority: 3, optional: true },
    { header: 'last execution', get: (r) => r.lastExecution, max: 24, priority: 4, optional: true },
    {
      header: 'quarantine',
      get: quarantineText,
      max: 60,
      min: 16,
      priority: 2,
      optional: true,
    },
    { header: 'log failures', get: (r) => topFailures(r), max: 60, min: 12, priority: 3, optional: true },
    { header: 'smoke test', get: (r) => r.smokeTest, max: 60, min: 10, priority: 2, optional: true },
    {
      header: 'reason',
      get: (r) => (r.state === 'failed' ? r.lastError : (dayTwoNote(r) ?? r.warning)),
      max: opts.wide ? 400 : 90,
      min: 30,
      priority: 1,
      optional: true,
    },
  ];
  if (opts.wide) {
    cols.splice(
      2,
      0,
      { header: 'app id', get: (r) => r.appId, priority: 4, min: 36 },
      { header: 'sp id', get: (r) => r.servicePrincipalId, priority: 4, min: 36 },
      { header: 'job id', get: (r) => r.jobId, max: 48, priority: 4, min: 20 },
    );
  }
  return cols;
}

/** Instances by state, most numerous first, with a bar each. */
function renderStateCounts(rows: readonly InstanceRecord[], opts: { width?: number } = {}): string {
  const counts = Object.entries(summarise(rows).byState).sort((a, b) => b[1] - a[1]);
  const total = rows.length;
  return renderTable(
    counts,
    [
      { header: 'state', get: ([s]) => s, priority: 0 },
      { header: 'instances', get: ([, n]) => n, align: 'right', priority: 0 },
      {
        header: 'share',
        get: ([, n]) => `${'█'.repeat(Math.round((n / total) * 30)) || '▏'} ${Math.round((n / total) * 100)}%`,
        priority: 1,
      },
    ],
    opts,
  );
}

/**
 * What a person needs per instance: where it stands and, when it is stuck, why. Up to
 * CONDENSE_OVER instances (or with `all`) every row; above, counts by state and only the
 * instances needing attention, so a 1,000-instance batch does not scroll its problems away.
 */
export function renderStatusTable(all: readonly InstanceRecord[], opts: StatusViewOptions = {}): string {
  const rows = opts.tenant === undefined ? all : all.filter((r) => r.tenant === opts.tenant);
  const cols = instanceColumns(opts, hasTenants(all));
  const tableOpts = { width: opts.width };
  if (opts.all || rows.length <= CONDENSE_OVER) return renderTable(rows, cols, tableOpts);
  const now = opts.now ?? Date.now();
  const longMs = opts.longMs ?? runningLongAfterMs(rows);
  const attention = rows.flatMap((r) => {
    const why = attentionReason(r, now, longMs);
    return why ? [{ r, why: why === 'running long' ? `running long (${r.state})` : why }] : [];
  });
  const parts = [renderStateCounts(rows, tableOpts), ''];
  if (attention.length) {
    parts.push(`${attention.length} of ${rows.length} instances need attention:`);
    // One reason column (quarantine reason, else the error, else the warning) saves width on narrow terminals.
    const reasonOf = (r: InstanceRecord) => quarantineText(r) || (r.state === 'failed' ? r.lastError : r.warning);
    const attentionCols: Column<{ r: InstanceRecord; why: string }>[] = cols
      .filter((c) => c.header !== 'state' && c.header !== 'quarantine')
      .map((c) => ({ ...c, get: (x) => (c.header === 'reason' ? reasonOf(x.r) : c.get(x.r)) }));
    attentionCols.splice(1, 0, { header: 'needs', get: (x) => x.why, priority: 0, min: 22 });
    parts.push(renderTable(attention, attentionCols, tableOpts));
  } else {
    parts.push(`none of the ${rows.length} instances needs attention.`);
  }
  parts.push(`(every instance: --all)`);
  return parts.join('\n');
}
