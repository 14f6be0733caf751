import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MockAgent } from 'undici';
import { GraphError, RateLimitedError } from '../../src/graph/errors.ts';
import { createGraphClient, type GraphResponseEvent } from '../../src/graph/graph-client.ts';
import type { CallCost, GraphLimiter } from '../../src/graph/throttle/limiter.ts';
import type { TokenProvider } from '../../src/graph/token-provider.ts';
import { createThrottle } from '../../src/graph/throttle/index.ts';

const ORIGIN = 'https://graph.test';
const BASE = `${ORIGIN}/beta`;
const TENANT = 'tenant-1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

function fakeLimiter(log: string[]) {
  const acquired: CallCost[] = [];
  const pauses: Array<{ tenantId: string; ms: number; reason: string }> = [];
  const released: string[] = [];
  const holdsSet: Array<{ requestKey: string; ms: number }> = [];
  // Holds this process heard of from others (the broadcast), by request key.
  const heldElsewhere = new Map<string, number>();
  const holdUntil = new Map<string, number>();
  let throwOnAcquire: Error | null = null;
  // Grants given already 1 s old and to be sent within 0.5 s (a nearly full window, a busy process).
  let late = false;
  // The next acquire waits here (a limiter that makes one call wait inline).
  let gate: Promise<void> | null = null;
  let grants = 0;
  const limiter: GraphLimiter = {
    async acquire(_t, cost) {
      if (throwOnAcquire) throw throwOnAcquire;
      if (gate) {
        const g = gate;
        gate = null;
        await g;
      }
      acquired.push(cost);
      log.push('acquire');
      return {
        at: performance.now() - (late ? 1000 : 0),
        id: `g${++grants}`,
        charged: [{ bucket: 'write', count: 1 }],
        sendWithinMs: late ? 500 : Infinity,
      };
    },
    async hold(_t, requestKey, ms) {
      holdsSet.push({ requestKey, ms });
      holdUntil.set(requestKey, Math.max(holdUntil.get(requestKey) ?? 0, Date.now() + ms));
    },
    async release(_t, grant) {
      released.push(grant.id);
      log.push('release');
    },
    async pause(tenantId, ms, reason) {
      pauses.push({ tenantId, ms, reason });
      log.push('pause');
    },
    async pausedForMs() {
      return 0;
    },
    localPauseMs: () => 0,
    // Holds this process recorded (hold) or heard of from others (heldElsewhere), as the limiter keeps them.
    localHoldMs: (_t, k) => Math.max(heldElsewhere.get(k) ?? 0, (holdUntil.get(k) ?? 0) - Date.now(), 0),
    stats: () => ({
      waitedMs: 0,
      acquired: acquired.length,
      pausedHits: 0,
      deferred: 0,
      broadcastsHeard: 0,
      released: released.length,
    }),
    async close() {},
  };
  return {
    limiter,
    acquired,
    pauses,
    released,
    holdsSet,
    heldElsewhere,
    failWith: (e: Error) => (throwOnAcquire = e),
    lateGrants: (on: boolean) => (late = on),
    gateNextAcquire: () => {
      let open!: () => void;
      gate = new Promise<void>((r) => (open = r));
      return open;
    },
  };
}

function fakeTokens() {
  const calls: Array<{ forceRefresh?: boolean }> = [];
  let n = 0;
  const provider: TokenProvider = {
    async getToken(opts = {}) {
      calls.push(opts);
      if (opts.forceRefresh) n++;
      return `tok-${n}`;
    },
  };
  return { provider, calls };
}

let agent: MockAgent;
let seen: Seen[];
let log: string[];
let events: GraphResponseEvent[];

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  seen = [];
  log = [];
  events = [];
});
afterEach(async () => {
  await agent.close();
});

