/**
 * The real Graph client (MSAL token, undici + our CA, shared Redis limiter) against the Graph
 * simulator, fast profile: the whole GraphApi happy path, quotes in display names, paging of
 * provisioning logs, and a 429 that pauses the tenant in Redis before the throttled error.
 */
import { Redis } from 'ioredis';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphError, RateLimitedError } from '../../src/graph/errors.ts';
import type { GraphApi } from '../../src/graph/graph-api.ts';
import { createGraphClient, type GraphResponseEvent } from '../../src/graph/graph-client.ts';
import { createHttpAgent } from '../../src/graph/http-agent.ts';
import { createThrottle } from '../../src/graph/throttle/index.ts';
import { createGraphLimiter, pauseKey, type GraphLimiter } from '../../src/graph/throttle/limiter.ts';
import { createTokenProvider } from '../../src/graph/token-provider.ts';
import { startSimulator } from '../../src/dev/sim/index.ts';
import { SeededRandom } from '../../src/dev/sim/prng.ts';
import { instantiateApp } from '../../src/steps/instantiate-app.ts';
import { StepWait, type StepInput } from '../../src/steps/types.ts';
import { fakeDeps, INSTANCE, type FakeGraph } from '../helpers/fake-graph.ts';
import { testPrefix } from '../helpers/redis.ts';
import { eventually, startSimGraph, type SimGraph } from '../helpers/sim-graph.ts';

let sg: SimGraph;
let sim: SimGraph['sim'];
let redis: Redis;
let dispatcher: Agent;
let limiter: GraphLimiter;
let graph: GraphApi;
const prefix = testPrefix('graph-sim');
const events: GraphResponseEvent[] = [];

beforeAll(async () => {
  sg = await startSimGraph(prefix, events);
  ({ sim, redis, dispatcher, limiter, graph } = sg);
});

afterAll(async () => {
  await sg?.close();
});

