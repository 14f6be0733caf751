/**
 * What provisioning one user or group does on a SCIM job — Success, Skipped (not assigned under
 * scope "assigned", outside the scoping filter, its object mapping disabled, already
 * provisioned) or Failure (the saved credentials, or a subject the target rejects) — and the
 * provisioning-log entry that records it. Provision on demand and the scope-aware cycle entries
 * both use it.
 */
import { runBehaviour, guid, logSystems, type SimJob, type SimSp } from './directory.ts';
import { iso } from './http.ts';
import { seedGroup, seedUser, SIM_USERS } from './seed-directory.ts';
import type { SimState } from './state.ts';
import { inScope } from './sync-schema-check.ts';
import { isAssigned } from './sync-scope.ts';

type Json = Record<string, unknown>;

type ProvisioningResult = 'Success' | 'Skipped' | 'Failure';

export interface Outcome {
  result: ProvisioningResult;
  /** Graph's code (a skip reason for Skipped), null on Success. */
  errorCode: string | null;
  reason: string | null;
  action: 'Create' | 'Other';
}

export interface Subject {
  id: string;
  type: 'User' | 'Group';
}

/**
 * The subject's display name, source identifier (UPN or group name), attribute values (for the
 * scoping filter) and the source attributes a report lists (strings, as Graph shows them).
 */
export function describe(
  subject: Subject,
): { displayName: string; reportable: string; values: Json; details: Record<string, string> } | null {
  if (subject.type === 'User') {
    const u = seedUser(subject.id);
    if (!u) return null;
    const values = { ...u, objectId: u.id, IsSoftDeleted: false };
    const details = {
      objectId: u.id,
      accountEnabled: u.accountEnabled ? 'True' : 'False',
      displayName: u.displayName,
      mailNickname: u.mailNickname,
      userPrincipalName: u.userPrincipalName,
      IsSoftDeleted: 'False',
      appRoleAssignments: 'User',
    };
    return { displayName: u.displayName, reportable: u.userPrincipalName, values, details };
  }
  const g = seedGroup(subject.id);
  if (!g) return null;
  const details = { objectId: g.id, displayName: g.displayName, mailNickname: g.mailNickname };
  return { displayName: g.displayName, reportable: g.displayName, values: { ...g, objectId: g.id }, details };
}

const skipped = (errorCode: string, reason: string): Outcome => ({
  result: 'Skipped',
  errorCode,
  reason,
  action: 'Other',
});

/**
 * The outcome of provisioning `subject` with `mapping` (the rule's object mapping for its type)
 * on `job` now; `provisioned` holds what an earlier on-demand run already exported.
 */
export function outcomeFor(
  st: SimState,
  sp: SimSp,
  job: SimJob,
  mapping: Json | undefined,
  subject: Subject,
  o: { syncAll: boolean; provisioned?: Set<string> },
): Outcome {
  const d = describe(subject)!;
  const { cause } = runBehaviour(sp.applicationTemplateId, st.secrets.get(sp.id) ?? []);
  if (cause) return { result: 'Failure', errorCode: cause.code, reason: cause.message, action: 'Other' };
  if (!mapping || mapping.enabled === false) {
    const why = `The ${subject.type} '${d.reportable}' will be skipped: its object mapping is disabled.`;
    return skipped('ObjectMappingDisabled', why);
  }
  if (!o.syncAll && !isAssigned(st, sp.id, subject.id)) {
    const why =
      `The ${subject.type} '${d.reportable}' will be skipped: it is not assigned to the application and the ` +
      `provisioning scope is "Sync only assigned users and groups".`;
    return skipped('NotEffectivelyEntitled', why);
  }
  if (!inScope(mapping.scope, d.values)) {
    return skipped('ScopingFilterNotMatched', `The ${subject.type} '${d.reportable}' is outside the scoping filter.`);
  }
  if (subject.id === SIM_USERS.failing || st.settings().failingSmokeSubjects.includes(subject.id)) {
    return {
      result: 'Failure',
      errorCode: 'SystemForCrossDomainIdentityManagementBadResponse',
      reason:
        `The target application returned 400 Bad Request when creating ${subject.type} '${d.reportable}': ` +
        "attribute 'userName' is not unique.",
      action: 'Create',
    };
  }
  if (o.provisioned?.has(subject.id)) {
    return skipped('RedundantExport', 'The state of the user in both the source and target systems already match.');
  }
  return { result: 'Success', errorCode: null, reason: null, action: 'Create' };
}

/** A provisioningObjectSummary for one subject's outcome (the same fields as the cycle entries). */
export function logEntry(
  st: SimState,
  job: SimJob,
  subject: Subject,
  out: Outcome,
  when: number,
  key: string,
  initiatedBy: Json,
): Json & { id: string; activityDateTime: string; jobId: string; changeId: string } {
  const d = describe(subject)!;
  const status = out.result.toLowerCase();
  const info = out.errorCode
    ? {
        errorCode: out.errorCode,
        reason: out.reason,
        additionalDetails: null,
        errorCategory: out.result === 'Failure' ? 'NonServiceFailure' : null,
        recommendedAction: null,
      }
    : null;
  const exportStep = {
    name: out.result === 'Skipped' ? 'EntrySynchronizationSkip' : 'EntryExportAdd',
    provisioningStepType: 'export',
    status,
    description: out.reason ?? `${subject.type} '${d.reportable}' was created in ${job.spDisplayName}`,
    details: {},
  };
  return {
    id: guid(`${key}|id`),
    activityDateTime: iso(when),
    tenantId: st.tenantId,
    jobId: job.id,
    cycleId: guid(`${key}|cycle`),
    changeId: guid(`${key}|change`),
    action: out.action,
    provisioningAction: out.action === 'Create' ? 'create' : 'other',
    durationInMilliseconds: 180,
    initiatedBy,
    ...logSystems(job, st.tenantId),
    sourceIdentity: { id: subject.id, displayName: d.displayName, identityType: subject.type, details: {} },
    targetIdentity: {
      id: out.result === 'Success' ? guid(`${job.id}|target|${subject.id}`) : '',
      displayName: d.displayName,
      identityType: subject.type,
      details: {},
    },
    modifiedProperties: Object.entries(d.details).map(([displayName, newValue]) => ({
      displayName,
      oldValue: null,
      newValue,
    })),
    provisioningSteps: [
      {
        ...step('EntryImport', 'import', 'success', `Retrieved ${subject.type} '${d.reportable}' from Azure AD`),
        details: d.details,
      },
      step(
        'EntrySynchronizationScoping',
        'scoping',
        out.result === 'Skipped' ? 'skipped' : 'success',
        'Scope evaluated',
      ),
      exportStep,
    ],
    statusInfo: info
      ? { '@odata.type': '#microsoft.graph.statusDetails', status, ...info }
      : { '@odata.type': '#microsoft.graph.statusBase', status },
    provisioningStatusInfo: { status, errorInformation: info },
  };
}

const step = (name: string, provisioningStepType: string, status: string, description: string) => ({
  name,
  provisioningStepType,
  status,
  description,
  details: {},
});
