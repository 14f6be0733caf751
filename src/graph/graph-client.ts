/**
 * The Graph client: `GraphApi` over undici fetch with the shared keep-alive Agent.
 *
 * Every call: limiter.acquire (its cost in writes / RU / reports) → bearer token → fetch with a
 * fresh `client-request-id` and a timeout → zod-parse the answer. Failures become GraphError,
 * classified once by classify-error.ts, carrying `request-id` and `client-request-id`.
 *
 * Not retried here, by design: a throttled answer pauses the tenant in the shared limiter
 * (so every process waits) and is thrown; transient ones are thrown too. The job layer decides
 * about retries, because only it knows whether a retry is safe (instantiate is not idempotent).
 * The one exception is a 401, retried once with a fresh token (tokens can be revoked early).
 */
import { createHash, randomUUID } from 'node:crypto';
import { fetch, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { redactString, silentLogger, type Logger } from '../logger.ts';
import { describeZodError } from '../zod-error.ts';
import { GraphError, RateLimitedError } from './errors.ts';
import type { GraphApi, GraphResponseEvent } from './graph-api.ts';
import type { CallSpec, GraphTransport } from './call-spec.ts';
import { applicationsEndpoints } from './endpoints/applications.ts';
import { lifecycleEndpoints } from './endpoints/lifecycle.ts';
import { reportsEndpoints } from './endpoints/reports.ts';
import { onboardingEndpoints } from './endpoints/onboarding.ts';
import { directoryEndpoints } from './endpoints/directory.ts';
import { synchronizationEndpoints } from './endpoints/synchronization.ts';

export type { GraphResponseEvent } from './graph-api.ts';
import { collectionSchema, graphErrorBodySchema } from './schemas.ts';
import { classifyGraphFailure, networkErrorKind } from './classify-error.ts';
import type { CallCost, Grant, GraphLimiter } from './limiter.ts';
import { backoffMs } from './retry-after.ts';
import { guardedDispatcher, notSentCause, RequestNotSentError } from './send-guard.ts';
import type { TokenProvider } from './token-provider.ts';

/** Options for `createGraphClient`. */
export interface GraphClientOptions {
  tenantId: string;
  /** e.g. `https://graph.microsoft.com/beta` or the simulator's. */
  graphBaseUrl: string;
  tokenProvider: TokenProvider;
  limiter: GraphLimiter;
  dispatcher: Dispatcher;
  logger?: Logger;
  /** Whole request (headers and body). Default 30 s. */
  requestTimeoutMs?: number;
  /** Pages followed by list calls before giving up (protects against a nextLink loop). Default 100. */
  maxPages?: number;
  onResponse?: (e: GraphResponseEvent) => void;
  /**
   * For metrics: `paused` — a request held back unsent because the tenant was paused after the
   * limiter's yes; `stale-grant` — the yes was older than the limiter's lease, so pending I/O
   * was handled before sending; `late-grant` — the quota window was nearly full and the yes
   * had aged past its tolerance (`Grant.sendWithinMs`), so it was released and asked again.
   */
  onHeldBack?: (why: 'paused' | 'stale-grant' | 'late-grant') => void;
  /** Sent as User-Agent. Default `provflow (pid N)`: Graph's request logs then tell processes apart. */
  userAgent?: string;
}

const MIN_SCRUB_LENGTH = 4;
/** Requests held back unsent in a row (the tenant paused) before the job is deferred instead. */
const MAX_HELD_BACK = 20;

/** Graph's error body, safely: `{code, message}` or nulls. */
function errorBody(json: unknown): { code: string | null; message: string | null } {
  const parsed = graphErrorBodySchema.safeParse(json);
  if (!parsed.success) return { code: null, message: null };
  return { code: parsed.data.error.code, message: parsed.data.error.message ?? null };
}

/** Creates the Graph client for one tenant. */
export function createGraphClient(opts: GraphClientOptions): GraphApi {
  const base = opts.graphBaseUrl.replace(/\/+$/, '');
  const baseOrigin = new URL(base).origin;
  const logger = (opts.logger ?? silentLogger()).child({ tenantId: opts.tenantId, component: 'graph' });
  const userAgent = opts.userAgent ?? `provflow (pid ${process.pid})`;
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  const maxPages = opts.maxPages ?? 100;
  // Consecutive throttles without Retry-After, for backoff (reset by any success).
  let throttleStreak = 0;

  function urlFor(path: string): string {
    if (/^https?:\/\//i.test(path)) {
      // A nextLink is opaque, but our bearer token only ever goes to the Graph origin we were given.
      if (new URL(path).origin !== baseOrigin) {
        throw new GraphError(
          `refusing to follow a link to ${new URL(path).origin}: not the Graph origin ${baseOrigin}`,
          {
            errorClass: 'permanent',
            status: null,
            code: 'ForeignNextLink',
            method: 'GET',
            path: new URL(path).pathname,
            requestId: null,
            clientRequestId: null,
            retryAfterMs: null,
          },
        );
      }
      return path;
    }
    return `${base}${path}`;
  }

  function emit(e: GraphResponseEvent): void {
    try {
      opts.onResponse?.(e);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'onResponse hook threw');
    }
  }

  async function call<S extends z.ZodType>(spec: CallSpec<S>): Promise<z.infer<S> | null>;
  async function call(spec: CallSpec<null>): Promise<null>;
  async function call(spec: CallSpec<z.ZodType | null>): Promise<unknown> {
    const url = urlFor(spec.path);
    const logPath = new URL(url).pathname.replace(new URL(base).pathname, '') || '/';
    // Values shorter than 4 characters ('1', 'true'…) are settings, not secrets, and scrubbing
    // them would shred every message they occur in.
    const scrub = (s: string) =>
      redactString(
        s,
        (spec.secrets ?? []).filter((v) => v.length >= MIN_SCRUB_LENGTH),
      );
    let tokenRetried = false;
    let heldBack = 0;
    // A request held back unsent because the tenant is paused; past MAX_HELD_BACK in a row the
    // job is deferred instead of asking the limiter yet again.
    const holdBack = (waitMs: number) => {
      heldBack++;
      opts.onHeldBack?.('paused');
      if (heldBack > MAX_HELD_BACK) throw new RateLimitedError(opts.tenantId, waitMs, 'pause');
    };
    // A grant too old to send safely (see Grant.sendWithinMs): asked for again; a process that
    // keeps failing to send in time defers the job rather than spin on the limiter.
    let lateGrants = 0;
    const lateGrant = () => {
      lateGrants++;
      opts.onHeldBack?.('late-grant');
      if (lateGrants > MAX_HELD_BACK) throw new RateLimitedError(opts.tenantId, 1000, 'write');
    };
    const releaseGrant = (g: Grant) => opts.limiter.release(opts.tenantId, g).catch(() => undefined);
    // "The request" a 503 holds is this method, URL and body: other instances' instantiates
    // (same URL, another displayName) are other requests. This identity stays in memory; the
    // limiter names it in Redis by a keyed HMAC, as the body may be a credential list.
    const bodyText = spec.body !== undefined ? JSON.stringify(spec.body) : '';
    const bodyDigest = bodyText ? ` ${createHash('sha256').update(bodyText).digest('base64url')}` : '';
    const holdKey = `${spec.method} ${url}${bodyDigest}`;
    // Holds live in the limiter: this process's, and other processes' heard through the broadcast.
    const heldFor = () => opts.limiter.localHoldMs(opts.tenantId, holdKey);

    const heldError = (heldMs: number) =>
      new GraphError(`Graph asked to repeat ${spec.method} ${logPath} later; holding it for ${heldMs} ms`, {
        errorClass: 'throttled',
        status: null,
        code: 'RequestHeld',
        method: spec.method,
        path: logPath,
        requestId: null,
        clientRequestId: null,
        retryAfterMs: heldMs,
        throttleScope: 'request',
      });
    // A 503's Retry-After binds every process: the job that got it may be re-run by another worker
    // (after a StepWait, or another request's failure), so the hold is kept in Redis as well.
    const holdEverywhere = (ms: number) => {
      void opts.limiter.hold(opts.tenantId, holdKey, ms).catch((err: unknown) => {
        logger.error({ err: (err as Error).message }, 'could not record the request hold in Redis');
      });
    };

    const late = () => new RateLimitedError(opts.tenantId, 1000, 'send-window');
    for (;;) {
      if (spec.sendBy !== undefined && Date.now() > spec.sendBy) throw late();
      // Graph asked for exactly this request to be repeated later (a 503 with Retry-After and no
      // throttle scope): it waits, the rest of the tenant's calls go on.
      const heldMs = heldFor();
      if (heldMs > 0) throw heldError(heldMs);
      // Token first, then the limiter, then straight to the wire; a stale grant lets pending I/O in
      // first, and the send guard re-checks the pause at the wire, holding the request back unsent.
      const token = await tokenFor(spec, logPath, tokenRetried);
      let grant: Grant;
      try {
        grant = await opts.limiter.acquire(opts.tenantId, spec.cost, { requestKey: holdKey });
      } catch (err) {
        // Held by another process's 503 (found in Redis): the same error as a hold known here.
        if (err instanceof RateLimitedError && err.bucket === 'hold') throw heldError(err.retryAfterMs);
        throw err;
      }
      const clientRequestId = randomUUID();
      const started = performance.now();
      let earlyPausedMs = 0;
      const details = (
        over: Partial<GraphError['details']> & Pick<GraphError['details'], 'errorClass'>,
      ): GraphError['details'] => ({
        status: null,
        code: null,
        method: spec.method,
        path: logPath,
        requestId: null,
        clientRequestId,
        retryAfterMs: null,
        ...over,
      });
      if (performance.now() - grant.at > opts.limiter.sendLeaseMs) {
        // This process was busy (or Redis slow) since the limiter said yes: let pending I/O — a
        // pause broadcast by another process among it — be handled before deciding to send.
        opts.onHeldBack?.('stale-grant');
        // Two turns: the first check phase may come before the poll phase that reads the
        // subscriber's socket; the second comes after one.
        await new Promise((r) => setImmediate(r));
        await new Promise((r) => setImmediate(r));
      }
      // Why this request must not be sent now, asked right after the limiter and again at the
      // wire (waiting for a connection is not sending): the answer may change in between.
      const wontSend = (): RequestNotSentError | null => {
        if (spec.sendBy !== undefined && Date.now() > spec.sendBy) return new RequestNotSentError('late', 0);
        // The same request (another job's identical GET) got a 503 while this one waited for
        // the limiter or a connection.
        const held = heldFor();
        if (held > 0) return new RequestNotSentError('held', held);
        // Paused meanwhile, here or elsewhere and broadcast.
        const paused = opts.limiter.localPauseMs(opts.tenantId);
        if (paused > 0) return new RequestNotSentError('paused', paused);
        // A grant older than its tolerance: sent now, it could reach Graph in the same window as
        // calls granted a full window later.
        return performance.now() - grant.at > grant.sendWithinMs ? new RequestNotSentError('stale', 0) : null;
      };
      // Nothing left this process: asking the limiter again is always safe (even for instantiate).
      const notSent = async (n: RequestNotSentError): Promise<void> => {
        await releaseGrant(grant);
        if (n.why === 'late') throw late();
        if (n.why === 'held') throw heldError(n.waitMs);
        if (n.why === 'stale') return lateGrant();
        holdBack(Math.max(n.waitMs, 1000)); // the limiter waits out the pause (inline, or defers the job)
        logger.debug({ method: spec.method, route: spec.route, waitMs: n.waitMs }, 'request held back: tenant paused');
      };
      const before = wontSend();
      if (before) {
        await notSent(before);
        continue;
      }
      const dispatcher = guardedDispatcher(opts.dispatcher, {
        beforeSend: wontSend,
        onSent: spec.onSent,
        // The moment the status line and headers say "wait", before fetch resolves or the body is
        // read: calls issued meanwhile (here or, through the broadcast, elsewhere) would land
        // inside Graph's Retry-After window.
        onHeaders(status, header) {
          if (status !== 429 && status !== 503 && status !== 504) return;
          const c = classifyGraphFailure({
            status,
            headers: { 'retry-after': header('retry-after'), 'x-ms-throttle-scope': header('x-ms-throttle-scope') },
          });
          if (c.errorClass !== 'throttled' || !c.retryAfterMs || c.retryAfterMs <= 0) return;
          if (c.throttleScope === 'request') {
            holdEverywhere(c.retryAfterMs);
            return;
          }
          earlyPausedMs = c.retryAfterMs;
          void opts.limiter
            .pause(opts.tenantId, c.retryAfterMs, `${status} on ${spec.method} ${spec.route}`)
            .catch((err: unknown) => {
              logger.error({ err: (err as Error).message }, 'could not record the tenant pause in Redis');
            });
        },
      });

      let res: Awaited<ReturnType<typeof fetch>>;
      let text: string;
      try {
        res = await fetch(url, {
          method: spec.method,
          headers: {
            authorization: `Bearer ${token}`,
            'user-agent': userAgent,
            accept: 'application/json',
            'client-request-id': clientRequestId,
            'return-client-request-id': 'true',
            ...(spec.body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          body: spec.body !== undefined ? bodyText : undefined,
          dispatcher,
          signal: spec.signal
            ? AbortSignal.any([spec.signal, AbortSignal.timeout(timeoutMs)])
            : AbortSignal.timeout(timeoutMs),
        });
        text = await res.text();
      } catch (err) {
        const unsent = notSentCause(err);
        if (unsent) {
          await notSent(unsent);
          continue;
        }
        const kind = networkErrorKind(err);
        const c = classifyGraphFailure({ status: null, networkErrorKind: kind, context: spec.context });
        const durationMs = Math.round(performance.now() - started);
        emit({ method: spec.method, route: spec.route, status: null, durationMs, throttled: false, requestId: null });
        const what =
          kind === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : `failed: ${kind ?? (err as Error).message}`;
        const hint =
          c.rule === 'tls-trust' ? ' (the server certificate is not trusted: set NODE_EXTRA_CA_CERTS to its CA)' : '';
        const message = `Graph ${spec.method} ${logPath} ${what}${hint} (client-request-id ${clientRequestId})`;
        logger.warn(
          { method: spec.method, route: spec.route, clientRequestId, durationMs, errorClass: c.errorClass, kind },
          message,
        );
        throw new GraphError(scrub(message), details({ errorClass: c.errorClass, code: kind }));
      }

      const durationMs = Math.round(performance.now() - started);
      const requestId = res.headers.get('request-id');
      const logCtx = {
        method: spec.method,
        route: spec.route,
        status: res.status,
        durationMs,
        requestId,
        clientRequestId,
      };
      let json: unknown = undefined;
      if (text.length > 0) {
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
      }

      if (spec.ok.includes(res.status)) {
        throttleStreak = 0;
        emit({ method: spec.method, route: spec.route, status: res.status, durationMs, throttled: false, requestId });
        logger.debug(logCtx, 'graph call ok');
        if (!spec.schema) return null;
        const parsed = spec.schema.safeParse(json);
        if (!parsed.success) {
          const message = `Graph ${res.status} on ${spec.method} ${logPath}: response does not match the expected shape at ${describeZodError(parsed.error)} (request-id ${requestId ?? '-'}, client-request-id ${clientRequestId})`;
          logger.error(logCtx, message);
          throw new GraphError(
            message,
            details({ errorClass: 'permanent', status: res.status, code: 'SchemaMismatch', requestId }),
          );
        }
        return parsed.data;
      }

      if (res.status === 404 && spec.notFoundIsNull) {
        emit({ method: spec.method, route: spec.route, status: 404, durationMs, throttled: false, requestId });
        logger.debug(logCtx, 'graph call: not found');
        return null;
      }

      const { code, message: graphMessage } = errorBody(json);
      if (res.status === 401 && !tokenRetried) {
        // A token can be revoked or rotated before its expiry: one fresh token, one more try.
        emit({ method: spec.method, route: spec.route, status: 401, durationMs, throttled: false, requestId });
        logger.info({ ...logCtx, code }, 'graph 401: retrying once with a fresh token');
        tokenRetried = true;
        continue;
      }

      const c = classifyGraphFailure({ status: res.status, headers: res.headers, code, context: spec.context });
      const throttled = c.errorClass === 'throttled';
      emit({ method: spec.method, route: spec.route, status: res.status, durationMs, throttled, requestId });
      let retryAfterMs = c.retryAfterMs;
      if (throttled && c.throttleScope === 'request' && retryAfterMs !== null) {
        // Only this request waits (the job is delayed by Retry-After); the tenant goes on.
        if (heldFor() < retryAfterMs - 50) holdEverywhere(retryAfterMs);
      } else if (throttled) {
        retryAfterMs ??= Math.max(1000, backoffMs(throttleStreak, { baseMs: 2000, maxMs: 60_000 }));
        throttleStreak++;
        // Pause the tenant for every process BEFORE throwing, so no one else walks into the wall
        // (unless the headers already did, for at least as long).
        if (earlyPausedMs === 0 || retryAfterMs > earlyPausedMs)
          try {
            await opts.limiter.pause(
              opts.tenantId,
              retryAfterMs,
              `${res.status} ${code ?? ''} on ${spec.method} ${spec.route}`.trim(),
            );
          } catch (err) {
            logger.error({ ...logCtx, err: (err as Error).message }, 'could not record the tenant pause in Redis');
          }
      }
      const status = `${res.status}${code ? ` ${code}` : ''}`;
      const reason = graphMessage ? `: ${graphMessage}` : '';
      const wait = throttled ? `; retry after ${retryAfterMs} ms` : '';
      const message = scrub(
        `Graph ${status} on ${spec.method} ${logPath}${reason}${wait} (request-id ${requestId ?? '-'}, client-request-id ${clientRequestId})`,
      );
      (throttled ? logger.warn.bind(logger) : logger.info.bind(logger))(
        { ...logCtx, code, errorClass: c.errorClass, rule: c.rule },
        message,
      );
      throw new GraphError(
        message,
        details({
          errorClass: c.errorClass,
          status: res.status,
          code,
          requestId,
          retryAfterMs,
          throttleScope: c.throttleScope,
        }),
      );
    }
  }

  async function tokenFor(spec: CallSpec<z.ZodType | null>, logPath: string, forceRefresh: boolean): Promise<string> {
    try {
      return await opts.tokenProvider.getToken({ forceRefresh });
    } catch (err) {
      if (err instanceof GraphError || err instanceof RateLimitedError) throw err;
      throw new GraphError(`could not get a Graph token for ${spec.method} ${logPath}: ${(err as Error).message}`, {
        errorClass: 'transient',
        status: null,
        code: 'TokenUnavailable',
        method: spec.method,
        path: logPath,
        requestId: null,
        clientRequestId: null,
        retryAfterMs: null,
      });
    }
  }

  /** Every page of a collection (following `@odata.nextLink`). */
  async function listAll<S extends z.ZodType>(
    path: string,
    route: string,
    item: S,
    cost: CallCost,
  ): Promise<z.infer<S>[]> {
    const schema = collectionSchema(item);
    const out: z.infer<S>[] = [];
    let next: string | null = path;
    for (let page = 0; next; page++) {
      if (page >= maxPages) {
        throw new GraphError(`Graph GET ${route}: more than ${maxPages} pages, stopping`, {
          errorClass: 'permanent',
          status: null,
          code: 'TooManyPages',
          method: 'GET',
          path: route,
          requestId: null,
          clientRequestId: null,
          retryAfterMs: null,
        });
      }
      const res = (await call({ method: 'GET', path: next, route, cost, schema, ok: [200] })) as z.infer<typeof schema>;
      out.push(...(res.value as z.infer<S>[]));
      next = res['@odata.nextLink'] ?? null;
    }
    return out;
  }

  const t: GraphTransport = { call, listAll };
  return {
    tenantId: opts.tenantId,
    ...applicationsEndpoints(t),
    ...synchronizationEndpoints(t),
    ...reportsEndpoints(t),
    ...lifecycleEndpoints(t),
    ...onboardingEndpoints(t),
    ...directoryEndpoints(t),
  };
}
