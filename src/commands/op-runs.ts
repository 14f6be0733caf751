/** What rotate, verify and teardown share: waiting for a run in each tenant's lane, and its result table. */
import type { OpState } from '../ledger/instance-state.ts';
import type { InstanceRecord } from '../ledger/ledger.ts';
import { renderTable } from '../ui/table.ts';
import type { BatchParts } from './batch-parts.ts';

const ENDED: readonly OpState[] = ['done', 'failed'];

/** One instance's outcome of a run, as printed. */
interface OpOutcome {
  instance: string;
  result: string;
  detail: string;
}

/** The rows of `keys` now, each read from the lane that holds it, in the file's order. */
async function currentRows(
  batch: BatchParts,
  wanted: ReadonlySet<string>,
): Promise<{ row: InstanceRecord; runId: string | null }[]> {
  const out: { row: InstanceRecord; runId: string | null }[] = [];
  for (const lane of batch.lanes) {
    const rows = (await lane.ledger.listInstances(batch.batchId)).filter(
      (r) => wanted.has(r.instanceKey) && batch.laneOf(r) === lane,
    );
    const runIds = await Promise.all(
      rows.map((r) => lane.ledger.redis.hget(lane.ledger.keys.instance(batch.batchId, r.instanceKey), 'opRunId')),
    );
    rows.forEach((row, i) => out.push({ row, runId: runIds[i] ?? null }));
  }
  return out.sort((a, b) => a.row.index - b.row.index);
}

/**
 * Waits until every instance's `opRunId` is this run and its `opState` done or failed (the worker
 * writes them, in the instance's lane), or the timeout passes; returns the rows then.
 */
export async function waitForRun(
  batch: BatchParts,
  runId: string,
  keys: string[],
  timeoutMs: number,
): Promise<{ rows: InstanceRecord[]; timedOut: boolean }> {
  const deadline = Date.now() + timeoutMs;
  const wanted = new Set(keys);
  for (;;) {
    const now = await currentRows(batch, wanted);
    const rows = now.map((x) => x.row);
    const ended = now.every((x) => x.runId === runId && ENDED.includes(x.row.opState as OpState));
    if (ended) return { rows, timedOut: false };
    if (Date.now() > deadline) return { rows, timedOut: true };
    await new Promise((r) => setTimeout(r, 500));
  }
}

export function outcomesTable(rows: OpOutcome[]): string {
  return renderTable(rows, [
    { header: 'instance', get: (r) => r.instance, max: 40, priority: 0 },
    { header: 'result', get: (r) => r.result, priority: 0 },
    { header: 'detail', get: (r) => r.detail, wrap: true, min: 30 },
  ]);
}
