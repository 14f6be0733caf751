/**
 * A batch as the day-two commands see it: every tenant's part read from its own lane, the rows in
 * the file's order, and for each row the lane that holds it (where its ledger updates, ops jobs and
 * watch job go) and the Graph client of its own tenant. One tenant's part never leaves its lane.
 */
import type { Queue } from 'bullmq';
import type { TenantLane } from '../app/lanes.ts';
import type { Runtime } from '../app/runtime.ts';
import type { GraphApi } from '../graph/graph-api.ts';
import type { BatchMeta, InstanceRecord } from '../ledger/ledger.ts';
import { batchAcrossTenants, batchIdsAcrossTenants, rowsInFileOrder } from '../ledger/tenant-ledgers.ts';
import { CliExit, EXIT } from './common.ts';

export interface BatchParts {
  batchId: string;
  /** The batch's record (its source file, when it was created), from its first tenant's part. */
  meta: BatchMeta;
  /** Every instance of the batch, in the file's order. */
  rows: InstanceRecord[];
  /** The lane whose ledger holds `r` (by instance key): its updates, ops and watch jobs go there. */
  laneOf(r: Pick<InstanceRecord, 'instanceKey'>): TenantLane;
  /** The lanes holding part of the batch. */
  lanes: TenantLane[];
}

/** Reads the batch across tenants; exit 2 listing the known batches when no tenant has it. */
export async function readBatch(rt: Runtime, batchId: string): Promise<BatchParts> {
  const parts = await batchAcrossTenants(rt.redis, rt.basePrefix, batchId);
  if (!parts.length) {
    const known = await batchIdsAcrossTenants(rt.redis, rt.basePrefix);
    throw new CliExit(
      `No batch '${batchId}' in this Redis (prefix ${rt.basePrefix}). Known batches: ${known.join(', ') || 'none'}.`,
      EXIT.badInput,
    );
  }
  // The part's tenant, not the row's `tenant` field: rows enqueued before lanes existed sit in
  // `default`'s ledger whatever their tenant, and their ops must go where their row is.
  const laneByKey = new Map<string, TenantLane>();
  for (const p of parts) for (const r of p.rows) laneByKey.set(r.instanceKey, rt.lane(p.tenant));
  return {
    batchId,
    meta: parts[0]!.meta,
    rows: rowsInFileOrder(parts),
    lanes: parts.map((p) => rt.lane(p.tenant)),
    laneOf: (r) => laneByKey.get(r.instanceKey) ?? rt.lane(rt.tenant),
  };
}

/**
 * The Graph client of each instance's own tenant (its identity, its quota), wrapped once per
 * tenant (e.g. `patientGraph`); a runtime without a registry falls back to `rt.graph`.
 */
export function graphsOf(rt: Runtime, wrap: (g: GraphApi) => GraphApi = (g) => g) {
  const made = new Map<string, GraphApi>();
  return (r: Pick<InstanceRecord, 'tenant'>): GraphApi => {
    let g = made.get(r.tenant);
    if (!g) {
      const client = rt.tenants?.graphFor(r.tenant) ?? rt.graph;
      if (!client) throw new Error('this command needs a Graph client (createRuntime withGraph)');
      made.set(r.tenant, (g = wrap(client)));
    }
    return g;
  };
}

/** Calls `add` once per lane with that lane's ops queue and its share of `rows` (file order kept). */
export async function addOpJobsByLane<R extends Pick<InstanceRecord, 'instanceKey'>>(
  batch: BatchParts,
  rows: readonly R[],
  add: (ops: Queue, part: R[]) => Promise<void>,
): Promise<void> {
  for (const lane of batch.lanes) {
    const part = rows.filter((r) => batch.laneOf(r) === lane);
    if (part.length) await add(lane.opsQueue, part);
  }
}
