/**
 * The simulated tenant: applications, service principals, synchronization jobs and secrets,
 * with replication lag (objects invisible until `visibleAt`) and a job lifecycle computed from
 * timestamps on read — no timer per job, so 10,000 jobs cost nothing while idle.
 *
 * Credential conventions (documented in the README): a value starting with `bad` fails
 * validateCredentials; `quarantine…` validates but the first cycle quarantines the job (a
 * start or restart clears it); a value containing `entry-errors` makes cycles end with
 * EntryLevelErrors and failures in the provisioning logs.
 */
import { catalogueEntry } from './catalogue.ts';
import { iso } from './http.ts';
import type { SeededRandom } from './prng.ts';
import type { SimulatorSettings } from './settings.ts';

export const NEVER = '0001-01-01T00:00:00Z';
const DISABLED_INTERVAL = 'P10675199DT2H48M5.4775807S';

export interface SimApp {
  id: string;
  appId: string;
  displayName: string;
  applicationTemplateId: string;
  createdAt: number;
  visibleAt: number;
}

export interface SimSp {
  id: string;
  appId: string;
  displayName: string;
  applicationTemplateId: string;
  createdAt: number;
  visibleAt: number;
}

export type JobMode = 'ok' | 'quarantine' | 'entryErrors';

export interface SimJob {
  id: string;
  templateId: string;
  spId: string;
  spDisplayName: string;
  createdAt: number;
  visibleAt: number;
  /** Last start/restart (real ms), null while never started. */
  startedAt: number | null;
  pausedAt: number | null;
  mode: JobMode;
  /** A restart/start after a quarantine clears it: later cycles succeed. */
  quarantineCleared: boolean;
  cycle: number;
}

/** Sync template shape served by GET …/synchronization/templates. */
export function syncTemplateFor(sp: SimSp) {
  const c = catalogueEntry(sp.applicationTemplateId);
  if (!c?.syncTemplateId) return [];
  return [
    {
      id: c.syncTemplateId,
      applicationId: sp.appId,
      default: true,
      description: `${c.template.displayName} provisioning`,
      discoverable: true,
      factoryTag: c.factoryTag,
      metadata: [{ key: 'GalleryApplicationIdentifier', value: c.template.id }],
      schema: null,
    },
  ];
}

export function modeFromSecrets(values: string[]): JobMode {
  if (values.some((v) => v.toLowerCase().startsWith('quarantine'))) return 'quarantine';
  if (values.some((v) => v.toLowerCase().includes('entry-errors'))) return 'entryErrors';
  return 'ok';
}