/** Intercept one request; the responder sees what was sent. */
function on(
  method: string,
  path: string | ((p: string) => boolean),
  status: number,
  data: unknown = '',
  headers: Record<string, string> = {},
) {
  agent
    .get(ORIGIN)
    .intercept({ method, path: typeof path === 'string' ? `/beta${path}` : (p: string) => path(p) })
    .reply((req) => {
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries((req.headers ?? {}) as Record<string, string>))
        h[k.toLowerCase()] = String(v);
      seen.push({
        method: req.method,
        path: req.path,
        headers: h,
        body: req.body ? JSON.parse(String(req.body)) : undefined,
      });
      log.push(`http ${status}`);
      return {
        statusCode: status,
        data: typeof data === 'string' ? data : JSON.stringify(data),
        responseOptions: {
          headers: { 'content-type': 'application/json', 'request-id': `req-${seen.length}`, ...headers },
        },
      };
    });
}

function client(extra: { requestTimeoutMs?: number } = {}) {
  const l = fakeLimiter(log);
  const t = fakeTokens();
  const graph = createGraphClient({
    tenantId: TENANT,
    graphBaseUrl: BASE,
    tokenProvider: t.provider,
    throttle: createThrottle({ limiter: l.limiter, sendLeaseMs: 60_000 }),
    dispatcher: agent,
    onResponse: (e) => events.push(e),
    ...extra,
  });
  return { graph, ...l, tokens: t };
}

const graphError = (code: string, message: string) => ({ error: { code, message, innerError: { 'request-id': 'x' } } });
const app = (o: Record<string, unknown> = {}) => ({
  id: 'app-obj',
  appId: 'app-id',
  displayName: 'A',
  applicationTemplateId: 'tpl',
  ...o,
});

async function rejection(p: Promise<unknown>): Promise<GraphError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GraphError);
  return err as GraphError;
}

describe('requests', () => {
  it('sends bearer token, a fresh client-request-id and the OData-escaped filter; costs 2 RU', async () => {
    const { graph, acquired } = client();
    on('GET', (p) => p.startsWith('/beta/applications?'), 200, { value: [app({ displayName: "O'Brien's AWS" })] });
    const apps = await graph.findApplications({ displayName: "O'Brien's AWS", applicationTemplateId: 'tpl' });
    expect(apps).toHaveLength(1);
    expect(apps[0]?.displayName).toBe("O'Brien's AWS");
    const req = seen[0]!;
    expect(req.headers.authorization).toBe('Bearer tok-0');
    expect(req.headers['client-request-id']).toMatch(UUID);
    expect(req.headers['user-agent']).toBe(`provflow (pid ${process.pid})`);
    expect(new URL(`${ORIGIN}${req.path}`).searchParams.get('$filter')).toBe(
      "displayName eq 'O''Brien''s AWS' and applicationTemplateId eq 'tpl'",
    );
    expect(acquired).toEqual([{ writes: 0, ru: 2, reports: 0 }]);
    expect(events[0]).toMatchObject({
      method: 'GET',
      route: '/applications',
      status: 200,
      throttled: false,
      requestId: 'req-1',
    });
  });

  it('uses a different client-request-id per call', async () => {
    const { graph } = client();
    on('GET', '/servicePrincipals/sp1', 200, { id: 'sp1', appId: 'a' });
    on('GET', '/servicePrincipals/sp1', 200, { id: 'sp1', appId: 'a' });
    await graph.getServicePrincipal('sp1');
    await graph.getServicePrincipal('sp1');
    expect(seen[0]!.headers['client-request-id']).not.toBe(seen[1]!.headers['client-request-id']);
  });

  it('writes cost 1 write + 1 RU; reports cost 1 report', async () => {
    const { graph, acquired } = client();
    on('POST', '/servicePrincipals/sp/synchronization/jobs/j/start', 204);
    on('GET', (p) => p.startsWith('/beta/auditLogs/provisioning'), 200, { value: [] });
    await graph.startSynchronizationJob('sp', 'j');
    await graph.listProvisioningLogs({ jobId: 'j' });
    expect(acquired).toEqual([
      { writes: 1, ru: 1, reports: 0 },
      { writes: 0, ru: 0, reports: 1 },
    ]);
  });

  it('ids in paths are percent-encoded', async () => {
    const { graph } = client();
    on('GET', '/applications/a%2Fb', 404, graphError('Request_ResourceNotFound', 'nope'));
    expect(await graph.getApplication('a/b')).toBeNull();
  });
});

