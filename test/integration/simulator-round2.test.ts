/**
 * Simulator round 2 (issue 13): answers a wrong client used to get away with. Each block names
 * the issue's item; every assertion here failed on the simulator before that round.
 */
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, fetch } from 'undici';
import {
  collectionSchema,
  graphErrorBodySchema,
  instantiateResponseSchema,
  objectIdOf,
  provisioningObjectSummarySchema,
  synchronizationJobSchema,
} from '../../src/graph/schemas.ts';
import { classifyJob } from '../../src/poller/classify-job.ts';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/dev/sim/index.ts';
import { AWS_LEGACY_TEMPLATE_ID, AWS_TEMPLATE_ID } from '../../src/dev/sim/catalogue.ts';

let sim: SimulatorHandle | null = null;
const agents: Agent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.close();
  await sim?.close();
  sim = null;
});

const q = (s: string) => encodeURIComponent(s);
const logsPage = collectionSchema(provisioningObjectSummarySchema);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Json = Record<string, unknown>;
const GRAPH_DEFAULT = 'https://graph.microsoft.com/.default';

function newAgent(s: SimulatorHandle, connections?: number): Agent {
  const a = new Agent({ connect: { ca: s.caCertPem }, ...(connections ? { connections } : {}) });
  agents.push(a);
  return a;
}

