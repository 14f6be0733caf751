/**
 * What Graph checks when a job's schema is PUT (every object, attribute, operator and function
 * it names must exist; an enabled object mapping needs a matching attribute), and how a scoping
 * filter decides whether an object is in scope (groups are OR'ed, a group's clauses AND'ed).
 */
import { FILTER_OPERATORS, MAPPING_FUNCTIONS } from './sync-schema.ts';

type Json = Record<string, unknown>;

const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v.filter((x) => x && typeof x === 'object') as Json[]) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Attribute name → type, per object, per directory, as the schema declares them. */
type Catalogue = Map<string, Map<string, Map<string, string>>>;

function catalogueOf(schema: Json): Catalogue {
  const dirs: Catalogue = new Map();
  for (const d of arr(schema.directories)) {
    const objects = new Map<string, Map<string, string>>();
    for (const o of arr(d.objects)) {
      const attrs = new Map<string, string>();
      for (const a of arr(o.attributes)) if (str(a.name)) attrs.set(a.name as string, str(a.type) ?? 'String');
      if (str(o.name)) objects.set(o.name as string, attrs);
    }
    if (str(d.name)) dirs.set(d.name as string, objects);
  }
  return dirs;
}

const FLOW_TYPES = new Set(['Add', 'Update', 'Delete']);

/**
 * Why Graph would refuse `body` as the new schema of a job whose template schema is `template`,
 * or null. Source directories may not gain attributes the template lacks (extension_… aside);
 * target directories may (that is how custom SCIM attributes are added).
 */
export function schemaProblem(body: unknown, template: Json): string | null {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    return 'The request body must be a synchronizationSchema.';
  const schema = body as Json;
  if (!Array.isArray(schema.directories) || !Array.isArray(schema.synchronizationRules)) {
    return 'A synchronizationSchema needs its directories and synchronizationRules (PUT replaces the whole schema).';
  }
  const dirs = catalogueOf(schema);
  const known = catalogueOf(template);
  const sources = new Set(arr(template.synchronizationRules).map((r) => str(r.sourceDirectoryName)));
  for (const [dirName, objects] of dirs) {
    const base = known.get(dirName);
    if (!base || !sources.has(dirName)) continue;
    for (const [objName, attrs] of objects) {
      const baseAttrs = base.get(objName);
      if (!baseAttrs) return `Object '${objName}' is not defined in directory '${dirName}'.`;
      for (const a of attrs.keys()) {
        if (!baseAttrs.has(a) && !a.startsWith('extension_')) {
          return `Attribute '${a}' is not defined on object '${objName}' of directory '${dirName}'.`;
        }
      }
    }
  }
  for (const rule of arr(schema.synchronizationRules)) {
    const ruleName = str(rule.name) ?? str(rule.id) ?? '(unnamed)';
    const source = dirs.get(str(rule.sourceDirectoryName) ?? '');
    const target = dirs.get(str(rule.targetDirectoryName) ?? '');
    if (!source) return `Rule '${ruleName}': source directory '${String(rule.sourceDirectoryName)}' is not defined.`;
    if (!target) return `Rule '${ruleName}': target directory '${String(rule.targetDirectoryName)}' is not defined.`;
    for (const om of arr(rule.objectMappings)) {
      const problem = objectMappingProblem(om, source, target);
      if (problem) return `Rule '${ruleName}', object mapping '${String(om.name ?? om.sourceObjectName)}': ${problem}`;
    }
  }
  return null;
}

function objectMappingProblem(
  om: Json,
  source: Map<string, Map<string, string>>,
  target: Map<string, Map<string, string>>,
): string | null {
  const srcAttrs = source.get(str(om.sourceObjectName) ?? '');
  const tgtAttrs = target.get(str(om.targetObjectName) ?? '');
  if (!srcAttrs) return `source object '${String(om.sourceObjectName)}' is not defined.`;
  if (!tgtAttrs) return `target object '${String(om.targetObjectName)}' is not defined.`;
  if (om.flowTypes !== undefined) {
    const flows = String(om.flowTypes)
      .split(',')
      .map((f) => f.trim());
    const bad = flows.find((f) => !FLOW_TYPES.has(f));
    if (bad !== undefined) return `Requested value '${bad}' was not found in enum 'objectFlowTypes'.`;
  }
  const priorities = new Set<number>();
  for (const am of arr(om.attributeMappings)) {
    const t = str(am.targetAttributeName);
    if (!t || !tgtAttrs.has(t)) return `target attribute '${String(am.targetAttributeName)}' is not defined.`;
    const p = typeof am.matchingPriority === 'number' ? am.matchingPriority : 0;
    if (p > 0) {
      if (priorities.has(p)) return `two attribute mappings have matching priority ${p}.`;
      priorities.add(p);
    }
    const problem = sourceProblem(am.source, srcAttrs);
    if (problem) return `attribute mapping for '${t}': ${problem}`;
  }
  if (om.enabled !== false && !priorities.size) return 'an enabled object mapping needs a matching attribute.';
  return scopeProblem(om.scope, srcAttrs);
}

