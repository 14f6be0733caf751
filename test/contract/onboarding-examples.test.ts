/**
 * Contract for the onboarding calls (issue 14): Microsoft's published examples (verbatim in
 * test/fixtures/graph-examples) are accepted by the simulator as request bodies, and its answers
 * carry every field the examples show — including provisionOnDemand's `key` and `value`, JSON
 * inside strings — so steps written against the simulator read Graph's shapes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCIM_TEMPLATE_ID } from '../../src/dev/sim/catalogue.ts';
import { SIM_GROUPS, SIM_USERS } from '../../src/dev/sim/index.ts';
import { graphErrorBodySchema } from '../../src/graph/schemas.ts';
import { startSimHttp, type SimHttp } from '../helpers/sim-http.ts';
import { instanceWithJob } from '../helpers/sim-onboarding.ts';
import { exampleText, parseExample } from './parse-example.ts';

type Json = Record<string, unknown>;

/** Keys of `example` (recursively into objects, and into arrays' first elements) missing from `actual`. */
function missingKeys(example: unknown, actual: unknown, at = ''): string[] {
  if (Array.isArray(example)) {
    if (!example.length || !example[0] || typeof example[0] !== 'object') return [];
    return Array.isArray(actual) && actual.length ? missingKeys(example[0], actual[0], `${at}[0]`) : [at];
  }
  if (!example || typeof example !== 'object') return [];
  if (!actual || typeof actual !== 'object') return [at || '(root)'];
  const out: string[] = [];
  for (const [k, v] of Object.entries(example as Json)) {
    const here = at ? `${at}.${k}` : k;
    if (!(k in (actual as Json))) out.push(here);
    else out.push(...missingKeys(v, (actual as Json)[k], here));
  }
  return out;
}

describe("Microsoft's onboarding examples, as published", () => {
  it('provisionOnDemand answers a stringKeyStringValuePair whose key and value are JSON inside strings', () => {
    const ex = parseExample('provision-on-demand.json') as { key: string; value: string };
    expect(JSON.parse(ex.key)).toEqual({
      result: 'Skipped',
      details: {
        errorCode: 'RedundantExport',
        errorMessage: 'The state of the user in both the source and target systems already match.',
      },
    });
    expect(JSON.parse(ex.value)).toMatchObject({ action: 'Other', statusInfo: { status: 'Skipped' } });
    const group = parseExample('provision-on-demand-group.json') as { key: string; value: string };
    expect(JSON.parse(group.key)).toEqual({ result: 'Success', details: {} });
    expect(JSON.parse(group.value)).toEqual({});
  });

  it('the schema PUT example is shortened and has trailing commas (why it is read leniently)', () => {
    expect(() => JSON.parse(exampleText('synchronization-schema-put.request.json'))).toThrow();
    expect(parseExample('synchronization-schema-put.request.json')).toMatchObject({
      synchronizationRules: [{ name: 'USER_TO_USER', targetDirectoryName: 'Salesforce' }],
    });
  });
});

describe("the simulator answers the onboarding calls in Microsoft's shapes", () => {
  let h: SimHttp;
  let spId: string;
  let jobId: string;
  let ruleId: string;
  const base = () => `/servicePrincipals/${spId}/synchronization/jobs/${jobId}`;

  beforeAll(async () => {
    h = await startSimHttp();
    ({ spId, jobId } = await instanceWithJob(h, SCIM_TEMPLATE_ID, 'Contract SCIM'));
    const creds = [
      { key: 'BaseAddress', value: 'https://scim.example.com/scim' },
      { key: 'SecretToken', value: 'token' },
    ];
    expect((await h.call('PUT', `/servicePrincipals/${spId}/synchronization/secrets`, { value: creds })).status).toBe(
      204,
    );
    const schema = (await h.call('GET', `${base()}/schema`)).json as { synchronizationRules: { id: string }[] };
    ruleId = schema.synchronizationRules[0]!.id;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('filterOperators and functions are the full lists Microsoft publishes', async () => {
    const ops = await h.call('GET', `${base()}/schema/filterOperators`);
    expect((ops.json as Json).value).toEqual((parseExample('filter-operators.json') as Json).value);
    const fns = await h.call('GET', `${base()}/schema/functions`);
    expect((fns.json as Json).value).toEqual((parseExample('schema-functions.json') as Json).value);
  });

  it('the job schema has every field of the GET example; the shortened PUT example is refused, naming what is missing', async () => {
    const schema = await h.call('GET', `${base()}/schema`);
    expect(missingKeys(parseExample('synchronization-schema-get.json'), schema.json)).toEqual([]);
    const put = await h.call('PUT', `${base()}/schema`, parseExample('synchronization-schema-put.request.json'));
    expect(put.status).toBe(400);
    expect(graphErrorBodySchema.parse(put.json).error.message).toMatch(/target object 'User' is not defined/);
  });

  it('appRoleAssignedTo takes the example body (our ids) and answers every field of the example', async () => {
    const body = parseExample('app-role-assigned-to.request.json') as Json;
    const sp = (await h.call('GET', `/servicePrincipals/${spId}`)).json as { appRoles: { id: string }[] };
    Object.assign(body, { principalId: SIM_GROUPS.sales, resourceId: spId, appRoleId: sp.appRoles[0]!.id });
    const res = await h.call('POST', `/servicePrincipals/${spId}/appRoleAssignedTo`, body);
    expect(res.status).toBe(201);
    expect(missingKeys(parseExample('app-role-assigned-to.json'), res.json)).toEqual([]);
    expect((res.json as { id: string }).id).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("provisionOnDemand takes both example bodies (our ids) and answers the example's fields, inside the strings too", async () => {
    const single = parseExample('provision-on-demand.request.json') as {
      parameters: { ruleId: string; subjects: Json[] }[];
    };
    single.parameters[0]!.ruleId = ruleId;
    single.parameters[0]!.subjects[0]!.objectId = SIM_USERS.canary;
    const first = await h.call('POST', `${base()}/provisionOnDemand`, single);
    expect(first.status).toBe(200);
    expect(JSON.parse((first.json as { key: string }).key)).toEqual({ result: 'Success', details: {} });
    // The same user again: already there — Microsoft's example answer, field for field.
    const again = await h.call('POST', `${base()}/provisionOnDemand`, single);
    const ex = parseExample('provision-on-demand.json') as { key: string; value: string };
    expect(missingKeys(ex, again.json)).toEqual([]);
    const got = again.json as { key: string; value: string };
    expect(JSON.parse(got.key)).toEqual(JSON.parse(ex.key));
    expect(missingKeys(JSON.parse(ex.value), JSON.parse(got.value))).toEqual([]);

    const group = parseExample('provision-on-demand-group.request.json') as {
      parameters: { ruleId: string; subjects: { objectId: string; links: { members: Json[] } }[] }[];
    };
    group.parameters[0]!.ruleId = ruleId;
    const subject = group.parameters[0]!.subjects[0]!;
    subject.objectId = SIM_GROUPS.engineering;
    subject.links.members[0]!.objectId = SIM_USERS.alex;
    subject.links.members[1]!.objectId = SIM_USERS.megan;
    const groupRes = await h.call('POST', `${base()}/provisionOnDemand`, group);
    expect(groupRes.status).toBe(200);
    expect(missingKeys(parseExample('provision-on-demand-group.json'), groupRes.json)).toEqual([]);
  });
});
