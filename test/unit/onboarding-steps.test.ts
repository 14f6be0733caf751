/** The onboarding steps against the fake Graph: settings in the one secrets PUT, schema edits, assignments, smoke test. */
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/graph/errors.ts';
import { assignGroups } from '../../src/steps/assign-groups.ts';
import { saveSecrets } from '../../src/steps/save-secrets.ts';
import { smokeTest } from '../../src/steps/smoke-test.ts';
import { startJob } from '../../src/steps/start-job.ts';
import { StepWait, type InstanceIds, type InstanceSpec } from '../../src/steps/types.ts';
import { updateSchema } from '../../src/steps/update-schema.ts';
import { fakeDeps, graphError, INSTANCE } from '../helpers/fake-graph.ts';
import { scimSchema } from '../helpers/scim-schema.ts';

const G_ADMINS = '11111111-1111-4111-8111-111111111111';
const G_DEVS = '22222222-2222-4222-8222-222222222222';
const USER = '33333333-3333-4333-8333-333333333333';
const ROLE_ADMIN = '44444444-4444-4444-8444-444444444444';

function setup(onboarding: InstanceSpec['onboarding']) {
  const f = fakeDeps();
  const instance: InstanceSpec = { ...INSTANCE, onboarding };
  f.graph.sps.push({ id: 'sp-1', appId: 'appid-1', displayName: 'AWS Contoso', appRoles: [] });
  f.graph.jobs.set('sp-1', [
    { id: 'aws.job.1', templateId: 'aws', status: { code: 'NotConfigured' }, schedule: { state: 'Disabled' } },
  ]);
  f.graph.schemas.set('aws.job.1', scimSchema());
  f.graph.groups.push({ id: G_ADMINS, displayName: 'AWS Admins' }, { id: G_DEVS, displayName: 'Developers' });
  f.store.sealed.set(
    `${instance.batchId}/${instance.instanceKey}`,
    JSON.stringify([{ key: 'SecretToken', value: 't0k' }]),
  );
  const prev: InstanceIds = { servicePrincipalId: 'sp-1', jobId: 'aws.job.1' };
  const input = (state: Record<string, unknown> = {}) => ({ instance, prev, state });
  return { ...f, instance, prev, input };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (e: unknown) => e,
  );
}

describe('save-secrets with settings', () => {
  it('sends credentials and settings in one complete PUT, then reads the settings back', async () => {
    const t = setup({ settings: { scope: 'assigned', deletionThreshold: 500, notificationEmail: 'idm@contoso.com' } });
    await saveSecrets(t.deps, t.input());
    expect(t.graph.count('saveSecrets')).toBe(1);
    const sent = t.graph.secrets.get('sp-1')!;
    expect(sent.map((p) => p.key)).toEqual(['SecretToken', 'SyncAll', 'SyncNotificationSettings']);
    expect(sent[1]!.value).toBe('false');
    expect(JSON.parse(sent[2]!.value)).toEqual({
      Enabled: true,
      Recipients: 'idm@contoso.com',
      DeleteThresholdEnabled: true,
      DeleteThresholdValue: 500,
    });
    expect(t.graph.count('getSynchronizationSecrets')).toBe(2); // scope before, settings after
  });

  it('never writes read-back values: a retry sends the sealed credential, not the masked "*"', async () => {
    const t = setup({ settings: { skipOutOfScopeDeletions: true } });
    t.graph.secretsReadBackOverride.set('SkipOutOfScopeDeletions', 'false');
    const err = await rejection(saveSecrets(t.deps, t.input()));
    expect(String(err)).toMatch(/did not keep the settings.*SkipOutOfScopeDeletions: wanted true, Graph has false/);
    expect(err).not.toBeInstanceOf(PermanentError); // retried: a read-back may lag
    t.graph.secretsReadBackOverride.clear();
    await saveSecrets(t.deps, t.input());
    expect(t.graph.secrets.get('sp-1')!.find((p) => p.key === 'SecretToken')!.value).toBe('t0k');
  });

  it('without settings reads nothing back (instances without the field cost what they always did)', async () => {
    const t = setup(undefined);
    await saveSecrets(t.deps, t.input());
    expect(t.graph.count('getSynchronizationSecrets')).toBe(0);
  });

  it('restarts a running job whose scope changed, and only then', async () => {
    const t = setup({ settings: { scope: 'all' } });
    t.graph.secrets.set('sp-1', [{ key: 'SyncAll', value: 'false' }]);
    const job = t.graph.jobs.get('sp-1')![0]!;
    job.status = { code: 'Active' };
    job.schedule = { state: 'Active' };
    await saveSecrets(t.deps, t.input());
    await startJob(t.deps, t.input());
    expect(t.graph.count('restartSynchronizationJob')).toBe(1);
    expect(t.graph.count('startSynchronizationJob')).toBe(0);
    await startJob(t.deps, t.input()); // retried: the mark is gone
    expect(t.graph.count('restartSynchronizationJob')).toBe(1);
  });
});

