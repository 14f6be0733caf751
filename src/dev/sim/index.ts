/**
 * The Graph simulator: HTTPS with its own CA, Entra's client-credentials sign-in, the Graph
 * endpoints provflow uses, Microsoft's throttling model, replication lag and seeded faults.
 * Runs in-process (`startSimulator`), as `provflow simulate`, or as `src/dev/sim/main.ts`.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { handleGraph, costOf } from './graph-routes.ts';
import { readBody, requestIds, sendGraphError, sendJson, type SimContext } from './http.ts';
import { SeededRandom } from './prng.ts';
import { QuotaModel, type BlockKind, type ViolationInfo } from './quota.ts';
import { applyOverrides, resolveSettings, type SimProfile, type SimulatorSettings } from './settings.ts';
import { SimState, type SimStats } from './state.ts';
import { getTlsMaterial } from './tls.ts';
import { renderJob } from './job-status.ts';
import { handleDayTwoControl, stageDeletes } from './routes/control.ts';
import { settleWatched } from './settle.ts';
import { SIM_GROUPS, SIM_USERS } from './seed-directory.ts';

export type { SimProfile, SimulatorSettings, SimStats };
export { SIM_GROUPS, SIM_USERS } from './seed-directory.ts';
export { AWS_IMPORTED_ROLE_NAMES, DEFAULT_ACCESS_ROLE_ID } from './app-roles.ts';

export interface SimulatorOptions {
  port?: number;
  host?: string;
  profile?: SimProfile;
  seed?: number;
  /** > 1 compresses every simulated duration (quota windows, lag, latency, cycles). */
  timeScale?: number;
  overrides?: Partial<SimulatorSettings>;
  /** Extra DNS names for the certificate (e.g. a compose service name). */
  hostnames?: string[];
  /** Where to write the CA certificate (default: a fresh temp dir). */
  caCertPath?: string;
  /** Fixed identities (a compose trial shares them with the workers); random per seed otherwise. */
  identity?: { tenantId?: string; clientId?: string; clientSecret?: string };
  /**
   * More tenants besides the first, each with its own app registration, directory, quotas and
   * counters (selected by the tenant in the token URL, then by the token); seeded ids when not given.
   */
  tenants?: SimTenantOptions[];
  /**
   * Serve the token-less `/_sim/*` control endpoints (stats, settings, configure, reset). On by
   * default in-process (tests); `provflow simulate` turns it on only with `--control`. Either way
   * they answer only on loopback connections: never to another host.
   */
  control?: boolean;
}

/** One more simulated tenant; `overrides` change its settings only (e.g. its quota, a 429 storm). */
export interface SimTenantOptions {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  overrides?: Partial<SimulatorSettings>;
}

/** A simulated tenant's identity (what a tenants file needs). */
export interface SimTenantIdentity {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

export interface SimulatorHandle {
  graphBaseUrl: string;
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  caCertPath: string;
  caCertPem: string;
  profile: SimProfile;
  seed: number;
  timeScale: number;
  settings: SimulatorSettings;
  /** Whether `/_sim/*` is served (on loopback connections only). */
  control: boolean;
  /** The seeded users and groups' ids (the same in every simulator; docs/simulator-onboarding.md). */
  directory: { users: typeof SIM_USERS; groups: typeof SIM_GROUPS };
  stats(): SimStats;
  /** Every tenant, the first one (tenantId, clientId, clientSecret above) first. */
  tenants: SimTenantIdentity[];
  /** One tenant's counters (stats() is the first tenant's). */
  statsOf(tenantId: string): SimStats;
  /** Changes one tenant's settings only (e.g. its quota or a 429 storm). */
  configureTenant(tenantId: string, overrides: Partial<SimulatorSettings>): void;
  /** Access tokens issued so far (tests check they never leak into Redis, logs or the board). */
  issuedTokens(): string[];
  configure(overrides: Partial<SimulatorSettings>): void;
  /** The simulated calendar: `now()` (ms), `advance(simMs)`, `set(ms)`; `/_sim/clock` over HTTP. */
  clock(): SimState['clock'];
  /** Stage deletions on an instance's job for its next cycle (as `POST /_sim/deletes`). */
  stageDeletes(o: {
    jobId?: string;
    servicePrincipalId?: string;
    displayName?: string;
    count: number;
    threshold?: number;
  }): {
    jobId: string;
  };
  reset(): void;
  close(): Promise<void>;
}

interface SimTenant extends SimTenantIdentity {
  state: SimState;
  quota: QuotaModel;
  overrides: Partial<SimulatorSettings>;
  settings: () => SimulatorSettings;
  reconfigure?: () => void;
}

interface Token {
  appId: string;
  tenantId: string;
  expiresAt: number;
}

/** Whether a connection's local address is loopback (127/8, ::1, or IPv4-mapped 127/8). */
export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  const a = addr.replace(/^::ffff:/i, '');
  return a === '::1' || /^127\./.test(a);
}

