/** Every step against a fake Graph client, including the look-before-you-act paths. */
import { describe, expect, it } from 'vitest';
import { PermanentError, RateLimitedError } from '../../src/graph/errors.ts';
import { awaitReplication } from '../../src/steps/await-replication.ts';
import { createSyncJob } from '../../src/steps/create-sync-job.ts';
import { INTENT_FIELD, instantiateApp } from '../../src/steps/instantiate-app.ts';
import { resolveTemplate } from '../../src/steps/resolve-template.ts';
import { saveSecrets } from '../../src/steps/save-secrets.ts';
import { startJob } from '../../src/steps/start-job.ts';
import { StepWait, type InstanceIds } from '../../src/steps/types.ts';
import { validateCredentials } from '../../src/steps/validate-credentials.ts';
import { fakeDeps, graphError, INSTANCE } from '../helpers/fake-graph.ts';

const input = (prev: InstanceIds = {}, state: Record<string, unknown> = {}) => ({ instance: INSTANCE, prev, state });

async function waitOf(p: Promise<unknown>): Promise<StepWait> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StepWait);
  return err as StepWait;
}

describe('resolve-template', () => {
  it('finds the template by name once per batch (cached)', async () => {
    const { deps, graph } = fakeDeps();
    expect(await resolveTemplate(deps, input())).toEqual({ templateId: 'tpl-aws' });
    expect(await resolveTemplate(deps, input())).toEqual({ templateId: 'tpl-aws' });
    expect(graph.count('findApplicationTemplatesByName')).toBe(1);
  });
  it('fails permanently with an actionable reason for an unknown name', async () => {
    const { deps } = fakeDeps();
    const inst = { ...INSTANCE, applicationTemplate: { displayName: 'No Such App' } };
    await expect(resolveTemplate(deps, { instance: inst, prev: {}, state: {} })).rejects.toThrow(
      /No gallery application template is named 'No Such App'/,
    );
  });
  it('fails permanently for an unknown template id', async () => {
    const { deps } = fakeDeps();
    const inst = { ...INSTANCE, applicationTemplate: { id: '00000000-0000-0000-0000-000000000000' } };
    await expect(resolveTemplate(deps, { instance: inst, prev: {}, state: {} })).rejects.toBeInstanceOf(PermanentError);
  });
});