function sourceProblem(source: unknown, attrs: Map<string, string>): string | null {
  if (!source || typeof source !== 'object') return 'the mapping has no source.';
  const s = source as Json;
  if (s.type === 'Constant') return null;
  if (s.type === 'Attribute') {
    return attrs.has(str(s.name) ?? '') ? null : `source attribute '${String(s.name)}' is not defined.`;
  }
  if (s.type === 'Function') {
    const fn = MAPPING_FUNCTIONS.find((f) => f.name === s.name);
    if (!fn) return `function '${String(s.name)}' is not supported (see …/schema/functions).`;
    const params = arr(s.parameters);
    for (const p of params) {
      if (!fn.parameters.some((x) => x.name === p.key))
        return `function '${fn.name}' has no parameter '${String(p.key)}'.`;
      const inner = sourceProblem(p.value, attrs);
      if (inner) return inner;
    }
    const missing = fn.parameters.find((x) => x.required && !params.some((p) => p.key === x.name));
    return missing ? `function '${fn.name}' needs its parameter '${missing.name}'.` : null;
  }
  return `Requested value '${String(s.type)}' was not found in enum 'attributeMappingSourceType'.`;
}

function scopeProblem(scope: unknown, attrs: Map<string, string>): string | null {
  if (scope === null || scope === undefined) return null;
  if (typeof scope !== 'object') return 'the scope must be a filter.';
  for (const group of arr((scope as Json).groups)) {
    for (const c of arr(group.clauses)) {
      const op = FILTER_OPERATORS.find((o) => o.name === c.operatorName);
      if (!op)
        return `scoping filter operator '${String(c.operatorName)}' is not supported (see …/schema/filterOperators).`;
      const type = attrs.get(str(c.sourceOperandName) ?? '');
      if (!type) return `scoping filter attribute '${String(c.sourceOperandName)}' is not defined.`;
      if (!(op.supportedAttributeTypes as readonly string[]).includes(type)) {
        const name = String(c.sourceOperandName);
        return `scoping filter operator '${op.name}' does not apply to ${type} attribute '${name}'.`;
      }
      const values = (c.targetOperand as { values?: unknown } | null | undefined)?.values;
      if (op.arity === 'Binary' && (!Array.isArray(values) || !values.length)) {
        return `scoping filter operator '${op.name}' needs a value (targetOperand.values).`;
      }
      if (op.name.endsWith('REGEX MATCH') && !(values as unknown[]).every((v) => isRegex(String(v)))) {
        return `scoping filter operator '${op.name}' needs a valid regular expression.`;
      }
    }
  }
  return null;
}

function isRegex(v: string): boolean {
  try {
    new RegExp(v);
    return true;
  } catch {
    return false;
  }
}

/** Whether an object with these attribute values is in a mapping's scope (no filter: everyone). */
export function inScope(scope: unknown, values: Record<string, unknown>): boolean {
  const groups = scope && typeof scope === 'object' ? arr((scope as Json).groups) : [];
  if (!groups.length) return true;
  return groups.some((g) => arr(g.clauses).every((c) => clauseHolds(c, values)));
}

function clauseHolds(c: Json, values: Record<string, unknown>): boolean {
  const v = values[str(c.sourceOperandName) ?? ''];
  const targets = ((c.targetOperand as { values?: unknown[] } | null)?.values ?? []).map(String);
  const text = v === null || v === undefined ? '' : String(v);
  const eq = () => targets.some((t) => t.toLowerCase() === text.toLowerCase());
  const re = () => targets.some((t) => new RegExp(t).test(text));
  switch (c.operatorName) {
    case 'EQUALS':
      return eq();
    case 'NOT EQUALS':
      return !eq();
    case 'IS TRUE':
      return text.toLowerCase() === 'true';
    case 'IS FALSE':
      return text.toLowerCase() === 'false';
    case 'IS NULL':
      return text === '';
    case 'IS NOT NULL':
      return text !== '';
    case 'REGEX MATCH':
      return re();
    case 'NOT REGEX MATCH':
      return !re();
    default:
      return false;
  }
}