/** Why credentials fail validation, or null when they pass. */
export function credentialProblem(templateId: string, creds: { key: string; value: string }[]): string | null {
  const c = catalogueEntry(templateId);
  for (const key of c?.requiredCredentials ?? []) {
    const v = creds.find((x) => x.key === key)?.value;
    if (!v) return `The credential '${key}' is required by the ${c?.template.displayName ?? templateId} connector and was not supplied.`;
  }
  const bad = creds.find((x) => typeof x.value === 'string' && x.value.toLowerCase().startsWith('bad'));
  if (bad) return `Failed to validate credentials: the target application rejected '${bad.key}' (401 Unauthorized). Verify the credential is correct and has not expired.`;
  const base = creds.find((x) => x.key === 'BaseAddress');
  if (base && !/^https:\/\//i.test(base.value)) return `The tenant URL (BaseAddress) must be an https URL.`;
  return null;
}

function execution(state: 'Succeeded' | 'Failed' | 'EntryLevelErrors', began: number, ended: number, job: SimJob, error: { code: string; message: string } | null) {
  const n = 10 + (job.cycle % 5);
  return {
    activityIdentifier: `${job.id}-${job.cycle}`,
    countEntitled: n,
    countEntitledForProvisioning: n,
    countEscrowed: state === 'EntryLevelErrors' ? 3 : 0,
    countEscrowedRaw: state === 'EntryLevelErrors' ? 3 : 0,
    countExported: state === 'Failed' ? 0 : n - (state === 'EntryLevelErrors' ? 3 : 0),
    countExports: n,
    countImported: n,
    countImportedDeltas: 0,
    countImportedReferenceDeltas: 0,
    error: error ? { ...error, tenantActionable: true } : null,
    state,
    timeBegan: iso(began),
    timeEnded: iso(ended),
  };
}

/** The synchronizationJob resource as Graph would show it at real time `now`. */
export function renderJob(job: SimJob, s: SimulatorSettings, now: number) {
  const base = {
    id: job.id,
    templateId: job.templateId,
    synchronizationJobSettings: [
      { name: 'QuarantineTooManyDeletesThreshold', value: '500' },
      { name: 'Domain', value: '{"DomainFqdn":"contoso.example","DomainNetBios":"contoso"}' },
    ],
  };
  const emptyStatus = {
    countSuccessiveCompleteFailures: 0,
    escrowsPruned: false,
    lastExecution: null,
    lastSuccessfulExecution: null,
    lastSuccessfulExecutionWithExports: null,
    progress: [],
    quarantine: null,
    steadyStateFirstAchievedTime: NEVER,
    steadyStateLastAchievedTime: NEVER,
    synchronizedEntryCountByType: [],
    troubleshootingUrl: null,
  };
  if (job.startedAt === null || job.pausedAt !== null) {
    return {
      ...base,
      schedule: { expiration: null, interval: DISABLED_INTERVAL, state: job.pausedAt !== null ? 'Paused' : 'Disabled' },
      status: { ...emptyStatus, code: job.pausedAt !== null ? 'Paused' : 'NotConfigured' },
    };
  }
  const schedule = { expiration: null, interval: 'PT40M', state: 'Active' };
  const firstEnd = job.startedAt + s.firstCycleMs;
  if (now < firstEnd) {
    return {
      ...base,
      schedule,
      status: {
        ...emptyStatus,
        code: 'NotRun',
        progress: [{ completedUnits: 0, totalUnits: 1, units: 'Entries', progressObservationDateTime: iso(now) }],
      },
    };
  }
  if (job.mode === 'quarantine' && !job.quarantineCleared) {
    const error = {
      code: 'SystemForCrossDomainIdentityManagementCredentialValidationUnavailable',
      message: 'The credentials saved for this application are no longer accepted by the target system (401 Unauthorized). Update the credentials and restart the job.',
    };
    const began = job.startedAt;
    return {
      ...base,
      schedule,
      status: {
        ...emptyStatus,
        code: 'Quarantine',
        countSuccessiveCompleteFailures: 1,
        lastExecution: execution('Failed', began, firstEnd, job, error),
        quarantine: {
          currentBegan: iso(firstEnd),
          nextAttempt: iso(firstEnd + s.quarantineRetryMs),
          seriesBegan: iso(firstEnd),
          seriesCount: 1,
          reason: 'EncounteredQuarantineException',
          error: { ...error, tenantActionable: true },
        },
      },
    };
  }
  const state = job.mode === 'entryErrors' ? 'EntryLevelErrors' : 'Succeeded';
  const exec = execution(state, job.startedAt, firstEnd, job, null);
  const succeeded = execution('Succeeded', job.startedAt, firstEnd, job, null);
  return {
    ...base,
    schedule,
    status: {
      ...emptyStatus,
      code: 'Active',
      lastExecution: exec,
      lastSuccessfulExecution: state === 'Succeeded' ? succeeded : null,
      lastSuccessfulExecutionWithExports: state === 'Succeeded' ? succeeded : null,
      steadyStateFirstAchievedTime: iso(firstEnd),
      steadyStateLastAchievedTime: iso(firstEnd),
      synchronizedEntryCountByType: [{ key: 'user to user', value: String(exec.countExported) }],
      progress: [],
    },
  };
}

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

/** Provisioning-log entries of a job's completed cycles (deterministic, generated on read). */
export function logsForJob(job: SimJob, s: SimulatorSettings, tenantId: string, now: number, rnd: SeededRandom): unknown[] {
  if (job.startedAt === null || job.pausedAt !== null) return [];
  const end = job.startedAt + s.firstCycleMs;
  if (now < end) return [];
  const out: unknown[] = [];
  // Ids must be unique across jobs: every AWS job's id starts with the same `aws.{tenant}` prefix.
  const cycleId = `${job.id}-cycle-${job.cycle}`;
  const failures = job.mode === 'entryErrors' ? 3 + rnd.int(0, 2, job.id) : job.mode === 'quarantine' && !job.quarantineCleared ? 1 : 0;
  const total = s.logEntriesPerCycle + failures;
  for (let i = 0; i < total; i++) {
    const failed = i < failures;
    const err = failed ? (job.mode === 'quarantine' ? { errorCode: 'SystemForCrossDomainIdentityManagementCredentialValidationUnavailable', reason: 'The target returned 401 Unauthorized.', errorCategory: 'NonServiceFailure', recommendedAction: 'Update the credentials and restart the job.' } : ENTRY_ERRORS[i % ENTRY_ERRORS.length]!) : null;
    const when = end - (total - i) * 50;
    const action = i % 3 === 0 ? 'update' : 'create';
    out.push({
      id: `${cycleId}-${i}`,
      activityDateTime: iso(when),
      tenantId,
      jobId: job.id,
      cycleId,
      changeId: `${cycleId}-chg-${i}`,
      action: action === 'create' ? 'Create' : 'Update',
      provisioningAction: action,
      durationInMilliseconds: 120 + i * 7,
      initiatedBy: { id: '', displayName: 'Azure AD Provisioning Service', initiatorType: 'system' },
      servicePrincipal: { id: job.spId, displayName: job.spDisplayName },
      sourceSystem: { id: 'aad', displayName: 'Azure Active Directory', details: {} },
      targetSystem: { id: job.templateId, displayName: job.spDisplayName, details: {} },
      sourceIdentity: { id: `user-${i}`, displayName: `User ${i}`, identityType: 'User', details: {} },
      targetIdentity: { id: failed ? '' : `target-${i}`, displayName: `User ${i}`, identityType: 'User', details: {} },
      modifiedProperties: [{ displayName: 'displayName', oldValue: null, newValue: `User ${i}` }],
      provisioningSteps: [
        { name: 'EntryImport', provisioningStepType: 'import', status: 'success', description: `Retrieved User ${i} from Azure AD`, details: {} },
        { name: 'EntryExport', provisioningStepType: 'export', status: failed ? 'failure' : 'success', description: failed ? err!.reason : `User ${i} was ${action}d`, details: {} },
      ],
      statusInfo: failed
        ? { '@odata.type': '#microsoft.graph.statusDetails', status: 'failure', errorCode: err!.errorCode, reason: err!.reason, additionalDetails: null, errorCategory: err!.errorCategory, recommendedAction: err!.recommendedAction }
        : { '@odata.type': '#microsoft.graph.statusBase', status: 'success' },
      provisioningStatusInfo: failed
        ? { status: 'failure', errorInformation: { errorCode: err!.errorCode, reason: err!.reason, additionalDetails: null, errorCategory: err!.errorCategory, recommendedAction: err!.recommendedAction } }
        : { status: 'success', errorInformation: null },
    });
  }
  return out;
}