describe('instantiate-app', () => {
  const prev = { templateId: 'tpl-aws' };
  it('creates the app once and records the ids', async () => {
    const { deps, graph, store } = fakeDeps();
    const out = await instantiateApp(deps, input(prev));
    expect(out).toMatchObject({
      applicationObjectId: 'app-1',
      appId: 'appid-1',
      servicePrincipalId: 'sp-1',
      adopted: 'created',
    });
    // A retry after success (e.g. crash before the job completed) does not POST again.
    const again = await instantiateApp(deps, input(prev));
    expect(again.applicationObjectId).toBe('app-1');
    expect(graph.count('instantiateApplication')).toBe(1);
    expect((await store.get(INSTANCE, ['appId'])).appId).toBe('appid-1');
  });
  it('adopts an existing app with the same name and template instead of creating one', async () => {
    const { deps, graph } = fakeDeps();
    graph.apps.push({
      id: 'app-old',
      appId: 'appid-old',
      applicationTemplateId: 'tpl-aws',
      displayName: 'AWS Contoso',
    });
    graph.sps.push({ id: 'sp-old', appId: 'appid-old' });
    const out = await instantiateApp(deps, input(prev));
    expect(out).toMatchObject({ applicationObjectId: 'app-old', servicePrincipalId: 'sp-old', adopted: 'existing' });
    expect(graph.count('instantiateApplication')).toBe(0);
  });
  it('after an ambiguous 504 (app created anyway) it reconciles and never POSTs twice, even while the app is invisible', async () => {
    const { deps, graph } = fakeDeps();
    graph.failNext.set('instantiateApplication', {
      err: graphError(504, 'transient', 'GatewayTimeout'),
      afterEffect: true,
    });
    const w = await waitOf(instantiateApp(deps, input(prev)));
    expect(w.reason).toMatch(/reconciling/);
    // Replication lag: the new app is invisible to queries for a while.
    graph.hidden.add('app-1');
    graph.hidden.add('sp-1');
    deps.advance(10_000);
    await waitOf(instantiateApp(deps, input(prev, w.state)));
    graph.hidden.clear();
    deps.advance(5_000);
    const out = await instantiateApp(deps, input(prev, w.state));
    expect(out).toMatchObject({ applicationObjectId: 'app-1', adopted: 'recovered' });
    expect(graph.count('instantiateApplication')).toBe(1);
    expect(graph.apps).toHaveLength(1);
  });
  it('an instantiate that hangs after creating the app: the app is found by query meanwhile, adopted, the request abandoned', async () => {
    const { deps, graph } = fakeDeps();
    deps.settings.slowInstantiateMs = 30;
    deps.settings.replicationPollMs = 20;
    graph.hangInstantiate = { visibleAfterMs: 60, answerAfterMs: Infinity };
    const t0 = Date.now();
    const out = await instantiateApp(deps, input(prev));
    expect(out).toMatchObject({ applicationObjectId: 'app-1', servicePrincipalId: 'sp-1', adopted: 'recovered' });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(graph.instantiateAborted).toBe(true);
    expect(graph.count('instantiateApplication')).toBe(1);
    // Looked only once it was slow: the first look (before the POST), then every 20 ms until found.
    expect(graph.count('findApplications')).toBeGreaterThanOrEqual(2);
    expect(graph.apps).toHaveLength(1);
  });

  it('a prompt answer is used as is: no looking while it runs', async () => {
    const { deps, graph } = fakeDeps();
    deps.settings.slowInstantiateMs = 200;
    graph.hangInstantiate = { visibleAfterMs: 0, answerAfterMs: 30 };
    const out = await instantiateApp(deps, input(prev));
    expect(out).toMatchObject({ applicationObjectId: 'app-1', adopted: 'created' });
    expect(graph.instantiateAborted).toBe(false);
    expect(graph.count('findApplications')).toBe(1); // the look before acting only
  });

  it('time spent waiting for our own limiter is not "slow": nothing is looked up before the POST is sent', async () => {
    const { deps, graph } = fakeDeps();
    deps.settings.slowInstantiateMs = 20;
    deps.settings.replicationPollMs = 10;
    graph.heldBeforeSendMs = 120;
    graph.hangInstantiate = { visibleAfterMs: 0, answerAfterMs: 10 };
    const out = await instantiateApp(deps, input(prev));
    expect(out.adopted).toBe('created');
    expect(graph.count('findApplications')).toBe(1);
  });

  it('a slow answer that arrives while the app is still invisible is used (nothing abandoned)', async () => {
    const { deps, graph } = fakeDeps();
    deps.settings.slowInstantiateMs = 10;
    deps.settings.replicationPollMs = 10;
    graph.hangInstantiate = { visibleAfterMs: 10_000, answerAfterMs: 80 };
    const out = await instantiateApp(deps, input(prev));
    expect(out).toMatchObject({ applicationObjectId: 'app-1', adopted: 'created' });
    expect(graph.instantiateAborted).toBe(false);
    expect(graph.count('findApplications')).toBeGreaterThan(1);
  });

  it('a crash after the POST (intent left behind, no ids recorded) is reconciled by query', async () => {
    const { deps, graph, store } = fakeDeps();
    await graph.instantiateApplication('tpl-aws', 'AWS Contoso'); // the POST that "crashed"
    await store.set(INSTANCE, { [INTENT_FIELD]: `tok@${deps.now()}` });
    graph.calls = [];
    const out = await instantiateApp(deps, input(prev));
    expect(out.adopted).toBe('recovered');
    expect(graph.count('instantiateApplication')).toBe(0);
  });
  it('creates again only after the reconcile window shows no app — counted from when the earlier POST can last have been in flight', async () => {
    const { deps, graph, store } = fakeDeps();
    deps.settings.requestTimeoutMs = 10_000;
    deps.settings.sendWindowMs = 2_000;
    await store.set(INSTANCE, { [INTENT_FIELD]: `tok@${deps.now()}` });
    await waitOf(instantiateApp(deps, input(prev)));
    // The window alone has passed, but the earlier POST may still be running (a worker that
    // lost its lock): it could be sent up to 2 s after its intent and answered 10 s later.
    deps.advance(deps.settings.reconcileWindowMs + 1);
    await waitOf(instantiateApp(deps, input(prev)));
    deps.advance(10_000);
    await waitOf(instantiateApp(deps, input(prev)));
    expect(graph.count('instantiateApplication')).toBe(0);
    deps.advance(2_000);
    const out = await instantiateApp(deps, input(prev));
    expect(out.adopted).toBe('created');
    expect(graph.count('instantiateApplication')).toBe(1);
  });
  it('an answered ambiguous POST (a 500) is over: it reconciles for the reconcile window after the answer, then creates', async () => {
    const { deps, graph } = fakeDeps();
    deps.settings.requestTimeoutMs = 60_000;
    graph.failNext.set('instantiateApplication', {
      err: graphError(500, 'transient', 'InternalServerError'),
      afterEffect: false,
    });
    await waitOf(instantiateApp(deps, input(prev)));
    expect(graph.apps).toHaveLength(0); // Graph answered 500 before creating anything
    deps.advance(deps.settings.reconcileWindowMs - 1);
    await waitOf(instantiateApp(deps, input(prev)));
    deps.advance(2);
    expect(await instantiateApp(deps, input(prev))).toMatchObject({ adopted: 'created' });
    expect(graph.count('instantiateApplication')).toBe(2);
    expect(graph.apps).toHaveLength(1);
  });

  it('an unanswered POST (timeout) may still be in flight: it reconciles until send window + request timeout + reconcile window', async () => {
    const { deps, graph } = fakeDeps();
    deps.settings.requestTimeoutMs = 60_000;
    deps.settings.sendWindowMs = 5_000;
    graph.failNext.set('instantiateApplication', {
      err: graphError(null, 'transient', 'TimeoutError'),
      afterEffect: false,
    });
    await waitOf(instantiateApp(deps, input(prev)));
    deps.advance(deps.settings.reconcileWindowMs + 60_000);
    await waitOf(instantiateApp(deps, input(prev)));
    deps.advance(5_000);
    expect(await instantiateApp(deps, input(prev))).toMatchObject({ adopted: 'created' });
    expect(graph.count('instantiateApplication')).toBe(2);
  });

  it('a 429 means nothing was created: the intent is dropped and the throttled error passes up', async () => {
    const { deps, graph, store } = fakeDeps();
    graph.failNext.set('instantiateApplication', {
      err: graphError(429, 'throttled', 'TooManyRequests'),
      afterEffect: false,
    });
    await expect(instantiateApp(deps, input(prev))).rejects.toMatchObject({ errorClass: 'throttled' });
    expect((await store.get(INSTANCE, [INTENT_FIELD]))[INTENT_FIELD]).toBeNull();
  });
  it('our own limiter refusing to send is not ambiguous: no reconcile, the intent is dropped', async () => {
    const { deps, graph, store } = fakeDeps();
    graph.failNext.set('instantiateApplication', {
      err: new RateLimitedError('tenant-1', 2000, 'write') as unknown as ReturnType<typeof graphError>,
      afterEffect: false,
    });
    await expect(instantiateApp(deps, input(prev))).rejects.toBeInstanceOf(RateLimitedError);
    expect((await store.get(INSTANCE, [INTENT_FIELD]))[INTENT_FIELD]).toBeNull();
  });
  it('a 403 is permanent with a reason naming the app', async () => {
    const { deps, graph } = fakeDeps();
    graph.failNext.set('instantiateApplication', {
      err: graphError(403, 'permanent', 'Authorization_RequestDenied', 'Insufficient privileges'),
      afterEffect: false,
    });
    await expect(instantiateApp(deps, input(prev))).rejects.toThrow(
      /Graph refused to create 'AWS Contoso'.*Insufficient privileges/,
    );
  });
});

