/** Semantic schema edits: each kind applied to a copy, described once, and a no-op on a schema that has it. */
import { describe, expect, it } from 'vitest';
import type { SchemaEditsInput } from '../../src/batch/onboarding-fields.ts';
import { applySchemaEdits, pendingSchemaChanges } from '../../src/onboarding/schema-edits.ts';
import { scimSchema } from '../helpers/scim-schema.ts';

const vocab = {
  operators: ['EQUALS', 'IS TRUE'],
  functions: [{ name: 'ToUpper', parameters: [{ name: 'source' }] }],
};
const user = (s: ReturnType<typeof scimSchema>) => s.synchronizationRules![0]!.objectMappings![0]!;

describe('schema edits', () => {
  it('matchingAttribute: the named attribute gets priority 1, the former one none', () => {
    const base = scimSchema();
    const r = applySchemaEdits(base, { User: { matchingAttribute: 'emails[type eq "work"].value' } }, vocab);
    expect(r.changes).toEqual(['User: match users on emails[type eq "work"].value']);
    expect(user(r.schema).attributeMappings!.map((a) => a.matchingPriority)).toEqual([0, 1]);
    expect(user(base).attributeMappings![0]!.matchingPriority).toBe(1); // the read schema is untouched
    expect(
      pendingSchemaChanges(r.schema, { User: { matchingAttribute: 'emails[type eq "work"].value' } }, vocab),
    ).toEqual([]);
  });

  it('flowTypes compare as a set; an unchanged object mapping is not a change', () => {
    const edits: SchemaEditsInput = { User: { flowTypes: ['Update', 'Add', 'Delete'], enabled: true } };
    expect(applySchemaEdits(scimSchema(), edits, vocab).changes).toEqual([]);
    const r = applySchemaEdits(scimSchema(), { User: { flowTypes: ['Add', 'Update'] } }, vocab);
    expect(user(r.schema).flowTypes).toBe('Add, Update');
  });

  it('a mapping removed once is not removed again; a constant keeps the flow type asked for', () => {
    const edits: SchemaEditsInput = {
      User: {
        mappings: { 'emails[type eq "work"].value': null, nickName: { constant: 'x', flowType: 'ObjectAddOnly' } },
      },
    };
    const r = applySchemaEdits(scimSchema(), edits, vocab);
    expect(r.changes).toHaveLength(2);
    const nick = user(r.schema).attributeMappings!.find((a) => a.targetAttributeName === 'nickName')!;
    expect(nick).toMatchObject({ flowType: 'ObjectAddOnly', source: { type: 'Constant', expression: '"x"' } });
    expect(pendingSchemaChanges(r.schema, edits, vocab)).toEqual([]);
  });

  it('scoping filter "add" keeps other groups and replaces one of the same name', () => {
    const s = scimSchema();
    user(s).scope = {
      groups: [{ name: 'Keep', clauses: [{ operatorName: 'IS TRUE', sourceOperandName: 'accountEnabled' }] }],
    };
    const edits: SchemaEditsInput = {
      User: {
        scopingFilter: {
          groups: [{ name: 'Sales', clauses: [{ attribute: 'department', operator: 'EQUALS', values: ['Sales'] }] }],
        },
      },
    };
    const r = applySchemaEdits(s, edits, vocab);
    expect(user(r.schema).scope!.groups!.map((g) => g.name)).toEqual(['Keep', 'Sales']);
    expect(pendingSchemaChanges(r.schema, edits, vocab)).toEqual([]);
  });

  it('a matching attribute without a mapping is a problem, not a silent no-op', () => {
    const r = applySchemaEdits(scimSchema(), { User: { matchingAttribute: 'externalId' } }, vocab);
    expect(r.problems).toEqual(["User: matchingAttribute 'externalId' has no attribute mapping"]);
  });
});
