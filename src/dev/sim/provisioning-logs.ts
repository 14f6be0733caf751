/**
 * Provisioning-log entries of a job, generated on read from the same cycles its status shows
 * (deterministic: the same ids on every read).
 */
import { iso } from './http.ts';
import type { SimulatorSettings } from './settings.ts';
import { deleteEntries } from './staged-deletes.ts';
import { guid, logSystems, PROVISIONING_SERVICE, type SimJob } from './directory.ts';
import { cyclesOf } from './job-status.ts';

const ENTRY_ERRORS = [
  {
    errorCode: 'SystemForCrossDomainIdentityManagementBadResponse',
    reason: "The target application returned 400 Bad Request: attribute 'userName' must be unique.",
    errorCategory: 'NonServiceFailure',
    recommendedAction: 'Make the userName attribute unique in the target application, or change the attribute mapping.',
  },
  {
    errorCode: 'AzureActiveDirectoryCannotUpdateObjectsOriginatedInExternalService',
    reason: 'The user could not be updated because it is mastered in an external service.',
    errorCategory: 'nonServiceFailure',
    recommendedAction: 'Update the user in its source of authority.',
  },
  {
    errorCode: 'EntrySynchronizationError',
    reason: 'The provisioning service could not process the entry: a required attribute is missing.',
    errorCategory: 'NonServiceFailure',
    recommendedAction: 'Populate the missing attribute or change the scoping filter.',
  },
];

/** The error fields a failed entry carries (in statusInfo and provisioningStatusInfo.errorInformation). */
function errorInfo(e: { errorCode: string; reason: string; errorCategory: string; recommendedAction: string }) {
  const { errorCode, reason, errorCategory, recommendedAction } = e;
  return { errorCode, reason, additionalDetails: null, errorCategory, recommendedAction };
}

/**
 * Provisioning-log entries of every completed cycle of every run of a job (paused, restarted or
 * deleted: they are audit records), newer than `retainFrom`. Deterministic, generated on read;
 * ids, cycleId and changeId are GUIDs; a cycle's entries match its execution's counters.
 */
export function logsForJob(
  job: SimJob,
  s: SimulatorSettings,
  tenantId: string,
  now: number,
  retainFrom: number,
): unknown[] {
  const out: unknown[] = [];
  // Microsoft's examples spell step types both ways (Import/Export, import/matching/export).
  const capital = job.seed % 2 === 1;
  const stepType = (t: string) => (capital ? t[0]!.toUpperCase() + t.slice(1) : t);
  const step = (name: string, type: string, status: string, description: string) => ({
    name,
    provisioningStepType: stepType(type),
    status,
    description,
    details: {},
  });
  for (const [r, run] of job.runs.entries()) {
    const until = Math.min(now, run.endedAt ?? now);
    // Only cycles that can still hold retained entries (a long-lived job has thousands).
    const retainedFrom = Math.floor((retainFrom - run.startedAt - s.firstCycleMs) / s.cycleIntervalMs);
    const first = run.cause ? 0 : Math.max(0, retainedFrom);
    for (const c of cyclesOf(run, s, until, first)) {
      if (c.ended < retainFrom) continue;
      const cycleId = guid(`${job.id}|${job.seed}|${r}|${c.index}|cycle`);
      const total = c.exported + c.failures;
      for (let i = 0; i < total; i++) {
        const failed = i < c.failures;
        const err = failed
          ? c.quarantined
            ? {
                errorCode: run.cause!.code,
                reason: run.cause!.message,
                errorCategory: 'NonServiceFailure',
                recommendedAction: 'Update the credentials and restart the job.',
              }
            : ENTRY_ERRORS[i % ENTRY_ERRORS.length]!
          : null;
        const when = c.ended - (total - i) * 50;
        const action = i % 3 === 0 ? 'update' : 'create';
        const user = guid(`${job.id}|user|${i}`);
        const key = `${job.id}|${job.seed}|${r}|${c.index}|${i}`;
        out.push({
          id: guid(`${key}|id`),
          activityDateTime: iso(when),
          tenantId,
          jobId: job.id,
          cycleId,
          changeId: guid(`${key}|change`),
          action: action === 'create' ? 'Create' : 'Update',
          provisioningAction: action,
          durationInMilliseconds: 120 + i * 7,
          initiatedBy: PROVISIONING_SERVICE,
          ...logSystems(job, tenantId),
          sourceIdentity: { id: user, displayName: `User ${i}`, identityType: 'User', details: {} },
          targetIdentity: {
            id: failed ? '' : guid(`${key}|target`),
            displayName: `User ${i}`,
            identityType: 'User',
            details: {},
          },
          modifiedProperties: [{ displayName: 'displayName', oldValue: null, newValue: `User ${i}` }],
          provisioningSteps: [
            step('EntryImport', 'import', 'success', `Retrieved User ${i} from Azure AD`),
            step('EntryMatching', 'matching', 'success', `User ${i} matched on userName`),
            {
              name: action === 'create' ? 'EntryExportAdd' : 'EntryExportUpdate',
              provisioningStepType: stepType('export'),
              status: failed ? 'failure' : 'success',
              description: failed ? err!.reason : `User ${i} was ${action}d`,
              details: {},
            },
          ],
          statusInfo: failed
            ? { '@odata.type': '#microsoft.graph.statusDetails', status: 'failure', ...errorInfo(err!) }
            : { '@odata.type': '#microsoft.graph.statusBase', status: 'success' },
          provisioningStatusInfo: failed
            ? { status: 'failure', errorInformation: errorInfo(err!) }
            : { status: 'success', errorInformation: null },
        });
      }
      out.push(...deleteEntries({ job, run, runIndex: r, cycle: c, cycleId, tenantId, stepType }));
    }
  }
  return out;
}
