/**
 * `provflow restart BATCH [--instance NAME] [--scope …]`: for quarantined instances (or the one
 * named), call Graph's restart with the reset scope and hand the instance back to the poller.
 */
import type { Runtime } from '../app/runtime.ts';
import type { WatchJobData } from '../flow/job-data.ts';
import { addWatchJob, watchJobId } from '../flow/watch-job.ts';
import { STARTED } from '../ledger/instance-state.ts';
import { specOfRecord } from '../ops/ops-queue.ts';
import { listStagedDeletes } from '../ops/staged-deletes.ts';
import { patientGraph } from '../ops/patient-graph.ts';
import { graphsOf, readBatch, type BatchParts } from './batch-parts.ts';
import { CliExit, cliLogger, configFor, EXIT, oneShotRuntime, out } from './common.ts';

/** The instance named, else every quarantined one. */
function targetsOf(batch: BatchParts, opts: { instance?: string }) {
  return opts.instance
    ? batch.rows.filter((r) => r.displayName === opts.instance)
    : batch.rows.filter((r) => r.state === 'quarantined');
}

export async function restartInstances(
  rt: Runtime,
  batchId: string,
  opts: { instance?: string; scope: string },
): Promise<{ restarted: string[]; skipped: string[] }> {
  const batch = await readBatch(rt, batchId);
  const targets = targetsOf(batch, opts);
  const graphOf = graphsOf(rt);
  if (opts.instance && targets.length === 0)
    throw new CliExit(`No instance named '${opts.instance}' in batch ${batchId}.`, EXIT.badInput);
  const restarted: string[] = [];
  const skipped: string[] = [];
  for (const r of targets) {
    if (!r.servicePrincipalId || !r.jobId) {
      skipped.push(`${r.displayName} (no provisioning job yet: state ${r.state})`);
      continue;
    }
    // In the instance's own tenant; its watch job and ledger row in the lane that holds it.
    await graphOf(r).restartSynchronizationJob(r.servicePrincipalId, r.jobId, opts.scope);
    const lane = batch.laneOf(r);
    const startedAt = Date.now();
    const instance = specOfRecord(batchId, r);
    const data: WatchJobData = { v: 1, instance, servicePrincipalId: r.servicePrincipalId, jobId: r.jobId, startedAt };
    const old = await lane.pollQueue.getJob(watchJobId(batchId, r.instanceKey));
    if (old) await old.remove().catch(() => undefined);
    await addWatchJob(lane.pollQueue, data);
    await lane.ledger.update(batchId, r.instanceKey, {
      state: STARTED,
      startedAt,
      endedAt: null,
      quarantineReason: null,
      quarantineNextAttempt: null,
      detail: `restarted (${opts.scope})`,
    });
    restarted.push(r.displayName);
  }
  return { restarted, skipped };
}

/**
 * ForceDeletes lets the staged deletes of a threshold quarantine through: it shows how many there
 * are and needs --confirm; without it nothing is restarted (exit 2).
 */
async function confirmForceDeletes(rt: Runtime, batchId: string, opts: { instance?: string; confirm?: boolean }) {
  const targets = targetsOf(await readBatch(rt, batchId), opts);
  const graphOf = graphsOf(rt, (g) => patientGraph(g));
  let total = 0;
  const lines: string[] = [];
  for (const r of targets) {
    if (!r.jobId) continue;
    const { deletes, complete } = await listStagedDeletes(graphOf(r), r.jobId);
    total += deletes.length;
    lines.push(`${r.displayName}: ${deletes.length}${complete ? '' : '+'} staged delete(s)`);
  }
  for (const l of lines) out(l);
  if (!opts.confirm)
    throw new CliExit(
      `--scope ForceDeletes would let ${total} staged delete(s) through (list them: provflow deletions ${batchId} ` +
        '--instance NAME). Nothing was restarted; add --confirm to go ahead.',
      EXIT.badInput,
    );
}

export async function runRestart(
  batchId: string,
  opts: { instance?: string; scope: string; confirm?: boolean },
): Promise<number> {
  const cfg = await configFor(['redis', 'graph']);
  const rt = await oneShotRuntime(cfg, { logger: cliLogger(cfg, 'restart', 'warn'), withGraph: true });
  try {
    if (opts.scope.split(',').includes('ForceDeletes')) await confirmForceDeletes(rt, batchId, opts);
    const { restarted, skipped } = await restartInstances(rt, batchId, opts);
    out(
      `restarted ${restarted.length} provisioning job(s) with resetScope ${opts.scope}; ` +
        `the poller watches them again (provflow status ${batchId} --watch)`,
    );
    for (const s of skipped) out(`skipped: ${s}`);
    return EXIT.ok;
  } finally {
    await rt.close();
  }
}
