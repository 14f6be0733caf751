/** `provflow status BATCH [--json] [--watch] [--wide]`: where every instance stands. */
import type { Runtime } from '../app/runtime.ts';
import { END_STATES } from '../ledger/instance-state.ts';
import { renderStatusTable, summarise, summaryLine } from '../ui/status-view.ts';
import { CliExit, cliLogger, configFor, EXIT, oneShotRuntime, out } from './common.ts';

async function snapshot(rt: Runtime, batchId: string) {
  const meta = await rt.ledger.getBatch(batchId);
  if (!meta) {
    const known = (await rt.ledger.listBatches()).map((b) => b.batchId);
    throw new CliExit(`No batch '${batchId}' in this Redis (prefix ${rt.prefix}). Known batches: ${known.join(', ') || 'none'}.`, EXIT.badInput);
  }
  const rows = await rt.ledger.listInstances(batchId);
  return { meta, rows, summary: summarise(rows) };
}

export async function runStatus(batchId: string, opts: { json?: boolean; watch?: boolean; wide?: boolean; intervalMs?: number }): Promise<number> {
  const cfg = await configFor(['redis']);
  const rt = await oneShotRuntime(cfg, { logger: cliLogger(cfg, 'status', 'warn') });
  try {
    for (;;) {
      const { rows, summary } = await snapshot(rt, batchId);
      if (opts.json) {
        out(JSON.stringify({ batchId, summary, instances: rows }));
      } else {
        if (opts.watch && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
        out(renderStatusTable(rows, { wide: opts.wide }));
        out(summaryLine(batchId, summary));
        out(`(ids: provflow status ${batchId} --wide · machine-readable: --json · board: provflow board)`);
      }
      const done = rows.every((r) => END_STATES.has(r.state));
      if (!opts.watch || done) return summary.failed + summary.timedOut > 0 ? EXIT.failed : EXIT.ok;
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 2000));
    }
  } finally {
    await rt.close();
  }
}
