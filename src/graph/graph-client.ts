/**
 * The Graph client: `GraphApi` over undici fetch. Every call: bearer token → the throttle's permit
 * (throttle/) → fetch with a fresh `client-request-id` and a timeout, through the permit's wire
 * check → zod-parse the answer; failures become GraphError, classified by classify-error.ts.
 * Nothing is retried here but a 401 (once, with a fresh token): the job layer decides about
 * retries, because only it knows whether one is safe (instantiate is not idempotent).
 */
import { randomUUID } from 'node:crypto';
import { fetch, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { redactString, silentLogger, type Logger } from '../logger.ts';
import { describeZodError } from '../zod-error.ts';
import { GraphError, RateLimitedError } from './errors.ts';
import type { GraphApi, GraphResponseEvent } from './graph-api.ts';
import type { CallSpec, GraphTransport } from './call-spec.ts';
import { graphEndpoints } from './endpoints/index.ts';
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
type Response = Awaited<ReturnType<typeof fetch>>;

/** What every request of one client shares. */
type Client = { opts: GraphClientOptions; base: string; logger: Logger; userAgent: string; timeoutMs: number };

/** One attempt's facts, for messages and logs. */
interface Attempt {
  spec: Spec;
  logPath: string;
  clientRequestId: string;
  started: number;
  scrub: (s: string) => string;
}

const NONE = { status: null, code: null, requestId: null, clientRequestId: null, retryAfterMs: null };
type Over = Partial<Details> & Pick<Details, 'errorClass'>;
const details = (method: Spec['method'], path: string, o: Over): Details => ({ ...NONE, method, path, ...o });
const ms = (a: Attempt) => Math.round(performance.now() - a.started);

function urlFor(c: Client, path: string): string {
  if (!/^https?:\/\//i.test(path)) return `${c.base}${path}`;
  // A nextLink is opaque, but our bearer token only ever goes to the Graph origin we were given.
  const origin = new URL(path).origin;
  const baseOrigin = new URL(c.base).origin;
  if (origin === baseOrigin) return path;
  throw new GraphError(`refusing to follow a link to ${origin}: not the Graph origin ${baseOrigin}`, {
    ...details('GET', new URL(path).pathname, { errorClass: 'permanent' }),
    code: 'ForeignNextLink',
  });
}

function emit(c: Client, e: GraphResponseEvent): void {
  try {
    c.opts.onResponse?.(e);
  } catch (err) {
    c.logger.warn({ err: (err as Error).message }, 'onResponse hook threw');
  }
}

/** The throttle's `hold` refusal as the GraphError callers know: Graph asked to repeat this request later. */
const asHeld = (spec: Spec, logPath: string) => (err: unknown) => {
  if (!(err instanceof RateLimitedError && err.bucket === 'hold')) throw err;
  const heldMs = err.retryAfterMs;
  throw new GraphError(`Graph asked to repeat ${spec.method} ${logPath} later; holding it for ${heldMs} ms`, {
    ...details(spec.method, logPath, { errorClass: 'throttled', code: 'RequestHeld', retryAfterMs: heldMs }),
    throttleScope: 'request',
  });
};

async function tokenFor(c: Client, spec: Spec, logPath: string, forceRefresh: boolean): Promise<string> {
  try {
    return await c.opts.tokenProvider.getToken({ forceRefresh });
  } catch (err) {
    if (err instanceof GraphError || err instanceof RateLimitedError) throw err;
    const message = `could not get a Graph token for ${spec.method} ${logPath}: ${(err as Error).message}`;
    throw new GraphError(message, details(spec.method, logPath, { errorClass: 'transient', code: 'TokenUnavailable' }));
  }
}

/** The fetch; null when the request never left (the throttle held it back). */
async function send(c: Client, a: Attempt, url: string, bodyText: string, token: string, permit: Permit) {
  const { spec } = a;
  try {
    const res = await fetch(url, {
      method: spec.method,
      headers: {
        authorization: `Bearer ${token}`,
        'user-agent': c.userAgent,
        accept: 'application/json',
        'client-request-id': a.clientRequestId,
        'return-client-request-id': 'true',
        ...(spec.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: spec.body !== undefined ? bodyText : undefined,
      dispatcher: permit.dispatcher(c.opts.dispatcher, spec.onSent),
      signal: spec.signal
        ? AbortSignal.any([spec.signal, AbortSignal.timeout(c.timeoutMs)])
        : AbortSignal.timeout(c.timeoutMs),
    });
    return { res, text: await res.text() };
  } catch (err) {
    if (await permit.notSent(err)) return null;
    throw networkFailure(c, a, err);
  }
}

function networkFailure(c: Client, a: Attempt, err: unknown): GraphError {
  const { spec, clientRequestId } = a;
  const kind = networkErrorKind(err);
  const f = classifyGraphFailure({ status: null, networkErrorKind: kind, context: spec.context });
  const durationMs = ms(a);
  emit(c, { method: spec.method, route: spec.route, status: null, durationMs, throttled: false, requestId: null });
  const what =
    kind === 'TimeoutError' ? `timed out after ${c.timeoutMs} ms` : `failed: ${kind ?? (err as Error).message}`;
  const hint =
    f.rule === 'tls-trust' ? ' (the server certificate is not trusted: set NODE_EXTRA_CA_CERTS to its CA)' : '';
  const message = `Graph ${spec.method} ${a.logPath} ${what}${hint} (client-request-id ${clientRequestId})`;
  c.logger.warn(
    { method: spec.method, route: spec.route, clientRequestId, durationMs, errorClass: f.errorClass, kind },
    message,
  );
  return new GraphError(a.scrub(message), {
    ...details(a.spec.method, a.logPath, { errorClass: f.errorClass, code: kind }),
    clientRequestId,
  });
}

/** A 401 answer, retried once with a fresh token (a token can be revoked or rotated before its expiry). */
function tokenRefused(c: Client, a: Attempt, res: Response, text: string): void {
  const requestId = res.headers.get('request-id');
  const { method, route } = a.spec;
  emit(c, { method, route, status: 401, durationMs: ms(a), throttled: false, requestId });
  const { code } = errorBody(parseJson(text));
  const ctx = { method, route, status: 401, requestId, code, clientRequestId: a.clientRequestId };
  c.logger.info(ctx, 'graph 401: retrying once with a fresh token');
}

/** A received answer: parsed on success, else a classified GraphError (after the permit saw it). */
async function answer(c: Client, a: Attempt, res: Response, text: string, permit: Permit): Promise<unknown> {
  const { spec, clientRequestId } = a;
  const durationMs = ms(a);
  const requestId = res.headers.get('request-id');
  const status = res.status;
  const logCtx = { method: spec.method, route: spec.route, status, durationMs, requestId, clientRequestId };
  const json = parseJson(text);
  const ids = `(request-id ${requestId ?? '-'}, client-request-id ${clientRequestId})`;
  const at = { ...details(a.spec.method, a.logPath, { errorClass: 'permanent', status, requestId }), clientRequestId };
  if (spec.ok.includes(status)) {
    await permit.observe({ status, code: null });
    emit(c, { method: spec.method, route: spec.route, status, durationMs, throttled: false, requestId });
    c.logger.debug(logCtx, 'graph call ok');
    if (!spec.schema) return null;
    const parsed = spec.schema.safeParse(json);
    if (parsed.success) return parsed.data;
    const where = describeZodError(parsed.error);
    const message =
      `Graph ${status} on ${spec.method} ${a.logPath}: ` +
      `response does not match the expected shape at ${where} ${ids}`;
    c.logger.error(logCtx, message);
    throw new GraphError(message, { ...at, code: 'SchemaMismatch' });
  }
  if (status === 404 && spec.notFoundIsNull) {
    emit(c, { method: spec.method, route: spec.route, status: 404, durationMs, throttled: false, requestId });
    c.logger.debug(logCtx, 'graph call: not found');
    return null;
  }
  const { code, message: graphMessage } = errorBody(json);
  const f = classifyGraphFailure({ status, headers: res.headers, code, context: spec.context });
  const throttled = f.errorClass === 'throttled';
  emit(c, { method: spec.method, route: spec.route, status, durationMs, throttled, requestId });
  const retryAfterMs = await permit.observe({ status, code, failure: f });
  const reason = graphMessage ? `: ${graphMessage}` : '';
  const wait = throttled ? `; retry after ${retryAfterMs} ms` : '';
  const message = a.scrub(
    `Graph ${status}${code ? ` ${code}` : ''} on ${spec.method} ${a.logPath}${reason}${wait} ${ids}`,
  );
  const log = throttled ? c.logger.warn.bind(c.logger) : c.logger.info.bind(c.logger);
  log({ ...logCtx, code, errorClass: f.errorClass, rule: f.rule }, message);
  throw new GraphError(message, {
    ...at,
    errorClass: f.errorClass,
    code,
    retryAfterMs,
    throttleScope: f.throttleScope,
  });
}

/** Creates the Graph client for one tenant. */
export function createGraphClient(opts: GraphClientOptions): GraphApi {
  const base = opts.graphBaseUrl.replace(/\/+$/, '');
  const c: Client = {
    opts,
    base,
    logger: (opts.logger ?? silentLogger()).child({ tenantId: opts.tenantId, component: 'graph' }),
    userAgent: opts.userAgent ?? `provflow (pid ${process.pid})`,
    timeoutMs: opts.requestTimeoutMs ?? 30_000,
  };
  const maxPages = opts.maxPages ?? 100;

  async function call<S extends z.ZodType>(spec: CallSpec<S>): Promise<z.infer<S> | null>;
  async function call(spec: CallSpec<null>): Promise<null>;
  async function call(spec: Spec): Promise<unknown> {
    const url = urlFor(c, spec.path);
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
      const token = await tokenFor(c, spec, logPath, tokenRetried);
      const permit = await opts.throttle.admit(opts.tenantId, request).catch(asHeld(spec, logPath));
      const a: Attempt = { spec, logPath, clientRequestId: randomUUID(), started: performance.now(), scrub };
      const sent = await send(c, a, url, bodyText, token, permit).catch(asHeld(spec, logPath));
      if (!sent) continue; // never left this process: admitted again
      if (sent.res.status === 401 && !tokenRetried && !spec.ok.includes(401)) {
        tokenRefused(c, a, sent.res, sent.text);
        tokenRetried = true;
        continue;
      }
      return answer(c, a, sent.res, sent.text, permit);
    }
  }

  /** Every page of a collection (following `@odata.nextLink`). */
  async function listAll<S extends z.ZodType>(path: string, route: string, item: S, cost: CallCost) {
    const schema = collectionSchema(item);
    const out: z.infer<S>[] = [];
    let next: string | null = path;
    for (let page = 0; next; page++) {
      if (page >= maxPages) {
        const d = details('GET', route, { errorClass: 'permanent' });
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
  return { tenantId: opts.tenantId, ...graphEndpoints(t) };
}