describe('instantiate', () => {
  it.each([
    ['beta objectId', { objectId: 'app-obj' }, { objectId: 'sp-obj' }],
    ['v1.0 id', { id: 'app-obj' }, { id: 'sp-obj' }],
  ])('normalises %s', async (_n, a, s) => {
    const { graph } = client();
    const { id: _omit, ...appWithoutId } = app();
    on('POST', '/applicationTemplates/tpl/instantiate', 201, {
      application: { ...appWithoutId, ...a },
      servicePrincipal: { appId: 'app-id', ...s },
    });
    const r = await graph.instantiateApplication('tpl', "O'Brien's AWS");
    expect(r).toEqual({
      applicationObjectId: 'app-obj',
      appId: 'app-id',
      servicePrincipalId: 'sp-obj',
      displayName: 'A',
    });
    expect(seen[0]!.body).toEqual({ displayName: "O'Brien's AWS" });
  });

  it('a 404 from instantiate is transient (Graph documents it after a successful create)', async () => {
    const { graph } = client();
    on('POST', '/applicationTemplates/tpl/instantiate', 404, graphError('Request_ResourceNotFound', 'x'));
    const err = await rejection(graph.instantiateApplication('tpl', 'n'));
    expect(err.errorClass).toBe('transient');
  });
});

describe('null on 404 for GET by id', () => {
  it.each(['getApplication', 'getServicePrincipal', 'getApplicationTemplate'] as const)('%s', async (m) => {
    const { graph } = client();
    on('GET', () => true, 404, graphError('Request_ResourceNotFound', 'not found'));
    expect(await graph[m]('x')).toBeNull();
  });
  it('getSynchronizationJob', async () => {
    const { graph } = client();
    on('GET', '/servicePrincipals/sp/synchronization/jobs/j', 404, graphError('NotFound', 'x'));
    expect(await graph.getSynchronizationJob('sp', 'j')).toBeNull();
  });
});

