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
 *
 * This file holds the objects and the credential rules; a job's status is computed in
 * job-status.ts, its provisioning-log entries in provisioning-logs.ts.
 */
import { createHash } from 'node:crypto';
import { catalogueEntry } from './catalogue.ts';
import { templateSchema } from './sync-schema.ts';
import { expiredProblem } from './expiry.ts';
import type { PendingDeletes, RunDeletes } from './staged-deletes.ts';

export const NEVER = '0001-01-01T00:00:00Z';

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
    const connector = c?.template.displayName ?? templateId;
    if (!v) return `The credential '${key}' is required by the ${connector} connector and was not supplied.`;
  }
  const bad = creds.find((x) => typeof x.value === 'string' && x.value.toLowerCase().startsWith('bad'));
  if (bad) {
    return (
      `Failed to validate credentials: the target application rejected '${bad.key}' (401 Unauthorized). ` +
      'Verify the credential is correct and has not expired.'
    );
  }
  const base = creds.find((x) => x.key === 'BaseAddress');
  if (base && !/^https:\/\//i.test(base.value)) return `The tenant URL (BaseAddress) must be an https URL.`;
  return simNow === undefined ? null : expiredProblem(creds, simNow);
}

/** A GUID derived from a key: stable across reads, unique per key. */
export function guid(key: string): string {
  const h = createHash('sha1').update(key).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 3) | 8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Who makes a cycle's changes, as provisioning-log entries name it. */
export const PROVISIONING_SERVICE = { id: '', displayName: 'Azure AD Provisioning Service', initiatingType: 'system' };

/** The service principal, source and target systems every provisioning-log entry of a job names. */
export function logSystems(job: SimJob, tenantId: string) {
  return {
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
  };
}
