/**
 * `provflow verify BATCH [--wait] [--json]`: ask each started instance's target app whether the
 * saved credentials still work (validateCredentials with useSavedCredentials). Refused ones show
 * in `status` (credentials failing), on the board and as an `instance.credentials-failing` webhook.
 */
import { canStartOp } from '../ledger/instance-state.ts';
import { addOpJobs, newRunId, specOfRecord } from '../ops/ops-queue.ts';
import { addOpJobsByLane, readBatch } from './batch-parts.ts';
import { outcomesTable, waitForRun } from './op-runs.ts';
import { CliExit, cliLogger, configFor, EXIT, oneShotRuntime, out } from './common.ts';

export async function runVerify(
  batchId: string,
  opts: { instance?: string; json?: boolean; wait?: boolean; timeoutMs?: number },
): Promise<number> {
  const cfg = await configFor(['redis']);
  const rt = await oneShotRuntime(cfg, { logger: cliLogger(cfg, 'verify', 'warn') });
  try {
    const batch = await readBatch(rt, batchId);
    const rows = batch.rows;
    const named = opts.instance ? rows.filter((r) => r.displayName === opts.instance) : rows;
    if (opts.instance && !named.length)
      throw new CliExit(`No instance named '${opts.instance}' in batch ${batchId}.`, EXIT.badInput);
    const targets = named.filter((r) => r.servicePrincipalId && r.jobId && canStartOp('verify', r.state));
    const runId = newRunId();
    for (const r of targets)
      await batch.laneOf(r).ledger.update(batchId, r.instanceKey, {
        op: 'verify',
        opState: 'queued',
        opRunId: runId,
        opError: null,
      });
    await addOpJobsByLane(batch, targets, (ops, part) =>
      addOpJobs(
        ops,
        'verify',
        runId,
        part.map((r) => specOfRecord(batchId, r)),
      ),
    );
    const skipped = named.length - targets.length;
    if (!opts.wait) {
      if (opts.json) out(JSON.stringify({ batchId, runId, queued: targets.length, skipped }));
      else out(`verify ${runId}: ${targets.length} instance(s) queued, ${skipped} without a started job skipped`);
      return EXIT.ok;
    }
    const keys = targets.map((r) => r.instanceKey);
    const { rows: after, timedOut } = await waitForRun(batch, runId, keys, opts.timeoutMs ?? 600_000);
    const outcomes = after.map((r) => ({
      instance: r.displayName,
      result: r.opState !== 'done' ? (r.opState === 'failed' ? 'error' : 'pending') : (r.credentialsCheck ?? '?'),
      detail: r.opState === 'failed' ? (r.opError ?? '') : (r.credentialsError ?? ''),
    }));
    if (opts.json) out(JSON.stringify({ batchId, runId, timedOut, skipped, instances: outcomes }));
    else out(outcomesTable(outcomes));
    return timedOut || outcomes.some((o) => o.result !== 'ok') ? EXIT.failed : EXIT.ok;
  } finally {
    await rt.close();
  }
}
