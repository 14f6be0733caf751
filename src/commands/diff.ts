/**
 * `provflow diff BATCH FILE [--json]`: the batch file (desired) against what Graph holds, by the
 * ledger's ids: job state, saved secret keys and settings, instances missing or extra.
 * Exit 0 in sync, 3 drift found, 2 bad input, 1 failure.
 */
import { REMOVED } from '../ledger/instance-state.ts';
import { compareInstance, readSnapshot, type Difference } from '../ops/instance-snapshot.ts';
import { renderTable } from '../ui/table.ts';
import { exit2, loadOrExit } from './enqueue.ts';
import { tenantNames, tenantsOf } from '../tenants/tenants-config.ts';
import { graphsOf, readBatch } from './batch-parts.ts';
import { patientGraph } from '../ops/patient-graph.ts';
import { cliLogger, configFor, EXIT, oneShotRuntime, out } from './common.ts';

interface InstanceDrift {
  displayName: string;
  instanceKey: string;
  status: 'in-sync' | 'drifted' | 'missing' | 'extra';
  differences: Difference[];
}

export async function runDiff(batchId: string, file: string, opts: { json?: boolean }): Promise<number> {
  const cfg = await configFor(['redis', 'graph']);
  // The file may name the tenants file's tenants, as when it was enqueued.
  const tenants = tenantNames(await tenantsOf(cfg, process.env, { resolveSecrets: false }).catch(exit2));
  const batch = await loadOrExit(file, { batchId, maxInstances: cfg.MAX_BATCH_INSTANCES, tenants });
  const rt = await oneShotRuntime(cfg, { logger: cliLogger(cfg, 'diff', 'warn'), withGraph: true });
  // Each instance is read in its own tenant, through that tenant's client.
  const graphOf = graphsOf(rt, (g) => patientGraph(g));
  try {
    const rows = (await readBatch(rt, batchId)).rows;
    const byKey = new Map(rows.map((r) => [r.instanceKey, r]));
    const result: InstanceDrift[] = [];
    for (const inst of batch.instances) {
      const r = byKey.get(inst.instanceKey);
      const base = { displayName: inst.displayName, instanceKey: inst.instanceKey };
      if (!r || r.state === REMOVED || !r.applicationObjectId) {
        const actual = !r ? 'not in the batch' : r.state === REMOVED ? 'removed' : `no application (${r.state})`;
        result.push({ ...base, status: 'missing', differences: [{ field: 'instance', desired: 'present', actual }] });
        continue;
      }
      const graph = graphOf(r);
      const differences = await compareInstance(graph, inst, await readSnapshot(graph, batchId, r), r);
      result.push({ ...base, status: differences.length ? 'drifted' : 'in-sync', differences });
    }
    const inFile = new Set(batch.instances.map((i) => i.instanceKey));
    for (const r of rows)
      if (!inFile.has(r.instanceKey) && r.state !== REMOVED)
        result.push({
          displayName: r.displayName,
          instanceKey: r.instanceKey,
          status: 'extra',
          differences: [{ field: 'instance', desired: 'not in file', actual: r.state }],
        });
    const drifted = result.filter((x) => x.status !== 'in-sync').length;
    if (opts.json)
      out(JSON.stringify({ batchId, file: batch.sourceFile, checked: result.length, drifted, instances: result }));
    else {
      const lines = result.flatMap((x) =>
        x.differences.map((d) => ({ instance: x.displayName, status: x.status, ...d })),
      );
      if (lines.length)
        out(
          renderTable(lines, [
            { header: 'instance', get: (l) => l.instance, max: 36, priority: 0 },
            { header: 'status', get: (l) => l.status, priority: 1 },
            { header: 'field', get: (l) => l.field, max: 40, priority: 0 },
            { header: 'desired (file)', get: (l) => l.desired, max: 40 },
            { header: 'actual (Graph)', get: (l) => l.actual, max: 40 },
          ]),
        );
      out(`${result.length} instance(s) checked, ${drifted} drifted${drifted ? ' (exit 3)' : ''}`);
    }
    return drifted ? EXIT.drift : EXIT.ok;
  } finally {
    await rt.close();
  }
}