describe('update-schema', () => {
  const edits = {
    User: {
      mappings: {
        title: { source: 'jobTitle' },
        displayName: { expression: 'Join(" ", [givenName], [surname])' },
        'emails[type eq "work"].value': null,
      },
      matchingAttribute: 'userName',
      scopingFilter: {
        groups: [{ name: 'Sales only', clauses: [{ attribute: 'department', operator: 'equals', values: ['Sales'] }] }],
      },
    },
    Group: { enabled: false },
  };

  it('applies the edits to a fresh read, PUTs the whole schema once, and a re-run changes nothing', async () => {
    const t = setup({ schema: edits });
    const out = await updateSchema(t.deps, t.input());
    expect(out.schemaUpdatedAt).toBeDefined();
    expect(t.graph.count('putSynchronizationSchema')).toBe(1);
    const rule = t.graph.schemas.get('aws.job.1')!.synchronizationRules![0]!;
    const user = rule.objectMappings![0]!;
    const targets = user.attributeMappings!.map((a) => a.targetAttributeName);
    expect(targets).toEqual(['userName', 'title', 'displayName']);
    const join = user.attributeMappings![2]!.source!;
    expect(join.type).toBe('Function');
    expect(join.name).toBe('Join');
    expect(join.parameters!.map((p) => p.key)).toEqual(['separator', 'source', 'source']);
    expect(user.scope!.groups![0]!.clauses![0]!.operatorName).toBe('EQUALS'); // Graph's spelling
    expect(rule.objectMappings![1]!.enabled).toBe(false);
    expect(rule.id).toBe('03f7d90d-bf71-41b1-bda6-aaf0ddbee5d8'); // everything else kept
    await updateSchema(t.deps, t.input());
    expect(t.graph.count('putSynchronizationSchema')).toBe(1);
  });

  it('fails the instance naming an operator Graph does not offer, before any PUT', async () => {
    const t = setup({
      schema: { User: { scopingFilter: { groups: [{ name: 'x', clauses: [{ attribute: 'a', operator: 'LIKE' }] }] } } },
    });
    const err = await rejection(updateSchema(t.deps, t.input()));
    expect(err).toBeInstanceOf(PermanentError);
    expect(String(err)).toMatch(/operator 'LIKE' is not one Graph offers/);
    expect(t.graph.count('putSynchronizationSchema')).toBe(0);
  });

  it('fails naming an unknown function or object mapping', async () => {
    const t = setup({
      schema: { User: { mappings: { title: { expression: 'Frobnicate([jobTitle])' } } }, Device: {} },
    });
    const err = String(await rejection(updateSchema(t.deps, t.input())));
    expect(err).toMatch(/'Frobnicate' is not a function/);
    expect(err).toMatch(/no object mapping for 'Device' \(it has: User, Group\)/);
  });

  it("a refused PUT fails the instance with Graph's reason", async () => {
    const t = setup({ schema: { Group: { enabled: false } } });
    t.graph.failNext.set('putSynchronizationSchema', {
      err: graphError(400, 'permanent', 'BadRequest', 'Attribute foo does not exist'),
      afterEffect: false,
    });
    await expect(updateSchema(t.deps, t.input())).rejects.toThrow(
      /Graph refused the edits.*Attribute foo does not exist/,
    );
  });
});

