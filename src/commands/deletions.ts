/**
 * `provflow deletions BATCH --instance NAME [--json]`: who a threshold-quarantined job would
 * delete (its staged deletes), before anyone forces them with `restart --scope ForceDeletes --confirm`.
 */
import { listStagedDeletes } from '../ops/staged-deletes.ts';
import { renderTable } from '../ui/table.ts';
import { graphsOf, readBatch } from './batch-parts.ts';
import { patientGraph } from '../ops/patient-graph.ts';
import { CliExit, cliLogger, configFor, EXIT, oneShotRuntime, out } from './common.ts';

export async function runDeletions(batchId: string, opts: { instance?: string; json?: boolean }): Promise<number> {
  if (!opts.instance)
    throw new CliExit('deletions needs --instance NAME (the display name of one instance).', EXIT.badInput);
  const cfg = await configFor(['redis', 'graph']);
  const rt = await oneShotRuntime(cfg, { logger: cliLogger(cfg, 'deletions', 'warn'), withGraph: true });
  // Each instance is read in its own tenant, through that tenant's client.
  const graphOf = graphsOf(rt, (g) => patientGraph(g));
  try {
    const r = (await readBatch(rt, batchId)).rows.find((x) => x.displayName === opts.instance);
    if (!r) throw new CliExit(`No instance named '${opts.instance}' in batch ${batchId}.`, EXIT.badInput);
    if (!r.servicePrincipalId || !r.jobId)
      throw new CliExit(`'${r.displayName}' has no provisioning job (state ${r.state}).`, EXIT.badInput);
    const graph = graphOf(r);
    const job = await graph.getSynchronizationJob(r.servicePrincipalId, r.jobId);
    const reason = job?.status?.quarantine?.reason ?? null;
    const { deletes, complete } = await listStagedDeletes(graph, r.jobId);
    if (opts.json) {
      out(JSON.stringify({ batchId, instance: r.displayName, quarantineReason: reason, complete, deletes }));
      return EXIT.ok;
    }
    const jobText = [job?.status?.code ?? 'not found', reason].filter(Boolean).join(', ');
    const why =
      reason === 'TooManyDeletes'
        ? 'quarantined: TooManyDeletes (the accidental-deletion threshold)'
        : `not quarantined for too many deletes (job ${jobText})`;
    out(`${r.displayName}: ${why}; ${deletes.length} staged delete(s)${complete ? '' : ' (first pages only)'}`);
    if (deletes.length)
      out(
        renderTable(deletes, [
          { header: 'when', get: (d) => d.when, priority: 1 },
          { header: 'source (Entra)', get: (d) => d.source, max: 40, priority: 0 },
          { header: 'would delete in the app', get: (d) => d.target, max: 40, priority: 0 },
          { header: 'target id', get: (d) => d.targetId, max: 40, priority: 2 },
        ]),
      );
    if (reason === 'TooManyDeletes')
      out(
        `To let them through: provflow restart ${batchId} --instance '${r.displayName}' --scope ForceDeletes --confirm`,
      );
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}
