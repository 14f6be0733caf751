/**
 * Settings and provision on demand in the simulator (issue 14): GET secrets masks credentials and
 * shows settings; SyncAll decides who is provisioned, only from the next start or restart; on-demand
 * runs answer Success / Skipped / Failure in Microsoft's shape, write log entries, and have their
 * own rate limit (429 with Retry-After).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AWS_TEMPLATE_ID, SCIM_TEMPLATE_ID } from '../../src/dev/sim/catalogue.ts';
import { DEFAULT_ACCESS_ROLE_ID, SIM_GROUPS, SIM_USERS, type SimulatorOptions } from '../../src/dev/sim/index.ts';
import { collectionSchema, graphErrorBodySchema, provisioningObjectSummarySchema } from '../../src/graph/schemas.ts';
import { startSimHttp, type SimHttp } from '../helpers/sim-http.ts';
import { instanceWithJob } from '../helpers/sim-onboarding.ts';
import { waitFor } from '../helpers/wait.ts';

let h: SimHttp | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

const SCIM_CREDS = [
  { key: 'BaseAddress', value: 'https://scim.example.com/scim' },
  { key: 'SecretToken', value: 'token' },
];
const NOTIFY =
  '{"Enabled":true,"Recipients":"ops@contoso.example","DeleteThresholdEnabled":true,"DeleteThresholdValue":"50"}';

/** A SCIM instance with a job, its rule id, and helpers to save settings and run on demand. */
async function scimInstance(o: SimulatorOptions = {}, name = 'On demand') {
  h = await startSimHttp(o);
  const s = h;
  const { spId, jobId } = await instanceWithJob(s, SCIM_TEMPLATE_ID, name);
  const job = `/servicePrincipals/${spId}/synchronization/jobs/${jobId}`;
  const schema = (await s.call('GET', `${job}/schema`)).json as { synchronizationRules: { id: string }[] };
  const ruleId = schema.synchronizationRules[0]!.id;
  const save = async (syncAll: string) => {
    const value = [
      ...SCIM_CREDS,
      { key: 'SyncAll', value: syncAll },
      { key: 'SyncNotificationSettings', value: NOTIFY },
    ];
    expect((await s.call('PUT', `/servicePrincipals/${spId}/synchronization/secrets`, { value })).status).toBe(204);
  };
  const onDemand = async (objectId: string, objectTypeName = 'User', members: string[] = []) => {
    const links = members.length
      ? { members: members.map((m) => ({ objectId: m, objectTypeName: 'User' })) }
      : undefined;
    const res = await s.call('POST', `${job}/provisionOnDemand`, {
      parameters: [{ ruleId, subjects: [{ objectId, objectTypeName, ...(links ? { links } : {}) }] }],
    });
    if (res.status !== 200)
      return { status: res.status, headers: res.headers, json: res.json, result: null, details: null, value: null };
    const body = res.json as { key: string; value: string };
    const key = JSON.parse(body.key) as { result: string; details: { errorCode?: string; errorMessage?: string } };
    return {
      status: res.status,
      headers: res.headers,
      json: res.json,
      ...key,
      value: JSON.parse(body.value) as Record<string, unknown>,
    };
  };
  const assign = (principalId: string) =>
    s.call('POST', `/servicePrincipals/${spId}/appRoleAssignedTo`, {
      principalId,
      resourceId: spId,
      appRoleId: DEFAULT_ACCESS_ROLE_ID,
    });
  const logs = async () => {
    const res = await s.call('GET', `/auditLogs/provisioning?$filter=${encodeURIComponent(`jobId eq '${jobId}'`)}`);
    return collectionSchema(provisioningObjectSummarySchema).parse(res.json).value;
  };
  return { s, spId, jobId, job, ruleId, save, onDemand, assign, logs };
}

describe('settings among the secrets', () => {
  it('GET masks credentials and shows settings as saved', async () => {
    const { s, spId, save } = await scimInstance();
    await save('false');
    const got = (await s.call('GET', `/servicePrincipals/${spId}/synchronization/secrets`)).json as {
      value: { key: string; value: string }[];
    };
    expect(Object.fromEntries(got.value.map((v) => [v.key, v.value]))).toEqual({
      BaseAddress: '*',
      SecretToken: '*',
      SyncAll: 'false',
      SyncNotificationSettings: NOTIFY,
    });
  });

  it('SyncAll decides who is provisioned, and a change takes effect only at restart', async () => {
    const { s, job, save, onDemand, logs } = await scimInstance();
    await save('false');
    expect((await s.call('POST', `${job}/start`)).status).toBe(204);
    // Scope "assigned": the unassigned user is skipped, on demand and in the first cycle's log.
    expect(await onDemand(SIM_USERS.unassigned)).toMatchObject({
      result: 'Skipped',
      details: { errorCode: 'NotEffectivelyEntitled' },
    });
    await waitFor(
      'the first cycle to log the unassigned user as skipped',
      async () =>
        (await logs()).some(
          (e) =>
            e.sourceIdentity?.id === SIM_USERS.unassigned &&
            e.provisioningStatusInfo?.status === 'skipped' &&
            e.provisioningStatusInfo.errorInformation?.errorCode === 'NotEffectivelyEntitled',
        ),
      20_000,
    );
    // Saved "all" without a restart: nothing changes.
    await save('true');
    expect((await onDemand(SIM_USERS.unassigned)).result).toBe('Skipped');
    expect((await s.call('POST', `${job}/restart`, { criteria: { resetScope: 'Full' } })).status).toBe(204);
    expect(await onDemand(SIM_USERS.unassigned)).toMatchObject({ result: 'Success', details: {} });
  });
});

