/**
 * The simulated tenant: applications, service principals, synchronization jobs and secrets,
 * with replication lag (objects invisible until `visibleAt`) and a job lifecycle computed from
 * timestamps on read — no timer per job, so 10,000 jobs cost nothing while idle.
 *
 * Credential conventions (documented in the README): a value starting with `bad` fails
 * validateCredentials, and a job started with it saved quarantines; `quarantine…` validates but
 * the first cycle quarantines the job. The cause is the saved secrets: a start or restart with
 * them unchanged quarantines again; only new secrets end it. A value containing `entry-errors`
 * makes cycles end with EntryLevelErrors and failures in the provisioning logs. Each start or
 * restart is a run; a run's cycles (initial, then incremental or quarantine retries) and their
 * log entries are computed from its start time.
 */
import { createHash } from 'node:crypto';
import { catalogueEntry } from './catalogue.ts';
import { templateSchema } from './sync-schema.ts';
import { iso } from './http.ts';
import { expiredProblem } from './expiry.ts';
import { deleteEntries, type PendingDeletes, type RunDeletes } from './staged-deletes.ts';
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

/** Why a run quarantines (fixed when the run starts, from the saved secrets), or null. */
export interface QuarantineCause {
  code: string;
  message: string;
}

/** One start/restart of a job until the next one, a pause or a delete. */
export interface SimRun {
  startedAt: number;
  /** When it stopped (pause, restart, delete); null while it runs. */
  endedAt: number | null;
  cause: QuarantineCause | null;
  entryErrors: boolean;
  /** Failures of each entry-errors cycle (seeded per job). */
  failures: number;
  /** Quarantines already in this series before this run (a restart with the cause unchanged). */
  seriesBase: number;
  /** When the series began (a previous run's quarantine), null: with this run's. */
  seriesBegan: number | null;
  /** Started on a paused job: the job's history stands until this run's first cycle ends. */
  resumed: boolean;
  /** The quarantine reason shown when `cause` is set (default `EncounteredQuarantineException`). */
  reason?: string;
  /** Deletes this run's cycles log: staged (threshold exceeded, skipped) or performed. */
  deletes?: RunDeletes[];
}

export interface SimJob {
  id: string;
  templateId: string;
  spId: string;
  appId: string;
  spDisplayName: string;
  createdAt: number;
  visibleAt: number;
  /** Last start/restart (real ms), null while never started. */
  startedAt: number | null;
  pausedAt: number | null;
  /** Deleted (its provisioning logs are audit records and stay). */
  deletedAt: number | null;
  runs: SimRun[];
  /** The status shown when it was paused (pause keeps the job's history). */
  frozenStatus: Record<string, unknown> | null;
  /** Distinguishes jobs' log-entry GUIDs and picks a step-type spelling per job. */
  seed: number;
  /** Deletions waiting for the next cycle (set through `/_sim/deletes`). */
  pendingDeletes?: PendingDeletes | null;
  /** The accidental-deletions threshold the job shows and applies (`/_sim/deletes`; default 500). */
  deleteThreshold?: number;
}

/** Sync template shape served by GET …/synchronization/templates (the gallery's, not the instance's, app id). */
export function syncTemplateFor(sp: SimSp) {
  const c = catalogueEntry(sp.applicationTemplateId);
  if (!c?.syncTemplateId) return [];
  return [
    {
      id: c.syncTemplateId,
      applicationId: c.galleryAppId,
      default: true,
      description: `${c.template.displayName} provisioning`,
      discoverable: true,
      factoryTag: c.factoryTag,
      metadata: [
        { key: 'galleryApplicationIdentifier', value: c.template.id },
        { key: 'GalleryApplicationKey', value: c.syncTemplateId },
        {
          key: 'configurationFields',
          value: JSON.stringify(c.requiredCredentials.map((name) => ({ name, required: true }))),
        },
      ],
      schema: templateSchema(c.syncTemplateId),
    },
  ];
}

export const CREDENTIAL_ERROR_CODE = 'SystemForCrossDomainIdentityManagementCredentialValidationUnavailable';