describe('await-replication', () => {
  it('needs N good reads in a row, waiting between them', async () => {
    const { deps, graph } = fakeDeps();
    const created = await graph.instantiateApplication('tpl-aws', 'AWS Contoso');
    const prev = { ...created, createdAt: deps.now() };
    graph.hidden.add(created.servicePrincipalId);
    const w1 = await waitOf(awaitReplication(deps, input(prev)));
    expect(w1.state.okInARow).toBe(0);
    graph.hidden.clear();
    const w2 = await waitOf(awaitReplication(deps, input(prev, w1.state)));
    expect(w2.state.okInARow).toBe(1);
    const out = await awaitReplication(deps, input(prev, w2.state));
    expect(out.replicatedAt).toBeDefined();
  });
  it('gives up permanently after the replication timeout', async () => {
    const { deps } = fakeDeps();
    const prev = { applicationObjectId: 'nope', servicePrincipalId: 'nope' };
    const w = await waitOf(awaitReplication(deps, input(prev)));
    deps.advance(deps.settings.replicationTimeoutMs + 1);
    await expect(awaitReplication(deps, input(prev, w.state))).rejects.toThrow(/still not readable/);
  });
});

describe('create-sync-job', () => {
  const prev = { servicePrincipalId: 'sp-1', createdAt: 1_000_000, replicatedAt: 1_000_000 };
  it('reuses an existing job with the same template', async () => {
    const { deps, graph } = fakeDeps();
    graph.jobs.set('sp-1', [{ id: 'aws.existing', templateId: 'aws' }]);
    const out = await createSyncJob(deps, input(prev));
    expect(out).toMatchObject({ jobId: 'aws.existing', jobReused: true });
    expect(graph.count('createSynchronizationJob')).toBe(0);
  });
  it('creates one when none exists', async () => {
    const { deps, graph } = fakeDeps();
    const out = await createSyncJob(deps, input(prev));
    expect(out.jobReused).toBe(false);
    expect(graph.count('createSynchronizationJob')).toBe(1);
  });
  it('picks the default template when the batch names none', async () => {
    const { deps, graph } = fakeDeps();
    graph.syncTemplates = [{ id: 'other' }, { id: 'scim', default: true }];
    const out = await createSyncJob(deps, {
      instance: { ...INSTANCE, synchronizationTemplateId: null },
      prev,
      state: {},
    });
    expect(out.syncTemplateId).toBe('scim');
  });
  it('treats a 400 on a brand-new servicePrincipal as replication lag (wait), not a verdict', async () => {
    const { deps, graph } = fakeDeps();
    graph.failNext.set('listSynchronizationJobs', {
      err: graphError(400, 'permanent', 'BadRequest', 'does not reference a valid application object'),
      afterEffect: false,
    });
    await waitOf(createSyncJob(deps, input(prev)));
  });
  it('an answered ambiguous job create (a 502, nothing created) creates again after the reconcile window from the answer', async () => {
    const { deps, graph } = fakeDeps();
    deps.settings.requestTimeoutMs = 60_000;
    graph.failNext.set('createSynchronizationJob', {
      err: graphError(502, 'transient', 'BadGateway'),
      afterEffect: false,
    });
    await waitOf(createSyncJob(deps, input(prev)));
    deps.advance(deps.settings.reconcileWindowMs - 1);
    await waitOf(createSyncJob(deps, input(prev)));
    deps.advance(2);
    expect(await createSyncJob(deps, input(prev))).toMatchObject({ jobReused: false });
    expect(graph.count('createSynchronizationJob')).toBe(2);
    expect(graph.jobs.get('sp-1')).toHaveLength(1);
  });

  it('after an ambiguous create it reconciles instead of creating a second job', async () => {
    const { deps, graph } = fakeDeps();
    graph.failNext.set('createSynchronizationJob', {
      err: graphError(500, 'transient', 'InternalServerError'),
      afterEffect: true,
    });
    await waitOf(createSyncJob(deps, input(prev)));
    const out = await createSyncJob(deps, input(prev));
    expect(out.jobReused).toBe(true);
    expect(graph.jobs.get('sp-1')).toHaveLength(1);
  });
});

