/**
 * The Graph client: `GraphApi` over undici fetch with the shared keep-alive Agent.
 *
 * Every call: bearer token → the throttle's permit (throttle/: windows, pauses, holds, send
 * deadline) → fetch with a fresh `client-request-id` and a timeout, through the permit's wire
 * check → zod-parse the answer. Failures become GraphError, classified once by classify-error.ts,
 * carrying `request-id` and `client-request-id`.
 *
 * Not retried here, by design: a throttled answer pauses the tenant (the permit does, for every
 * process) and is thrown; transient ones are thrown too. The job layer decides about retries,
 * because only it knows whether a retry is safe (instantiate is not idempotent). The one
 * exception is a 401, retried once with a fresh token (tokens can be revoked early).
 */
import { randomUUID } from 'node:crypto';
import { fetch, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { redactString, silentLogger, type Logger } from '../logger.ts';
import { describeZodError } from '../zod-error.ts';
import { GraphError, RateLimitedError } from './errors.ts';
import type { GraphApi, GraphResponseEvent } from './graph-api.ts';
import type { CallSpec, GraphTransport } from './call-spec.ts';
import { applicationsEndpoints } from './endpoints/applications.ts';
import { reportsEndpoints } from './endpoints/reports.ts';
import { synchronizationEndpoints } from './endpoints/synchronization.ts';
import { collectionSchema, graphErrorBodySchema } from './schemas.ts';
import { classifyGraphFailure, networkErrorKind } from './classify-error.ts';
import type { CallCost, Permit, Throttle, ThrottledRequest } from './throttle/index.ts';
import type { TokenProvider } from './token-provider.ts';

export type { GraphResponseEvent } from './graph-api.ts';

/** Options for `createGraphClient`. */
export interface GraphClientOptions {
  tenantId: string;
  /** e.g. `https://graph.microsoft.com/beta` or the simulator's. */
  graphBaseUrl: string;
  tokenProvider: TokenProvider;
  throttle: Throttle;
  dispatcher: Dispatcher;
  logger?: Logger;
  /** Whole request (headers and body). Default 30 s. */
  requestTimeoutMs?: number;
  /** Pages followed by list calls before giving up (protects against a nextLink loop). Default 100. */
  maxPages?: number;
  onResponse?: (e: GraphResponseEvent) => void;
  /** Sent as User-Agent. Default `provflow (pid N)`: Graph's request logs then tell processes apart. */
  userAgent?: string;
}

const MIN_SCRUB_LENGTH = 4;

/** Graph's error body, safely: `{code, message}` or nulls. */
function errorBody(json: unknown): { code: string | null; message: string | null } {
  const parsed = graphErrorBodySchema.safeParse(json);
  if (!parsed.success) return { code: null, message: null };
  return { code: parsed.data.error.code, message: parsed.data.error.message ?? null };
}

function parseJson(text: string): unknown {
  try {
    return text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

type Spec = CallSpec<z.ZodType | null>;
type Details = GraphError['details'];
/** One attempt's facts, for messages and logs. */
interface Attempt {
  spec: Spec;
  logPath: string;
  clientRequestId: string;
  started: number;
  scrub: (s: string) => string;
}

/** Creates the Graph client for one tenant. */
export function createGraphClient(opts: GraphClientOptions): GraphApi {
  const base = opts.graphBaseUrl.replace(/\/+$/, '');
  const baseOrigin = new URL(base).origin;
  const logger = (opts.logger ?? silentLogger()).child({ tenantId: opts.tenantId, component: 'graph' });
  const userAgent = opts.userAgent ?? `provflow (pid ${process.pid})`;
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  const maxPages = opts.maxPages ?? 100;

  const details = (a: Pick<Attempt, 'spec' | 'logPath'>, over: Partial<Details> & Pick<Details, 'errorClass'>) => ({
    status: null,
    code: null,
    method: a.spec.method,
    path: a.logPath,
    requestId: null,
    clientRequestId: null,
    retryAfterMs: null,
    ...over,
  });

  function urlFor(path: string): string {
    if (!/^https?:\/\//i.test(path)) return `${base}${path}`;
    // A nextLink is opaque, but our bearer token only ever goes to the Graph origin we were given.
    const origin = new URL(path).origin;
    if (origin === baseOrigin) return path;
    throw new GraphError(`refusing to follow a link to ${origin}: not the Graph origin ${baseOrigin}`, {
      ...details({ spec: { method: 'GET' } as Spec, logPath: new URL(path).pathname }, { errorClass: 'permanent' }),
      code: 'ForeignNextLink',
    });
  }

  function emit(e: GraphResponseEvent): void {
    try {
      opts.onResponse?.(e);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'onResponse hook threw');
    }
  }

  // Graph asked for exactly this request to be repeated later (a 503 with Retry-After, no scope).
  const heldError = (spec: Spec, logPath: string, heldMs: number) =>
    new GraphError(`Graph asked to repeat ${spec.method} ${logPath} later; holding it for ${heldMs} ms`, {
      ...details({ spec, logPath }, { errorClass: 'throttled', code: 'RequestHeld', retryAfterMs: heldMs }),
      throttleScope: 'request',
    });
  const asHeld = (spec: Spec, logPath: string) => (err: unknown) => {
    if (err instanceof RateLimitedError && err.bucket === 'hold') throw heldError(spec, logPath, err.retryAfterMs);
    throw err;
  };

  async function call<S extends z.ZodType>(spec: CallSpec<S>): Promise<z.infer<S> | null>;
  async function call(spec: CallSpec<null>): Promise<null>;
  async function call(spec: Spec): Promise<unknown> {
    const url = urlFor(spec.path);
    const logPath = new URL(url).pathname.replace(new URL(base).pathname, '') || '/';
    // Values shorter than 4 characters ('1', 'true'…) are settings, not secrets, and scrubbing
    // them would shred every message they occur in.
    const secrets = (spec.secrets ?? []).filter((v) => v.length >= MIN_SCRUB_LENGTH);
    const scrub = (s: string) => redactString(s, secrets);
    const bodyText = spec.body !== undefined ? JSON.stringify(spec.body) : '';
    const request: ThrottledRequest = { method: spec.method, url, bodyText, route: spec.route, cost: spec.cost };
    if (spec.sendBy !== undefined) request.sendBy = spec.sendBy;
    let tokenRetried = false;
    for (;;) {
      // Token first, then the throttle's grant, then straight to the wire.
      const token = await tokenFor(spec, logPath, tokenRetried);
      const permit = await opts.throttle.admit(opts.tenantId, request).catch(asHeld(spec, logPath));
      const a: Attempt = { spec, logPath, clientRequestId: randomUUID(), started: performance.now(), scrub };
      const sent = await send(a, url, bodyText, token, permit).catch(asHeld(spec, logPath));
      if (!sent) continue; // never left this process: admitted again
      const { res, text } = sent;
      if (res.status === 401 && !tokenRetried && !spec.ok.includes(401)) {
        // A token can be revoked or rotated before its expiry: one fresh token, one more try.
        const requestId = res.headers.get('request-id');
        emit({ method: spec.method, route: spec.route, status: 401, durationMs: ms(a), throttled: false, requestId });
        const { code } = errorBody(parseJson(text));
        const ctx = { method: spec.method, route: spec.route, status: 401, requestId, code };
        logger.info({ ...ctx, clientRequestId: a.clientRequestId }, 'graph 401: retrying once with a fresh token');
        tokenRetried = true;
        continue;
      }
      return answer(a, res, text, permit);
    }
  }

  const ms = (a: Attempt) => Math.round(performance.now() - a.started);

  /** The fetch; null when the request never left (the throttle held it back). */
  async function send(a: Attempt, url: string, bodyText: string, token: string, permit: Permit) {
    const { spec } = a;
    try {
      const res = await fetch(url, {
        method: spec.method,
        headers: {
          authorization: `Bearer ${token}`,
          'user-agent': userAgent,
          accept: 'application/json',
          'client-request-id': a.clientRequestId,
          'return-client-request-id': 'true',
          ...(spec.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: spec.body !== undefined ? bodyText : undefined,
        dispatcher: permit.dispatcher(opts.dispatcher, spec.onSent),
        signal: spec.signal
          ? AbortSignal.any([spec.signal, AbortSignal.timeout(timeoutMs)])
          : AbortSignal.timeout(timeoutMs),
      });
      return { res, text: await res.text() };
    } catch (err) {
      if (await permit.notSent(err)) return null;
      throw networkFailure(a, err);
    }
  }

  function networkFailure(a: Attempt, err: unknown): GraphError {
    const { spec, clientRequestId } = a;
    const kind = networkErrorKind(err);
    const c = classifyGraphFailure({ status: null, networkErrorKind: kind, context: spec.context });
    const durationMs = ms(a);
    emit({ method: spec.method, route: spec.route, status: null, durationMs, throttled: false, requestId: null });
    const what =
      kind === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : `failed: ${kind ?? (err as Error).message}`;
    const hint =
      c.rule === 'tls-trust' ? ' (the server certificate is not trusted: set NODE_EXTRA_CA_CERTS to its CA)' : '';
    const message = `Graph ${spec.method} ${a.logPath} ${what}${hint} (client-request-id ${clientRequestId})`;
    logger.warn(
      { method: spec.method, route: spec.route, clientRequestId, durationMs, errorClass: c.errorClass, kind },
      message,
    );
    return new GraphError(a.scrub(message), {
      ...details(a, { errorClass: c.errorClass, code: kind }),
      clientRequestId,
    });
  }

  /** A received answer: parsed on success, else a classified GraphError (after the permit saw it). */
  async function answer(a: Attempt, res: Awaited<ReturnType<typeof fetch>>, text: string, permit: Permit) {
    const { spec, clientRequestId } = a;
    const durationMs = ms(a);
    const requestId = res.headers.get('request-id');
    const status = res.status;
    const logCtx = { method: spec.method, route: spec.route, status, durationMs, requestId, clientRequestId };
    const json = parseJson(text);
    const at = { ...details(a, { errorClass: 'permanent', status, requestId }), clientRequestId };
    if (spec.ok.includes(status)) {
      await permit.observe({ status, code: null });
      emit({ method: spec.method, route: spec.route, status, durationMs, throttled: false, requestId });
      logger.debug(logCtx, 'graph call ok');
      if (!spec.schema) return null;
      const parsed = spec.schema.safeParse(json);
      if (parsed.success) return parsed.data;
      const message = `Graph ${status} on ${spec.method} ${a.logPath}: response does not match the expected shape at ${describeZodError(parsed.error)} (request-id ${requestId ?? '-'}, client-request-id ${clientRequestId})`;
      logger.error(logCtx, message);
      throw new GraphError(message, { ...at, code: 'SchemaMismatch' });
    }
    if (status === 404 && spec.notFoundIsNull) {
      emit({ method: spec.method, route: spec.route, status: 404, durationMs, throttled: false, requestId });
      logger.debug(logCtx, 'graph call: not found');
      return null;
    }
    const { code, message: graphMessage } = errorBody(json);
    const c = classifyGraphFailure({ status, headers: res.headers, code, context: spec.context });
    const throttled = c.errorClass === 'throttled';
    emit({ method: spec.method, route: spec.route, status, durationMs, throttled, requestId });
    const retryAfterMs = await permit.observe({ status, code, failure: c });
    const reason = graphMessage ? `: ${graphMessage}` : '';
    const wait = throttled ? `; retry after ${retryAfterMs} ms` : '';
    const message = a.scrub(
      `Graph ${status}${code ? ` ${code}` : ''} on ${spec.method} ${a.logPath}${reason}${wait} (request-id ${requestId ?? '-'}, client-request-id ${clientRequestId})`,
    );
    (throttled ? logger.warn.bind(logger) : logger.info.bind(logger))(
      { ...logCtx, code, errorClass: c.errorClass, rule: c.rule },
      message,
    );
    throw new GraphError(message, {
      ...at,
      errorClass: c.errorClass,
      code,
      retryAfterMs,
      throttleScope: c.throttleScope,
    });
  }

  async function tokenFor(spec: Spec, logPath: string, forceRefresh: boolean): Promise<string> {
    try {
      return await opts.tokenProvider.getToken({ forceRefresh });
    } catch (err) {
      if (err instanceof GraphError || err instanceof RateLimitedError) throw err;
      const message = `could not get a Graph token for ${spec.method} ${logPath}: ${(err as Error).message}`;
      throw new GraphError(message, details({ spec, logPath }, { errorClass: 'transient', code: 'TokenUnavailable' }));
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
        const d = details({ spec: { method: 'GET' } as Spec, logPath: route }, { errorClass: 'permanent' });
        throw new GraphError(`Graph GET ${route}: more than ${maxPages} pages, stopping`, {
          ...d,
          code: 'TooManyPages',
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
  };
}
