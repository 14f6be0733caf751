/**
 * `provflow teardown BATCH [--instance NAME] [--dry-run] [--yes] [--purge] [--wait] [--json]`:
 * pause job → delete job → delete application → the ledger marks the instance removed.
 * Only objects whose ids the ledger holds (created or adopted by provflow) are touched; without
 * --yes it prints what it would do and changes nothing.
 */
import type { GraphApi } from '../graph/graph-api.ts';
import { END_STATES, REMOVED, STARTED_STATES, TEARING_DOWN } from '../ledger/instance-state.ts';
import type { InstanceRecord } from '../ledger/ledger.ts';
import { addOpJobs, newRunId, specOfRecord } from '../ops/ops-queue.ts';
import { renderTable } from '../ui/table.ts';
import { addOpJobsByLane, graphsOf, readBatch } from './batch-parts.ts';
import { outcomesTable, waitForRun } from './op-runs.ts';
import { patientGraph } from '../ops/patient-graph.ts';
import { CliExit, cliLogger, configFor, EXIT, oneShotRuntime, out } from './common.ts';

interface TeardownOptions {
  instance?: string;
  dryRun?: boolean;
  yes?: boolean;
  purge?: boolean;
  json?: boolean;
  wait?: boolean;
  timeoutMs?: number;
}

/** What teardown would do to one instance, read from the ledger and checked in Graph by id. */
interface TeardownPlanRow {
  displayName: string;
  instanceKey: string;
  jobId: string | null;
  applicationObjectId: string | null;
  job: 'present' | 'gone' | 'none';
  application: 'present' | 'deleted-items' | 'gone' | 'none';
  action: 'teardown' | 'mark-removed' | 'already-removed' | 'refused';
  reason: string;
}

async function planRow(g: GraphApi, r: InstanceRecord, purge: boolean): Promise<TeardownPlanRow> {
  const base = {
    displayName: r.displayName,
    instanceKey: r.instanceKey,
    jobId: r.jobId,
    applicationObjectId: r.applicationObjectId,
  };
  if (r.state === REMOVED)
    return { ...base, job: 'none', application: 'none', action: 'already-removed', reason: 'removed earlier' };
  // A flow still running would go on creating what teardown deletes.
  if (!END_STATES.has(r.state) && !STARTED_STATES.has(r.state) && r.state !== TEARING_DOWN)
    return {
      ...base,
      job: 'none',
      application: 'none',
      action: 'refused',
      reason: `onboarding is still running (${r.state}); wait until it ends (provflow status), then tear it down`,
    };
  const job = r.servicePrincipalId && r.jobId ? await g.getSynchronizationJob(r.servicePrincipalId, r.jobId) : null;
  const jobState = !r.jobId ? 'none' : job ? 'present' : 'gone';
  if (!r.applicationObjectId) {
    // Never by name: an application the ledger does not hold an id for is not provflow's to delete.
    const byName = await g.findApplications({ displayName: r.displayName });
    if (byName.length)
      return {
        ...base,
        job: jobState,
        application: 'none',
        action: 'refused',
        reason:
          `an application named '${r.displayName}' exists but the ledger holds no id for it (provflow neither ` +
          'created nor adopted it): not deleted; remove it by hand if it should go',
      };
    return { ...base, job: jobState, application: 'none', action: 'mark-removed', reason: 'nothing in Graph' };
  }
  const app = await g.getApplication(r.applicationObjectId);
  const deleted = app ? null : await g.getDeletedApplication(r.applicationObjectId);
  const application = app ? 'present' : deleted ? 'deleted-items' : 'gone';
  const steps = [
    jobState === 'present' ? 'pause and delete job' : null,
    application === 'present' ? 'delete application' : null,
    purge && application !== 'gone' ? 'purge from deleted items' : null,
  ].filter(Boolean);
  return { ...base, job: jobState, application, action: 'teardown', reason: steps.join(', ') || 'mark removed' };
}

