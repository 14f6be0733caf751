/** The reliability figures as a table (people read tables). */
import { renderTable } from '../../src/ui/table.ts';
import type { ScenarioResult } from './scenarios.ts';

export function reliabilityTable(rows: ScenarioResult[]): string {
  return renderTable(
    rows,
    [
      { header: 'scenario', get: (r) => r.scenario },
      { header: 'seed', get: (r) => r.seed, align: 'right' },
      { header: 'instances', get: (r) => r.instances, align: 'right' },
      { header: 'steady', get: (r) => r.steady, align: 'right' },
      { header: 'quarantined', get: (r) => r.quarantined, align: 'right' },
      { header: 'failed', get: (r) => r.failed, align: 'right' },
      { header: 'lost', get: (r) => r.lost, align: 'right' },
      { header: 'unexpected', get: (r) => r.unexpected, align: 'right' },
      { header: 'dup apps', get: (r) => r.duplicateApplications, align: 'right' },
      { header: 'RA violations', get: (r) => r.retryAfterViolations, align: 'right' },
      // Requests inside a Retry-After that the simulator read late only because its own loop stalled.
      { header: 'sim-stall reads', get: (r) => r.lateReadsExcused, align: 'right' },
      { header: '429s', get: (r) => r.throttled, align: 'right' },
      { header: 'wall', get: (r) => `${(r.wallMs / 1000).toFixed(1)} s`, align: 'right' },
      { header: 'notes', get: (r) => r.notes, max: NOTES_IN_TABLE },
    ],
    { width: Infinity },
  ); // written to a file, not a terminal
}

const NOTES_IN_TABLE = 160;

/** Notes too long for the table's column (the poison reasons), in full, one scenario per line. */
export function longNotes(rows: ScenarioResult[]): string {
  return rows
    .filter((r) => r.notes.length > NOTES_IN_TABLE)
    .map((r) => `${r.scenario} (seed ${r.seed}): ${r.notes}`)
    .join('\n');
}

export const passed = (r: ScenarioResult) =>
  r.lost === 0 && r.unexpected === 0 && r.duplicateApplications === 0 && r.retryAfterViolations === 0;