describe('GraphApi against the simulator (fast profile)', () => {
  it('runs the whole onboarding path with a quoted display name', async () => {
    const templates = await graph.findApplicationTemplatesByName('AWS Single-Account Access');
    expect(templates.length).toBeGreaterThanOrEqual(1);
    const tpl = templates[0]!;
    expect(await graph.getApplicationTemplate(tpl.id)).toMatchObject({ id: tpl.id });
    expect(await graph.getApplicationTemplate('00000000-0000-0000-0000-000000000000')).toBeNull();

    const name = "O'Brien's AWS";
    const created = await graph.instantiateApplication(tpl.id, name);
    expect(created.applicationObjectId).toBeTruthy();
    expect(created.servicePrincipalId).toBeTruthy();
    expect(created.displayName).toBe(name);

    // The quotes must survive OData escaping and URL encoding both ways.
    const found = await eventually(async () => {
      const apps = await graph.findApplications({ displayName: name, applicationTemplateId: tpl.id });
      return apps.length ? apps : null;
    });
    expect(found).toHaveLength(1);
    expect(found[0]!.displayName).toBe(name);
    expect(await graph.findApplications({ displayName: "O'Brien's AWS (other)" })).toEqual([]);

    const sps = await graph.findServicePrincipalsByAppId(created.appId);
    expect(sps).toHaveLength(1);
    expect(await graph.getApplication(created.applicationObjectId)).toMatchObject({ appId: created.appId });
    expect(await graph.getServicePrincipal(created.servicePrincipalId)).toMatchObject({ appId: created.appId });

    const syncTemplates = await graph.listSynchronizationTemplates(created.servicePrincipalId);
    expect(syncTemplates.length).toBeGreaterThanOrEqual(1);
    const syncTpl = syncTemplates.find((t) => t.default) ?? syncTemplates[0]!;
    expect(await graph.listSynchronizationJobs(created.servicePrincipalId)).toEqual([]);
    const job = await graph.createSynchronizationJob(created.servicePrincipalId, syncTpl.id);
    expect(job.templateId).toBe(syncTpl.id);
    expect((await graph.listSynchronizationJobs(created.servicePrincipalId)).map((j) => j.id)).toEqual([job.id]);
    expect(await graph.getSynchronizationJob(created.servicePrincipalId, job.id)).toMatchObject({ id: job.id });
    expect(await graph.getSynchronizationJob(created.servicePrincipalId, 'nope')).toBeNull();

    // AWS's connector needs ClientSecret (the AWS access key id) and SecretToken.
    const credentials = [
      { key: 'ClientSecret', value: 'AKIAEXAMPLEKEY0123' },
      { key: 'SecretToken', value: 'sim-valid-token-0123456789' },
    ];
    await graph.validateCredentials(created.servicePrincipalId, job.id, credentials);
    await graph.saveSecrets(created.servicePrincipalId, credentials);
    await graph.startSynchronizationJob(created.servicePrincipalId, job.id);
    const started = await graph.getSynchronizationJob(created.servicePrincipalId, job.id);
    expect(started?.schedule?.state).toBe('Active');

    // Provisioning logs appear after the first cycle; read them a page at a time.
    const first = await eventually(async () => {
      const p = await graph.listProvisioningLogs({ jobId: job.id, top: 1 });
      return p.items.length ? p : null;
    });
    let pages = 1;
    let total = first.items.length;
    let next = first.nextLink;
    while (next) {
      const page = await graph.listProvisioningLogs({ jobId: job.id, nextLink: next });
      total += page.items.length;
      next = page.nextLink;
      pages++;
      expect(pages).toBeLessThan(100);
    }
    expect(pages).toBeGreaterThan(1);
    expect(total).toBe(pages);
    for (const e of first.items) expect(e.jobId).toBe(job.id);

    await graph.restartSynchronizationJob(created.servicePrincipalId, job.id, 'Full');

    // Every exchange was reported with a request-id.
    expect(events.length).toBeGreaterThan(15);
    expect(events.every((e) => e.requestId)).toBe(true);
    expect(events.filter((e) => e.route === '/auditLogs/provisioning').length).toBeGreaterThanOrEqual(pages);
  });

  it("bad credentials: validateCredentials fails permanently with Graph's reason, secret not echoed", async () => {
    const [tpl] = await graph.findApplicationTemplatesByName('AWS Single-Account Access');
    const app = await graph.instantiateApplication(tpl!.id, 'AWS bad creds');
    const [syncTpl] = await graph.listSynchronizationTemplates(app.servicePrincipalId);
    const job = await graph.createSynchronizationJob(app.servicePrincipalId, syncTpl!.id);
    // The simulator rejects values starting with "bad".
    const secret = 'bad-secret-value-0123456789';
    const err = await graph
      .validateCredentials(app.servicePrincipalId, job.id, [
        { key: 'ClientSecret', value: 'AKIAEXAMPLEKEY0123' },
        { key: 'SecretToken', value: secret },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphError);
    const g = err as GraphError;
    expect(g.errorClass).toBe('permanent');
    expect(g.status).toBe(400);
    expect(g.message).toMatch(
      /^Graph 400 BadRequest on POST \/servicePrincipals\/.+\/validateCredentials: .*SecretToken/,
    );
    expect(g.message).not.toContain(secret);
    expect(g.details.requestId).toBeTruthy();
    expect(g.details.clientRequestId).toBeTruthy();
  });

  it('a revoked token: the 401 is retried once with a fresh token from MSAL', async () => {
    const real = createTokenProvider({
      tenantId: sim.tenantId,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      authorityHost: sim.authorityHost,
      dispatcher,
    });
    const forced: boolean[] = [];
    const client = createGraphClient({
      tenantId: sim.tenantId,
      graphBaseUrl: sim.graphBaseUrl,
      // Hands out a token the simulator does not know (as after a revocation) until forced.
      tokenProvider: {
        getToken: async (o = {}) => (
          forced.push(!!o.forceRefresh),
          o.forceRefresh ? real.getToken(o) : 'revoked-token'
        ),
      },
      throttle: createThrottle({ limiter }),
      dispatcher,
    });
    const templates = await client.findApplicationTemplatesByName('AWS Single-Account Access');
    expect(templates).toHaveLength(1);
    expect(forced).toEqual([false, true]);
  });

  it('a 429 pauses the tenant in Redis before the throttled GraphError, and nobody violates Retry-After', async () => {
    sim.configure({ writeLimit: 1 });
    try {
      const [tpl] = await graph.findApplicationTemplatesByName('AWS Single-Account Access');
      let err: unknown = null;
      for (let i = 0; i < 3 && !err; i++) {
        err = await graph.instantiateApplication(tpl!.id, `throttle-${i}`).then(
          () => null,
          (e: unknown) => e,
        );
      }
      expect(err).toBeInstanceOf(GraphError);
      const g = err as GraphError;
      expect(g.errorClass).toBe('throttled');
      expect(g.status).toBe(429);
      expect(g.details.retryAfterMs).toBeGreaterThan(0);
      expect(g.details.requestId).toBeTruthy();
      const pttl = await redis.pttl(pauseKey(prefix, sim.tenantId));
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(g.details.retryAfterMs!);
      expect(g.message).toContain('retry after');
      // The write window is 150 s: the next call, from this or any process, defers (throttled,
      // bucket "pause") instead of reaching Graph.
      const before = sim.stats().requests;
      const next = await graph.getServicePrincipal('x').catch((e: unknown) => e);
      expect(next).toBeInstanceOf(RateLimitedError);
      expect((next as RateLimitedError).bucket).toBe('pause');
      expect((next as RateLimitedError).errorClass).toBe('throttled');
      expect(sim.stats().requests).toBe(before);
      expect(sim.stats().retryAfterViolations).toBe(0);
    } finally {
      sim.configure({ writeLimit: 1_000_000 });
      await redis.del(pauseKey(prefix, sim.tenantId));
    }
  });
});

describe('instantiate that hangs after creating the app (real client, simulator)', () => {
  it('the step finds the app by query while the POST hangs, adopts it and abandons the request — no timeout, no duplicate', async () => {
    // Its own simulator and limiter: the 429 test above leaves this tenant paused.
    const hsim = await startSimulator({
      profile: 'fast',
      seed: 7,
      overrides: { ambiguousInstantiateRate: 1, instantiateHangMs: 20_000, replicationLagMs: { min: 300, max: 300 } },
    });
    const hagent = createHttpAgent({ extraCaPem: hsim.caCertPem, env: {} });
    const hlimiter = createGraphLimiter({
      redis,
      prefix: testPrefix('graph-hang'),
      limits: {
        writeLimit: 1000,
        writeWindowMs: 1000,
        ruLimit: 1000,
        ruWindowMs: 1000,
        reportsLimit: 10,
        reportsWindowMs: 1000,
      },
    });
    try {
      const hgraph = createGraphClient({
        tenantId: hsim.tenantId,
        graphBaseUrl: hsim.graphBaseUrl,
        tokenProvider: createTokenProvider({
          tenantId: hsim.tenantId,
          clientId: hsim.clientId,
          clientSecret: hsim.clientSecret,
          authorityHost: hsim.authorityHost,
          dispatcher: hagent,
        }),
        throttle: createThrottle({ limiter: hlimiter }),
        dispatcher: hagent,
      });
      // A display name whose first instantiate the simulator (seed 7) turns into a hang (the key counts this instantiate as attempt 1).
      const rnd = new SeededRandom(7);
      let name = '';
      for (let i = 0; !name; i++) if (rnd.forKey(`ambiguous|AWS Hang ${i}|1`) >= 0.75) name = `AWS Hang ${i}`;
      const { deps } = fakeDeps(hgraph as unknown as FakeGraph);
      deps.settings.slowInstantiateMs = 200;
      deps.settings.replicationPollMs = 150;
      const templateId = (await hgraph.findApplicationTemplatesByName('AWS Single-Account Access'))[0]!.id;
      const t0 = Date.now();
      // As the processor runs it: a StepWait (the app found, its servicePrincipal replicating a
      // moment later) is slept off and the step re-run with the state it left.
      let input: StepInput = { instance: { ...INSTANCE, displayName: name }, prev: { templateId }, state: {} };
      let out: Awaited<ReturnType<typeof instantiateApp>> | null = null;
      for (let round = 0; !out && round < 20; round++) {
        try {
          out = await instantiateApp(deps, input);
        } catch (e) {
          if (!(e instanceof StepWait)) throw e;
          input = { ...input, state: e.state };
          await new Promise((r) => setTimeout(r, e.delayMs));
        }
      }
      expect(out).toMatchObject({ adopted: 'recovered' });
      expect(out?.servicePrincipalId).toBeTruthy();
      expect(Date.now() - t0).toBeLessThan(5_000); // the hang lasts 20 s
      const st = hsim.stats();
      expect(st.faultsInjected['instantiate-hang']).toBe(1);
      expect(st.instantiateByDisplayName[name]).toBe(1);
      expect(st.duplicateApplications).toBe(0);
    } finally {
      void hlimiter.close();
      await hagent.close().catch(() => {});
      await hsim.close();
    }
  });
});
