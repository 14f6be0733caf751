/**
 * `provflow rotate BATCH FILE [--wait] [--json]`: new credentials for running instances. The file
 * is validated like a batch (exit 2, nothing enqueued); each named instance gets one durable op
 * job (validate the new set → PUT the complete set → restart if quarantined → watched again).
 */
import { problemsReport } from './enqueue.ts';
import { canStartOp } from '../ledger/instance-state.ts';
import { ROTATION_FIELD } from '../steps/ops/rotate.ts';
import { addOpJobs, newRunId, specOfRecord } from '../ops/ops-queue.ts';
import { loadRotateFile, rotatesWholeBatch } from '../ops/rotate-file.ts';
import type { BatchProblem } from '../batch/batch-types.ts';
import { addOpJobsByLane, readBatch, type BatchParts } from './batch-parts.ts';
import { outcomesTable, waitForRun } from './op-runs.ts';
import { CliExit, cliLogger, configFor, EXIT, oneShotRuntime, out } from './common.ts';

interface RotateOptions {
  json?: boolean;
  wait?: boolean;
  timeoutMs?: number;
}

export async function runRotate(batchId: string, file: string, opts: RotateOptions): Promise<number> {
  const cfg = await configFor(['redis', 'secretKey']);
  // Credentials in `defaults` only: every started instance of the batch gets them.
  const wholeBatch = await rotatesWholeBatch(file);
  let rt = wholeBatch ? await oneShotRuntime(cfg, { logger: cliLogger(cfg, 'rotate', 'warn') }) : null;
  let batch: BatchParts | null = rt ? await readBatch(rt, batchId) : null;
  const started = (batch?.rows ?? []).filter((r) => r.servicePrincipalId && r.jobId && canStartOp('rotate', r.state));
  if (wholeBatch && started.length === 0) {
    await rt?.close();
    throw new CliExit(`${file}: batch ${batchId} has no started instance to rotate; check the batch id`, EXIT.badInput);
  }
  const fanOutTo = wholeBatch ? started.map((r) => r.displayName) : undefined;
  const loaded = await loadRotateFile(file, { batchId, maxInstances: cfg.MAX_BATCH_INSTANCES, fanOutTo });
  if (!loaded.ok) {
    await rt?.close();
    throw new CliExit(problemsReport(file, loaded.problems), EXIT.badInput);
  }
  rt ??= await oneShotRuntime(cfg, { logger: cliLogger(cfg, 'rotate', 'warn') });
  try {
    batch ??= await readBatch(rt, batchId);
    const parts = batch;
    const byKey = new Map(parts.rows.map((r) => [r.instanceKey, r]));
    const problems: BatchProblem[] = [];
    const targets = loaded.instances.flatMap((inst) => {
      const r = byKey.get(inst.instanceKey);
      const where = `instances[${inst.index}].displayName`;
      if (!r) {
        problems.push({
          path: where,
          message: `no instance '${inst.displayName}' in batch ${batchId}; check the name`,
        });
        return [];
      }
      if (!r.servicePrincipalId || !r.jobId || !canStartOp('rotate', r.state)) {
        problems.push({
          path: where,
          message: `'${inst.displayName}' is ${r.state}: rotate changes the credentials of started jobs only`,
        });
        return [];
      }
      return [{ r, inst }];
    });
    if (problems.length) throw new CliExit(problemsReport(file, problems), EXIT.badInput);
    const runId = newRunId();
    // Sealed as at enqueue (bound to batch and instance); the op deletes them once saved or refused.
    for (const { r, inst } of targets) {
      const sealed = await rt.vault.seal(inst.credentials, specOfRecord(batchId, r));
      await parts.laneOf(r).ledger.update(batchId, r.instanceKey, {
        [ROTATION_FIELD]: sealed,
        op: 'rotate',
        opState: 'queued',
        opRunId: runId,
        opError: null,
      });
    }
    await addOpJobsByLane(
      parts,
      targets.map((t) => t.r),
      (ops, part) =>
        addOpJobs(
          ops,
          'rotate',
          runId,
          part.map((r) => specOfRecord(batchId, r)),
        ),
    );
    const keys = targets.map((t) => t.r.instanceKey);
    if (!opts.wait) {
      if (opts.json) out(JSON.stringify({ batchId, runId, queued: targets.map((t) => t.r.displayName) }));
      else {
        const keys = [...new Set(targets.flatMap((t) => t.inst.credentials.map((c) => c.key)))].join(', ');
        out(
          `rotate ${runId}: ${targets.length} instance(s) queued (keys: ${keys}); follow: provflow status ${batchId}`,
        );
      }
      return EXIT.ok;
    }
    const { rows: after, timedOut } = await waitForRun(parts, runId, keys, opts.timeoutMs ?? 600_000);
    const outcomes = after.map((r) => ({
      instance: r.displayName,
      result: r.opState === 'done' ? 'rotated' : r.opState === 'failed' ? 'failed' : 'pending',
      detail: r.opState === 'failed' ? (r.opError ?? '') : r.opState === 'done' ? 'new credentials saved' : '',
    }));
    if (opts.json) out(JSON.stringify({ batchId, runId, timedOut, instances: outcomes }));
    else out(outcomesTable(outcomes));
    return timedOut || outcomes.some((o) => o.result !== 'rotated') ? EXIT.failed : EXIT.ok;
  } finally {
    await rt.close();
  }
}
