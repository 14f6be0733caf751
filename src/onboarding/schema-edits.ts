/**
 * Semantic edits of a job schema (never whole-schema blobs: rule ids and versions differ per
 * instance), applied to a freshly read schema. `applySchemaEdits` returns the edited copy, one
 * line per change (what `plan` shows) and the problems (an unknown object, operator, function
 * or matching attribute). Applying the edits to a read-back that already has them yields no
 * change: that is the comparison after the PUT, and what makes the step idempotent. Reused by
 * the update-schema step, `plan`, and the day-2 diff.
 */
import type { SchemaEditsInput } from '../batch/onboarding-fields.ts';
import type {
  AttributeMapping,
  AttributeMappingSource,
  FilterGroup,
  MappingFunction,
  ObjectMapping,
  SynchronizationSchema,
} from '../graph/onboarding-schemas.ts';
import { attributeSource, constantSource, parseExpression } from './expression.ts';

/** What the edits are checked against (from `…/schema/filterOperators` and `…/schema/functions`). */
export interface SchemaVocabulary {
  operators: readonly string[];
  functions: readonly MappingFunction[];
}

export interface SchemaEditResult {
  schema: SynchronizationSchema;
  changes: string[];
  problems: string[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const flowSet = (s: string | null | undefined) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim().toLowerCase())
    .filter(Boolean)
    .sort()
    .join(',');

function findObjectMapping(schema: SynchronizationSchema, object: string): ObjectMapping | null {
  for (const rule of schema.synchronizationRules ?? [])
    for (const om of rule.objectMappings ?? [])
      if (om.sourceObjectName.toLowerCase() === object.toLowerCase()) return om;
  return null;
}

function objectNames(schema: SynchronizationSchema): string[] {
  return (schema.synchronizationRules ?? []).flatMap((r) => (r.objectMappings ?? []).map((o) => o.sourceObjectName));
}

/** Applies `edits` to a deep copy of `schema`. */
export function applySchemaEdits(
  original: SynchronizationSchema,
  edits: SchemaEditsInput,
  vocab: SchemaVocabulary,
): SchemaEditResult {
  const schema = structuredClone(original);
  const changes: string[] = [];
  const problems: string[] = [];
  for (const [object, e] of Object.entries(edits)) {
    const om = findObjectMapping(schema, object);
    if (!om) {
      problems.push(`the schema has no object mapping for '${object}' (it has: ${objectNames(schema).join(', ')})`);
      continue;
    }
    const at = `${object}`;
    if (e.enabled !== undefined && om.enabled !== e.enabled) {
      changes.push(`${at}: enabled ${om.enabled ?? 'unset'} → ${e.enabled}`);
      om.enabled = e.enabled;
    }
    if (e.flowTypes !== undefined && flowSet(om.flowTypes) !== flowSet(e.flowTypes.join(','))) {
      const next = e.flowTypes.join(', ');
      changes.push(`${at}: flowTypes ${om.flowTypes ?? 'unset'} → ${next}`);
      om.flowTypes = next;
    }
    const list: AttributeMapping[] = (om.attributeMappings ??= []);
    for (const [target, m] of Object.entries(e.mappings ?? {})) {
      const idx = list.findIndex((a) => a.targetAttributeName === target);
      if (m === null) {
        if (idx >= 0) {
          changes.push(`${at}: remove mapping → ${target}`);
          list.splice(idx, 1);
        }
        continue;
      }
      let source: AttributeMappingSource;
      if (m.source !== undefined) source = attributeSource(m.source);
      else if (m.constant !== undefined) source = constantSource(m.constant);
      else {
        const parsed = parseExpression(m.expression!, vocab.functions);
        if (!parsed.ok) {
          problems.push(`${at} mapping → ${target}: ${parsed.problem}`);
          continue;
        }
        source = parsed.source;
      }
      const cur = idx >= 0 ? list[idx]! : null;
      const flowType = m.flowType ?? cur?.flowType ?? 'Always';
      const wantedDefault = m.defaultValue ?? cur?.defaultValue ?? null;
      if (cur && same(cur.source?.expression, source.expression) && cur.source?.type === source.type) {
        if (cur.flowType === flowType && (cur.defaultValue ?? null) === wantedDefault) continue;
      }
      const next: AttributeMapping = {
        ...(cur ?? { matchingPriority: 0, flowBehavior: 'FlowWhenChanged', exportMissingReferences: false }),
        targetAttributeName: target,
        source,
        flowType,
        defaultValue: wantedDefault,
      };
      changes.push(`${at}: ${cur ? 'change' : 'add'} mapping ${source.expression} → ${target}`);
      if (cur) list[idx] = next;
      else list.push(next);
    }
    if (e.matchingAttribute !== undefined) {
      const target = list.find((a) => a.targetAttributeName === e.matchingAttribute);
      if (!target) problems.push(`${at}: matchingAttribute '${e.matchingAttribute}' has no attribute mapping`);
      else {
        // One matching attribute: the named one first, the others no longer matched on.
        for (const a of list) {
          const want = a === target ? 1 : 0;
          if ((a.matchingPriority ?? 0) !== want && (a === target || (a.matchingPriority ?? 0) > 0)) {
            if (a === target) changes.push(`${at}: match users on ${a.targetAttributeName}`);
            a.matchingPriority = want;
          }
        }
      }
    }
    if (e.scopingFilter) editScope(om, e.scopingFilter, vocab, at, changes, problems);
  }
  return { schema, changes, problems };
}

function editScope(
  om: ObjectMapping,
  f: NonNullable<SchemaEditsInput[string]['scopingFilter']>,
  vocab: SchemaVocabulary,
  at: string,
  changes: string[],
  problems: string[],
): void {
  const operators = new Map(vocab.operators.map((o) => [o.toLowerCase(), o]));
  const wanted: FilterGroup[] = [];
  for (const g of f.groups) {
    const clauses = [];
    for (const c of g.clauses) {
      const op = operators.get(c.operator.toLowerCase());
      if (!op) {
        problems.push(
          `${at} scoping filter '${g.name}': operator '${c.operator}' is not one Graph offers ` +
            `(${vocab.operators.join(', ')})`,
        );
        continue;
      }
      clauses.push({ operatorName: op, sourceOperandName: c.attribute, targetOperand: { values: c.values ?? [] } });
    }
    wanted.push({ name: g.name, clauses });
  }
  const scope = (om.scope ??= { categoryFilterGroups: [], groups: [], inputFilterGroups: [] });
  const before = scope.groups ?? [];
  const names = new Set(wanted.map((g) => g.name));
  const after = f.mode === 'replace' ? wanted : [...before.filter((g) => !names.has(g.name ?? '')), ...wanted];
  const key = (gs: FilterGroup[]) =>
    JSON.stringify(
      gs
        .map((g) => ({
          name: g.name,
          clauses: (g.clauses ?? []).map((c) => [c.sourceOperandName, c.operatorName, c.targetOperand?.values ?? []]),
        }))
        .sort((a, b) => String(a.name).localeCompare(String(b.name))),
    );
  if (key(before) === key(after)) return;
  changes.push(
    `${at}: scoping filter ${f.mode === 'replace' ? 'replaced by' : 'gets'} ` +
      wanted.map((g) => `'${g.name}'`).join(', '),
  );
  scope.groups = after;
}

/** The edits still missing from `schema` (empty: it already has them all). */
export function pendingSchemaChanges(
  schema: SynchronizationSchema,
  edits: SchemaEditsInput,
  vocab: SchemaVocabulary,
): string[] {
  return applySchemaEdits(schema, edits, vocab).changes;
}

/** Whether any edit uses an expression or a scoping filter (then functions / operators must be read). */
export function needsVocabulary(edits: SchemaEditsInput): { operators: boolean; functions: boolean } {
  const objs = Object.values(edits);
  return {
    operators: objs.some((o) => o.scopingFilter !== undefined),
    functions: objs.some((o) => Object.values(o.mappings ?? {}).some((m) => m?.expression !== undefined)),
  };
}
