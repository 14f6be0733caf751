/** `provflow enqueue FILE`: validate, then enqueue everything or nothing. */
import { loadBatchFile } from '../batch/load-batch.ts';
import type { Batch, BatchProblem } from '../batch/batch-types.ts';
import { BatchSourceConflictError, enqueueBatch, type EnqueueResult } from '../flow/enqueue-batch.ts';
import { BatchBusyError } from '../flow/enqueue-claim.ts';
import { renderTable } from '../ui/table.ts';
import { terminalSafe } from '../ui/terminal-safe.ts';
import { ConfigError } from '../config.ts';
import { tenantNames, tenantsOf } from '../tenants/tenants-config.ts';
import { CliExit, cliLogger, configFor, err, EXIT, oneShotRuntime, out } from './common.ts';

export const exit2 = (e: unknown): never => {
  throw e instanceof ConfigError ? new CliExit(e.message, EXIT.badInput) : e;
};

export function problemsReport(file: string, problems: BatchProblem[], total = problems.length): string {
  return [
    `${terminalSafe(file)}: ${total} problem${total === 1 ? '' : 's'}; nothing was enqueued.`,
    renderTable(problems, [
      { header: 'where', get: (p) => p.path, max: 60, priority: 0 },
      { header: 'problem and fix', get: (p) => p.message, wrap: true, min: 36 }, // the fix must stay readable
    ]),
  ].join('\n');
}

/** Loads and validates a batch file, or throws CliExit(2) listing every problem. */
export async function loadOrExit(
  file: string,
  opts: { batchId?: string; maxInstances: number; tenants?: readonly string[] },
): Promise<Batch> {
  const res = await loadBatchFile(file, {
    env: process.env,
    maxInstances: opts.maxInstances,
    batchIdOverride: opts.batchId,
    tenants: opts.tenants,
  });
  if (!res.ok) throw new CliExit(problemsReport(file, res.problems, res.total), EXIT.badInput);
  return res.batch;
}

export async function runEnqueue(file: string, opts: { batchId?: string; json?: boolean }): Promise<EnqueueResult> {
  const cfg0 = await configFor(['redis']);
  // The tenants file's names (its secrets stay unread: enqueueing never talks to Graph).
  const tenants = tenantNames(await tenantsOf(cfg0, process.env, { resolveSecrets: false }).catch(exit2));
  const batch = await loadOrExit(file, { batchId: opts.batchId, maxInstances: cfg0.MAX_BATCH_INSTANCES, tenants });
  const needsKey = batch.instances.some((i) => i.credentials.length > 0);
  const cfg = needsKey ? await configFor(['redis', 'secretKey']) : cfg0;
  const logger = cliLogger(cfg, 'enqueue', 'warn');
  const rt = await oneShotRuntime(cfg, { logger });
  try {
    const result = await enqueueBatch(rt, batch, {
      onProgress: (done, total) => {
        if (process.stderr.isTTY) process.stderr.write(`\renqueueing ${done}/${total}`);
      },
    }).catch((e: unknown) => {
      if (e instanceof BatchSourceConflictError) throw new CliExit(e.message, EXIT.badInput);
      if (e instanceof BatchBusyError) throw new CliExit(e.message, EXIT.failed);
      throw e;
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (opts.json) out(JSON.stringify(result));
    else {
      const resumed = result.resumed ? ` (${result.resumed} left without a flow by an interrupted enqueue)` : '';
      err(
        `batch ${result.batchId}: ${result.added} added${resumed}, ${result.retried} failed instances retried, ` +
          `${result.skipped} already enqueued (${result.durationMs} ms)`,
      );
      out(result.batchId);
    }
    return result;
  } finally {
    await rt.close();
  }
}
