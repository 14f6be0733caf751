/**
 * Accidental-deletion prevention. A test stages N deletions on a job (`POST /_sim/deletes`); the
 * job's next cycle deletes them, unless N exceeds the job's threshold: then that cycle deletes
 * nothing, logs each as a staged delete (action `StagedDelete`, status `skipped`) and the job
 * goes into quarantine with reason `TooManyDeletes`. A restart whose `resetScope` includes
 * `ForceDeletes` performs them; any other start or restart stages them again while they stand.
 */
import { guid, logSystems, PROVISIONING_SERVICE, type QuarantineCause, type SimJob, type SimRun } from './directory.ts';
import type { SimCycle } from './job-status.ts';
import { iso } from './http.ts';

/** Microsoft's default, as its example job shows (`QuarantineTooManyDeletesThreshold`: 500). */
export const DEFAULT_DELETE_THRESHOLD = 500;

/** Deletions waiting for a job's next cycle. */
export interface PendingDeletes {
  count: number;
  threshold: number;
  /** Real ms they were staged: the first cycle ending after this evaluates them. */
  since: number;
  /** A threshold quarantine already logged them (they wait for ForceDeletes or a new count). */
  staged: boolean;
}

/** Deletes logged by one cycle of a run. */
export interface RunDeletes {
  /** Index of the cycle (in the run) that logs them. */
  cycle: number;
  count: number;
  /** Skipped because the threshold was exceeded (else performed). */
  staged: boolean;
  threshold: number;
}

/** The quarantine's quarantine reason and error when the threshold is exceeded. */
const TOO_MANY_DELETES = 'TooManyDeletes';

function tooManyDeletesCause(count: number, threshold: number): QuarantineCause {
  return {
    code: TOO_MANY_DELETES,
    message:
      `This cycle would delete ${count} objects, more than the accidental deletions threshold of ${threshold}. ` +
      'Review the staged deletes in the provisioning logs, then allow them (restart with resetScope ForceDeletes) ' +
      'or fix the assignments or scoping and restart.',
  };
}

/** The run's quarantine becomes a threshold quarantine whose first cycle stages the deletes. */
export function stageOnRun(run: SimRun, p: PendingDeletes): void {
  run.cause = tooManyDeletesCause(p.count, p.threshold);
  run.reason = TOO_MANY_DELETES;
  run.entryErrors = false;
  run.deletes = [...(run.deletes ?? []), { cycle: 0, count: p.count, staged: true, threshold: p.threshold }];
  p.staged = true;
}

/**
 * At a start or restart with the saved secrets good (`cause` null): ForceDeletes performs the
 * pending deletes in the first cycle; otherwise a count over the threshold stages them again.
 */
export function deletesAtStart(job: SimJob, run: SimRun, forceDeletes: boolean): void {
  const p = job.pendingDeletes;
  if (!p || run.cause) return;
  if (forceDeletes || p.count <= p.threshold) {
    run.deletes = [...(run.deletes ?? []), { cycle: 0, count: p.count, staged: false, threshold: p.threshold }];
    job.pendingDeletes = null;
  } else stageOnRun(run, p);
}

/** Why a `/_sim/deletes` body is refused, or null. */
export function pendingDeletesProblem(count: unknown, threshold: unknown): string | null {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > 100_000) {
    return 'count must be a whole number from 0 to 100000 (0 clears the staged deletions)';
  }
  if (threshold !== undefined && (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 0)) {
    return `threshold must be a whole number >= 0 (default ${DEFAULT_DELETE_THRESHOLD})`;
  }
  return null;
}

const SKIP_REASON = (threshold: number) =>
  `The delete was not performed: the number of deletions in this cycle exceeded the accidental deletions ` +
  `threshold (${threshold}). The job is quarantined until the deletions are allowed or rejected.`;

/** Log entries of the deletes a cycle logs (none for most cycles). */
export function deleteEntries(o: {
  job: SimJob;
  run: SimRun;
  runIndex: number;
  cycle: SimCycle;
  cycleId: string;
  tenantId: string;
  stepType: (t: string) => string;
}): unknown[] {
  const { job, run, cycle, tenantId } = o;
  const out: unknown[] = [];
  for (const [d, del] of (run.deletes ?? []).entries()) {
    if (del.cycle !== cycle.index) continue;
    for (let i = 0; i < del.count; i++) {
      const key = `${job.id}|${job.seed}|${o.runIndex}|${cycle.index}|del${d}|${i}`;
      // The same users each time they are staged: the ones whose assignment went away.
      const user = guid(`${job.id}|deleted-user|${i}`);
      const name = `Departed User ${i}`;
      const err = {
        errorCode: TOO_MANY_DELETES,
        reason: SKIP_REASON(del.threshold),
        additionalDetails: null,
        errorCategory: 'NonServiceFailure',
        recommendedAction:
          'Review the deletions. Allow them by restarting with resetScope ForceDeletes, or reject them by ' +
          'restoring the assignments, then restart.',
      };
      out.push({
        id: guid(`${key}|id`),
        activityDateTime: iso(cycle.ended - 25 - i),
        tenantId,
        jobId: job.id,
        cycleId: o.cycleId,
        changeId: guid(`${key}|change`),
        action: del.staged ? 'StagedDelete' : 'Delete',
        provisioningAction: del.staged ? 'stagedDelete' : 'delete',
        durationInMilliseconds: 40 + i,
        initiatedBy: PROVISIONING_SERVICE,
        ...logSystems(job, tenantId),
        sourceIdentity: { id: user, displayName: name, identityType: 'User', details: {} },
        targetIdentity: {
          id: guid(`${job.id}|deleted-target|${i}`),
          displayName: name,
          identityType: 'User',
          details: {},
        },
        modifiedProperties: [],
        provisioningSteps: [
          step(o.stepType, 'EntryImport', 'import', 'success', `${name} is no longer assigned to the application`),
          step(o.stepType, 'EntryMatching', 'matching', 'success', `${name} matched on userName`),
          step(
            o.stepType,
            'EntryExportDelete',
            'export',
            del.staged ? 'skipped' : 'success',
            del.staged ? err.reason : `${name} was deleted`,
          ),
        ],
        statusInfo: del.staged
          ? { '@odata.type': '#microsoft.graph.statusDetails', status: 'skipped', ...err }
          : { '@odata.type': '#microsoft.graph.statusBase', status: 'success' },
        provisioningStatusInfo: del.staged
          ? { status: 'skipped', errorInformation: err }
          : { status: 'success', errorInformation: null },
      });
    }
  }
  return out;
}

function step(stepType: (t: string) => string, name: string, type: string, status: string, description: string) {
  return { name, provisioningStepType: stepType(type), status, description, details: {} };
}
