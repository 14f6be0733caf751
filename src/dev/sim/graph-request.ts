/**
 * One Graph request before its route: the caller's token picks the tenant, then the body is read,
 * the request priced and counted, refused by the quota model (429, 503 holds), delayed and faulted
 * as the settings say, and only then handed to handleGraph.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { costOf, handleGraph } from './graph-routes.ts';
import { readBody, requestIds, sendGraphError, type SimContext } from './http.ts';
import type { SeededRandom } from './prng.ts';
import type { BlockKind, ViolationInfo } from './quota.ts';
import type { IssuedToken } from './entra.ts';
import type { LoopWatch } from './loop-watch.ts';
import type { TenantRegistry } from './tenants.ts';

/** What every Graph request shares: tenants, issued tokens, the loop watch and the fault dice. */
export interface GraphDeps {
  reg: TenantRegistry;
  tokens: Map<string, IssuedToken>;
  loop: LoopWatch;
  /** Ids of the throttles (429 blocks, 503 holds) whose answers each connection has carried. */
  socketTold: WeakMap<object, Set<number>>;
  faults: SeededRandom;
}

/** Answers one request under `/beta` or `/v1.0` (`subPath` is what follows the version). */
export async function handleGraphRequest(
  d: GraphDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  apiVersion: string,
  subPath: string,
): Promise<void> {
  const arrivedAt = Date.now();
  // The caller's tenant (from its token) owns the directory, quotas, settings and counters used below.
  const auth = req.headers.authorization ?? '';
  const token = d.tokens.get(auth.replace(/^Bearer\s+/i, ''));
  const tn = (token && d.reg.find(token.tenantId)) || d.reg.primary;
  const { state, quota } = tn;
  const settings = tn.settings();
  const { earliest: earliestArrival, stallMs: simStallMs } = d.loop.earliestArrivalOf(arrivedAt);
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
    const authority = `${url.origin}/${d.reg.primary.tenantId}/oauth2/authorize`;
    const graphAppId = '00000003-0000-0000-c000-000000000000';
    const wwwAuth = `Bearer realm="", authorization_uri="${authority}", client_id="${graphAppId}"`;
    const why = token ? 'Lifetime validation failed, the token is expired.' : 'Access token is empty or invalid.';
    sendGraphError(ctx, 401, 'InvalidAuthenticationToken', why, { headers: { 'WWW-Authenticate': wwwAuth } });
    return;
  }
  ctx.caller = { appId: token.appId, tenantId: token.tenantId };

  const callerKey = `${token.appId}/${token.tenantId}`;
  // "The request" a 503 holds: method, URL and body (another instance's instantiate is another request).
  const bodyHash = rawBody ? ` ${createHash('sha1').update(rawBody).digest('base64url')}` : '';
  const requestKey = `${callerKey} ${method} ${url.pathname}${url.search}${bodyHash}`;
  // Which process sent it (provflow's client names its pid): tells a violation by the process
  // that was answered apart from one by a process that had to hear of it.
  const who = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 120) : null;
  // What throttling answers this connection has carried: with keep-alive and no pipelining, a
  // request that follows one on the same connection was sent after its caller read it.
  const sock = req.socket;
  const toldOnSocket = (id: number) => d.socketTold.get(sock)?.has(id) === true;
  const markSocket = (id: number) =>
    res.once('finish', () => {
      let set = d.socketTold.get(sock);
      if (!set) d.socketTold.set(sock, (set = new Set()));
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
  if (latencyMs.max > 0) await state.sleep(latencyMs.min + d.faults.next() * (latencyMs.max - latencyMs.min));
  // Faults happen before the request is applied (except the ambiguous instantiate, in the route).
  if (throttleStormRate > 0 && d.faults.next() < throttleStormRate) {
    s.faultsInjected['429-storm'] = (s.faultsInjected['429-storm'] ?? 0) + 1;
    const scope = `Tenant_Application/ReadWrite/${token.appId}/${token.tenantId}`;
    const retryAfterSec = throttleStormRetryAfterSec;
    const blockId = quota.tell(callerKey, 'all', Date.now(), retryAfterSec, 'CPULimitExceeded', scope, who);
    send429({ retryAfterSec, scope, info: 'CPULimitExceeded', kind: 'all', blockId, fresh: true });
    return;
  }
  if (throttle503Rate > 0 && d.faults.next() < throttle503Rate) {
    s.faultsInjected['503-retry-after'] = (s.faultsInjected['503-retry-after'] ?? 0) + 1;
    send503Hold(Date.now(), throttle503RetryAfterSec);
    return;
  }
  if (transientFaultRate > 0 && d.faults.next() < transientFaultRate) {
    const status = [500, 502, 503, 504][Math.floor(d.faults.next() * 4)]!;
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