describe('assign-groups', () => {
  it('resolves groups by name once per batch, looks first, and never assigns twice', async () => {
    const t = setup({ assignments: [{ group: 'AWS Admins' }, { group: G_DEVS, role: 'default' }] });
    t.graph.assignments.set('sp-1', [
      { id: 'x', principalId: G_DEVS, appRoleId: '00000000-0000-0000-0000-000000000000', resourceId: 'sp-1' },
    ]);
    const out = await assignGroups(t.deps, t.input());
    expect(out.assignments).toBe(2);
    expect(t.graph.count('assignAppRole')).toBe(1);
    await assignGroups(t.deps, t.input());
    expect(t.graph.count('assignAppRole')).toBe(1);
    expect(t.graph.count('findGroupsByName')).toBe(1); // batch cache
  });

  it('a crash after the POST (before the ledger write) does not assign again on retry', async () => {
    const t = setup({ assignments: [{ group: 'AWS Admins' }] });
    t.graph.failNext.set('assignAppRole', { err: graphError(null, 'transient', 'ECONNRESET'), afterEffect: true });
    await expect(assignGroups(t.deps, t.input())).rejects.toThrow();
    await assignGroups(t.deps, t.input());
    expect(t.graph.assignments.get('sp-1')).toHaveLength(1);
  });

  it('an "already exists" refusal counts as done', async () => {
    const t = setup({ assignments: [{ group: 'AWS Admins' }] });
    const real = t.graph.listAppRoleAssignedTo.bind(t.graph);
    let first = true;
    // The look-first read misses it (a concurrent writer): Graph refuses the duplicate.
    t.graph.listAppRoleAssignedTo = async (sp: string) => (first ? ((first = false), []) : real(sp));
    t.graph.assignments.set('sp-1', [
      { id: 'x', principalId: G_ADMINS, appRoleId: '00000000-0000-0000-0000-000000000000', resourceId: 'sp-1' },
    ]);
    expect((await assignGroups(t.deps, t.input())).assignments).toBe(1);
  });

  it('a duplicate refused while the list does not show it yet (replication): waits, looks again, no second POST', async () => {
    const t = setup({ assignments: [{ group: 'AWS Admins' }] });
    t.graph.assignments.set('sp-1', [
      { id: 'x', principalId: G_ADMINS, appRoleId: '00000000-0000-0000-0000-000000000000', resourceId: 'sp-1' },
    ]);
    const real = t.graph.listAppRoleAssignedTo.bind(t.graph);
    let lagging = 2; // the first two reads miss it
    t.graph.listAppRoleAssignedTo = async (sp: string) => (lagging-- > 0 ? [] : real(sp));
    const wait = (await rejection(assignGroups(t.deps, t.input()))) as StepWait;
    expect(wait).toBeInstanceOf(StepWait);
    expect(wait.reason).toMatch(/looking again/);
    t.deps.advance(wait.delayMs);
    expect((await assignGroups(t.deps, t.input(wait.state))).assignments).toBe(1);
    expect(t.graph.count('assignAppRole')).toBe(1);
  });

  it("a refusal that is not a duplicate fails with Graph's reason once the look-again window is over", async () => {
    const t = setup({ assignments: [{ group: 'AWS Admins' }] });
    t.graph.failNext.set('assignAppRole', {
      err: graphError(
        400,
        'permanent',
        'Request_BadRequest',
        'Permission being assigned was not found on application.',
      ),
      afterEffect: false,
    });
    const wait = (await rejection(assignGroups(t.deps, t.input()))) as StepWait;
    expect(wait).toBeInstanceOf(StepWait);
    t.deps.advance(t.deps.settings.reconcileWindowMs);
    t.graph.failNext.set('assignAppRole', {
      err: graphError(
        400,
        'permanent',
        'Request_BadRequest',
        'Permission being assigned was not found on application.',
      ),
      afterEffect: false,
    });
    const err = await rejection(assignGroups(t.deps, t.input(wait.state)));
    expect(err).toBeInstanceOf(PermanentError);
    expect(String(err)).toMatch(/refused to assign group 'AWS Admins'.*not found on application/);
  });

  it('fails the instance naming an unknown group', async () => {
    const t = setup({ assignments: [{ group: 'No Such Group' }] });
    const err = await rejection(assignGroups(t.deps, t.input()));
    expect(err).toBeInstanceOf(PermanentError);
    expect(String(err)).toMatch(/group 'No Such Group' does not exist/);
  });

  it('waits durably for a role the first cycle imports, then assigns it', async () => {
    const t = setup({ assignments: [{ group: 'AWS Admins', role: 'Admin' }] });
    const wait = (await rejection(assignGroups(t.deps, t.input()))) as StepWait;
    expect(wait).toBeInstanceOf(StepWait);
    expect(wait.reason).toMatch(/waiting for app role 'Admin'/);
    t.deps.advance(wait.delayMs);
    t.graph.sps[0]!.appRoles = [{ id: ROLE_ADMIN, value: 'arn:aws:iam::1:role/Admin', displayName: 'Admin' }];
    await assignGroups(t.deps, t.input(wait.state));
    expect(t.graph.assignments.get('sp-1')![0]!.appRoleId).toBe(ROLE_ADMIN);
  });

  it('fails naming the role once a cycle has completed without it', async () => {
    const t = setup({ assignments: [{ group: 'AWS Admins', role: 'Admin' }] });
    t.graph.jobs.get('sp-1')![0]!.status = {
      code: 'Active',
      lastSuccessfulExecution: { timeEnded: '2026-12-01T10:00:00Z' },
    };
    const wait = (await rejection(assignGroups(t.deps, t.input()))) as StepWait;
    expect(wait).toBeInstanceOf(StepWait); // one more read: the cycle may have ended between our reads
    const err = await rejection(assignGroups(t.deps, t.input(wait.state)));
    expect(err).toBeInstanceOf(PermanentError);
    expect(String(err)).toMatch(/app role 'Admin' is not among the 0 app roles.*after the first provisioning cycle/);
  });

  it('a job whose dates say "never" (0001-01-01) has not completed a cycle: it keeps waiting', async () => {
    const t = setup({ assignments: [{ group: 'AWS Admins', role: 'Admin' }] });
    t.graph.jobs.get('sp-1')![0]!.status = {
      code: 'Active',
      lastSuccessfulExecution: { timeEnded: '0001-01-01T00:00:00Z' },
      steadyStateFirstAchievedTime: '0001-01-01T00:00:00Z',
    };
    let state: Record<string, unknown> = {};
    for (let i = 0; i < 3; i++) {
      const wait = (await rejection(assignGroups(t.deps, t.input(state)))) as StepWait;
      expect(wait).toBeInstanceOf(StepWait);
      state = wait.state;
    }
  });

  it('fails naming the role at the deadline', async () => {
    const t = setup({ assignments: [{ group: 'AWS Admins', role: 'Admin' }] });
    t.deps.settings.roleImportTimeoutMs = 10_000;
    const wait = (await rejection(assignGroups(t.deps, t.input()))) as StepWait;
    t.deps.advance(10_000);
    await expect(assignGroups(t.deps, t.input(wait.state))).rejects.toThrow(/app role 'Admin'.*after waiting/);
  });
});

