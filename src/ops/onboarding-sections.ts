/**
 * The onboarding parts of an instance snapshot (see instance-snapshot.ts): app-role assignments
 * and the job schema, read by the ledger's ids and compared with the batch file through the
 * onboarding's own desired-state modules, so `diff` judges exactly as the onboarding steps do.
 */
import type { AppRoleAssignment } from '../graph/onboarding-schemas.ts';
import type { InstanceRecord } from '../ledger/ledger.ts';
import { groupProblem, resolveGroup, resolveRole } from '../onboarding/assignments.ts';
import { needsVocabulary, pendingSchemaChanges } from '../onboarding/schema-edits.ts';
import type { Difference, SnapshotSection } from './instance-snapshot.ts';

interface AssignmentView {
  principalId: string;
  principalDisplayName: string | null;
  principalType: string | null;
  appRoleId: string;
}

export const assignmentsSection: SnapshotSection = {
  name: 'assignments',
  async read(graph, r): Promise<AssignmentView[] | null> {
    if (!r.servicePrincipalId) return null;
    const all = await graph.listAppRoleAssignedTo(r.servicePrincipalId);
    return all
      .map((a: AppRoleAssignment) => ({
        principalId: a.principalId,
        principalDisplayName: a.principalDisplayName ?? null,
        principalType: a.principalType ?? null,
        appRoleId: a.appRoleId,
      }))
      .sort((a, b) => a.principalId.localeCompare(b.principalId) || a.appRoleId.localeCompare(b.appRoleId));
  },
  async compare(graph, desired, actual, r): Promise<Difference[]> {
    const list = desired.onboarding?.assignments;
    const have = actual as AssignmentView[] | null;
    if (!list || !have || !r.servicePrincipalId) return [];
    const sp = await graph.getServicePrincipal(r.servicePrincipalId);
    const key = (p: string, role: string) => `${p.toLowerCase()}|${role.toLowerCase()}`;
    const present = new Set(have.map((a) => key(a.principalId, a.appRoleId)));
    const wanted = new Set<string>();
    const diffs: Difference[] = [];
    for (const a of list) {
      const g = await resolveGroup(graph, a.group);
      const field = `assignments.${a.group}`;
      if (!g.ok) {
        diffs.push({ field, desired: a.role ?? 'default', actual: groupProblem(a.group, g) });
        continue;
      }
      const roleId = resolveRole(sp?.appRoles ?? [], a.role);
      if (!roleId) {
        diffs.push({ field, desired: a.role ?? 'default', actual: 'role not among the app roles' });
        continue;
      }
      wanted.add(key(g.id, roleId));
      if (!present.has(key(g.id, roleId))) diffs.push({ field, desired: a.role ?? 'default', actual: 'not assigned' });
    }
    for (const a of have)
      if (!wanted.has(key(a.principalId, a.appRoleId)))
        diffs.push({
          field: `assignments.${a.principalDisplayName ?? a.principalId}`,
          desired: '(not in file)',
          actual: `assigned (role ${a.appRoleId})`,
        });
    return diffs;
  },
};

export const schemaSection: SnapshotSection = {
  name: 'schema',
  async read(graph, r: InstanceRecord) {
    if (!r.servicePrincipalId || !r.jobId) return null;
    return graph.getSynchronizationSchema(r.servicePrincipalId, r.jobId);
  },
  async compare(graph, desired, actual, r): Promise<Difference[]> {
    const edits = desired.onboarding?.schema;
    if (!edits || !r.servicePrincipalId || !r.jobId) return [];
    if (!actual) return [{ field: 'schema', desired: 'edited', actual: 'no schema in Graph' }];
    const need = needsVocabulary(edits);
    const vocab = {
      operators: need.operators ? await graph.listFilterOperators(r.servicePrincipalId, r.jobId) : [],
      functions: need.functions ? await graph.listMappingFunctions(r.servicePrincipalId, r.jobId) : [],
    };
    const pending = pendingSchemaChanges(actual as Parameters<typeof pendingSchemaChanges>[0], edits, vocab);
    return pending.map((change) => ({ field: 'schema', desired: change, actual: 'not applied' }));
  },
};