/**
 * What a run started now will do, from the secrets saved now: credentials that fail validation
 * (or none saved) quarantine it, as does a value starting `quarantine`; `entry-errors` makes its
 * cycles end with EntryLevelErrors. The cause stays until the secrets change and the job restarts.
 */
export function runBehaviour(
  templateId: string,
  saved: { key: string; value: string }[],
  simNow?: number,
): { cause: QuarantineCause | null; entryErrors: boolean } {
  const values = saved.map((v) => v.value);
  const none = 'No credentials are saved for this application.';
  const problem = saved.length ? credentialProblem(templateId, saved, simNow) : none;
  if (problem) {
    const message = `${problem} Update the credentials and restart the job.`;
    return { cause: { code: CREDENTIAL_ERROR_CODE, message }, entryErrors: false };
  }
  if (values.some((v) => v.toLowerCase().startsWith('quarantine'))) {
    return {
      cause: {
        code: CREDENTIAL_ERROR_CODE,
        message:
          'The credentials saved for this application are no longer accepted by the target system ' +
          '(401 Unauthorized). ' +
          'Update the credentials and restart the job.',
      },
      entryErrors: false,
    };
  }
  return { cause: null, entryErrors: values.some((v) => v.toLowerCase().includes('entry-errors')) };
}

/** Why credentials fail validation (at simulated time `simNow`, for expiring ones), or null when they pass. */
export function credentialProblem(
  templateId: string,
  creds: { key: string; value: string }[],
  simNow?: number,
): string | null {
  const c = catalogueEntry(templateId);
  for (const key of c?.requiredCredentials ?? []) {
    const v = creds.find((x) => x.key === key)?.value;
    if (!v)
      return `The credential '${key}' is required by the ${c?.template.displayName ?? templateId} connector and was not supplied.`;
  }
  const bad = creds.find((x) => typeof x.value === 'string' && x.value.toLowerCase().startsWith('bad'));
  if (bad)
    return `Failed to validate credentials: the target application rejected '${bad.key}' (401 Unauthorized). Verify the credential is correct and has not expired.`;
  const base = creds.find((x) => x.key === 'BaseAddress');
  if (base && !/^https:\/\//i.test(base.value)) return `The tenant URL (BaseAddress) must be an https URL.`;
  return simNow === undefined ? null : expiredProblem(creds, simNow);
}

/** Microsoft's placeholder execution on a job that has not run yet: Failed, never-dates, code None. */
const PLACEHOLDER_EXECUTION = {
  activityIdentifier: null,
  countEntitled: 0,
  countEntitledForProvisioning: 0,
  countEscrowed: 0,
  countEscrowedRaw: 0,
  countExported: 0,
  countExports: 0,
  countImported: 0,
  countImportedDeltas: 0,
  countImportedReferenceDeltas: 0,
  error: { code: 'None', message: '', tenantActionable: false },
  state: 'Failed',
  timeBegan: NEVER,
  timeEnded: NEVER,
};

/** One cycle of a run: its window and what it did (the logs are generated from the same numbers). */
export interface SimCycle {
  index: number;
  began: number;
  ended: number;
  exported: number;
  failures: number;
  state: 'Succeeded' | 'Failed' | 'EntryLevelErrors';
  /** For a quarantined run: this cycle's failure is the quarantine's cause. */
  quarantined: boolean;
}

/** Quarantine retries: about 6 h, 12 h, 24 h apart, then daily (units of quarantineRetryMs = 6 h). */
const RETRY_STEPS = [1, 2, 4];
/** A job quarantined for four weeks (112 × 6 h) is disabled. */
const DISABLE_AFTER_STEPS = 112;

function retryOffset(n: number): number {
  // Offset (in retry units) of the n-th retry after the quarantine began (n ≥ 1).
  let t = 0;
  for (let i = 0; i < n; i++) t += RETRY_STEPS[i] ?? 4;
  return t;
}

/** The cycles of a run completed by `until` (real ms), oldest first, from `fromIndex`. */
export function cyclesOf(run: SimRun, s: SimulatorSettings, until: number, fromIndex = 0): SimCycle[] {
  const firstEnd = run.startedAt + s.firstCycleMs;
  const out: SimCycle[] = [];
  if (until < firstEnd) return out;
  if (run.cause) {
    // The initial cycle fails, then each retry (6 h, 12 h, 24 h, daily) until disabled.
    const unit = s.quarantineRetryMs;
    for (let n = fromIndex; ; n++) {
      const at = n === 0 ? firstEnd : firstEnd + retryOffset(n) * unit;
      if (at > until || (n > 0 && retryOffset(n) >= DISABLE_AFTER_STEPS)) break;
      const began = n === 0 ? run.startedAt : at - s.incrementalCycleMs;
      // A threshold quarantine fails no entry: its cycle stages the deletes instead.
      const failures = run.reason === 'TooManyDeletes' ? 0 : 1;
      out.push({ index: n, began, ended: at, exported: 0, failures, state: 'Failed', quarantined: true });
      if (out.length > 10_000) break;
    }
    return out;
  }
  const last = Math.floor((until - firstEnd) / s.cycleIntervalMs);
  for (let k = Math.max(0, fromIndex); k <= last; k++) {
    const ended = firstEnd + k * s.cycleIntervalMs;
    const failures = run.entryErrors ? run.failures : 0;
    // The initial cycle exports everyone in scope; incremental ones have nothing new to export.
    const exported = k === 0 ? s.logEntriesPerCycle : 0;
    const began = k === 0 ? run.startedAt : ended - s.incrementalCycleMs;
    const state = failures ? 'EntryLevelErrors' : 'Succeeded';
    out.push({ index: k, began, ended, exported, failures, state, quarantined: false });
  }
  return out;
}

function execution(job: SimJob, c: SimCycle, error: QuarantineCause | null) {
  const attempted = c.exported + c.failures;
  return {
    activityIdentifier: guid(`${job.id}|${job.seed}|${c.began}|exec`),
    countEntitled: attempted,
    countEntitledForProvisioning: attempted,
    countEscrowed: c.state === 'EntryLevelErrors' ? c.failures : 0,
    countEscrowedRaw: c.state === 'EntryLevelErrors' ? c.failures : 0,
    countExported: c.exported,
    countExports: attempted,
    countImported: attempted,
    countImportedDeltas: 0,
    countImportedReferenceDeltas: 0,
    error: error ? { ...error, tenantActionable: true } : null,
    state: c.state,
    timeBegan: iso(c.began),
    timeEnded: iso(c.ended),
  };
}

/** A GUID derived from a key: stable across reads, unique per key. */
export function guid(key: string): string {
  const h = createHash('sha1').update(key).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 3) | 8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const emptyStatus = () => ({
  countSuccessiveCompleteFailures: 0,
  escrowsPruned: false,
  lastExecution: null as unknown,
  lastSuccessfulExecution: null as unknown,
  lastSuccessfulExecutionWithExports: null as unknown,
  progress: [] as unknown[],
  quarantine: null as unknown,
  steadyStateFirstAchievedTime: NEVER,
  steadyStateLastAchievedTime: NEVER,
  synchronizedEntryCountByType: [] as unknown[],
  troubleshootingUrl: null,
});

/** A Paused job's quarantine as Microsoft's example shows it: present, every field empty. */
const EMPTY_QUARANTINE = {
  currentBegan: '',
  nextAttempt: '',
  seriesBegan: '',
  seriesCount: 0,
  reason: '',
  error: null,
};

/** The status of the job's current run at `now` (it runs: not paused, not deleted). */
function runStatus(
  job: SimJob,
  run: SimRun,
  s: SimulatorSettings,
  now: number,
): { status: Record<string, unknown>; disabled: boolean } {
  const cycles = cyclesOf(run, s, now);
  const status = emptyStatus();
  if (!cycles.length) {
    if (run.resumed && job.frozenStatus) {
      return { status: { ...job.frozenStatus, code: 'Active', quarantine: null }, disabled: false };
    }
    return {
      status: {
        ...status,
        code: 'NotRun',
        lastExecution: PLACEHOLDER_EXECUTION,
        progress: [{ completedUnits: 0, totalUnits: 1, units: 'Entries', progressObservationDateTime: iso(now) }],
      },
      disabled: false,
    };
  }
  const last = cycles[cycles.length - 1]!;
  if (run.cause) {
    const first = cycles[0]!;
    const retries = cycles.length - 1;
    const disabled = now >= first.ended + DISABLE_AFTER_STEPS * s.quarantineRetryMs;
    const nextAttempt = first.ended + retryOffset(retries + 1) * s.quarantineRetryMs;
    return {
      status: {
        ...status,
        code: 'Quarantine',
        countSuccessiveCompleteFailures: cycles.length,
        lastExecution: execution(job, last, run.cause),
        quarantine: {
          currentBegan: iso(last.ended),
          nextAttempt: iso(disabled ? first.ended + DISABLE_AFTER_STEPS * s.quarantineRetryMs : nextAttempt),
          seriesBegan: iso(run.seriesBegan ?? first.ended),
          seriesCount: run.seriesBase + cycles.length,
          reason: run.reason ?? 'EncounteredQuarantineException',
          error: { ...run.cause, tenantActionable: true },
        },
      },
      disabled,
    };
  }
  const exported = cycles.reduce((n, c) => n + c.exported, 0);
  const succeeded = [...cycles].reverse().find((c) => c.state === 'Succeeded');
  const withExports = [...cycles].reverse().find((c) => c.state === 'Succeeded' && c.exported > 0);
  return {
    status: {
      ...status,
      code: 'Active',
      lastExecution: execution(job, last, null),
      lastSuccessfulExecution: succeeded ? execution(job, succeeded, null) : null,
      lastSuccessfulExecutionWithExports: withExports ? execution(job, withExports, null) : null,
      steadyStateFirstAchievedTime: iso(cycles[0]!.ended),
      steadyStateLastAchievedTime: iso(last.ended),
      synchronizedEntryCountByType: [{ key: 'user to user', value: exported }],
    },
    disabled: false,
  };
}

/** The synchronizationJob resource as Graph would show it at real time `now`. */
export function renderJob(job: SimJob, s: SimulatorSettings, now: number) {
  const base = {
    id: job.id,
    templateId: job.templateId,
    synchronizationJobSettings: [
      { name: 'QuarantineTooManyDeletesThreshold', value: String(job.deleteThreshold ?? 500) },
      { name: 'Domain', value: '{"DomainFqdn":"contoso.example","DomainNetBios":"contoso"}' },
    ],
  };
  const run = job.runs[job.runs.length - 1];
  if (job.startedAt === null || !run) {
    const schedule = { expiration: null, interval: DISABLED_INTERVAL, state: 'Disabled' };
    return { ...base, schedule, status: { ...emptyStatus(), code: 'NotConfigured' } };
  }
  if (job.pausedAt !== null) {
    // Pause keeps the history; a quarantine object stays, emptied, as in Microsoft's example.
    const kept = job.frozenStatus ?? emptyStatus();
    return {
      ...base,
      schedule: { expiration: null, interval: DISABLED_INTERVAL, state: 'Paused' },
      status: { ...kept, code: 'Paused', progress: [], quarantine: EMPTY_QUARANTINE },
    };
  }
  const { status, disabled } = runStatus(job, run, s, now);
  const interval = disabled ? DISABLED_INTERVAL : 'PT40M';
  const schedule = { expiration: null, interval, state: disabled ? 'Disabled' : 'Active' };
  return { ...base, schedule, status };
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
          initiatedBy: { id: '', displayName: 'Azure AD Provisioning Service', initiatingType: 'system' },
          servicePrincipal: { id: job.spId, displayName: job.spDisplayName },
          sourceSystem: { id: guid(`${tenantId}|aad`), displayName: 'Azure Active Directory', details: {} },
          targetSystem: {
            id: guid(`${job.templateId}|target`),
            displayName: job.spDisplayName,
            details: {
              ApplicationId: job.appId,
              ServicePrincipalId: job.spId,
              ServicePrincipalDisplayName: job.spDisplayName,
            },
          },
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
