/**
 * The simulator's onboarding surface (issue 14): seeded users and groups, the job schema with
 * Graph's validation, app role assignments with Graph's refusals and AWS roles that appear only
 * after the first cycle, settings read back in clear with SyncAll taking effect at restart, and
 * provision on demand with its outcomes, log entries and rate limit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AWS_TEMPLATE_ID, SCIM_TEMPLATE_ID } from '../../src/dev/sim/catalogue.ts';
import { DEFAULT_ACCESS_ROLE_ID, SIM_GROUPS, SIM_USERS, type SimulatorOptions } from '../../src/dev/sim/index.ts';
import { graphErrorBodySchema } from '../../src/graph/schemas.ts';
import { startSimHttp, type SimHttp } from '../helpers/sim-http.ts';
import { instanceWithJob } from '../helpers/sim-onboarding.ts';
import { waitFor } from '../helpers/wait.ts';

type Json = Record<string, unknown>;
type Schema = { version: string; synchronizationRules: { id: string; objectMappings: Json[] }[] } & Json;

let h: SimHttp | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

async function start(o: SimulatorOptions = {}): Promise<SimHttp> {
  h = await startSimHttp(o);
  return h;
}

const AWS_CREDS = [
  { key: 'ClientSecret', value: 'access-key' },
  { key: 'SecretToken', value: 'secret-key' },
];
const errorOf = (json: unknown) => graphErrorBodySchema.parse(json).error;

describe('seeded directory', () => {
  it('finds groups by display name and users and groups by id, with fixed ids', async () => {
    const { call } = await start();
    const sales = await call('GET', `/groups?$filter=${encodeURIComponent("displayName eq 'sales'")}`);
    expect((sales.json as { value: Json[] }).value).toMatchObject([{ id: SIM_GROUPS.sales, displayName: 'Sales' }]);
    const aws = await call('GET', `/groups?$filter=${encodeURIComponent("startswith(displayName,'AWS')")}`);
    expect((aws.json as { value: Json[] }).value.map((g) => g.displayName)).toEqual(['AWS Admins', 'AWS Developers']);
    expect((await call('GET', `/groups/${SIM_GROUPS.engineering}`)).json).toMatchObject({ displayName: 'Engineering' });
    expect((await call('GET', `/users/${SIM_USERS.canary}`)).json).toMatchObject({
      userPrincipalName: 'canaryt@contoso.example',
    });
    const members = (await call('GET', `/groups/${SIM_GROUPS.sales}/members`)).json as { value: Json[] };
    expect(members.value.map((m) => m.id)).toContain(SIM_USERS.canary);
    const missing = await call('GET', '/groups/00000000-1111-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(errorOf(missing.json).code).toBe('Request_ResourceNotFound');
    expect((await call('GET', `/groups?$filter=${encodeURIComponent('displayName eq')}`)).status).toBe(400);
  });
});

describe('job schema', () => {
  it('templates carry it; each job gets its own rule ids; PUT validates and replaces; DELETE restores', async () => {
    const s = await start();
    const a = await instanceWithJob(s, SCIM_TEMPLATE_ID, 'Schema A');
    const b = await instanceWithJob(s, SCIM_TEMPLATE_ID, 'Schema B');
    const url = (x: { spId: string; jobId: string }) =>
      `/servicePrincipals/${x.spId}/synchronization/jobs/${x.jobId}/schema`;
    const tpl = (await s.call('GET', `/servicePrincipals/${a.spId}/synchronization/templates`)).json as {
      value: { schema: Schema }[];
    };
    expect(tpl.value[0]!.schema.synchronizationRules[0]!.objectMappings.map((m) => m.targetObjectName)).toEqual([
      'User',
      'Group',
    ]);
    const sa = (await s.call('GET', url(a))).json as Schema;
    const sb = (await s.call('GET', url(b))).json as Schema;
    expect(sa.synchronizationRules[0]!.id).not.toBe(sb.synchronizationRules[0]!.id);
    const users = sa.synchronizationRules[0]!.objectMappings[0]! as { attributeMappings: Json[]; scope: Json };
    expect(users.attributeMappings.find((m) => m.matchingPriority === 1)).toMatchObject({
      targetAttributeName: 'userName',
    });
    expect(users.scope).toMatchObject({ groups: [{ clauses: [{ operatorName: 'IS TRUE' }] }] });

    const refused = async (edit: (x: Schema) => void, why: RegExp) => {
      const copy = structuredClone(sa);
      edit(copy);
      const res = await s.call('PUT', url(a), copy);
      expect(res.status).toBe(400);
      expect(errorOf(res.json)).toMatchObject({ code: 'BadRequest' });
      expect(errorOf(res.json).message).toMatch(why);
    };
    const mappingsOf = (x: Schema) =>
      (x.synchronizationRules[0]!.objectMappings[0]! as { attributeMappings: Json[] }).attributeMappings;
    await refused((x) => {
      (mappingsOf(x)[2]!.source as Json).name = 'favouriteColour';
    }, /source attribute 'favouriteColour'/);
    await refused((x) => {
      mappingsOf(x)[2]!.targetAttributeName = 'nickName';
    }, /target attribute 'nickName'/);
    await refused((x) => {
      mappingsOf(x)[1]!.source = { name: 'Negate', type: 'Function', parameters: [] };
    }, /function 'Negate'/);
    await refused((x) => {
      const scope = x.synchronizationRules[0]!.objectMappings[0]!.scope as { groups: { clauses: Json[] }[] };
      scope.groups[0]!.clauses[0]!.operatorName = 'GREATER THAN';
    }, /operator 'GREATER THAN'/);
    await refused((x) => {
      for (const m of mappingsOf(x)) m.matchingPriority = 0;
    }, /matching attribute/);
    expect(((await s.call('GET', url(a))).json as Schema).version).toBe(sa.version);

    // A valid edit: a new scoping filter group and one mapping fewer; PUT replaces the whole schema.
    const edited = structuredClone(sa);
    const m0 = edited.synchronizationRules[0]!.objectMappings[0]! as { attributeMappings: Json[]; scope: Json };
    m0.attributeMappings = m0.attributeMappings.filter((m) => m.targetAttributeName !== 'title');
    m0.scope = {
      categoryFilterGroups: [],
      inputFilterGroups: [],
      groups: [
        {
          name: 'Sales only',
          clauses: [{ operatorName: 'EQUALS', sourceOperandName: 'department', targetOperand: { values: ['Sales'] } }],
        },
      ],
    };
    expect((await s.call('PUT', url(a), edited)).status).toBe(204);
    const after = (await s.call('GET', url(a))).json as Schema;
    expect(after.version).not.toBe(sa.version);
    const m1 = after.synchronizationRules[0]!.objectMappings[0]! as { attributeMappings: Json[]; scope: Json };
    expect(m1.attributeMappings.some((m) => m.targetAttributeName === 'title')).toBe(false);
    expect(m1.scope).toEqual(m0.scope);
    expect(s.sim.stats().schemaUpdates).toBe(1);

    expect((await s.call('DELETE', url(a))).status).toBe(204);
    const restored = (await s.call('GET', url(a))).json as Schema;
    expect(restored.synchronizationRules).toEqual(sa.synchronizationRules);
    expect(s.sim.stats().schemaUpdates).toBe(2);
  });

  it('serves filterOperators and functions on jobs and templates; AWS imports roles from AWS', async () => {
    const s = await start();
    const x = await instanceWithJob(s, AWS_TEMPLATE_ID, 'AWS schema');
    const base = `/servicePrincipals/${x.spId}/synchronization`;
    const ops = (await s.call('GET', `${base}/jobs/${x.jobId}/schema/filterOperators`)).json as { value: Json[] };
    expect(ops.value.map((o) => o.name)).toContain('REGEX MATCH');
    const fns = (await s.call('GET', `${base}/templates/aws/schema/functions`)).json as { value: Json[] };
    expect(fns.value.map((f) => f.name)).toContain('Join');
    const schema = (await s.call('GET', `${base}/jobs/${x.jobId}/schema`)).json as Schema;
    expect(schema.synchronizationRules[0]).toMatchObject({ sourceDirectoryName: 'AWS', name: 'AWS_ROLE_IMPORT' });
    expect((await s.call('GET', `${base}/jobs/nope/schema`)).status).toBe(404);
  });
});

describe('app role assignments', () => {
  it('assigns once, refuses a duplicate as Graph does, lists, deletes; unknown role, principal and a role-assignable group refused', async () => {
    const s = await start();
    const { spId } = await instanceWithJob(s, SCIM_TEMPLATE_ID, 'Assign');
    const sp = (await s.call('GET', `/servicePrincipals/${spId}`)).json as {
      appRoles: { id: string; displayName: string }[];
    };
    const user = sp.appRoles.find((r) => r.displayName === 'User')!;
    const url = `/servicePrincipals/${spId}/appRoleAssignedTo`;
    const body = { principalId: SIM_GROUPS.sales, resourceId: spId, appRoleId: user.id };
    const first = await s.call('POST', url, body);
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ principalType: 'Group', principalDisplayName: 'Sales', appRoleId: user.id });
    const dup = await s.call('POST', url, body);
    expect(dup.status).toBe(400);
    expect(errorOf(dup.json)).toMatchObject({
      code: 'Request_BadRequest',
      message: 'Permission being assigned already exists on the object.',
    });
    // The default access role is assignable though not listed; a different role is a different assignment.
    expect((await s.call('POST', url, { ...body, appRoleId: DEFAULT_ACCESS_ROLE_ID })).status).toBe(201);
    const unknownRole = await s.call('POST', url, { ...body, appRoleId: '11111111-2222-4333-8444-555555555555' });
    expect(unknownRole.status).toBe(400);
    expect(errorOf(unknownRole.json).message).toBe('Permission being assigned was not found on application.');
    const nobody = await s.call('POST', url, { ...body, principalId: '99999999-0000-4000-8000-000000000000' });
    expect(nobody.status).toBe(404);
    const tier0 = await s.call('POST', url, { ...body, principalId: SIM_GROUPS.tier0 });
    expect(tier0.status).toBe(403);
    expect(errorOf(tier0.json).code).toBe('Authorization_RequestDenied');
    s.sim.configure({ refusedAssignmentPrincipals: [SIM_GROUPS.engineering] });
    expect((await s.call('POST', url, { ...body, principalId: SIM_GROUPS.engineering })).status).toBe(403);

    const filter = encodeURIComponent(`principalId eq '${SIM_GROUPS.sales}'`);
    const listed = (await s.call('GET', `${url}?$filter=${filter}`)).json as { value: { id: string }[] };
    expect(listed.value).toHaveLength(2);
    expect((await s.call('DELETE', `${url}/${listed.value[0]!.id}`)).status).toBe(204);
    expect((await s.call('DELETE', `${url}/${listed.value[0]!.id}`)).status).toBe(404);
    expect(((await s.call('GET', url)).json as { value: unknown[] }).value).toHaveLength(1);
    expect(s.sim.stats()).toMatchObject({ appRoleAssignments: 2, appRoleAssignmentsRefused: 1 });
    // Routes are counted by shape, not by id.
    expect(s.sim.stats().byRoute['DELETE /servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}']).toBe(2);
  });

  it('a new assignment may be missing from the list for a while (replication), yet a second POST is refused', async () => {
    const s = await start();
    const { spId } = await instanceWithJob(s, SCIM_TEMPLATE_ID, 'Assign lag');
    s.sim.configure({ replicationLagMs: { min: 5000, max: 5000 } });
    const url = `/servicePrincipals/${spId}/appRoleAssignedTo`;
    const body = { principalId: SIM_GROUPS.engineering, resourceId: spId, appRoleId: DEFAULT_ACCESS_ROLE_ID };
    expect((await s.call('POST', url, body)).status).toBe(201);
    // Read at once, the list may not show it; a retry that trusted the list is refused, not doubled.
    const listed = async () => ((await s.call('GET', url)).json as { value: unknown[] }).value.length;
    expect(await listed()).toBe(0);
    const again = await s.call('POST', url, body);
    expect(again.status).toBe(400);
    expect(errorOf(again.json).message).toBe('Permission being assigned already exists on the object.');
    await waitFor('the assignment to replicate', async () => (await listed()) === 1, 30_000);
  });

  it("AWS: the imported IAM roles appear in appRoles only after the job's first cycle, and only then are assignable", async () => {
    const s = await start();
    const { spId, jobId } = await instanceWithJob(s, AWS_TEMPLATE_ID, 'AWS roles');
    const roles = async () =>
      (
        (await s.call('GET', `/servicePrincipals/${spId}`)).json as {
          appRoles: { id: string; displayName: string; value: string }[];
        }
      ).appRoles;
    expect((await roles()).map((r) => r.displayName)).toEqual(['msiam_access']);
    expect(
      (await s.call('PUT', `/servicePrincipals/${spId}/synchronization/secrets`, { value: AWS_CREDS })).status,
    ).toBe(204);
    expect((await s.call('POST', `/servicePrincipals/${spId}/synchronization/jobs/${jobId}/start`)).status).toBe(204);
    // Before the cycle ends no role is there to assign (the list is read first: the cycle may end any time).
    const early = await roles();
    if (early.length === 1) {
      const refused = await s.call('POST', `/servicePrincipals/${spId}/appRoleAssignedTo`, {
        principalId: SIM_GROUPS.awsAdmins,
        resourceId: spId,
        appRoleId: '11111111-2222-4333-8444-555555555555',
      });
      expect(refused.status).toBe(400);
    }
    await waitFor('the AWS roles imported', async () => (await roles()).length === 4, 20_000);
    const admin = (await roles()).find((r) => r.displayName === 'Admin')!;
    expect(admin.value).toMatch(/^arn:aws:iam::\d{12}:role\/Admin,arn:aws:iam::\d{12}:saml-provider\/AzureAD$/);
    const res = await s.call('POST', `/servicePrincipals/${spId}/appRoleAssignedTo`, {
      principalId: SIM_GROUPS.awsAdmins,
      resourceId: spId,
      appRoleId: admin.id,
    });
    expect(res.status).toBe(201);
  });
});