describe('smoke-test', () => {
  it('sends the rule id from the schema and records Success; a recorded pass is not re-run', async () => {
    const t = setup({ smokeTest: { subject: USER, type: 'User' } });
    const out = await smokeTest(t.deps, t.input());
    expect(out.smokeTest).toBe('Success');
    expect(t.graph.onDemandRequests[0]).toEqual({
      ruleId: '03f7d90d-bf71-41b1-bda6-aaf0ddbee5d8',
      subject: USER,
      type: 'User',
    });
    await smokeTest(t.deps, t.input());
    expect(t.graph.count('provisionOnDemand')).toBe(1);
    expect((await t.store.get(t.instance, ['smokeTest'])).smokeTest).toBe('Success');
  });

  it("fails the instance with Graph's code and reason for a Skipped canary, and records it", async () => {
    const t = setup({ smokeTest: { subject: USER } });
    t.graph.onDemandAnswer = {
      key: JSON.stringify({
        result: 'Skipped',
        details: { errorCode: 'NotEffectivelyEntitled', errorMessage: 'The user is not assigned to the app.' },
      }),
      value: '{}',
    };
    const err = await rejection(smokeTest(t.deps, t.input()));
    expect(err).toBeInstanceOf(PermanentError);
    expect(String(err)).toMatch(/Skipped \(NotEffectivelyEntitled: The user is not assigned to the app.\)/);
    expect((await t.store.get(t.instance, ['smokeTest'])).smokeTest).toMatch(/^Skipped/);
  });

  it("reads Microsoft's example answer (RedundantExport counts as a pass)", async () => {
    const t = setup({ smokeTest: { subject: USER } });
    t.graph.onDemandAnswer = {
      key: '{"result":"Skipped","details":{"errorCode":"RedundantExport","errorMessage":"The state of the user in both the source and target systems already match."}}',
      value: '{"statusInfo":{"status":"Skipped","errorCode":null,"reason":null}}',
    };
    expect((await smokeTest(t.deps, t.input())).smokeTest).toMatch(/^Skipped \(RedundantExport/);
  });

  it('sends a group with its chosen members', async () => {
    const t = setup({ smokeTest: { subject: G_ADMINS, type: 'Group', members: [USER] } });
    await smokeTest(t.deps, t.input());
    expect(t.graph.onDemandRequests[0]).toMatchObject({ type: 'Group', members: [USER] });
  });
});
