/**
 * Desired app role assignments: groups resolved by id or display name, roles by value, display
 * name or "default", and what is missing compared with `appRoleAssignedTo`. Reused by the
 * assign-groups step, `plan`, and the day-2 commands (diff, export).
 */
import type { AssignmentInput } from '../batch/onboarding-fields.ts';
import { GUID_PATTERN } from '../batch/batch-schema.ts';
import type { GraphApi } from '../graph/graph-api.ts';
import type { AppRoleAssignment } from '../graph/onboarding-schemas.ts';
import type { AppRole } from '../graph/schemas.ts';

/** Graph's "default access" role: for apps that declare no roles of their own. */
const DEFAULT_ACCESS_ROLE_ID = '00000000-0000-0000-0000-000000000000';

/** A group reference as resolved: its id, or why it could not be. */
export type GroupResolution = { ok: true; id: string } | { ok: false; reason: 'unknown' | 'ambiguous'; count?: number };

/** Where resolved group ids are kept for the batch (only hits: a group created later is found on retry). */
export interface GroupCache {
  get(ref: string): Promise<string | null>;
  set(ref: string, id: string): Promise<void>;
}

/** Resolves one group reference: a GUID by `GET /groups/{id}`, anything else by exact display name. */
export async function resolveGroup(graph: GraphApi, ref: string, cache?: GroupCache): Promise<GroupResolution> {
  const cached = await cache?.get(ref);
  if (cached) return { ok: true, id: cached };
  let res: GroupResolution;
  if (GUID_PATTERN.test(ref)) {
    const g = await graph.getGroup(ref);
    res = g ? { ok: true, id: g.id } : { ok: false, reason: 'unknown' };
  } else {
    const found = await graph.findGroupsByName(ref);
    res =
      found.length === 1
        ? { ok: true, id: found[0]!.id }
        : { ok: false, reason: found.length ? 'ambiguous' : 'unknown', count: found.length };
  }
  if (res.ok) await cache?.set(ref, res.id);
  return res;
}

/** The words for a group that could not be resolved (`plan` and the step's failure say the same). */
export function groupProblem(ref: string, r: Extract<GroupResolution, { ok: false }>): string {
  return r.reason === 'unknown'
    ? `group '${ref}' does not exist in the tenant (no group with that id or display name)`
    : `group name '${ref}' matches ${r.count} groups; give the group's object id instead`;
}

/** Resolves every distinct group of a batch once (for `plan`): reference → resolution. */
export async function resolveBatchGroups(
  graph: GraphApi,
  assignments: Iterable<readonly AssignmentInput[] | undefined>,
): Promise<Map<string, GroupResolution>> {
  const out = new Map<string, GroupResolution>();
  for (const list of assignments)
    for (const a of list ?? []) if (!out.has(a.group)) out.set(a.group, await resolveGroup(graph, a.group));
  return out;
}

/** The role an assignment names, among the service principal's enabled app roles; null when absent. */
export function resolveRole(appRoles: readonly AppRole[], role: string | undefined): string | null {
  if (role === undefined || role.toLowerCase() === 'default') return DEFAULT_ACCESS_ROLE_ID;
  const enabled = appRoles.filter((r) => r.isEnabled !== false);
  const byId = enabled.find((r) => r.id.toLowerCase() === role.toLowerCase());
  const byValue = enabled.find((r) => r.value === role);
  const byName = enabled.find((r) => (r.displayName ?? '').toLowerCase() === role.toLowerCase());
  return (byId ?? byValue ?? byName)?.id ?? null;
}

/** One assignment to have: a principal (group) and a role, both as ids. */
export interface WantedAssignment {
  principalId: string;
  appRoleId: string;
  /** How the file named them, for messages. */
  group: string;
  role: string;
}

/** The wanted assignments not present yet (compared by principal and role ids, case-insensitively). */
export function missingAssignments(
  wanted: readonly WantedAssignment[],
  existing: readonly AppRoleAssignment[],
): WantedAssignment[] {
  const have = new Set(existing.map((e) => `${e.principalId.toLowerCase()}|${e.appRoleId.toLowerCase()}`));
  return wanted.filter((w) => !have.has(`${w.principalId.toLowerCase()}|${w.appRoleId.toLowerCase()}`));
}