describe('throttling', () => {
  it('429 with Retry-After: pauses the tenant BEFORE throwing, no inline retry', async () => {
    const { graph, pauses } = client();
    on('GET', '/servicePrincipals/sp', 429, graphError('TooManyRequests', 'slow down'), { 'retry-after': '7' });
    const err = await rejection(graph.getServicePrincipal('sp'));
    expect(err.errorClass).toBe('throttled');
    expect(err.details.retryAfterMs).toBe(7000);
    expect(err.details.requestId).toBe('req-1');
    expect(err.details.clientRequestId).toMatch(UUID);
    expect(err.message).toContain('req-1');
    // Paused from the headers, before the body was read (once: the full answer says no longer).
    expect(pauses).toEqual([{ tenantId: TENANT, ms: 7000, reason: expect.stringContaining('429') }]);
    expect(err.details.throttleScope).toBe('tenant');
    expect(log).toEqual(['acquire', 'http 429', 'pause']);
    expect(seen).toHaveLength(1);
    expect(events[0]).toMatchObject({ status: 429, throttled: true });
  });

  it('429 without Retry-After: pauses for a backoff (≥ 1 s)', async () => {
    const { graph, pauses } = client();
    on('GET', '/servicePrincipals/sp', 429, graphError('TooManyRequests', 'x'));
    const err = await rejection(graph.getServicePrincipal('sp'));
    expect(err.errorClass).toBe('throttled');
    expect(err.details.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(pauses[0]!.ms).toBe(err.details.retryAfterMs);
  });

  it('429 with Retry-After: 0 throws throttled without a pause', async () => {
    const { graph, pauses } = client();
    on('GET', '/servicePrincipals/sp', 429, graphError('TooManyRequests', 'x'), { 'retry-after': '0' });
    const err = await rejection(graph.getServicePrincipal('sp'));
    expect(err.details.retryAfterMs).toBe(0);
    expect(pauses[0]!.ms).toBe(0);
  });

  it('503 with Retry-After is throttled for that request only: no tenant pause; the same request is held, others go out', async () => {
    const { graph, pauses, acquired, holdsSet } = client();
    on('GET', '/servicePrincipals/a', 503, graphError('serviceNotAvailable', 'x'), { 'retry-after': '2' });
    on('GET', '/servicePrincipals/b', 503, graphError('serviceNotAvailable', 'x'));
    on('GET', '/servicePrincipals/c', 200, { id: 'c', appId: 'c-app' });
    const a = await rejection(graph.getServicePrincipal('a'));
    expect(a.errorClass).toBe('throttled');
    expect(a.details.throttleScope).toBe('request');
    expect(a.details.retryAfterMs).toBe(2000);
    expect((await rejection(graph.getServicePrincipal('b'))).errorClass).toBe('transient');
    expect(pauses).toHaveLength(0);
    // The hold is recorded for every process (once, from the headers), keyed by method and URL.
    expect(holdsSet).toEqual([{ requestKey: `GET ${ORIGIN}/beta/servicePrincipals/a`, ms: 2000 }]);
    // Repeating the held request inside its Retry-After is refused before the limiter or the wire.
    const before = acquired.length;
    const held = await rejection(graph.getServicePrincipal('a'));
    expect(held.errorClass).toBe('throttled');
    expect(held.code).toBe('RequestHeld');
    expect(held.details.retryAfterMs).toBeGreaterThan(1500);
    expect(acquired.length).toBe(before);
    expect(seen.map((x) => x.path)).toEqual(['/beta/servicePrincipals/a', '/beta/servicePrincipals/b']);
    // Another request of the same tenant is not held back.
    expect(await graph.getServicePrincipal('c')).toMatchObject({ id: 'c' });
  });

  it("the hold is per request body too: another instance's instantiate (same URL) goes out", async () => {
    const { graph } = client();
    const path = '/applicationTemplates/tpl/instantiate';
    on('POST', path, 503, graphError('serviceNotAvailable', 'x'), { 'retry-after': '2' });
    on('POST', path, 201, {
      application: { objectId: 'o2', appId: 'a2' },
      servicePrincipal: { objectId: 's2', appId: 'a2' },
    });
    expect((await rejection(graph.instantiateApplication('tpl', 'First'))).details.throttleScope).toBe('request');
    expect(await graph.instantiateApplication('tpl', 'Second')).toMatchObject({ applicationObjectId: 'o2' });
    expect((await rejection(graph.instantiateApplication('tpl', 'First'))).code).toBe('RequestHeld');
    expect(seen.map((x) => (x.body as { displayName: string }).displayName)).toEqual(['First', 'Second']);
  });

  it('503 with Retry-After and x-ms-throttle-scope is a tenant throttle: the tenant is paused', async () => {
    const { graph, pauses } = client();
    on('GET', '/servicePrincipals/a', 503, graphError('serviceNotAvailable', 'x'), {
      'retry-after': '3',
      'x-ms-throttle-scope': 'Tenant_Application/ReadWrite/app/tenant',
    });
    const err = await rejection(graph.getServicePrincipal('a'));
    expect(err.details.throttleScope).toBe('tenant');
    expect(pauses.map((p) => p.ms)).toEqual([3000]);
  });

  it('a grant too old for a nearly full quota window is released unsent and asked for again', async () => {
    const { graph, acquired, released, lateGrants } = client();
    on('POST', '/servicePrincipals/sp/synchronization/jobs/j/start', 204, '');
    // Every grant is already past its tolerance: each is released, none reaches the wire.
    lateGrants(true);
    await expect(graph.startSynchronizationJob('sp', 'j')).rejects.toBeInstanceOf(RateLimitedError);
    expect(seen).toHaveLength(0);
    expect(released.length).toBe(acquired.length);
    expect(released.length).toBeGreaterThan(1);
    // Fresh grants: the same call goes out once and releases nothing more.
    lateGrants(false);
    const before = released.length;
    await graph.startSynchronizationJob('sp', 'j');
    expect(seen).toHaveLength(1);
    expect(released.length).toBe(before);
  });

  it('an identical request waiting on the limiter when the first gets its 503 is not sent after it', async () => {
    const { graph, gateNextAcquire } = client();
    on('GET', '/servicePrincipals/a', 503, graphError('serviceNotAvailable', 'x'), { 'retry-after': '2' });
    on('GET', '/servicePrincipals/a', 200, { id: 'a', appId: 'a-app' });
    // Another job's identical GET passes the hold check (nothing held yet) and waits on the limiter…
    const openGate = gateNextAcquire();
    const second = graph.getServicePrincipal('a');
    await new Promise((r) => setTimeout(r, 0));
    // …while this one goes out and is answered 503 with Retry-After.
    expect((await rejection(graph.getServicePrincipal('a'))).details.throttleScope).toBe('request');
    openGate();
    const held = await rejection(second);
    expect(held.code).toBe('RequestHeld');
    expect(held.details.retryAfterMs).toBeGreaterThan(1500);
    expect(seen).toHaveLength(1);
  });

  it('a request another process heard is held (the broadcast) is refused as RequestHeld, unsent; others go out', async () => {
    const { graph, heldElsewhere } = client();
    on('GET', '/servicePrincipals/b', 200, { id: 'b', appId: 'b-app' });
    heldElsewhere.set(`GET ${ORIGIN}/beta/servicePrincipals/a`, 1200);
    const err = await rejection(graph.getServicePrincipal('a'));
    expect(err.code).toBe('RequestHeld');
    expect(err.details.retryAfterMs).toBe(1200);
    expect(await graph.getServicePrincipal('b')).toMatchObject({ id: 'b' });
    expect(seen.map((x) => x.path)).toEqual(['/beta/servicePrincipals/b']);
  });

  it('a request another process was told to hold (the limiter says hold) is refused as RequestHeld, unsent', async () => {
    const { graph, failWith } = client();
    failWith(new RateLimitedError(TENANT, 1500, 'hold'));
    const err = await rejection(graph.getServicePrincipal('a'));
    expect(err.code).toBe('RequestHeld');
    expect(err.details).toMatchObject({ errorClass: 'throttled', throttleScope: 'request', retryAfterMs: 1500 });
    expect(seen).toHaveLength(0);
  });

  it('a limiter deferral (RateLimitedError) propagates and nothing is sent', async () => {
    const { graph, failWith } = client();
    failWith(new RateLimitedError(TENANT, 5000, 'write'));
    await expect(graph.startSynchronizationJob('sp', 'j')).rejects.toBeInstanceOf(RateLimitedError);
    expect(seen).toHaveLength(0);
  });
});

describe('401', () => {
  it('retries once with a fresh token', async () => {
    const { graph, tokens, acquired } = client();
    on('GET', '/servicePrincipals/sp', 401, graphError('InvalidAuthenticationToken', 'expired'));
    on('GET', '/servicePrincipals/sp', 200, { id: 'sp', appId: 'a' });
    expect(await graph.getServicePrincipal('sp')).toMatchObject({ id: 'sp' });
    expect(tokens.calls).toEqual([{ forceRefresh: false }, { forceRefresh: true }]);
    expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer tok-0', 'Bearer tok-1']);
    expect(acquired).toHaveLength(2);
  });
  it('a second 401 is permanent', async () => {
    const { graph } = client();
    on('GET', '/servicePrincipals/sp', 401, graphError('InvalidAuthenticationToken', 'no'));
    on('GET', '/servicePrincipals/sp', 401, graphError('InvalidAuthenticationToken', 'no'));
    const err = await rejection(graph.getServicePrincipal('sp'));
    expect(err.errorClass).toBe('permanent');
    expect(err.status).toBe(401);
    expect(seen).toHaveLength(2);
  });
});

describe('errors are actionable and secret-free', () => {
  it('validateCredentials 400: permanent, Graph reason kept, echoed secret redacted, token absent', async () => {
    const { graph } = client();
    on(
      'POST',
      '/servicePrincipals/sp/synchronization/jobs/j/validateCredentials',
      400,
      graphError('BadRequest', 'Credentials invalid: token sup3r-s3cret was rejected by https://scim.example'),
    );
    const err = await rejection(
      graph.validateCredentials('sp', 'j', [
        { key: 'BaseAddress', value: 'https://scim.example' },
        { key: 'SecretToken', value: 'sup3r-s3cret' },
      ]),
    );
    expect(err.errorClass).toBe('permanent');
    expect(err.code).toBe('BadRequest');
    expect(err.message).toMatch(
      /^Graph 400 BadRequest on POST \/servicePrincipals\/sp\/synchronization\/jobs\/j\/validateCredentials: Credentials invalid/,
    );
    expect(err.message).toContain('request-id req-1');
    expect(err.message).not.toContain('sup3r-s3cret');
    expect(err.message).not.toContain('tok-0');
    expect(seen[0]!.body).toMatchObject({
      useSavedCredentials: false,
      credentials: [{ key: 'BaseAddress' }, { key: 'SecretToken' }],
    });
  });

  it('403 outside a replication window is permanent', async () => {
    const { graph } = client();
    on(
      'PUT',
      '/servicePrincipals/sp/synchronization/secrets',
      403,
      graphError('Authorization_RequestDenied', 'Insufficient privileges'),
    );
    // A very short value ('v', 'true') is not scrubbed: it would mangle every message it appears in.
    const err = await rejection(
      graph.saveSecrets('sp', [
        { key: 'SyncAll', value: 'v' },
        { key: 'SecretToken', value: 'Insufficient' },
      ]),
    );
    expect(err.errorClass).toBe('permanent');
    expect(err.message).toContain('on PUT /servicePrincipals/sp/synchronization/secrets: [REDACTED] privileges');
  });

  it('a response that does not match the schema is permanent and names the field', async () => {
    const { graph } = client();
    on('GET', (p) => p.startsWith('/beta/servicePrincipals?'), 200, { value: [{ id: 'x', appId: 42 }] });
    const err = await rejection(graph.findServicePrincipalsByAppId('a'));
    expect(err.errorClass).toBe('permanent');
    expect(err.code).toBe('SchemaMismatch');
    expect(err.message).toContain('value[0].appId');
  });

  it('a 5xx with a non-JSON body is transient', async () => {
    const { graph } = client();
    on('GET', '/servicePrincipals/sp', 502, '<html>bad gateway</html>', { 'content-type': 'text/html' });
    const err = await rejection(graph.getServicePrincipal('sp'));
    expect(err.errorClass).toBe('transient');
    expect(err.code).toBeNull();
  });
});

describe('network failures', () => {
  it('timeout → transient GraphError with status null', async () => {
    const { graph } = client({ requestTimeoutMs: 50 });
    agent
      .get(ORIGIN)
      .intercept({ method: 'GET', path: '/beta/servicePrincipals/sp' })
      .reply(200, { id: 'sp', appId: 'a' })
      .delay(500);
    const err = await rejection(graph.getServicePrincipal('sp'));
    expect(err.errorClass).toBe('transient');
    expect(err.status).toBeNull();
    expect(err.message).toContain('timed out after 50 ms');
    expect(events[0]).toMatchObject({ status: null });
  });

  it('connection reset → transient', async () => {
    const { graph } = client();
    agent
      .get(ORIGIN)
      .intercept({ method: 'GET', path: '/beta/servicePrincipals/sp' })
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const err = await rejection(graph.getServicePrincipal('sp'));
    expect(err.errorClass).toBe('transient');
    expect(err.code).toBe('ECONNRESET');
  });
});

describe('paging', () => {
  it('list calls follow @odata.nextLink as an opaque absolute URL', async () => {
    const { graph, acquired } = client();
    const next = `${BASE}/servicePrincipals/sp/synchronization/jobs?$skiptoken=opaque%27%20token`;
    on('GET', '/servicePrincipals/sp/synchronization/jobs', 200, {
      value: [{ id: 'j1', templateId: 't' }],
      '@odata.nextLink': next,
    });
    on('GET', (p) => new URL(`${ORIGIN}${p}`).searchParams.get('$skiptoken') === "opaque' token", 200, {
      value: [{ id: 'j2', templateId: 't' }],
    });
    const jobs = await graph.listSynchronizationJobs('sp');
    expect(jobs.map((j) => j.id)).toEqual(['j1', 'j2']);
    expect(acquired).toHaveLength(2);
  });

  it('listProvisioningLogs returns one page and its nextLink; builds jobId/since filter', async () => {
    const { graph } = client();
    const next = `${BASE}/auditLogs/provisioning?$skiptoken=abc`;
    on('GET', (p) => new URL(`${ORIGIN}${p}`).searchParams.has('$filter'), 200, {
      value: [{ id: 'l1', activityDateTime: '2025-01-01T00:00:01Z', jobId: "j'1" }],
      '@odata.nextLink': next,
    });
    const page = await graph.listProvisioningLogs({ jobId: "j'1", since: '2025-01-01T00:00:00Z', top: 50 });
    expect(page.items).toHaveLength(1);
    expect(page.nextLink).toBe(next);
    const q = new URL(`${ORIGIN}${seen[0]!.path}`).searchParams;
    expect(q.get('$filter')).toBe("jobId eq 'j''1' and activityDateTime gt 2025-01-01T00:00:00Z");
    expect(q.get('$top')).toBe('50');
    on('GET', (p) => new URL(`${ORIGIN}${p}`).searchParams.get('$skiptoken') === 'abc', 200, { value: [] });
    const last = await graph.listProvisioningLogs({ jobId: "j'1", nextLink: page.nextLink });
    expect(last).toEqual({ items: [], nextLink: null });
  });

  it('refuses a nextLink to another origin (the bearer token stays with Graph)', async () => {
    const { graph } = client();
    const err = await rejection(
      graph.listProvisioningLogs({ jobId: 'j', nextLink: 'https://evil.example/beta/auditLogs/provisioning' }),
    );
    expect(err.errorClass).toBe('permanent');
    expect(seen).toHaveLength(0);
  });
});

describe('sync jobs', () => {
  it.each([200, 201])('createSynchronizationJob accepts %d', async (status) => {
    const { graph } = client();
    on('POST', '/servicePrincipals/sp/synchronization/jobs', status, { id: 'j', templateId: 'scim' });
    expect(await graph.createSynchronizationJob('sp', 'scim')).toMatchObject({ id: 'j' });
    expect(seen[0]!.body).toEqual({ templateId: 'scim' });
  });
  it('restart sends criteria.resetScope', async () => {
    const { graph } = client();
    on('POST', '/servicePrincipals/sp/synchronization/jobs/j/restart', 204);
    await graph.restartSynchronizationJob('sp', 'j', 'ForceDeletes');
    expect(seen[0]!.body).toEqual({ criteria: { resetScope: 'ForceDeletes' } });
  });
  it('saveSecrets PUTs {value:[…]}', async () => {
    const { graph } = client();
    on('PUT', '/servicePrincipals/sp/synchronization/secrets', 204);
    await graph.saveSecrets('sp', [{ key: 'BaseAddress', value: 'https://x' }]);
    expect(seen[0]!.body).toEqual({ value: [{ key: 'BaseAddress', value: 'https://x' }] });
  });
});
