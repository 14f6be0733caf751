/**
 * The simulator's job lifecycle and provisioning logs as a poller sees them: EntryLevelErrors
 * with real-looking failure codes, `$filter` on status fields, `$orderby`, `activityDateTime gt`,
 * and `@odata.nextLink` paging that visits every entry exactly once. Also OData `''` escaping on
 * directory lists and a client that honours Retry-After never being counted as a violator.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, fetch } from 'undici';
import {
  collectionSchema,
  graphErrorBodySchema,
  instantiateResponseSchema,
  objectIdOf,
  provisioningObjectSummarySchema,
  servicePrincipalSchema,
  synchronizationJobSchema,
} from '../../src/graph/schemas.ts';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/dev/sim/index.ts';
import { AWS_TEMPLATE_ID } from '../../src/dev/sim/catalogue.ts';

let sim: SimulatorHandle | null = null;
let agent: Agent | null = null;
afterEach(async () => {
  await agent?.close();
  await sim?.close();
  agent = sim = null;
});

const q = (s: string) => encodeURIComponent(s);
const logsPage = collectionSchema(provisioningObjectSummarySchema);

async function start(o: SimulatorOptions = {}) {
  const s = (sim = await startSimulator({ profile: 'fast', seed: 3, ...o }));
  const a = (agent = new Agent({ connect: { ca: s.caCertPem } }));
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: s.clientId,
    client_secret: s.clientSecret,
    scope: 'https://graph.microsoft.com/.default',
  });
  const tok = (await (
    await fetch(`${s.authorityHost}/${s.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: form, dispatcher: a })
  ).json()) as { access_token: string };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(path.startsWith('https://') ? path : `${s.graphBaseUrl}${path}`, {
      method,
      dispatcher: a,
      headers: { authorization: `Bearer ${tok.access_token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as unknown) : null };
  };
  /** Instantiate, create the aws job, save `secretToken`, start; returns ids. */
  const onboard = async (displayName: string, secretToken: string) => {
    const inst = instantiateResponseSchema.parse(
      (await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, { displayName })).json,
    );
    const spId = objectIdOf(inst.servicePrincipal);
    const job = synchronizationJobSchema.parse(
      (await call('POST', `/servicePrincipals/${spId}/synchronization/jobs`, { templateId: 'aws' })).json,
    );
    const creds = [
      { key: 'ClientSecret', value: 'cs' },
      { key: 'SecretToken', value: secretToken },
    ];
    expect((await call('PUT', `/servicePrincipals/${spId}/synchronization/secrets`, { value: creds })).status).toBe(
      204,
    );
    expect((await call('POST', `/servicePrincipals/${spId}/synchronization/jobs/${job.id}/start`)).status).toBe(204);
    return { spId, jobId: job.id };
  };
  const getJob = async (spId: string, jobId: string) =>
    synchronizationJobSchema.parse(
      (await call('GET', `/servicePrincipals/${spId}/synchronization/jobs/${jobId}`)).json,
    );
  const afterFirstCycle = () => new Promise((r) => setTimeout(r, s.settings.firstCycleMs + 100));
  return { s, call, onboard, getJob, afterFirstCycle };
}

