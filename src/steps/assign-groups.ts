/**
 * Assign the batch's groups to the app (`assignments`): groups resolved once per batch (batch
 * cache), roles resolved among the service principal's app roles, existing assignments looked
 * up first so a retry — or a crash between the POST and the ledger write — never assigns twice.
 *
 * A role the first provisioning cycle imports (AWS Single-Account Access imports the IAM roles)
 * is waited for durably (StepWait: a delayed job, no worker held) while the job has not yet
 * completed a cycle, up to `roleImportTimeoutMs`; then the instance fails naming the role.
 */
import { DEFAULT_TENANT } from '../redis-keys.ts';
import { refusedBy } from '../graph/classify-error.ts';
import { GraphError, PermanentError } from '../graph/errors.ts';
import { NEVER_DATE } from '../graph/schemas.ts';
import {
  groupProblem,
  missingAssignments,
  resolveGroup,
  resolveRole,
  type WantedAssignment,
} from '../onboarding/assignments.ts';
import type { InstanceIds, InstanceSpec, StepDeps, StepInput } from './types.ts';
import { defineStep, need, StepWait } from './types.ts';

const DEFAULT_ROLE_IMPORT_TIMEOUT_MS = 3_600_000;

/** Only instances with assignments have groups to assign. */
const hasAssignments = (instance: InstanceSpec): boolean => (instance.onboarding?.assignments ?? []).length > 0;

export async function assignGroups(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { instance, prev } = input;
  const list = instance.onboarding?.assignments ?? [];
  if (!hasAssignments(instance)) return prev;
  const spId = need(prev, 'servicePrincipalId');
  const jobId = need(prev, 'jobId');
  // A group name means another group in another tenant: the cache is per batch and tenant.
  const tenant = instance.tenant ?? DEFAULT_TENANT;
  const cache = {
    get: (ref: string) => deps.store.getBatchCache(instance.batchId, `group:${tenant}:${ref}`),
    set: (ref: string, id: string) => deps.store.setBatchCache(instance.batchId, `group:${tenant}:${ref}`, id),
  };
  try {
    const groups = new Map<string, string>();
    for (const a of list) {
      if (groups.has(a.group)) continue;
      const r = await resolveGroup(deps.graph, a.group, cache);
      if (!r.ok) throw new PermanentError(`cannot assign '${instance.displayName}': ${groupProblem(a.group, r)}`);
      groups.set(a.group, r.id);
    }
    const spObj = await deps.graph.getServicePrincipal(spId);
    const appRoles = spObj?.appRoles ?? [];
    const wanted: WantedAssignment[] = [];
    const missingRoles: string[] = [];
    for (const a of list) {
      const roleId = resolveRole(appRoles, a.role);
      if (roleId === null) missingRoles.push(a.role!);
      else
        wanted.push({
          principalId: groups.get(a.group)!,
          appRoleId: roleId,
          group: a.group,
          role: a.role ?? 'default',
        });
    }
    if (missingRoles.length) await waitForRoles(deps, input, spId, jobId, missingRoles, appRoles.length);
    const todo = missingAssignments(wanted, await deps.graph.listAppRoleAssignedTo(spId));
    for (const w of todo) await assignOnce(deps, input, spId, w);
    await deps.store.set(instance, { assignments: wanted.length });
    return { ...prev, assignments: wanted.length };
  } catch (err) {
    throw refusedBy(err, `Graph refused the group assignments of '${instance.displayName}'`);
  }
}

/** Waits (StepWait) while the first cycle may still import `roles`; fails naming them when it cannot. */
async function waitForRoles(
  deps: StepDeps,
  input: StepInput,
  spId: string,
  jobId: string,
  roles: string[],
  known: number,
): Promise<never> {
  const names = roles.map((r) => `'${r}'`).join(', ');
  const since = typeof input.state.roleWaitSince === 'number' ? input.state.roleWaitSince : deps.now();
  const timeout = deps.settings.roleImportTimeoutMs ?? DEFAULT_ROLE_IMPORT_TIMEOUT_MS;
  const job = await deps.graph.getSynchronizationJob(spId, jobId);
  const s = job?.status;
  // Graph writes 0001-01-01T00:00:00Z for "never".
  const happened = (t: string | null | undefined) => !!t && t !== NEVER_DATE;
  const cycleDone = happened(s?.lastSuccessfulExecution?.timeEnded) || happened(s?.steadyStateFirstAchievedTime);
  // A cycle that ended between our read of the roles and of the job: read the roles once more.
  const confirmed = cycleDone && input.state.cycleSeen === true;
  if (confirmed || deps.now() - since >= timeout) {
    const why = cycleDone ? 'after the first provisioning cycle' : `after waiting ${Math.round(timeout / 60_000)} min`;
    throw new PermanentError(
      `app role ${names} is not among the ${known} app roles of '${input.instance.displayName}' ${why}; ` +
        'check the role name in "assignments" (value or display name) or the roles the app imports',
    );
  }
  throw new StepWait(
    Math.max(deps.settings.replicationPollMs * 3, 1000),
    { ...input.state, roleWaitSince: since, cycleSeen: cycleDone },
    `waiting for app role ${names} (imported by the first provisioning cycle)`,
  );
}

/**
 * POSTs one assignment. Graph refuses a duplicate with a 400 whose only tell is its message, and
 * its list may not show a new assignment yet (replication): a refusal is looked up, and while the
 * assignment may still be replicating (`reconcileWindowMs` from the first refusal) the step waits
 * and looks again rather than failing — "already exists" counts as done once it shows.
 */
async function assignOnce(deps: StepDeps, input: StepInput, spId: string, w: WantedAssignment): Promise<void> {
  try {
    await deps.graph.assignAppRole(spId, { principalId: w.principalId, appRoleId: w.appRoleId });
  } catch (err) {
    if (!(err instanceof GraphError) || err.errorClass !== 'permanent') throw err;
    const now = await deps.graph.listAppRoleAssignedTo(spId);
    if (missingAssignments([w], now).length === 0) return;
    const since = typeof input.state.refusedSince === 'number' ? input.state.refusedSince : deps.now();
    if (err.status === 400 && deps.now() - since < deps.settings.reconcileWindowMs)
      throw new StepWait(
        deps.settings.replicationPollMs,
        { ...input.state, refusedSince: since },
        `group '${w.group}' refused (${err.code ?? err.status}): looking again in case it is assigned already`,
      );
    throw refusedBy(err, `Graph refused to assign group '${w.group}' (role ${w.role})`);
  }
}

export const assignGroupsStep = defineStep({
  name: 'assign-groups',
  runningState: 'assigning-groups',
  retry: { attempts: 8, backoffMs: 1000 },
  needs: ['servicePrincipalId', 'jobId'],
  appliesTo: hasAssignments,
  run: assignGroups,
});
