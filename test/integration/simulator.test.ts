/**
 * The simulator against Microsoft's shapes and its fault model: every answer parses with
 * provflow's schemas; quotas answer 429 with the documented headers; an early retry is a
 * violation; lagging objects appear after their lag; an ambiguous instantiate really creates
 * the app; bad credentials get an Entra/Graph-shaped error.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, fetch } from 'undici';
import {
  applicationSchema,
  applicationTemplateSchema,
  collectionSchema,
  graphErrorBodySchema,
  instantiateResponseSchema,
  provisioningObjectSummarySchema,
  servicePrincipalSchema,
  synchronizationJobSchema,
  synchronizationTemplateSchema,
} from '../../src/graph/schemas.ts';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/dev/sim/index.ts';
import { AWS_TEMPLATE_ID } from '../../src/dev/sim/catalogue.ts';

let sim: SimulatorHandle | null = null;
let agent: Agent | null = null;
afterEach(async () => {
  await agent?.close();
  await sim?.close();
  agent = null;
  sim = null;
});

async function start(o: SimulatorOptions = {}) {
  sim = await startSimulator({ profile: 'fast', ...o });
  agent = new Agent({ connect: { ca: sim.caCertPem } });
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: sim.clientId,
    client_secret: sim.clientSecret,
    scope: 'https://graph.microsoft.com/.default',
  });
  const tok = await fetch(`${sim.authorityHost}/${sim.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    body: form,
    dispatcher: agent,
  });
  const { access_token } = (await tok.json()) as { access_token: string };
  const call = async (method: string, path: string, body?: unknown, userAgent = 'test-caller') => {
    const res = await fetch(path.startsWith('https://') ? path : `${sim!.graphBaseUrl}${path}`, {
      method,
      dispatcher: agent!,
      headers: {
        authorization: `Bearer ${access_token}`,
        'content-type': 'application/json',
        'client-request-id': 'test-crid',
        'user-agent': userAgent,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as unknown) : null };
  };
  return { sim, call };
}

describe('simulator contract', () => {
  it('every endpoint of the procedure answers in shapes the schemas accept', async () => {
    const { call } = await start();
    const list = await call(
      'GET',
      `/applicationTemplates?$filter=${encodeURIComponent("displayName eq 'AWS Single-Account Access'")}`,
    );
    expect(list.status).toBe(200);
    expect(list.headers.get('request-id')).toBeTruthy();
    expect(list.headers.get('client-request-id')).toBe('test-crid');
    expect(
      collectionSchema(applicationTemplateSchema)
        .parse(list.json)
        .value.map((t) => t.id),
    ).toEqual([AWS_TEMPLATE_ID]);
    const contains = await call(
      'GET',
      `/applicationTemplates?$filter=${encodeURIComponent("contains(displayName,'single-account')")}`,
    );
    expect(collectionSchema(applicationTemplateSchema).parse(contains.json).value).toHaveLength(1);

    const inst = await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, {
      displayName: "O'Brien's AWS",
    });
    expect(inst.status).toBe(201);
    const created = instantiateResponseSchema.parse(inst.json);
    expect(created.application.objectId).toBeTruthy(); // beta shape
    const spId = created.servicePrincipal.objectId!;

    const apps = await call(
      'GET',
      `/applications?$filter=${encodeURIComponent(`displayName eq 'O''Brien''s AWS' and applicationTemplateId eq '${AWS_TEMPLATE_ID}'`)}`,
    );
    expect(collectionSchema(applicationSchema).parse(apps.json).value).toHaveLength(1);
    expect(servicePrincipalSchema.parse((await call('GET', `/servicePrincipals/${spId}`)).json).id).toBe(spId);

    const templates = await call('GET', `/servicePrincipals/${spId}/synchronization/templates`);
    expect(collectionSchema(synchronizationTemplateSchema).parse(templates.json).value[0]!.id).toBe('aws');
    const job = await call('POST', `/servicePrincipals/${spId}/synchronization/jobs`, { templateId: 'aws' });
    expect([200, 201]).toContain(job.status);
    const j = synchronizationJobSchema.parse(job.json);
    expect(j.status?.code).toBe('NotConfigured');
    expect(j.schedule?.state).toBe('Disabled');
    expect(j.status?.steadyStateLastAchievedTime).toBe('0001-01-01T00:00:00Z');

    const bad = await call('POST', `/servicePrincipals/${spId}/synchronization/jobs/${j.id}/validateCredentials`, {
      useSavedCredentials: false,
      credentials: [
        { key: 'ClientSecret', value: 'x' },
        { key: 'SecretToken', value: 'bad-one' },
      ],
    });
    expect(bad.status).toBe(400);
    expect(graphErrorBodySchema.parse(bad.json).error.message).toMatch(/SecretToken/);
    const creds = [
      { key: 'ClientSecret', value: 'cs' },
      { key: 'SecretToken', value: 'tok' },
    ];
    expect(
      (
        await call('POST', `/servicePrincipals/${spId}/synchronization/jobs/${j.id}/validateCredentials`, {
          useSavedCredentials: false,
          credentials: creds,
        })
      ).status,
    ).toBe(204);
    expect((await call('PUT', `/servicePrincipals/${spId}/synchronization/secrets`, { value: creds })).status).toBe(
      204,
    );
    const secrets = await call('GET', `/servicePrincipals/${spId}/synchronization/secrets`);
    expect((secrets.json as { value: { value: string }[] }).value.every((v) => v.value === '*')).toBe(true);
    expect((await call('POST', `/servicePrincipals/${spId}/synchronization/jobs/${j.id}/start`)).status).toBe(204);
    expect(
      synchronizationJobSchema.parse(
        (await call('GET', `/servicePrincipals/${spId}/synchronization/jobs/${j.id}`)).json,
      ).status?.code,
    ).toBe('NotRun');
    await new Promise((r) => setTimeout(r, sim!.settings.firstCycleMs + 50));
    const active = synchronizationJobSchema.parse(
      (await call('GET', `/servicePrincipals/${spId}/synchronization/jobs/${j.id}`)).json,
    );
    expect(active.status?.code).toBe('Active');
    expect(active.status?.lastExecution?.state).toBe('Succeeded');
    expect(active.status?.steadyStateLastAchievedTime).not.toBe('0001-01-01T00:00:00Z');

    // Logs: $filter on jobId, $top paging through an absolute @odata.nextLink.
    const page1 = await call(
      'GET',
      `/auditLogs/provisioning?$filter=${encodeURIComponent(`jobId eq '${j.id}'`)}&$top=2`,
    );
    const p1 = collectionSchema(provisioningObjectSummarySchema).parse(page1.json);
    expect(p1.value).toHaveLength(2);
    expect(p1['@odata.nextLink']).toMatch(/^https:\/\//);
    const page2 = await call('GET', p1['@odata.nextLink']!);
    const p2 = collectionSchema(provisioningObjectSummarySchema).parse(page2.json);
    expect(p2.value[0]!.id).not.toBe(p1.value[0]!.id);
  });

  it('a quarantined job carries a full quarantine object, and a restart after fixing the secrets clears it', async () => {
    const { call, sim: s } = await start();
    const inst = instantiateResponseSchema.parse(
      (await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, { displayName: 'Q' })).json,
    );
    const sp = inst.servicePrincipal.objectId!;
    const job = synchronizationJobSchema.parse(
      (await call('POST', `/servicePrincipals/${sp}/synchronization/jobs`, { templateId: 'aws' })).json,
    );
    await call('PUT', `/servicePrincipals/${sp}/synchronization/secrets`, {
      value: [
        { key: 'ClientSecret', value: 'c' },
        { key: 'SecretToken', value: 'quarantine-me' },
      ],
    });
    await call('POST', `/servicePrincipals/${sp}/synchronization/jobs/${job.id}/start`);
    await new Promise((r) => setTimeout(r, s.settings.firstCycleMs + 50));
    const q = synchronizationJobSchema.parse(
      (await call('GET', `/servicePrincipals/${sp}/synchronization/jobs/${job.id}`)).json,
    );
    expect(q.status?.code).toBe('Quarantine');
    expect(q.status?.quarantine).toMatchObject({ reason: 'EncounteredQuarantineException', seriesCount: 1 });
    expect(Date.parse(q.status!.quarantine!.nextAttempt!)).toBeGreaterThan(
      Date.parse(q.status!.quarantine!.currentBegan!),
    );
    // The cause fixed (new secrets), then a restart: the next cycle succeeds.
    await call('PUT', `/servicePrincipals/${sp}/synchronization/secrets`, {
      value: [
        { key: 'ClientSecret', value: 'c' },
        { key: 'SecretToken', value: 'fixed' },
      ],
    });
    await call('POST', `/servicePrincipals/${sp}/synchronization/jobs/${job.id}/restart`, {
      criteria: { resetScope: 'QuarantineState' },
    });
    await new Promise((r) => setTimeout(r, s.settings.firstCycleMs + 50));
    const cleared = synchronizationJobSchema.parse(
      (await call('GET', `/servicePrincipals/${sp}/synchronization/jobs/${job.id}`)).json,
    );
    expect(cleared.status?.code).toBe('Active');
  });
});

describe('simulator faults', () => {
  it('a burst past the write quota gets 429 with Retry-After and throttle headers; an early retry is a violation', async () => {
    const { call, sim: s } = await start({ overrides: { writeLimit: 3, writeWindowMs: 2000, retryAfterGraceMs: 0 } });
    const statuses: number[] = [];
    let throttled: Awaited<ReturnType<typeof call>> | null = null;
    for (let i = 0; i < 4; i++) {
      const r = await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, {
        displayName: `burst ${i}`,
      });
      statuses.push(r.status);
      if (r.status === 429) throttled = r;
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
    expect(Number(throttled!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(throttled!.headers.get('x-ms-throttle-scope')).toBe(`Tenant_Application/Write/${s.clientId}/${s.tenantId}`);
    expect(throttled!.headers.get('x-ms-throttle-information')).toBe('WriteLimitExceeded');
    expect(graphErrorBodySchema.parse(throttled!.json).error.code).toBe('TooManyRequests');
    expect(s.stats().retryAfterViolations).toBe(0);
    // The write limit limits writes: a read goes on; another write before Retry-After is a violation.
    expect((await call('GET', `/applicationTemplates`)).status).toBe(200);
    const early = await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, {
      displayName: 'too early',
    });
    expect(early.status).toBe(429);
    expect(early.headers.get('x-ms-throttle-information')).toBe('WriteLimitExceeded');
    expect(s.stats()).toMatchObject({ throttled: 2, retryAfterViolations: 1, applications: 3 });
  });

  it('a 503 with Retry-After holds that request only: repeating it early is a violation, other requests are not', async () => {
    const { call, sim: s } = await start({
      overrides: { throttle503Rate: 1, throttle503RetryAfterSec: 2, retryAfterGraceMs: 0 },
    });
    const first = await call('GET', '/applicationTemplates');
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('2');
    expect(first.headers.get('x-ms-throttle-scope')).toBeNull();
    s.configure({ throttle503Rate: 0 });
    // Another request of the same caller is served: the service was busy for that request, not throttling the app.
    expect((await call('GET', `/applicationTemplates/${AWS_TEMPLATE_ID}`)).status).toBe(200);
    expect(s.stats().retryAfterViolations).toBe(0);
    // The same request again, before its Retry-After: refused and counted.
    const again = await call('GET', '/applicationTemplates', undefined, 'another process');
    expect(again.status).toBe(503);
    expect(s.stats()).toMatchObject({ retryAfterViolations: 1, violationsByKind: { tenant: 0, request: 1 } });
    // Who repeated it, and who had been told: tells a process's own early retry from one that had to hear of it.
    expect(s.stats().violations[0]).toMatchObject({
      route: 'GET /applicationTemplates',
      kind: 'request',
      who: 'another process',
      toldWho: 'test-caller',
    });
  });

  it("a 503 on one instantiate does not hold another instance's (same URL, another body)", async () => {
    const { call, sim: s } = await start({
      overrides: { throttle503Rate: 1, throttle503RetryAfterSec: 2, retryAfterGraceMs: 0 },
    });
    const url = `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`;
    expect((await call('POST', url, { displayName: 'First' })).status).toBe(503);
    s.configure({ throttle503Rate: 0 });
    expect((await call('POST', url, { displayName: 'Second' })).status).toBe(201);
    expect(s.stats().retryAfterViolations).toBe(0);
    expect((await call('POST', url, { displayName: 'First' })).status).toBe(503);
    expect(s.stats().violationsByKind.request).toBe(1);
  });

  it('a 429 storm throttles every request of the app+tenant until its Retry-After passes', async () => {
    const { call, sim: s } = await start({
      overrides: { throttleStormRate: 1, throttleStormRetryAfterSec: 1, retryAfterGraceMs: 100 },
    });
    const r = await call('GET', '/applicationTemplates');
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(r.headers.get('x-ms-throttle-information')).toBe('CPULimitExceeded');
    expect(r.headers.get('x-ms-throttle-scope')).toBe(`Tenant_Application/ReadWrite/${s.clientId}/${s.tenantId}`);
    s.configure({ throttleStormRate: 0 });
    await new Promise((res) => setTimeout(res, 200));
    // Any other request after the grace is a violation of the app-wide wait.
    expect((await call('GET', `/applicationTemplates/${AWS_TEMPLATE_ID}`, undefined, 'worker 2')).status).toBe(429);
    expect(s.stats()).toMatchObject({ retryAfterViolations: 1, violationsByKind: { tenant: 1, request: 0 } });
    expect(s.stats().violations[0]).toMatchObject({ kind: 'tenant', who: 'worker 2', toldWho: 'test-caller' });
    await new Promise((res) => setTimeout(res, 900));
    expect((await call('GET', `/applicationTemplates/${AWS_TEMPLATE_ID}`)).status).toBe(200);
    expect(s.stats().faultsInjected['429-storm']).toBe(1);
  });

  it('the reports API allows 5 requests per window', async () => {
    const { call, sim: s } = await start({ overrides: { reportsLimit: 5, reportsWindowMs: 5000 } });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await call('GET', '/auditLogs/provisioning')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(s.stats().reportsThrottled).toBe(1);
  });

  it('a new application is invisible until its replication lag has passed', async () => {
    const { call } = await start({ overrides: { replicationLagMs: { min: 400, max: 400 } } });
    const inst = instantiateResponseSchema.parse(
      (await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, { displayName: 'Lagging' })).json,
    );
    const appId = inst.application.objectId!;
    expect((await call('GET', `/applications/${appId}`)).status).toBe(404);
    const q = `/applications?$filter=${encodeURIComponent("displayName eq 'Lagging'")}`;
    expect(collectionSchema(applicationSchema).parse((await call('GET', q)).json).value).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 450));
    expect((await call('GET', `/applications/${appId}`)).status).toBe(200);
    expect(collectionSchema(applicationSchema).parse((await call('GET', q)).json).value).toHaveLength(1);
  });

  it('an ambiguous instantiate answers an error but really creates the app', async () => {
    const { call, sim: s } = await start({ overrides: { ambiguousInstantiateRate: 1, instantiateHangMs: 50 } });
    const r = await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, { displayName: 'Ghost' });
    expect([404, 500, 504]).toContain(r.status);
    expect(s.stats().applications).toBe(1);
    const found = await call('GET', `/applications?$filter=${encodeURIComponent("displayName eq 'Ghost'")}`);
    expect(collectionSchema(applicationSchema).parse(found.json).value).toHaveLength(1);
  });

  it('the same seed makes the same fault choices', async () => {
    const run = async () => {
      const s = await startSimulator({
        profile: 'fast',
        seed: 42,
        overrides: { ambiguousInstantiateRate: 0.5, instantiateHangMs: 10 },
      });
      const a = new Agent({ connect: { ca: s.caCertPem } });
      const form = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: s.clientId,
        client_secret: s.clientSecret,
        scope: 'https://graph.microsoft.com/.default',
      });
      const tok = (await (
        await fetch(`${s.authorityHost}/${s.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: form, dispatcher: a })
      ).json()) as { access_token: string };
      const out = [];
      for (let i = 0; i < 8; i++) {
        const r = await fetch(`${s.graphBaseUrl}/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, {
          method: 'POST',
          dispatcher: a,
          headers: { authorization: `Bearer ${tok.access_token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ displayName: `d${i}` }),
        });
        await r.text();
        out.push(r.status);
      }
      await a.close();
      await s.close();
      return out;
    };
    const first = await run();
    expect(new Set(first).size).toBeGreaterThan(1); // some faults, some successes
    expect(await run()).toEqual(first);
  });

  it('a wrong client secret gets an Entra-shaped 401; no token, no Graph', async () => {
    const s = (sim = await startSimulator({ profile: 'fast' }));
    agent = new Agent({ connect: { ca: s.caCertPem } });
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: s.clientId,
      client_secret: 'wrong',
      scope: 'https://graph.microsoft.com/.default',
    });
    const tok = await fetch(`${s.authorityHost}/${s.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: form,
      dispatcher: agent,
    });
    expect(tok.status).toBe(401);
    const body = (await tok.json()) as { error: string; error_codes: number[]; error_description: string };
    expect(body.error).toBe('invalid_client');
    expect(body.error_codes).toEqual([7000215]);
    const g = await fetch(`${s.graphBaseUrl}/applicationTemplates`, { dispatcher: agent });
    expect(g.status).toBe(401);
    expect(graphErrorBodySchema.parse(await g.json()).error.code).toBe('InvalidAuthenticationToken');
  });
});