async function tokenFor(s: SimulatorHandle, a: Agent): Promise<string> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: s.clientId,
    client_secret: s.clientSecret,
    scope: GRAPH_DEFAULT,
  });
  const res = await fetch(`${s.authorityHost}/${s.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    body: form,
    dispatcher: a,
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

async function start(o: SimulatorOptions = {}) {
  const s = (sim = await startSimulator({ profile: 'fast', seed: 5, ...o }));
  const a = newAgent(s);
  const token = await tokenFor(s, a);
  const raw = async (
    method: string,
    path: string,
    init: { body?: string; type?: string | null; dispatcher?: Agent; ua?: string } = {},
  ) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'user-agent': init.ua ?? 'round2' };
    if (init.type !== null) headers['content-type'] = init.type ?? 'application/json';
    const url = path.startsWith('https://') ? path : `${s.graphBaseUrl}${path}`;
    const res = await fetch(url, { method, dispatcher: init.dispatcher ?? a, headers, body: init.body });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as unknown) : null };
  };
  const call = (method: string, path: string, body?: unknown, dispatcher?: Agent) =>
    raw(method, path, { body: body === undefined ? undefined : JSON.stringify(body), dispatcher });
  const sync = (spId: string) => `/servicePrincipals/${spId}/synchronization`;
  /** Instantiate and create the aws job; optionally save secrets and start. */
  const onboard = async (displayName: string, secretToken: string | null, startIt = true) => {
    const inst = instantiateResponseSchema.parse(
      (await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, { displayName })).json,
    );
    const spId = objectIdOf(inst.servicePrincipal);
    const job = synchronizationJobSchema.parse((await call('POST', `${sync(spId)}/jobs`, { templateId: 'aws' })).json);
    if (secretToken !== null) {
      const value = [
        { key: 'ClientSecret', value: 'cs' },
        { key: 'SecretToken', value: secretToken },
      ];
      const put = await call('PUT', `${sync(spId)}/secrets`, { value });
      expect(put.status).toBe(204);
    }
    if (startIt) expect((await call('POST', `${sync(spId)}/jobs/${job.id}/start`)).status).toBe(204);
    return { spId, jobId: job.id, appId: inst.application.appId };
  };
  const jobUrl = (o: { spId: string; jobId: string }) => `${sync(o.spId)}/jobs/${o.jobId}`;
  const getJob = async (o: { spId: string; jobId: string }) =>
    (await call('GET', jobUrl(o))).json as Json & { status: Json; schedule: Json };
  const logs = async (filter: string) =>
    logsPage.parse((await call('GET', `/auditLogs/provisioning?$filter=${q(filter)}&$top=999`)).json).value;
  const cycle = () => sleep(s.settings.firstCycleMs + 120);
  return { s, a, token, raw, call, sync, onboard, jobUrl, getJob, logs, cycle };
}

describe('item 1: bad saved credentials and unknown secret keys', () => {
  it('a job started with saved credentials that fail validation quarantines', async () => {
    const { call, onboard, jobUrl, getJob, cycle } = await start();
    const o = await onboard('Bad saved', 'bad-token');
    expect((await call('POST', `${jobUrl(o)}/validateCredentials`, { useSavedCredentials: true })).status).toBe(400);
    await cycle();
    const job = await getJob(o);
    expect(job.status.code).toBe('Quarantine');
    expect((job.status.quarantine as Json).reason).toBe('EncounteredQuarantineException');
    expect((job.status.lastExecution as Json).state).toBe('Failed');
  });

  it('PUT secrets with a key outside the synchronizationSecret enum is a 400', async () => {
    const { call, onboard, sync } = await start();
    const o = await onboard('Enum', null, false);
    const r = await call('PUT', `${sync(o.spId)}/secrets`, { value: [{ key: 'NotARealKey', value: 'x' }] });
    expect(r.status).toBe(400);
    expect(graphErrorBodySchema.parse(r.json).error.message).toMatch(/NotARealKey/);
    expect((await call('PUT', `${sync(o.spId)}/secrets`, { value: [{ key: 'SecretToken', value: 'x' }] })).status).toBe(
      204,
    );
  });
});

describe('item 2: a quarantine ends only when its cause is fixed', () => {
  it('restart with the cause unchanged quarantines again, the series count rising; fixed secrets end it', async () => {
    const { call, onboard, jobUrl, getJob, sync, cycle } = await start();
    const o = await onboard('Still bad', 'quarantine-me');
    await cycle();
    expect((await getJob(o)).status.code).toBe('Quarantine');
    for (const resetScope of ['QuarantineState', 'Full']) {
      expect((await call('POST', `${jobUrl(o)}/restart`, { criteria: { resetScope } })).status).toBe(204);
      await cycle();
    }
    expect((await call('POST', `${jobUrl(o)}/start`)).status).toBe(204);
    await cycle();
    const again = await getJob(o);
    expect(again.status.code).toBe('Quarantine');
    expect((again.status.quarantine as Json).seriesCount).toBe(4);
    await call('PUT', `${sync(o.spId)}/secrets`, {
      value: [
        { key: 'ClientSecret', value: 'cs' },
        { key: 'SecretToken', value: 'good' },
      ],
    });
    await call('POST', `${jobUrl(o)}/restart`, { criteria: { resetScope: 'QuarantineState' } });
    await cycle();
    expect((await getJob(o)).status).toMatchObject({ code: 'Active', quarantine: null });
  });
});

describe('item 3: nothing inside Retry-After is served', () => {
  it('polling every 40 ms after a 10 s Retry-After gets only 429s; the grace only excuses, never serves', async () => {
    const { raw, s } = await start({
      overrides: { throttleStormRate: 1, throttleStormRetryAfterSec: 10, retryAfterGraceMs: 250 },
    });
    const first = await raw('GET', '/applicationTemplates');
    expect(first.status).toBe(429);
    s.configure({ throttleStormRate: 0 });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      statuses.push((await raw('GET', '/applicationTemplates', { dispatcher: newAgent(s) })).status);
      await sleep(40);
    }
    expect(statuses.every((x) => x === 429)).toBe(true);
    // Fresh connections: the first few (within the grace) may have been in flight; later ones count.
    const st = s.stats();
    expect(st.inFlightRefused).toBeGreaterThan(0);
    expect(st.retryAfterViolations).toBeGreaterThan(10);
    expect(st.retryAfterViolations + st.inFlightRefused).toBe(20);
  });

  it('a request on the connection that carried the 429 is a violation however soon it comes', async () => {
    const { raw, s } = await start({
      overrides: { throttleStormRate: 1, throttleStormRetryAfterSec: 10, retryAfterGraceMs: 5000 },
    });
    const one = newAgent(s, 1);
    expect((await raw('GET', '/applicationTemplates', { dispatcher: one })).status).toBe(429);
    s.configure({ throttleStormRate: 0 });
    expect((await raw('GET', `/applicationTemplates/${AWS_TEMPLATE_ID}`, { dispatcher: one })).status).toBe(429);
    expect(s.stats().retryAfterViolations).toBe(1);
    // Another connection inside the (long) grace: refused, not counted.
    expect((await raw('GET', `/applicationTemplates/${AWS_TEMPLATE_ID}`, { dispatcher: newAgent(s) })).status).toBe(
      429,
    );
    expect(s.stats()).toMatchObject({ retryAfterViolations: 1, inFlightRefused: 1 });
  });

  it('a repeat of a 503-held request is refused even inside the grace', async () => {
    const { raw, s } = await start({
      overrides: { throttle503Rate: 1, throttle503RetryAfterSec: 5, retryAfterGraceMs: 5000 },
    });
    const one = newAgent(s, 1);
    expect((await raw('GET', '/applicationTemplates', { dispatcher: one })).status).toBe(503);
    s.configure({ throttle503Rate: 0 });
    expect((await raw('GET', '/applicationTemplates', { dispatcher: newAgent(s) })).status).toBe(503);
    expect(s.stats()).toMatchObject({ retryAfterViolations: 0, inFlightRefused: 1 });
    expect((await raw('GET', '/applicationTemplates', { dispatcher: one })).status).toBe(503); // same connection: counted
    expect(s.stats().violationsByKind.request).toBe(1);
  });
});

describe('item 4: each throttle blocks what it limits, labelled as such', () => {
  it('a reports 429 does not stop directory reads; a later identity 429 is labelled by its own limit', async () => {
    const { call, s } = await start({
      overrides: { reportsLimit: 1, reportsWindowMs: 10_000, ruLimit: 3, ruWindowMs: 10_000 },
    });
    expect((await call('GET', '/auditLogs/provisioning')).status).toBe(200);
    const r = await call('GET', '/auditLogs/provisioning');
    expect(r.status).toBe(429);
    expect(r.headers.get('x-ms-throttle-information')).toBe('ReportsLimitExceeded');
    expect(r.headers.get('x-ms-throttle-scope')).toBe(`Tenant_Application/Reports/${s.clientId}/${s.tenantId}`);
    expect((await call('GET', `/applicationTemplates/${AWS_TEMPLATE_ID}`)).status).toBe(200);
    // A second reports call inside its Retry-After keeps the reports label.
    const again = await call('GET', '/auditLogs/provisioning');
    expect(again.headers.get('x-ms-throttle-information')).toBe('ReportsLimitExceeded');
    // The resource-unit limit: 3 RU used by 3 reads, the 4th over it with a percentage above 1.
    await call('GET', `/applicationTemplates/${AWS_TEMPLATE_ID}`);
    await call('GET', `/applicationTemplates/${AWS_TEMPLATE_ID}`);
    const ru = await call('GET', `/applicationTemplates/${AWS_TEMPLATE_ID}`);
    expect(ru.status).toBe(429);
    expect(ru.headers.get('x-ms-throttle-information')).toBe('ResourceUnitLimitExceeded');
    expect(Number(ru.headers.get('x-ms-throttle-limit-percentage'))).toBeGreaterThan(1);
  });

  it('a write-limit 429 refuses writes, not reads', async () => {
    // No grace: the read comes after the 429 was read, so only the scope can let it through.
    const { call, s } = await start({ overrides: { writeLimit: 1, writeWindowMs: 10_000, retryAfterGraceMs: 0 } });
    expect(
      (await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, { displayName: 'w1' })).status,
    ).toBe(201);
    const w = await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, { displayName: 'w2' });
    expect(w.status).toBe(429);
    expect(w.headers.get('x-ms-throttle-scope')).toMatch(/^Tenant_Application\/Write\//);
    expect((await call('GET', '/applicationTemplates')).status).toBe(200);
    expect(s.stats().retryAfterViolations).toBe(0);
  });
});

describe('item 5: restart validates criteria.resetScope', () => {
  it('unknown scope, no body or a garbage body are 400; known flags (comma-separated) are 204', async () => {
    const { call, raw, onboard, jobUrl } = await start();
    const o = await onboard('Restarts', 'tok');
    const url = `${jobUrl(o)}/restart`;
    expect((await call('POST', url, { criteria: { resetScope: 'Everything' } })).status).toBe(400);
    expect((await call('POST', url)).status).toBe(400);
    expect((await call('POST', url, { nonsense: true })).status).toBe(400);
    expect((await raw('POST', url, { body: 'garbage' })).status).toBe(400);
    expect((await call('POST', url, { criteria: { resetScope: 'Escrows, Watermark' } })).status).toBe(204);
    expect((await call('POST', url, { criteria: { resetScope: 'ForceDeletes' } })).status).toBe(204);
  });
});

describe('item 6: request bodies are strict JSON with Content-Type application/json', () => {
  it('trailing commas, unquoted keys, text/plain and form bodies are 400', async () => {
    const { raw } = await start();
    const url = `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`;
    expect((await raw('POST', url, { body: '{"displayName":"a",}' })).status).toBe(400);
    expect((await raw('POST', url, { body: '{displayName:"a"}' })).status).toBe(400);
    expect((await raw('POST', url, { body: '{"displayName":"a"}', type: 'text/plain' })).status).toBe(400);
    expect((await raw('POST', url, { body: 'displayName=a', type: 'application/x-www-form-urlencoded' })).status).toBe(
      400,
    );
    expect((await raw('POST', url, { body: '{"displayName":"a"}', type: null })).status).toBe(400);
    const ok = await raw('POST', url, { body: '{"displayName":"a"}', type: 'application/json; charset=utf-8' });
    expect(ok.status).toBe(201);
    expect(sim!.stats().applications).toBe(1);
  });
});

describe('item 7: the token endpoint', () => {
  const tokenCall = async (
    s: SimulatorHandle,
    a: Agent,
    form: Record<string, string>,
    headers: Record<string, string> = {},
  ) => {
    const url = `${s.authorityHost}/${s.tenantId}/oauth2/v2.0/token`;
    const res = await fetch(url, { method: 'POST', body: new URLSearchParams(form), dispatcher: a, headers });
    return {
      status: res.status,
      json: (await res.json()) as { error?: string; error_codes?: number[]; access_token?: string },
    };
  };
  it('a wrong or missing scope is invalid_scope AADSTS70011; client_secret_basic works', async () => {
    const s = (sim = await startSimulator({ profile: 'fast' }));
    const a = newAgent(s);
    const base = { grant_type: 'client_credentials', client_id: s.clientId, client_secret: s.clientSecret };
    const wrongScopes = ['https://graph.microsoft.com/User.Read', 'https://management.azure.com/.default'];
    for (const form of [base, ...wrongScopes.map((scope) => ({ ...base, scope }))]) {
      const r = await tokenCall(s, a, form);
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ error: 'invalid_scope', error_codes: [70011] });
    }
    const basic = Buffer.from(`${encodeURIComponent(s.clientId)}:${encodeURIComponent(s.clientSecret)}`).toString(
      'base64',
    );
    const noSecret = { grant_type: 'client_credentials', scope: GRAPH_DEFAULT };
    const ok = await tokenCall(s, a, noSecret, { authorization: `Basic ${basic}` });
    expect(ok.status).toBe(200);
    expect(ok.json.access_token).toBeTruthy();
    const wrong = Buffer.from(`${s.clientId}:nope`).toString('base64');
    expect((await tokenCall(s, a, noSecret, { authorization: `Basic ${wrong}` })).status).toBe(401);
  });
});

describe('items 8-11: provisioning logs', () => {
  it('item 8: $filter allows eq, contains, gt, lt only, case-sensitive; anything else is a 400', async () => {
    const { call, onboard, cycle } = await start();
    const o = await onboard('Filters', 'tok');
    await cycle();
    const status = async (f: string) => (await call('GET', `/auditLogs/provisioning?$filter=${q(f)}`)).status;
    for (const bad of [
      `jobId ne '${o.jobId}'`,
      'activityDateTime ge 2020-01-01T00:00:00Z',
      'activityDateTime le 2099-01-01T00:00:00Z',
      "startswith(jobId,'aws')",
      "activityDateTime gt '2020-01-01T00:00:00Z'",
      `jobId eq '${o.jobId}' or jobId eq 'x'`,
      `jobId EQ '${o.jobId}'`,
    ]) {
      expect([bad, await status(bad)]).toEqual([bad, 400]);
    }
    const r = await call('GET', `/auditLogs/provisioning?$filter=${q("startswith(jobId,'aws')")}`);
    expect(graphErrorBodySchema.parse(r.json).error.code).toBe('BadRequest');
    const upper = o.jobId.toUpperCase();
    expect(await start2Logs(call, `contains(jobId,'${upper.slice(0, 8)}')`)).toHaveLength(0);
    expect((await start2Logs(call, `contains(jobId,'${o.jobId.slice(0, 8)}')`)).length).toBeGreaterThan(0);
    expect(await start2Logs(call, `jobId eq '${upper}'`)).toHaveLength(0);
    expect((await start2Logs(call, 'activityDateTime gt 2020-01-01T00:00:00Z')).length).toBeGreaterThan(0);
  });

  it('item 9: entries of every cycle stay across pause, restart and delete; retention drops old ones', async () => {
    const { call, onboard, jobUrl, logs, cycle, s } = await start();
    const o = await onboard('Kept', 'tok');
    await cycle();
    const first = await logs(`jobId eq '${o.jobId}'`);
    expect(first.length).toBe(s.settings.logEntriesPerCycle);
    await call('POST', `${jobUrl(o)}/pause`);
    expect((await logs(`jobId eq '${o.jobId}'`)).length).toBe(first.length);
    await call('POST', `${jobUrl(o)}/restart`, { criteria: { resetScope: 'Full' } });
    await cycle();
    const afterRestart = await logs(`jobId eq '${o.jobId}'`);
    expect(afterRestart.length).toBe(2 * first.length);
    expect(new Set(afterRestart.map((e) => e.cycleId)).size).toBe(2);
    expect((await call('DELETE', jobUrl(o))).status).toBe(204);
    expect((await logs(`jobId eq '${o.jobId}'`)).length).toBe(afterRestart.length);
    s.configure({ logRetentionMs: 1 });
    expect(await logs(`jobId eq '${o.jobId}'`)).toHaveLength(0);
  });

  it('item 10: $skiptoken is a stable key: entries arriving between pages are not repeated; bad paging is 400', async () => {
    const { call, onboard, cycle } = await start();
    await onboard('Paged A', 'tok-entry-errors');
    await cycle();
    const p1 = logsPage.parse((await call('GET', '/auditLogs/provisioning?$top=3')).json);
    expect(p1.value).toHaveLength(3);
    // New entries (another job's cycle) arrive before the next page.
    await onboard('Paged B', 'tok');
    await cycle();
    const seen = p1.value.map((e) => e.id);
    let next = p1['@odata.nextLink'] ?? null;
    while (next) {
      const p = logsPage.parse((await call('GET', next)).json);
      seen.push(...p.value.map((e) => e.id));
      next = p['@odata.nextLink'] ?? null;
    }
    expect(new Set(seen).size).toBe(seen.length);
    const token = new URL(p1['@odata.nextLink']!).searchParams.get('$skiptoken')!;
    expect(token).not.toMatch(/^\d+$/);
    expect(Buffer.from(token, 'base64url').toString()).not.toMatch(/^\d+$/);
    for (const bad of [
      '$skiptoken=garbage',
      `$skiptoken=${Buffer.from('3').toString('base64url')}`,
      '$top=0',
      '$top=abc',
      '$top=-1',
    ]) {
      expect([bad, (await call('GET', `/auditLogs/provisioning?${bad}`)).status]).toEqual([bad, 400]);
    }
    // A token is bound to its query: reused with another $filter it is refused.
    expect(
      (await call('GET', `/auditLogs/provisioning?$filter=${q("provisioningAction eq 'create'")}&$skiptoken=${token}`))
        .status,
    ).toBe(400);
  });

  it('item 11: entries carry targetSystem.details, GUID ids, import/matching/export steps, and agree with the counters', async () => {
    const { onboard, getJob, logs, cycle } = await start();
    const jobs = [
      await onboard('Shapes A', 'tok-entry-errors'),
      await onboard('Shapes B', 'tok'),
      await onboard('Shapes C', 'tok'),
    ];
    await cycle();
    const stepSpellings = new Set<string>();
    for (const o of jobs) {
      const entries = await logs(`jobId eq '${o.jobId}'`);
      const job = await getJob(o);
      const exec = job.status.lastExecution as Json;
      const successes = entries.filter((e) => e.provisioningStatusInfo?.status === 'success').length;
      expect(exec.countExported).toBe(successes);
      expect(exec.countEscrowed).toBe(entries.length - successes);
      for (const e of entries) {
        expect(e.id).toMatch(GUID);
        expect(e.cycleId).toMatch(GUID);
        expect(e.changeId).toMatch(GUID);
        expect((e as unknown as { targetSystem: { details: Json } }).targetSystem.details).toEqual({
          ApplicationId: o.appId,
          ServicePrincipalId: o.spId,
          ServicePrincipalDisplayName: expect.any(String),
        });
        for (const step of (e as unknown as { provisioningSteps: Json[] }).provisioningSteps)
          stepSpellings.add(String(step.provisioningStepType));
      }
    }
    expect([...stepSpellings].map((x) => x.toLowerCase())).toContain('matching');
  });
});

async function start2Logs(call: (m: string, p: string) => Promise<{ json: unknown }>, filter: string) {
  return logsPage.parse((await call('GET', `/auditLogs/provisioning?$filter=${q(filter)}&$top=999`)).json).value;
}

describe('items 12-16: job lifecycle shapes', () => {
  it('item 12: a NotRun job carries the placeholder lastExecution', async () => {
    const { onboard, getJob } = await start({ overrides: { firstCycleMs: 60_000 } });
    const o = await onboard('NotRun', 'tok');
    const job = await getJob(o);
    expect(job.status.code).toBe('NotRun');
    const never = '0001-01-01T00:00:00Z';
    expect(job.status.lastExecution).toMatchObject({
      state: 'Failed',
      timeBegan: never,
      timeEnded: never,
      error: { code: 'None' },
    });
    // The poller reads the placeholder as "no execution yet", not as a failure.
    const ctx = {
      startedAt: new Date(Date.now() - 1000).toISOString(),
      now: new Date(),
      deadlineAt: new Date(Date.now() + 60_000).toISOString(),
    };
    const verdict = classifyJob(synchronizationJobSchema.parse(job), ctx);
    expect(['starting', 'syncing']).toContain(verdict.state);
    expect(verdict.lastExecutionState).toBeNull();
  });

  it('items 13, 14: a Paused job keeps its history and carries an emptied quarantine object', async () => {
    const { call, onboard, jobUrl, getJob, cycle } = await start();
    const o = await onboard('Pausing', 'tok');
    await cycle();
    const before = await getJob(o);
    await call('POST', `${jobUrl(o)}/pause`);
    const paused = await getJob(o);
    expect(paused.status.code).toBe('Paused');
    expect(paused.status.lastExecution).toEqual(before.status.lastExecution);
    expect(paused.status.steadyStateLastAchievedTime).toBe(before.status.steadyStateLastAchievedTime);
    expect(paused.status.synchronizedEntryCountByType).toEqual(before.status.synchronizedEntryCountByType);
    expect(paused.status.quarantine).toMatchObject({ currentBegan: '', nextAttempt: '', seriesBegan: '', reason: '' });
    // The poller does not take the emptied quarantine object for a quarantine.
    const ctx = {
      startedAt: new Date(Date.now() - 5000).toISOString(),
      now: new Date(),
      deadlineAt: new Date(Date.now() + 60_000).toISOString(),
      startGraceMs: 0,
    };
    const verdict = classifyJob(synchronizationJobSchema.parse(paused), ctx);
    expect(verdict.state).not.toBe('quarantined');
    expect(verdict.quarantine).toBeNull();
  });

  it('item 15: incremental cycles advance the job; a quarantine retries on the back-off and is disabled after four weeks', async () => {
    const overrides = { firstCycleMs: 100, cycleIntervalMs: 300, incrementalCycleMs: 50, quarantineRetryMs: 200 };
    const { onboard, getJob, logs } = await start({ overrides });
    const ok = await onboard('Incremental', 'tok-entry-errors');
    const bad = await onboard('Backoff', 'quarantine-me');
    await sleep(250);
    const a = await getJob(ok);
    const qa = (await getJob(bad)).status.quarantine as Json;
    await sleep(800);
    const b = await getJob(ok);
    expect(Date.parse(String(b.status.steadyStateLastAchievedTime))).toBeGreaterThan(
      Date.parse(String(a.status.steadyStateLastAchievedTime)),
    );
    expect(new Set((await logs(`jobId eq '${ok.jobId}'`)).map((e) => e.cycleId)).size).toBeGreaterThan(2);
    // Retries 6 h, 12 h, 24 h apart (here 200, 400, 800 ms): the second attempt is 2 units after the first.
    expect(Date.parse(String(qa.nextAttempt)) - Date.parse(String(qa.currentBegan))).toBe(200);
    const qb = (await getJob(bad)).status.quarantine as Json;
    expect(Number(qb.seriesCount)).toBeGreaterThan(Number(qa.seriesCount));
    expect(Date.parse(String(qb.nextAttempt)) - Date.parse(String(qb.currentBegan))).toBeGreaterThan(200);
    sim!.configure({ quarantineRetryMs: 5 });
    await sleep(700);
    const disabled = await getJob(bad);
    expect(disabled.schedule.state).toBe('Disabled');
  });

  it('item 16: synchronizedEntryCountByType values are numbers', async () => {
    const { onboard, getJob, cycle } = await start();
    const o = await onboard('Counts', 'tok');
    await cycle();
    const [entry] = (await getJob(o)).status.synchronizedEntryCountByType as { value: unknown }[];
    expect(typeof entry!.value).toBe('number');
  });
});

describe('items 17-22: shapes, names, settings and the control door', () => {
  it('item 17: v1.0 instantiate answers id, beta the beta keys', async () => {
    const { call, s } = await start();
    const v1Base = s.graphBaseUrl.replace(/\/beta$/, '/v1.0');
    const v1 = await call('POST', `${v1Base}/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, {
      displayName: 'v1',
    });
    const body = v1.json as { application: Json; servicePrincipal: Json };
    expect(body.application.id).toBeTruthy();
    expect(body.application.objectId).toBeUndefined();
    const betaRes = await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, { displayName: 'beta' });
    const beta = betaRes.json as { application: Json; servicePrincipal: Json };
    const appKeys = ['homepage', 'replyUrls', 'logoutUrl', 'samlMetadataUrl', 'errorUrl', 'publicClient'];
    for (const k of [...appKeys, 'groupMembershipClaims', 'availableToOtherTenants'])
      expect(beta.application).toHaveProperty(k);
    const spKeys = ['accountEnabled', 'appOwnerTenantId', 'loginUrl', 'preferredSingleSignOnMode', 'publisherName'];
    for (const k of [...spKeys, 'samlSingleSignOnSettings', 'keyCredentials', 'passwordCredentials']) {
      expect(beta.servicePrincipal).toHaveProperty(k);
    }
  });

  it("item 18: AWS is 'AWS Single-Account Access'; the former name is a second template", async () => {
    const { call } = await start();
    const find = async (name: string) => {
      const r = await call('GET', `/applicationTemplates?$filter=${q(`displayName eq '${name}'`)}`);
      return (r.json as { value: Json[] }).value.map((t) => t.id);
    };
    expect(await find('AWS Single-Account Access')).toEqual([AWS_TEMPLATE_ID]);
    expect(await find('Amazon Web Services (AWS)')).toEqual([AWS_LEGACY_TEMPLATE_ID]);
  });

  it('item 19: synchronization templates carry a schema, the gallery metadata and the gallery app id', async () => {
    const { call, onboard, sync } = await start();
    const o = await onboard('Templates', null, false);
    const [t] = ((await call('GET', `${sync(o.spId)}/templates`)).json as { value: Json[] }).value;
    expect(t!.schema).not.toBeNull();
    const keys = (t!.metadata as { key: string }[]).map((m) => m.key);
    expect(keys).toEqual(expect.arrayContaining(['galleryApplicationIdentifier', 'configurationFields']));
    expect(t!.applicationId).not.toBe(o.appId);
  });

  it('item 20: a second job from the same template is a setting: accepted, or 409', async () => {
    const { call, onboard, sync, s } = await start();
    const o = await onboard('Twice', null, false);
    const second = await call('POST', `${sync(o.spId)}/jobs`, { templateId: 'aws' });
    expect(second.status).toBe(201);
    expect((second.json as Json).id).not.toBe(o.jobId);
    s.configure({ secondJobFromSameTemplate: 'conflict' });
    const third = await call('POST', `${sync(o.spId)}/jobs`, { templateId: 'aws' });
    expect(third.status).toBe(409);
    expect(graphErrorBodySchema.parse(third.json).error.code).toBe('Conflict');
  });

  it('item 21: @odata.context, WWW-Authenticate, $select/$orderby and categories/any on templates', async () => {
    const { call, onboard, sync, jobUrl, s, a } = await start();
    const o = await onboard('Context', 'tok', false);
    const paths = [`/applicationTemplates/${AWS_TEMPLATE_ID}`, `/servicePrincipals/${o.spId}`, jobUrl(o)];
    for (const path of [...paths, `${sync(o.spId)}/jobs`, `${sync(o.spId)}/templates`]) {
      expect([path, typeof ((await call('GET', path)).json as Json)['@odata.context']]).toEqual([path, 'string']);
    }
    expect(
      ((await call('POST', `${sync(o.spId)}/jobs`, { templateId: 'aws' })).json as Json)['@odata.context'],
    ).toBeTruthy();
    const anon = await fetch(`${s.graphBaseUrl}/applicationTemplates`, { dispatcher: a });
    await anon.text();
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const sel = (
      (await call('GET', '/applicationTemplates?$select=displayName&$orderby=displayName desc')).json as {
        value: Json[];
      }
    ).value;
    expect(Object.keys(sel[0]!).sort()).toEqual(['displayName', 'id']);
    const names = sel.map((t) => String(t.displayName).toLowerCase());
    expect(names).toEqual([...names].sort().reverse());
    const cat = await call('GET', `/applicationTemplates?$filter=${q("categories/any(c:c eq 'developerServices')")}`);
    expect(cat.status).toBe(200);
    expect((cat.json as { value: Json[] }).value.map((t) => t.id)).toContain(AWS_TEMPLATE_ID);
  });

  it('item 22: /_sim/* is on in-process (tests), off when asked, and never on a non-loopback address', async () => {
    const on = (sim = await startSimulator({ profile: 'fast' }));
    const a = newAgent(on);
    expect((await fetch(`${on.graphBaseUrl}/_sim/stats`, { dispatcher: a })).status).toBe(200);
    await on.close();
    const off = (sim = await startSimulator({ profile: 'fast', control: false }));
    const b = newAgent(off);
    const r = await fetch(`${off.graphBaseUrl}/_sim/stats`, { dispatcher: b });
    expect(r.status).toBe(401);
    await off.close();
    sim = null;
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    if (!external) return; // no non-loopback interface on this host: nothing more to show
    const wide = (sim = await startSimulator({ profile: 'fast', host: '0.0.0.0', hostnames: [external.address] }));
    const c = new Agent({ connect: { ca: wide.caCertPem, servername: undefined, rejectUnauthorized: false } });
    agents.push(c);
    const port = new URL(wide.graphBaseUrl).port;
    const viaLan = await fetch(`https://${external.address}:${port}/_sim/stats`, { dispatcher: c });
    expect(viaLan.status).toBe(403);
    const viaLoopback = await fetch(`https://127.0.0.1:${port}/_sim/stats`, { dispatcher: c });
    expect(viaLoopback.status).toBe(200);
  });
});
