/**
 * The simulator's schema rules without HTTP: what a job-schema PUT may and may not contain, and
 * how scoping-filter clauses decide scope (groups OR'ed, clauses AND'ed), operator by operator.
 */
import { describe, expect, it } from 'vitest';
import { inScope, schemaProblem } from '../../src/dev/sim/sync-schema-check.ts';
import { initialJobSchema, templateSchema } from '../../src/dev/sim/sync-schema.ts';

type Json = Record<string, unknown>;
const scim = () => initialJobSchema('job-1', 'scim') as { directories: Json[]; synchronizationRules: Json[] };
const users = (x: ReturnType<typeof scim>) =>
  (x.synchronizationRules[0]!.objectMappings as Json[])[0] as {
    attributeMappings: Json[];
    scope: Json;
    flowTypes: string;
  };
const clause = (operatorName: string, sourceOperandName: string, values?: string[]) => ({
  operatorName,
  sourceOperandName,
  targetOperand: values ? { values } : null,
});
const scope = (...groups: Json[][]) => ({ groups: groups.map((clauses, i) => ({ name: `g${i}`, clauses })) });

describe('schemaProblem', () => {
  const template = templateSchema('scim');

  it("accepts the template's own schemas, for both templates", () => {
    expect(schemaProblem(scim(), template)).toBeNull();
    expect(schemaProblem(initialJobSchema('job-2', 'aws'), templateSchema('aws'))).toBeNull();
  });

  it('refuses what Graph refuses, naming it', () => {
    const cases: [string, (x: ReturnType<typeof scim>) => void, RegExp][] = [
      ['not a schema', (x) => delete (x as Json).synchronizationRules, /directories and synchronizationRules/],
      ['bad flow type', (x) => (users(x).flowTypes = 'Add, Upsert'), /'Upsert'.*objectFlowTypes/],
      ['duplicate priority', (x) => (users(x).attributeMappings[1]!.matchingPriority = 1), /matching priority 1/],
      ['unknown source type', (x) => (users(x).attributeMappings[2]!.source = { type: 'Magic' }), /'Magic'/],
      [
        'missing function parameter',
        (x) => (users(x).attributeMappings[2]!.source = { type: 'Function', name: 'Append', parameters: [] }),
        /needs its parameter 'source'/,
      ],
      ['operator on the wrong type', (x) => (users(x).scope = scope([clause('IS TRUE', 'department')])), /String/],
      ['binary operator without a value', (x) => (users(x).scope = scope([clause('EQUALS', 'department')])), /value/],
      [
        'invalid regular expression',
        (x) => (users(x).scope = scope([clause('REGEX MATCH', 'department', ['(unclosed'])])),
        /regular expression/,
      ],
      [
        'an Azure AD attribute the template lacks',
        (x) => {
          const user = ((x.directories[0]!.objects as Json[])[0]!.attributes as Json[])!;
          user.push({ name: 'shoeSize', type: 'String' });
        },
        /'shoeSize' is not defined on object 'User'/,
      ],
    ];
    for (const [what, edit, why] of cases) {
      const x = scim();
      edit(x);
      expect(schemaProblem(x, template), what).toMatch(why);
    }
  });

  it('lets the target gain attributes and the source gain extension_ attributes', () => {
    const x = scim();
    const aad = (x.directories[0]!.objects as Json[])[0]!.attributes as Json[];
    aad.push({ name: 'extension_abc_costCenter', type: 'String' });
    const target = (x.directories[1]!.objects as Json[])[0]!.attributes as Json[];
    target.push({ name: 'urn:ietf:params:scim:schemas:extension:acme:2.0:User:costCenter', type: 'String' });
    users(x).attributeMappings.push({
      source: { type: 'Attribute', name: 'extension_abc_costCenter', parameters: [] },
      targetAttributeName: 'urn:ietf:params:scim:schemas:extension:acme:2.0:User:costCenter',
      matchingPriority: 0,
    });
    expect(schemaProblem(x, template)).toBeNull();
  });
});

describe('inScope', () => {
  const adele = { department: 'Sales', accountEnabled: true, jobTitle: null, mail: 'adelev@contoso.example' };

  it('has everyone in scope without a filter', () => {
    expect(inScope(null, adele)).toBe(true);
    expect(inScope({ groups: [] }, adele)).toBe(true);
  });

  it('evaluates each operator', () => {
    const holds = (c: Json) => inScope(scope([c]), adele);
    expect(holds(clause('EQUALS', 'department', ['sales']))).toBe(true);
    expect(holds(clause('NOT EQUALS', 'department', ['Sales']))).toBe(false);
    expect(holds(clause('IS TRUE', 'accountEnabled'))).toBe(true);
    expect(holds(clause('IS FALSE', 'accountEnabled'))).toBe(false);
    expect(holds(clause('IS NULL', 'jobTitle'))).toBe(true);
    expect(holds(clause('IS NOT NULL', 'mail'))).toBe(true);
    expect(holds(clause('REGEX MATCH', 'mail', ['@contoso\\.example$']))).toBe(true);
    expect(holds(clause('NOT REGEX MATCH', 'mail', ['^adele']))).toBe(false);
  });

  it("AND's clauses within a group and OR's groups", () => {
    const sales = clause('EQUALS', 'department', ['Sales']);
    const eng = clause('EQUALS', 'department', ['Engineering']);
    const enabled = clause('IS TRUE', 'accountEnabled');
    expect(inScope(scope([sales, enabled]), adele)).toBe(true);
    expect(inScope(scope([eng, enabled]), adele)).toBe(false);
    expect(inScope(scope([eng], [sales]), adele)).toBe(true);
  });
});
