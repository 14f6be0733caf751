/** The status table and summary line shared by `provflow status` and `provflow demo`. */
import { END_STATES, STARTED_STATES } from '../ledger/instance-state.ts';
import type { InstanceRecord } from '../ledger/ledger.ts';
import { renderTable, type Column } from './table.ts';

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
  return `batch ${batchId}: ${s.instances} instances — steady ${s.steady}, quarantined ${s.quarantined}, failed ${s.failed}, timed-out ${s.timedOut}${others ? `, in flight: ${others}` : ''}`;
}

function topFailures(r: InstanceRecord): string {
  const entries = Object.entries(r.logFailures).sort((a, b) => b[1] - a[1]);
  return entries.length ? entries.map(([code, n]) => `${code}×${n}`).join(', ') : '';
}

/** What a person needs per instance: where it stands and, when it is stuck, why. */
export function renderStatusTable(rows: readonly InstanceRecord[], opts: { wide?: boolean } = {}): string {
  const cols: Column<InstanceRecord>[] = [
    { header: 'instance', get: (r) => r.displayName, max: 32 },
    { header: 'state', get: (r) => r.state },
    { header: 'job code', get: (r) => r.jobCode },
    { header: 'last execution', get: (r) => r.lastExecution, max: 24 },
    { header: 'quarantine', get: (r) => (r.quarantineReason ? `${r.quarantineReason}${r.quarantineNextAttempt ? ` (next ${r.quarantineNextAttempt})` : ''}` : ''), max: 60 },
    { header: 'log failures', get: (r) => topFailures(r), max: 60 },
    { header: 'reason', get: (r) => (r.state === 'failed' ? r.lastError : r.warning), max: opts.wide ? 400 : 90 },
  ];
  if (opts.wide) {
    cols.splice(2, 0, { header: 'app id', get: (r) => r.appId }, { header: 'sp id', get: (r) => r.servicePrincipalId }, { header: 'job id', get: (r) => r.jobId, max: 48 });
  }
  return renderTable(rows, cols);
}