describe('validate-credentials and save-secrets', () => {
  const prev = { servicePrincipalId: 'sp-1', jobId: 'aws.job', syncTemplateId: 'aws', createdAt: 0 };
  const withJob = (graph: ReturnType<typeof fakeDeps>['graph']) =>
    graph.jobs.set('sp-1', [{ id: 'aws.job', templateId: 'aws' }]);
  it('waits (a read, not a write) while the new job is invisible', async () => {
    const { deps, graph, store } = fakeDeps();
    store.sealed.set('b1/aws-contoso-0123456789', JSON.stringify([{ key: 'SecretToken', value: 'good' }]));
    await waitOf(validateCredentials(deps, input(prev)));
    expect(graph.count('validateCredentials')).toBe(0);
    withJob(graph);
    await validateCredentials(deps, input(prev));
    expect(graph.count('validateCredentials')).toBe(1);
  });
  it("bad credentials fail permanently with Graph's reason and no secret value in the message", async () => {
    const { deps, store, graph } = fakeDeps();
    withJob(graph);
    store.sealed.set('b1/aws-contoso-0123456789', JSON.stringify([{ key: 'SecretToken', value: 'bad-token-XYZ' }]));
    const err = await validateCredentials(deps, input(prev)).catch((e: Error) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/rejected the credentials.*invalid SecretToken/);
    expect((err as Error).message).not.toContain('bad-token-XYZ');
  });
  it('saves the secrets once, then forgets them; a retry does not need them', async () => {
    const { deps, graph, store } = fakeDeps();
    withJob(graph);
    store.sealed.set('b1/aws-contoso-0123456789', JSON.stringify([{ key: 'SecretToken', value: 'good' }]));
    await validateCredentials(deps, input(prev));
    await saveSecrets(deps, input(prev));
    expect(graph.secrets.get('sp-1')).toEqual([{ key: 'SecretToken', value: 'good' }]);
    expect(store.sealed.size).toBe(0);
    await saveSecrets(deps, input(prev));
    expect(graph.count('saveSecrets')).toBe(1);
  });
  it('missing credentials fail permanently with the fix', async () => {
    const { deps, graph } = fakeDeps();
    withJob(graph);
    await expect(validateCredentials(deps, input(prev))).rejects.toThrow(/No credentials are stored/);
  });
});

describe('start-job', () => {
  const prev = { servicePrincipalId: 'sp-1', jobId: 'aws.job' };
  it('starts a job that is not running', async () => {
    const { deps, graph } = fakeDeps();
    graph.jobs.set('sp-1', [
      { id: 'aws.job', templateId: 'aws', status: { code: 'NotConfigured' }, schedule: { state: 'Disabled' } },
    ]);
    const out = await startJob(deps, input(prev));
    expect(out.alreadyRunning).toBe(false);
    expect(graph.count('startSynchronizationJob')).toBe(1);
  });
  it('does not re-start a running job', async () => {
    const { deps, graph } = fakeDeps();
    graph.jobs.set('sp-1', [
      { id: 'aws.job', templateId: 'aws', status: { code: 'Active' }, schedule: { state: 'Active' } },
    ]);
    const out = await startJob(deps, input(prev));
    expect(out.alreadyRunning).toBe(true);
    expect(graph.count('startSynchronizationJob')).toBe(0);
  });
  it('waits while the new job is not visible yet', async () => {
    const { deps } = fakeDeps();
    await waitOf(startJob(deps, input(prev)));
  });
});