describe('provision on demand', () => {
  it('answers Success, Skipped and Failure in Microsoft shape and logs each run', async () => {
    const { s, save, onDemand, assign, logs } = await scimInstance();
    await save('false');
    expect((await assign(SIM_GROUPS.sales)).status).toBe(201);
    const ok = await onDemand(SIM_USERS.canary);
    expect(ok).toMatchObject({ status: 200, result: 'Success', details: {} });
    expect(ok.value).toMatchObject({
      action: 'Create',
      statusInfo: { status: 'Success' },
      reportableIdentifier: 'canaryt@contoso.example',
    });
    // Again: the target already matches — Microsoft's example answer.
    expect(await onDemand(SIM_USERS.canary)).toMatchObject({
      result: 'Skipped',
      details: { errorCode: 'RedundantExport' },
    });
    expect(await onDemand(SIM_USERS.failing)).toMatchObject({
      result: 'Failure',
      details: { errorCode: 'SystemForCrossDomainIdentityManagementBadResponse' },
    });
    // Disabled account: outside the template's scoping filter.
    expect((await onDemand(SIM_USERS.disabled)).details).toMatchObject({ errorCode: 'ScopingFilterNotMatched' });
    // A group with members: a failing member fails the run and is named.
    const group = await onDemand(SIM_GROUPS.sales, 'Group', [SIM_USERS.adele, SIM_USERS.failing]);
    expect(group.result).toBe('Failure');
    expect(group.details?.errorMessage).toContain(SIM_USERS.failing);
    expect((await onDemand(SIM_GROUPS.engineering, 'Group', [SIM_USERS.adele])).status).toBe(400);
    expect((await onDemand('99999999-0000-4000-8000-000000000000')).status).toBe(404);
    s.sim.configure({ failingSmokeSubjects: [SIM_USERS.adele] });
    expect((await onDemand(SIM_USERS.adele)).result).toBe('Failure');

    const entries = await logs();
    const change = (ok.value as { changeId: string }).changeId;
    expect(entries.find((e) => e.changeId === change)).toMatchObject({
      provisioningAction: 'create',
      provisioningStatusInfo: { status: 'success' },
      sourceIdentity: { id: SIM_USERS.canary },
    });
    expect(entries.filter((e) => e.provisioningStatusInfo?.status === 'failure').length).toBeGreaterThanOrEqual(3);
    expect(s.sim.stats().provisionOnDemand).toMatchObject({ Success: 1, Skipped: 2, Failure: 3 });
  });

  it('fails on bad credentials, refuses a rule not in the schema and the AWS role-import rule', async () => {
    const { s, job, onDemand } = await scimInstance();
    // No credentials saved: the run fails with the connector's code.
    expect((await onDemand(SIM_USERS.canary)).details).toMatchObject({
      errorCode: 'SystemForCrossDomainIdentityManagementCredentialValidationUnavailable',
    });
    const wrongRule = await s.call('POST', `${job}/provisionOnDemand`, {
      parameters: [{ ruleId: 'nope', subjects: [{ objectId: SIM_USERS.canary, objectTypeName: 'User' }] }],
    });
    expect(wrongRule.status).toBe(400);
    const aws = await instanceWithJob(s, AWS_TEMPLATE_ID, 'AWS on demand');
    const awsJob = `/servicePrincipals/${aws.spId}/synchronization/jobs/${aws.jobId}`;
    const awsRule = ((await s.call('GET', `${awsJob}/schema`)).json as { synchronizationRules: { id: string }[] })
      .synchronizationRules[0]!.id;
    const res = await s.call('POST', `${awsJob}/provisionOnDemand`, {
      parameters: [{ ruleId: awsRule, subjects: [{ objectId: SIM_USERS.canary, objectTypeName: 'User' }] }],
    });
    expect(res.status).toBe(400);
    expect(graphErrorBodySchema.parse(res.json).error.message).toMatch(/imports from AWS/);
  });

  it('has its own rate limit: the sixth call in the window gets 429 with Retry-After; one inside it is a violation', async () => {
    const { s, save, onDemand } = await scimInstance({ overrides: { onDemandLimit: 5, onDemandWindowMs: 60_000 } });
    await save('true');
    for (let i = 0; i < 5; i++) expect((await onDemand(SIM_USERS.canary)).status).toBe(200);
    const refused = await onDemand(SIM_USERS.canary);
    expect(refused.status).toBe(429);
    expect(graphErrorBodySchema.parse(refused.json).error.code).toBe('TooManyRequests');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(s.sim.stats().provisionOnDemand).toMatchObject({ throttled: 1, violations: 0 });
    // Past the grace but inside Retry-After: refused again and counted.
    await new Promise((r) => setTimeout(r, s.sim.settings.retryAfterGraceMs + 100));
    expect((await onDemand(SIM_USERS.canary)).status).toBe(429);
    expect(s.sim.stats().provisionOnDemand).toMatchObject({ throttled: 2, violations: 1 });
  });
});