export async function runTeardown(batchId: string, opts: TeardownOptions): Promise<number> {
  const cfg = await configFor(['redis', 'graph']);
  const rt = await oneShotRuntime(cfg, { logger: cliLogger(cfg, 'teardown', 'warn'), withGraph: true });
  // Each instance is read in its own tenant, through that tenant's client.
  const graphOf = graphsOf(rt, (g) => patientGraph(g));
  try {
    const batch = await readBatch(rt, batchId);
    const rows = batch.rows;
    const targets = opts.instance ? rows.filter((r) => r.displayName === opts.instance) : rows;
    if (opts.instance && !targets.length)
      throw new CliExit(`No instance named '${opts.instance}' in batch ${batchId}.`, EXIT.badInput);
    const plan: TeardownPlanRow[] = [];
    for (const r of targets) plan.push(await planRow(graphOf(r), r, !!opts.purge));
    const refused = plan.filter((p) => p.action === 'refused');
    const apply = !opts.dryRun && !!opts.yes && refused.length === 0;
    const print = (dryRun: boolean) => {
      if (opts.json) out(JSON.stringify({ batchId, dryRun, purge: !!opts.purge, instances: plan }));
      else
        out(
          renderTable(plan, [
            { header: 'instance', get: (p) => p.displayName, max: 40, priority: 0 },
            { header: 'job', get: (p) => p.job },
            { header: 'application', get: (p) => p.application },
            { header: 'action', get: (p) => p.action, priority: 0 },
            { header: 'what', get: (p) => p.reason, wrap: true, min: 30 },
          ]),
        );
    };
    if (!apply) {
      print(true);
      if (refused.length)
        throw new CliExit(
          `teardown refused for ${refused.map((p) => `'${p.displayName}'`).join(', ')}: nothing was changed. ` +
            'Tear the others down one by one with --instance NAME.',
          EXIT.badInput,
        );
      if (!opts.json) out(`dry run: nothing changed; add --yes to tear down${opts.purge ? ' and purge' : ''}.`);
      return EXIT.ok;
    }
    if (!opts.json || !opts.wait) print(false);
    const runId = newRunId();
    const todo = plan.filter((p) => p.action === 'teardown');
    for (const p of plan.filter((x) => x.action === 'mark-removed'))
      await batch
        .laneOf(p)
        .ledger.update(batchId, p.instanceKey, { state: REMOVED, removedAt: Date.now(), detail: 'removed' });
    for (const p of todo)
      await batch.laneOf(p).ledger.update(batchId, p.instanceKey, {
        op: 'teardown',
        opState: 'queued',
        opRunId: runId,
        opError: null,
      });
    const byKey = new Map(targets.map((r) => [r.instanceKey, r]));
    await addOpJobsByLane(batch, todo, (ops, part) =>
      addOpJobs(
        ops,
        'teardown',
        runId,
        part.map((p) => specOfRecord(batchId, byKey.get(p.instanceKey)!)),
        { purge: !!opts.purge },
      ),
    );
    if (!opts.wait) {
      if (!opts.json)
        out(`teardown ${runId}: ${todo.length} instance(s) queued; follow with provflow status ${batchId}`);
      return EXIT.ok;
    }
    const keys = todo.map((p) => p.instanceKey);
    const { rows: after, timedOut } = await waitForRun(batch, runId, keys, opts.timeoutMs ?? 600_000);
    const outcomes = after.map((r) => ({
      instance: r.displayName,
      result: r.state === REMOVED ? 'removed' : r.opState === 'failed' ? 'failed' : 'pending',
      detail: r.opState === 'failed' ? (r.opError ?? '') : (r.detail ?? ''),
    }));
    if (opts.json) out(JSON.stringify({ batchId, dryRun: false, runId, timedOut, instances: plan, outcomes }));
    else out(outcomesTable(outcomes));
    return timedOut || outcomes.some((o) => o.result !== 'removed') ? EXIT.failed : EXIT.ok;
  } finally {
    await rt.close();
  }
}