describe('job lifecycle', () => {
  it('entry-errors: Active with EntryLevelErrors, steady state reached, failures in the logs with a reason and an action', async () => {
    const { call, onboard, getJob, afterFirstCycle } = await start();
    const { spId, jobId } = await onboard('Entry errors', 'tok-entry-errors');
    expect((await getJob(spId, jobId)).status?.code).toBe('NotRun');
    await afterFirstCycle();
    const job = await getJob(spId, jobId);
    expect(job.status?.code).toBe('Active');
    expect(job.schedule?.state).toBe('Active');
    expect(job.status?.lastExecution?.state).toBe('EntryLevelErrors');
    expect(job.status?.steadyStateFirstAchievedTime).not.toBe('0001-01-01T00:00:00Z');

    const failures = logsPage.parse(
      (
        await call(
          'GET',
          `/auditLogs/provisioning?$filter=${q(`jobId eq '${jobId}' and provisioningStatusInfo/status eq 'failure'`)}`,
        )
      ).json,
    ).value;
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) {
      expect(f.jobId).toBe(jobId);
      expect(f.servicePrincipal?.id).toBe(spId);
      const info = f.provisioningStatusInfo?.errorInformation;
      expect(info?.errorCode).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(info?.reason).toBeTruthy();
      expect(info?.recommendedAction).toBeTruthy();
    }
    // statusInfo/status agrees with provisioningStatusInfo/status.
    const viaStatusInfo = logsPage.parse(
      (
        await call(
          'GET',
          `/auditLogs/provisioning?$filter=${q(`jobId eq '${jobId}' and statusInfo/status eq 'failure'`)}`,
        )
      ).json,
    ).value;
    expect(viaStatusInfo.map((e) => e.id).sort()).toEqual(failures.map((e) => e.id).sort());
  });

  it('a clean job succeeds and writes only success entries', async () => {
    const { call, onboard, getJob, afterFirstCycle } = await start();
    const { spId, jobId } = await onboard('Clean', 'tok');
    await afterFirstCycle();
    const job = await getJob(spId, jobId);
    expect(job.status).toMatchObject({ code: 'Active', quarantine: null });
    expect(job.status?.lastExecution?.state).toBe('Succeeded');
    const all = logsPage.parse(
      (await call('GET', `/auditLogs/provisioning?$filter=${q(`jobId eq '${jobId}'`)}`)).json,
    ).value;
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((e) => e.provisioningStatusInfo?.status === 'success')).toBe(true);
  });

  it('quarantine: full object with the reason and a future next attempt; a restart after fixing the secrets clears it', async () => {
    const { call, onboard, getJob, afterFirstCycle } = await start();
    const { spId, jobId } = await onboard('Quarantined', 'quarantine-token');
    await afterFirstCycle();
    const q1 = await getJob(spId, jobId);
    expect(q1.status?.code).toBe('Quarantine');
    const qo = q1.status!.quarantine!;
    expect(qo).toMatchObject({ reason: 'EncounteredQuarantineException', seriesCount: 1 });
    expect(qo.error?.code).toBeTruthy();
    expect(qo.error?.tenantActionable).toBe(true);
    for (const t of [qo.currentBegan, qo.seriesBegan, qo.nextAttempt])
      expect(Number.isNaN(Date.parse(t ?? ''))).toBe(false);
    expect(Date.parse(qo.nextAttempt!)).toBeGreaterThan(Date.now());
    const fixed = [
      { key: 'ClientSecret', value: 'cs' },
      { key: 'SecretToken', value: 'fixed' },
    ];
    expect((await call('PUT', `/servicePrincipals/${spId}/synchronization/secrets`, { value: fixed })).status).toBe(
      204,
    );
    expect(
      (
        await call('POST', `/servicePrincipals/${spId}/synchronization/jobs/${jobId}/restart`, {
          criteria: { resetScope: 'Full' },
        })
      ).status,
    ).toBe(204);
    await afterFirstCycle();
    const cleared = await getJob(spId, jobId);
    expect(cleared.status?.code).toBe('Active');
    expect(cleared.status?.quarantine ?? null).toBeNull();
  });

  it('pause shows Paused; jobsByCode counts every code', async () => {
    const { call, onboard, getJob, afterFirstCycle, s } = await start();
    const a = await onboard('Runs', 'tok');
    const b = await onboard('Pauses', 'tok');
    await afterFirstCycle();
    expect((await call('POST', `/servicePrincipals/${b.spId}/synchronization/jobs/${b.jobId}/pause`)).status).toBe(204);
    expect((await getJob(b.spId, b.jobId)).status?.code).toBe('Paused');
    expect((await getJob(a.spId, a.jobId)).status?.code).toBe('Active');
    expect(s.stats().jobsByCode).toMatchObject({ Active: 1, Paused: 1 });
  });
});

