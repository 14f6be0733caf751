/** `provflow status BATCH [--json] [--watch] [--wide] [--all]`: where every instance stands. */
import type { Runtime } from '../app/runtime.ts';
import { END_STATES } from '../ledger/instance-state.ts';
import { createLiveArea } from '../ui/live.ts';
import { renderStatusTable, summarise, summaryLine } from '../ui/status-view.ts';
import { fitLines, terminalWidth } from '../ui/table.ts';
import { CliExit, cliLogger, configFor, EXIT, oneShotRuntime, out } from './common.ts';
import { readBatch } from './batch-parts.ts';

/** Every tenant's part of the batch, each read from its own slot (src/commands/batch-parts.ts). */
async function snapshot(rt: Runtime, batchId: string) {
  const { meta, rows } = await readBatch(rt, batchId);
  return { meta, rows, summary: summarise(rows) };
}

export async function runStatus(
  batchId: string,
  opts: { json?: boolean; watch?: boolean; wide?: boolean; all?: boolean; tenant?: string; intervalMs?: number },
): Promise<number> {
  const cfg = await configFor(['redis']);
  const rt = await oneShotRuntime(cfg, { logger: cliLogger(cfg, 'status', 'warn') });
  const live = opts.watch && !opts.json && process.stdout.isTTY ? createLiveArea(process.stdout) : null;
  try {
    for (;;) {
      const snap = await snapshot(rt, batchId);
      // --tenant: that tenant's instances only, in the table, the summary and the exit code.
      const rows = opts.tenant === undefined ? snap.rows : snap.rows.filter((r) => r.tenant === opts.tenant);
      const summary = opts.tenant === undefined ? snap.summary : summarise(rows);
      if (opts.tenant !== undefined && rows.length === 0) {
        const known = [...new Set(snap.rows.map((r) => r.tenant))].join(', ');
        throw new CliExit(
          `batch '${batchId}' has no instance of tenant '${opts.tenant}' (its tenants: ${known})`,
          EXIT.badInput,
        );
      }
      if (opts.json) {
        out(JSON.stringify({ batchId, summary, instances: rows }));
      } else {
        const text = [
          // The tenant column stays when filtered, so the table says whose instances it shows.
          renderStatusTable(snap.rows, { wide: opts.wide, all: opts.all, tenant: opts.tenant }),
          fitLines(summaryLine(batchId, summary), terminalWidth()),
          fitLines(
            `(ids: provflow status ${batchId} --wide · machine-readable: --json · board: provflow board)`,
            terminalWidth(),
          ),
        ].join('\n');
        // On a terminal --watch redraws in place; piped, each refresh is printed whole as before.
        if (live) live.update(text);
        else out(text);
      }
      const done = rows.every((r) => END_STATES.has(r.state));
      if (!opts.watch || done) return summary.failed + summary.timedOut > 0 ? EXIT.failed : EXIT.ok;
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 2000));
    }
  } finally {
    live?.done();
    await rt.close();
  }
}