/** Scopes a client-credentials token may ask for: Graph's `/.default`, by URL or by app id. */
const GRAPH_SCOPES = new Set(['https://graph.microsoft.com/.default', '00000003-0000-0000-c000-000000000000/.default']);

/** How often the simulator notes that its event loop turned (ms). */
const LOOP_TICK_MS = 5;
/** A tick later than this (beyond its period) is a stall: the loop could not read its sockets. */
const STALL_MIN_MS = 20;

export async function startSimulator(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const profile = opts.profile ?? 'fast';
  const seed = opts.seed ?? 1;
  const timeScale = opts.timeScale ?? 1;
  let settings = resolveSettings(profile, timeScale, opts.overrides);
  const control = opts.control ?? true;
  const random = new SeededRandom(seed);
  // Identity of the simulated tenant and of provflow's app registration in it (seeded: replayable).
  const tenantId = opts.identity?.tenantId ?? new SeededRandom(seed + 1).uuid();
  const clientId = opts.identity?.clientId ?? new SeededRandom(seed + 2).uuid();
  const clientSecret = opts.identity?.clientSecret ?? `sim-secret-${randomBytes(12).toString('base64url')}`;
  const state = new SimState(tenantId, random, () => settings, timeScale);
  const quota = new QuotaModel(() => settings);
  // Every tenant by id: the first uses the global settings, the others those plus their own overrides.
  const primary: SimTenant = {
    tenantId,
    clientId,
    clientSecret,
    state,
    quota,
    overrides: {},
    settings: () => settings,
  };
  const tenantsById = new Map<string, SimTenant>([[tenantId.toLowerCase(), primary]]);
  (opts.tenants ?? []).forEach((o, i) => {
    const id = o.tenantId ?? new SeededRandom(seed + 101 + 2 * i).uuid();
    let cached: { base: SimulatorSettings; merged: SimulatorSettings } | null = null;
    const own = (): SimulatorSettings => {
      if (cached?.base !== settings) cached = { base: settings, merged: applyOverrides(settings, t.overrides) };
      return cached.merged;
    };
    const t: SimTenant = {
      tenantId: id,
      clientId: o.clientId ?? new SeededRandom(seed + 102 + 2 * i).uuid(),
      clientSecret: o.clientSecret ?? `sim-secret-${randomBytes(12).toString('base64url')}`,
      state: new SimState(id, new SeededRandom(seed * 1000 + i + 7), own, timeScale),
      quota: new QuotaModel(own),
      overrides: o.overrides ?? {},
      settings: own,
    };
    t.reconfigure = () => (cached = null);
    tenantsById.set(id.toLowerCase(), t);
  });
  // When this process's event loop last turned (a timer ran), and the last stall it noticed (a
  // tick that came late). A request read during a stall, or in the backlog just after one, may
  // have arrived any time since the stall began: the simulator, not the caller, was late.
  let loopTurnedAt = Date.now();
  // Set when a late tick reveals a stall, cleared in the same loop turn's check phase: requests
  // read in between were read by the poll phase right after the stall — its backlog.
  let backlogOf: { from: number; to: number } | null = null;
  const loopTick = setInterval(() => {
    const now = Date.now();
    if (now - loopTurnedAt > LOOP_TICK_MS + STALL_MIN_MS) {
      backlogOf = { from: loopTurnedAt + LOOP_TICK_MS, to: now };
      setImmediate(() => {
        backlogOf = null;
      });
    }
    loopTurnedAt = now;
  }, LOOP_TICK_MS);
  loopTick.unref();
  /** The earliest moment a request read now can have arrived, and how long the loop stalled before it. */
  const earliestArrivalOf = (readAt: number): { earliest: number; stallMs: number } => {
    // Stalled inside this turn (timers have not run since): anything read now may be that old.
    if (readAt - loopTurnedAt > LOOP_TICK_MS + STALL_MIN_MS)
      return { earliest: loopTurnedAt, stallMs: readAt - loopTurnedAt };
    if (backlogOf) return { earliest: backlogOf.from, stallMs: backlogOf.to - backlogOf.from };
    return { earliest: readAt, stallMs: 0 };
  };
  const tokens = new Map<string, Token>();
  /** Ids of the throttles (429 blocks, 503 holds) whose answers each connection has carried. */
  const socketTold = new WeakMap<object, Set<number>>();
  const faults = new SeededRandom(seed + 3);

  const tls = getTlsMaterial(opts.hostnames ?? []);
  const caCertPath = opts.caCertPath ?? path.join(mkdtempSync(path.join(os.tmpdir(), 'provflow-sim-')), 'ca.pem');
  writeFileSync(caCertPath, tls.caCertPem);

  let origin = '';

  const stats = (t: SimTenant = primary): SimStats => {
    const now = Date.now();
    const { state } = t;
    settleWatched(state, now);
    const jobsByCode: Record<string, number> = {};
    for (const j of state.jobs.values()) {
      const code = String(renderJob(j, t.settings(), now).status.code);
      jobsByCode[code] = (jobsByCode[code] ?? 0) + 1;
    }
    return {
      ...structuredClone(state.stats),
      applications: state.apps.size,
      servicePrincipals: state.sps.size,
      jobsByCode,
    };
  };

  function identities(): SimTenantIdentity[] {
    return [...tenantsById.values()].map(({ tenantId, clientId, clientSecret }) => ({
      tenantId,
      clientId,
      clientSecret,
    }));
  }
  function configureTenant(t: SimTenant, overrides: Partial<SimulatorSettings>): void {
    if (t === primary) settings = applyOverrides(settings, overrides);
    else {
      t.overrides = { ...t.overrides, ...overrides };
      t.reconfigure?.();
    }
  }
  function resetAll(): void {
    for (const t of tenantsById.values()) {
      t.state.reset();
      t.quota.reset();
    }
  }

  async function entra(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const origin = url.origin;
    const m =
      /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token|discovery\/instance|discovery\/v2\.0\/keys)$/.exec(
        url.pathname,
      );
    if (!m) return false;
    const tenant = m[1]!;
    if (m[2]!.startsWith('v2.0/.well-known')) {
      sendJson(res, 200, {
        token_endpoint: `${origin}/${tenant}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: `${origin}/${tenant}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${origin}/${tenant}/v2.0`,
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${origin}/oidc/userinfo`,
        authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${origin}/${tenant}/oauth2/v2.0/logout`,
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid'],
        tenant_region_scope: 'EU',
        cloud_instance_name: 'microsoftonline.com',
        cloud_graph_host_name: 'graph.windows.net',
        msgraph_host: 'graph.microsoft.com',
      });
      return true;
    }
    if (m[2] === 'discovery/v2.0/keys') {
      sendJson(res, 200, { keys: [] });
      return true;
    }
    if (m[2] === 'discovery/instance') {
      const host = new URL(origin).host;
      sendJson(res, 200, {
        tenant_discovery_endpoint: `${origin}/${tenant}/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
      });
      return true;
    }
    // Token endpoint: client credentials with a secret or a client assertion (certificate).
    if (req.method !== 'POST') return false;
    const form = new URLSearchParams(await readBody(req));
    const entraError = (status: number, error: string, code: number, description: string) =>
      sendJson(res, status, {
        error,
        error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
        error_codes: [code],
        timestamp: new Date().toISOString(),
        trace_id: randomUUID(),
        correlation_id: randomUUID(),
      });
    if (form.get('grant_type') !== 'client_credentials') {
      entraError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
      return true;
    }
    // The tenant in the URL picks the directory and its app registration: another tenant's
    // client id or secret is refused here, as Entra would.
    const tn = tenantsById.get(tenant.toLowerCase());
    if (!tn) {
      entraError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`);
      return true;
    }
    const { clientId, clientSecret, tenantId } = tn;
    // client_secret_basic (advertised by discovery): id and secret, each form-encoded, in Basic auth.
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
    let basicId: string | null = null;
    let basicSecret: string | null = null;
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const dec = (v: string) => {
        try {
          return decodeURIComponent(v.replace(/\+/g, ' '));
        } catch {
          return v;
        }
      };
      if (colon > 0) {
        basicId = dec(decoded.slice(0, colon));
        basicSecret = dec(decoded.slice(colon + 1));
      }
    }
    const requestedClient = form.get('client_id') ?? basicId;
    if (requestedClient !== clientId || (basicId !== null && basicId !== requestedClient)) {
      const what = `Application with identifier '${requestedClient}' was not found in the directory.`;
      entraError(400, 'unauthorized_client', 700016, what);
      return true;
    }
    // Client credentials need a resource's /.default scope; only Graph is known here.
    const scope = form.get('scope');
    if (!scope || !GRAPH_SCOPES.has(scope.trim())) {
      entraError(
        400,
        'invalid_scope',
        70011,
        `The provided value for the input parameter 'scope' is not valid. The scope ${scope ?? ''} is not valid.`,
      );
      return true;
    }
    const assertion = form.get('client_assertion');
    if (assertion) {
      const payload = (() => {
        try {
          return JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString()) as {
            iss?: string;
            sub?: string;
            exp?: number;
          };
        } catch {
          return null;
        }
      })();
      if (!payload || payload.iss !== clientId || payload.sub !== clientId) {
        entraError(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
        return true;
      }
    } else if (
      (form.get('client_secret') ?? basicSecret) !== clientSecret ||
      (basicSecret !== null && form.get('client_secret') !== null)
    ) {
      entraError(
        401,
        'invalid_client',
        7000215,
        'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.',
      );
      return true;
    }
    const roles = settings.tokenRoles ?? SIM_TOKEN_ROLES;
    const token = simAccessToken({ tenantId, appId: clientId, roles, lifetimeSec: settings.tokenLifetimeSec });
    tokens.set(token, { appId: clientId, tenantId, expiresAt: Date.now() + settings.tokenLifetimeSec * 1000 });
    tn.state.stats.tokensIssued++;
    sendJson(res, 200, {
      token_type: 'Bearer',
      expires_in: settings.tokenLifetimeSec,
      ext_expires_in: settings.tokenLifetimeSec,
      access_token: token,
    });
    return true;
  }

  async function simControl(req: IncomingMessage, res: ServerResponse, sub: string): Promise<void> {
    // ?tenant=ID: that tenant's counters or settings (the first tenant's without it).
    const sel = new URL(req.url ?? '/', 'https://x').searchParams.get('tenant');
    const picked = sel ? tenantsById.get(sel.toLowerCase()) : primary;
    if (!picked) return sendJson(res, 404, { error: `no simulated tenant ${sel}` });
    if (sub === 'stats' && req.method === 'GET') return sendJson(res, 200, stats(picked));
    if (sub === 'tenants' && req.method === 'GET') return sendJson(res, 200, identities());
    if (sel && sub === 'configure' && req.method === 'POST') {
      const overrides = JSON.parse((await readBody(req)) || '{}') as Partial<SimulatorSettings>;
      configureTenant(picked, overrides);
      return sendJson(res, 200, picked.settings());
    }
    if (sub === 'settings' && req.method === 'GET') return sendJson(res, 200, settings);
    if (sub === 'configure' && req.method === 'POST') {
      let overrides: Partial<SimulatorSettings>;
      try {
        overrides = JSON.parse((await readBody(req)) || '{}') as Partial<SimulatorSettings>;
      } catch {
        return sendJson(res, 400, { error: 'the body must be JSON: a partial of the settings' });
      }
      settings = applyOverrides(settings, overrides);
      return sendJson(res, 200, settings);
    }
    if (await handleDayTwoControl(state, req, res, sub)) return;
    if (sub === 'reset' && req.method === 'POST') {
      resetAll();
      return sendJson(res, 200, { reset: true });
    }
    sendJson(res, 404, { error: `unknown /_sim/${sub}` });
  }

  async function graph(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    apiVersion: string,
    subPath: string,
  ): Promise<void> {
    // Arrival is taken before anything else: the moment the caller's request reached us — as far
    // as this loop can tell. If the loop had not turned for a while, the request may have been
    // waiting in the socket since the last turn; Retry-After is judged on that earliest moment.
    const arrivedAt = Date.now();
    // The caller's tenant (from its token) owns the directory, quotas, settings and counters used below.
    const auth = req.headers.authorization ?? '';
    const token = tokens.get(auth.replace(/^Bearer\s+/i, ''));
    const tn = (token && tenantsById.get(token.tenantId.toLowerCase())) || primary;
    const { state, quota } = tn;
    const settings = tn.settings();
    const { earliest: earliestArrival, stallMs: simStallMs } = earliestArrivalOf(arrivedAt);
    if (simStallMs > state.stats.maxSimStallMs) state.stats.maxSimStallMs = simStallMs;
    const ids = requestIds(req);
    const rawBody = req.method === 'GET' ? '' : await readBody(req);
    // Graph reads JSON only, declared as such: anything else is a 400 (checked after auth and quota).
    let body: unknown;
    let bodyProblem: string | null = null;
    if (rawBody.trim()) {
      const type = String(req.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase();
      if (type !== 'application/json') bodyProblem = `Content-Type must be application/json (got '${type || 'none'}').`;
      else {
        try {
          body = JSON.parse(rawBody);
        } catch (e) {
          bodyProblem = `The request body is not valid JSON: ${(e as Error).message}.`;
        }
      }
    }
    const method = req.method ?? 'GET';
    const cost = costOf(method, subPath);
    const ctx: SimContext = {
      req,
      res,
      method,
      url,
      path: subPath.replace(/\/+$/, ''),
      apiVersion,
      body,
      rawBody,
      ...ids,
      arrivedAt,
      caller: null,
      resourceUnits: cost.ru,
      extraHeaders: {},
    };
    const s = state.stats;
    s.requests++;
    s.byRoute[cost.route] = (s.byRoute[cost.route] ?? 0) + 1;
    if (cost.reports) s.reportsRequests++;
    const finish = (status: number) => {
      s.byStatus[String(status)] = (s.byStatus[String(status)] ?? 0) + 1;
    };
    res.once('finish', () => finish(res.statusCode));

    if (!token || token.expiresAt < Date.now()) {
      const authority = `${url.origin}/${tenantId}/oauth2/authorize`;
      const graphAppId = '00000003-0000-0000-c000-000000000000';
      const wwwAuth = `Bearer realm="", authorization_uri="${authority}", client_id="${graphAppId}"`;
      const why = token ? 'Lifetime validation failed, the token is expired.' : 'Access token is empty or invalid.';
      sendGraphError(ctx, 401, 'InvalidAuthenticationToken', why, { headers: { 'WWW-Authenticate': wwwAuth } });
      return;
    }
    ctx.caller = { appId: token.appId, tenantId: token.tenantId };

    const callerKey = `${token.appId}/${token.tenantId}`;
    // "The request" a 503 holds: method, URL and body (another instance's instantiate is another request).
    const requestKey = `${callerKey} ${method} ${url.pathname}${url.search}${rawBody ? ` ${createHash('sha1').update(rawBody).digest('base64url')}` : ''}`;
    // Which process sent it (provflow's client names its pid): tells a violation by the process
    // that was answered apart from one by a process that had to hear of it.
    const who = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 120) : null;
    // What throttling answers this connection has carried: with keep-alive and no pipelining, a
    // request that follows one on the same connection was sent after its caller read it.
    const sock = req.socket;
    const toldOnSocket = (id: number) => socketTold.get(sock)?.has(id) === true;
    const markSocket = (id: number) =>
      res.once('finish', () => {
        let set = socketTold.get(sock);
        if (!set) socketTold.set(sock, (set = new Set()));
        if (set.size > 64) set.clear();
        set.add(id);
      });
    const recordViolation = (kind: 'tenant' | 'request', v: ViolationInfo) => {
      s.retryAfterViolations++;
      s.violationsByKind[kind]++;
      if (s.violations.length < 50) {
        s.violations.push({
          route: cost.route,
          kind,
          sinceToldMs: v.sinceToldMs,
          untilFreeMs: v.untilFreeMs,
          clientRequestId: ctx.clientRequestId ?? null,
          who,
          toldWho: v.toldWho,
          simStallMs,
        });
      }
    };
    const noteRefusal = (violation: boolean) => {
      if (quota.lastExcused) s.lateReadsExcused++;
      if (!violation && quota.lastInFlight) s.inFlightRefused++;
    };
    /** A 429 for throttle `blockId`; when it set that throttle, its grace starts once it has left. */
    const send429 = (d: {
      retryAfterSec: number;
      scope: string;
      info: string;
      kind: BlockKind;
      blockId: number;
      fresh: boolean;
      ruPercent?: number;
    }) => {
      s.throttled++;
      s.throttledByRoute[cost.route] = (s.throttledByRoute[cost.route] ?? 0) + 1;
      if (d.fresh) res.once('finish', () => quota.delivered(callerKey, d.kind, d.blockId, Date.now(), who));
      markSocket(d.blockId);
      const headers: Record<string, string> = {
        'Retry-After': String(d.retryAfterSec),
        'x-ms-throttle-scope': d.scope,
        'x-ms-throttle-information': d.info,
      };
      // Above the limit the percentage exceeds 1 (Microsoft: "can be greater than 1").
      if (d.ruPercent !== undefined && d.ruPercent >= 80) {
        headers['x-ms-throttle-limit-percentage'] = String(d.ruPercent / 100);
      }
      sendGraphError(ctx, 429, 'TooManyRequests', 'Too many requests.', { innerCode: '429', headers });
    };
    /** A 503 holding this request (method, URL, body) for `retryAfterSec`. */
    const send503Hold = (at: number, retryAfterSec: number) => {
      const id = quota.tellRequest(requestKey, at, retryAfterSec, who);
      res.once('finish', () => quota.deliveredRequest(requestKey, Date.now(), who, id));
      markSocket(id);
      sendGraphError(ctx, 503, 'ServiceUnavailable', 'The service is temporarily unavailable.', {
        headers: { 'Retry-After': String(retryAfterSec) },
      });
    };
    const decision = quota.admit({
      appId: token.appId,
      tenantId: token.tenantId,
      now: ctx.arrivedAt,
      earliest: earliestArrival,
      write: cost.write,
      ru: cost.ru,
      reports: cost.reports,
      who,
      sameConnectionTold: toldOnSocket,
    });
    if (!decision.ok) {
      if (decision.violation && quota.lastViolation) recordViolation('tenant', quota.lastViolation);
      if (!decision.fresh) noteRefusal(decision.violation);
      if (cost.reports) s.reportsThrottled++;
      send429(decision);
      return;
    }
    // The same request repeated before its 503's Retry-After: always refused; counted unless in flight.
    const holdId = quota.holdId(requestKey, ctx.arrivedAt);
    const sameConnectionTold = holdId !== null && toldOnSocket(holdId);
    const early = quota.checkRequest(requestKey, { now: ctx.arrivedAt, earliest: earliestArrival, sameConnectionTold });
    if (early) {
      if (early.violation) recordViolation('request', early);
      noteRefusal(early.violation);
      markSocket(early.holdId);
      const headers = { 'Retry-After': String(early.retryAfterSec) };
      sendGraphError(ctx, 503, 'ServiceUnavailable', 'The service is temporarily unavailable.', { headers });
      return;
    }
    if (decision.ruPercent >= 80) ctx.extraHeaders['x-ms-throttle-limit-percentage'] = String(decision.ruPercent / 100);

    const {
      latencyMs,
      transientFaultRate,
      throttle503Rate,
      throttle503RetryAfterSec,
      throttleStormRate,
      throttleStormRetryAfterSec,
    } = settings;
    if (latencyMs.max > 0) await state.sleep(latencyMs.min + faults.next() * (latencyMs.max - latencyMs.min));
    // Faults happen before the request is applied (except the ambiguous instantiate, in the route).
    if (throttleStormRate > 0 && faults.next() < throttleStormRate) {
      s.faultsInjected['429-storm'] = (s.faultsInjected['429-storm'] ?? 0) + 1;
      const scope = `Tenant_Application/ReadWrite/${token.appId}/${token.tenantId}`;
      const retryAfterSec = throttleStormRetryAfterSec;
      const blockId = quota.tell(callerKey, 'all', Date.now(), retryAfterSec, 'CPULimitExceeded', scope, who);
      send429({ retryAfterSec, scope, info: 'CPULimitExceeded', kind: 'all', blockId, fresh: true });
      return;
    }
    if (throttle503Rate > 0 && faults.next() < throttle503Rate) {
      s.faultsInjected['503-retry-after'] = (s.faultsInjected['503-retry-after'] ?? 0) + 1;
      send503Hold(Date.now(), throttle503RetryAfterSec);
      return;
    }
    if (transientFaultRate > 0 && faults.next() < transientFaultRate) {
      const status = [500, 502, 503, 504][Math.floor(faults.next() * 4)]!;
      s.faultsInjected[String(status)] = (s.faultsInjected[String(status)] ?? 0) + 1;
      const code =
        { 500: 'InternalServerError', 502: 'BadGateway', 503: 'ServiceUnavailable', 504: 'GatewayTimeout' }[
          status as 500
        ] ?? 'InternalServerError';
      sendGraphError(ctx, status, code, 'A transient error occurred. Retry the request.');
      return;
    }
    if (bodyProblem) {
      sendGraphError(ctx, 400, 'BadRequest', `Unable to read JSON request payload. ${bodyProblem}`);
      return;
    }
    if (cost.write) s.writes++;
    const handled = await handleGraph(state, ctx);
    if (!handled)
      sendGraphError(ctx, 400, 'BadRequest', `Resource not found for the segment '${subPath.split('/')[1] ?? ''}'.`);
  }

  const server = https.createServer(
    { key: tls.serverKeyPem, cert: tls.serverCertPem, keepAliveTimeout: 65_000 },
    (req, res) => {
      // Links (discovery, nextLink) follow the name the caller used: 127.0.0.1, or a compose service name.
      const url = new URL(req.url ?? '/', req.headers.host ? `https://${req.headers.host}` : origin);
      const run = async () => {
        const controlPath = /^(?:\/(?:beta|v1\.0))?\/_sim\/(.*)$/.exec(url.pathname);
        if (controlPath) {
          if (control && isLoopback(req.socket.localAddress)) return simControl(req, res, controlPath[1]!);
          if (control) return sendJson(res, 403, { error: '/_sim/* answers only on loopback connections' });
        }
        const m = /^\/(beta|v1\.0)(\/.*)?$/.exec(url.pathname);
        if (m) {
          const sub = m[2] ?? '/';
          return graph(req, res, url, m[1]!, sub);
        }
        if (await entra(req, res, url)) return;
        sendJson(res, 404, { error: 'not found' });
      };
      run().catch((err: unknown) => {
        if (!res.headersSent)
          sendJson(res, 500, { error: { code: 'InternalServerError', message: (err as Error).message } });
      });
    },
  );
  server.headersTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `https://${opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1'}:${port}`;

  return {
    graphBaseUrl: `${origin}/beta`,
    authorityHost: origin,
    tenantId,
    clientId,
    clientSecret,
    caCertPath,
    caCertPem: tls.caCertPem,
    profile,
    seed,
    timeScale,
    control,
    directory: { users: SIM_USERS, groups: SIM_GROUPS },
    get settings() {
      return settings;
    },
    stats: () => stats(),
    tenants: identities(),
    statsOf: (id) => stats(tenantsById.get(id.toLowerCase()) ?? primary),
    configureTenant: (id, o) => {
      const t = tenantsById.get(id.toLowerCase());
      if (!t) throw new Error(`no simulated tenant ${id}`);
      configureTenant(t, o);
    },
    issuedTokens: () => [...tokens.keys()],
    configure(o) {
      settings = applyOverrides(settings, o);
    },
    clock: () => state.clock,
    stageDeletes: (o) => stageDeletes(state, o as Record<string, unknown>),
    reset: resetAll,
    async close() {
      clearInterval(loopTick);
      for (const { state } of tenantsById.values()) {
        for (const t of state.timers) clearTimeout(t);
        state.timers.clear();
      }
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** What the simulator's app registration is granted unless `tokenRoles` says otherwise. */
export const SIM_TOKEN_ROLES = [
  'Application.ReadWrite.All',
  'Synchronization.ReadWrite.All',
  'AuditLog.Read.All',
  'Directory.Read.All',
];

/** JWT-shaped like Entra's (clients can read `roles`), unsigned: the simulator looks tokens up, never verifies. */
function simAccessToken(o: { tenantId: string; appId: string; roles: string[]; lifetimeSec: number }): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    aud: 'https://graph.microsoft.com',
    iss: `https://sts.windows.net/${o.tenantId}/`,
    iat: now,
    nbf: now,
    exp: now + o.lifetimeSec,
    appid: o.appId,
    tid: o.tenantId,
    roles: o.roles,
  };
  return `${b64({ typ: 'JWT', alg: 'none', kid: 'sim' })}.${b64(claims)}.${randomBytes(24).toString('base64url')}`;
}
