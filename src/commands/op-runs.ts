/** What rotate, verify and teardown share: the batch's rows, waiting for a run, and its result table. */
import type { Runtime } from '../app/runtime.ts';
import type { OpState } from '../ledger/instance-state.ts';
import type { InstanceRecord } from '../ledger/ledger.ts';
import { renderTable } from '../ui/table.ts';
import { CliExit, EXIT } from './common.ts';

export async function batchRows(rt: Runtime, batchId: string): Promise<InstanceRecord[]> {
  if (!(await rt.ledger.getBatch(batchId))) {
    const known = (await rt.ledger.listBatches()).map((b) => b.batchId);
    throw new CliExit(
      `No batch '${batchId}' in this Redis (prefix ${rt.prefix}). Known batches: ${known.join(', ') || 'none'}.`,
      EXIT.badInput,
    );
  }
  return rt.ledger.listInstances(batchId);
}

const ENDED: readonly OpState[] = ['done', 'failed'];

/** One instance's outcome of a run, as printed. */
interface OpOutcome {
  instance: string;
  result: string;
  detail: string;
}

/**
 * Waits until every instance's `opRunId` is this run and its `opState` done or failed (the worker
 * writes them), or the timeout passes; returns the rows then.
 */
export async function waitForRun(
  rt: Runtime,
  batchId: string,
  runId: string,
  keys: string[],
  timeoutMs: number,
): Promise<{ rows: InstanceRecord[]; timedOut: boolean }> {
  const deadline = Date.now() + timeoutMs;
  const wanted = new Set(keys);
  for (;;) {
    const rows = (await rt.ledger.listInstances(batchId)).filter((r) => wanted.has(r.instanceKey));
    const fields = await Promise.all(
      rows.map((r) => rt.redis.hget(rt.ledger.keys.instance(batchId, r.instanceKey), 'opRunId')),
    );
    const ended = rows.every((r, i) => fields[i] === runId && ENDED.includes(r.opState as OpState));
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