describe('provisioning logs paging', () => {
  it('follows @odata.nextLink ($top=1) through every entry exactly once, newest first by default', async () => {
    const { call, onboard, afterFirstCycle } = await start();
    const { jobId } = await onboard('Logs A', 'tok-entry-errors');
    await afterFirstCycle();
    const filter = `$filter=${q(`jobId eq '${jobId}'`)}`;
    const everything = logsPage.parse((await call('GET', `/auditLogs/provisioning?${filter}&$top=999`)).json).value;
    expect(everything.length).toBeGreaterThan(3);
    expect(new Set(everything.map((e) => e.id)).size).toBe(everything.length);

    const seen: string[] = [];
    let url: string | null = `/auditLogs/provisioning?${filter}&$top=1`;
    let pages = 0;
    while (url && pages < 200) {
      const r = await call('GET', url);
      expect(r.status).toBe(200);
      const page = logsPage.parse(r.json);
      expect(page.value.length).toBeLessThanOrEqual(1);
      seen.push(...page.value.map((e) => e.id));
      url = page['@odata.nextLink'] ?? null;
      // Absolute, same API version, and it keeps the caller's $filter.
      if (url) expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/beta\/auditLogs\/provisioning\?.*jobId/);
      pages++;
    }
    expect(seen).toEqual(everything.map((e) => e.id));
    const times = everything.map((e) => Date.parse(e.activityDateTime));
    expect(times).toEqual([...times].sort((x, y) => y - x));
  });

  // Log ids were once built from a prefix shared by every AWS job of a tenant.
  it('entry ids are unique across jobs', async () => {
    const { call, onboard, afterFirstCycle } = await start();
    await onboard('Ids A', 'tok');
    await onboard('Ids B', 'tok');
    await afterFirstCycle();
    const all = logsPage.parse((await call('GET', '/auditLogs/provisioning?$top=999')).json).value;
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
  });

  it('$orderby asc, and activityDateTime gt/lt with unquoted DateTimeOffset literals', async () => {
    const { call, onboard, afterFirstCycle } = await start();
    await onboard('Ordered', 'tok-entry-errors');
    await afterFirstCycle();
    const asc = logsPage.parse(
      (await call('GET', '/auditLogs/provisioning?$orderby=activityDateTime%20asc&$top=999')).json,
    ).value;
    const times = asc.map((e) => Date.parse(e.activityDateTime));
    expect(times).toEqual([...times].sort((x, y) => x - y));
    const pivot = asc[Math.floor(asc.length / 2)]!.activityDateTime;
    const later = logsPage.parse(
      (await call('GET', `/auditLogs/provisioning?$filter=${q(`activityDateTime gt ${pivot}`)}&$top=999`)).json,
    ).value;
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((e) => Date.parse(e.activityDateTime) > Date.parse(pivot))).toBe(true);
    const earlier = logsPage.parse(
      (await call('GET', `/auditLogs/provisioning?$filter=${q(`activityDateTime lt ${pivot}`)}&$top=999`)).json,
    ).value;
    expect(earlier.every((e) => Date.parse(e.activityDateTime) < Date.parse(pivot))).toBe(true);
  });

  it('a malformed $filter is a 400 with a Graph error body', async () => {
    const { call } = await start();
    const r = await call('GET', `/auditLogs/provisioning?$filter=${q("jobId eq 'unterminated")}`);
    expect(r.status).toBe(400);
    expect(graphErrorBodySchema.parse(r.json).error.code).toBeTruthy();
  });
});

describe('OData and throttling from the client side', () => {
  it("escapes '' in string literals on servicePrincipals, joined with and", async () => {
    const { call } = await start();
    const name = "O'Brien's ''quoted'' AWS";
    const inst = instantiateResponseSchema.parse(
      (await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, { displayName: name })).json,
    );
    await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, { displayName: "O'Brien" });
    const literal = `'${name.replace(/'/g, "''")}'`;
    const sps = collectionSchema(servicePrincipalSchema).parse(
      (
        await call(
          'GET',
          `/servicePrincipals?$filter=${q(`displayName eq ${literal} and appId eq '${inst.application.appId}'`)}`,
        )
      ).json,
    ).value;
    expect(sps.map((sp) => sp.displayName)).toEqual([name]);
    expect(sps[0]!.id).toBe(objectIdOf(inst.servicePrincipal)); // GET/list use `id`
  });

  it('a client that waits out Retry-After is never counted as a violator', async () => {
    const { call, s } = await start({ overrides: { writeLimit: 2, writeWindowMs: 1000, retryAfterGraceMs: 0 } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      let r = await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, {
        displayName: `patient ${i}`,
      });
      while (r.status === 429) {
        await new Promise((res) => setTimeout(res, Number(r.headers.get('retry-after')) * 1000));
        r = await call('POST', `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`, { displayName: `patient ${i}` });
      }
      statuses.push(r.status);
    }
    expect(statuses).toEqual([201, 201, 201, 201]);
    const st = s.stats();
    expect(st.throttled).toBeGreaterThan(0);
    expect(st.retryAfterViolations).toBe(0);
    expect(st.duplicateApplications).toBe(0);
    expect(st.applications).toBe(4);
  });
});
