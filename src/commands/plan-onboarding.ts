/**
 * `provflow plan`'s view of the onboarding fields: groups resolved once for the whole batch (an
 * unknown or ambiguous group makes the instance's row an error, naming it), the settings the
 * secrets PUT will carry, and the schema edits as a diff — against the job's schema when the app
 * and its job exist, else as the list of edits (Graph has no job schema before the job).
 */
import type { BatchInstance } from '../batch/batch-types.ts';
import type { SchemaEditsInput } from '../batch/onboarding-fields.ts';
import type { GraphApi } from '../graph/graph-api.ts';
import { objectIdOf, type Application } from '../graph/schemas.ts';
import { groupProblem, resolveBatchGroups, type GroupResolution } from '../onboarding/assignments.ts';
import { applySchemaEdits, needsVocabulary } from '../onboarding/schema-edits.ts';
import { compileSettings } from '../onboarding/settings.ts';

export type BatchGroups = Map<string, GroupResolution>;

/** Every group the batch names, resolved once (reads only). */
export function planGroups(graph: GraphApi, instances: readonly BatchInstance[]): Promise<BatchGroups> {
  return resolveBatchGroups(
    graph,
    instances.map((i) => i.onboarding?.assignments),
  );
}

/** The edits in words, for an app whose job does not exist yet. */
function describeEdits(edits: SchemaEditsInput): string[] {
  const out: string[] = [];
  for (const [object, e] of Object.entries(edits)) {
    if (e.enabled !== undefined) out.push(`${object}: enabled ${e.enabled}`);
    if (e.flowTypes) out.push(`${object}: flowTypes ${e.flowTypes.join(', ')}`);
    for (const [target, m] of Object.entries(e.mappings ?? {})) {
      if (m === null) {
        out.push(`${object}: remove mapping → ${target}`);
        continue;
      }
      const from = m.source !== undefined ? `[${m.source}]` : (m.expression ?? JSON.stringify(m.constant));
      out.push(`${object}: mapping ${from} → ${target}`);
    }
    if (e.matchingAttribute) out.push(`${object}: match users on ${e.matchingAttribute}`);
    if (e.scopingFilter)
      out.push(`${object}: scoping filter ${e.scopingFilter.groups.map((g) => `'${g.name}'`).join(', ')}`);
  }
  return out;
}

/** The schema diff for an app that exists: against its job's schema, with operators and functions checked. */
async function schemaDiff(graph: GraphApi, apps: Application[], edits: SchemaEditsInput): Promise<string[]> {
  const app = [...apps].sort((a, b) => objectIdOf(a).localeCompare(objectIdOf(b)))[0];
  const sp = app ? (await graph.findServicePrincipalsByAppId(app.appId))[0] : undefined;
  const job = sp ? (await graph.listSynchronizationJobs(objectIdOf(sp)))[0] : undefined;
  const schema = sp && job ? await graph.getSynchronizationSchema(objectIdOf(sp), job.id) : null;
  if (!sp || !job || !schema) return describeEdits(edits).map((l) => `${l} (checked at run time)`);
  const needs = needsVocabulary(edits);
  const spId = objectIdOf(sp);
  const r = applySchemaEdits(schema, edits, {
    operators: needs.operators ? await graph.listFilterOperators(spId, job.id) : [],
    functions: needs.functions ? await graph.listMappingFunctions(spId, job.id) : [],
  });
  if (r.problems.length) throw new Error(r.problems.join('; '));
  return r.changes.length ? r.changes : ['schema already as asked'];
}

/** The onboarding part of an instance's plan row: detail lines, or an error naming what is wrong. */
export async function planOnboarding(
  graph: GraphApi,
  inst: BatchInstance,
  apps: Application[],
  groups: BatchGroups,
): Promise<{ ok: boolean; lines: string[] }> {
  const o = inst.onboarding;
  if (!o) return { ok: true, lines: [] };
  const lines: string[] = [];
  const settings = compileSettings(o.settings);
  if (settings.length) lines.push(`settings ${settings.map((s) => `${s.key}=${s.value}`).join(' ')}`);
  for (const a of o.assignments ?? []) {
    const r = groups.get(a.group);
    if (r && !r.ok) return { ok: false, lines: [groupProblem(a.group, r)] };
    lines.push(`assign '${a.group}' (${a.role ?? 'default'})`);
  }
  if (o.schema) {
    try {
      lines.push(...(await schemaDiff(graph, apps, o.schema)));
    } catch (e) {
      return { ok: false, lines: [`schema: ${(e as Error).message}`] };
    }
  }
  if (o.smokeTest) lines.push(`smoke test ${o.smokeTest.type ?? 'User'} ${o.smokeTest.subject}`);
  return { ok: true, lines };
}
