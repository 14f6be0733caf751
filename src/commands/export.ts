/**
 * `provflow export BATCH --out DIR [--json]`: one deterministic JSON file per instance
 * (`DIR/<instanceKey>.json`, keys sorted): job, settings saved in clear, the names of saved
 * credential keys (never their values), ids and state. Fit to commit and diff before a change.
 * A read: it goes through the same Graph client and limiter, with nothing to resume.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { REMOVED } from '../ledger/instance-state.ts';
import { readSnapshot, stableJson } from '../ops/instance-snapshot.ts';
import { renderTable } from '../ui/table.ts';
import { graphsOf, readBatch } from './batch-parts.ts';
import { patientGraph } from '../ops/patient-graph.ts';
import { CliExit, cliLogger, configFor, EXIT, oneShotRuntime, out } from './common.ts';

export async function runExport(batchId: string, opts: { out?: string; json?: boolean }): Promise<number> {
  if (!opts.out) throw new CliExit('export needs --out DIR (where the JSON files go).', EXIT.badInput);
  const dir = resolve(opts.out);
  const cfg = await configFor(['redis', 'graph']);
  const rt = await oneShotRuntime(cfg, { logger: cliLogger(cfg, 'export', 'warn'), withGraph: true });
  // Each instance is read in its own tenant, through that tenant's client.
  const graphOf = graphsOf(rt, (g) => patientGraph(g));
  try {
    const rows = (await readBatch(rt, batchId)).rows.filter((r) => r.state !== REMOVED);
    await mkdir(dir, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
      throw new CliExit(`--out ${dir}: cannot create the directory (${e.code ?? e.message}).`, EXIT.badInput);
    });
    const written: { instance: string; file: string; job: string }[] = [];
    for (const r of rows) {
      const snap = await readSnapshot(graphOf(r), batchId, r);
      const file = join(dir, `${r.instanceKey}.json`);
      // Written whole then renamed: a reader (or git) never sees half a file.
      await writeFile(`${file}.tmp`, stableJson(snap), { mode: 0o644 });
      await rename(`${file}.tmp`, file);
      written.push({ instance: r.displayName, file, job: snap.job?.code ?? 'not in Graph' });
    }
    if (opts.json) out(JSON.stringify({ batchId, dir, files: written }));
    else {
      out(
        renderTable(written, [
          { header: 'instance', get: (w) => w.instance, max: 40, priority: 0 },
          { header: 'job', get: (w) => w.job },
          { header: 'file', get: (w) => w.file, priority: 1 },
        ]),
      );
      out(`${written.length} instance(s) exported to ${dir}`);
    }
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}
