/**
 * THE one place that decides whether a failed call is throttled, transient or permanent: Graph
 * calls, token requests, webhook deliveries, and a step's context (the replication window).
 * Everything else reads `errorClass`.
 *
 * Decisions use the HTTP status, the `Retry-After` header, Graph's `error.code` and the network
 * error's `code` — never a message text, which Microsoft rewords and localises.
 */
import { GraphError, PermanentError, RateLimitedError, type ErrorClass } from './errors.ts';
import { parseRetryAfter } from './retry-after.ts';

/** What the caller knows about the object the call touched. */
export interface FailureContext {
  /**
   * The object was created recently (or the call is the ambiguous instantiate), so 400/403/404
   * on it are replication lag, not bad input or missing permission.
   */
  replicationWindow?: boolean;
}

/** Everything the classifier looks at. `status` null means no HTTP response at all. */
export interface FailureFacts {
  status: number | null;
  /** Response headers (`retry-after` and `x-ms-throttle-scope` are read). */
  headers?: Headers | Record<string, string | null | undefined> | null;
  /** Graph's `error.code` from the body, when there was one. */
  code?: string | null;
  /** For network failures: `ECONNRESET`, `UND_ERR_SOCKET`, `TimeoutError`, … (see `networkErrorKind`). */
  networkErrorKind?: string | null;
  context?: FailureContext;
  nowMs?: number;
}

/**
 * Who must wait when a call is throttled:
 * - `tenant`: Graph throttles the client app in this tenant ("limits any further requests from
 *   that client app for some time": a 429, a throttling error code, or a 503/504 that names its
 *   `x-ms-throttle-scope`) — every process stops for Retry-After;
 * - `request`: the service was busy for this request ("503: you may repeat the request after a
 *   delay, which may be specified in Retry-After") — this request waits Retry-After before it is
 *   repeated, and the rest of the batch goes on.
 */
export type ThrottleScope = 'tenant' | 'request';

/** The decision, the parsed `Retry-After` (null when absent) and which rule fired (for logs and tests). */
export interface Classification {
  errorClass: ErrorClass;
  retryAfterMs: number | null;
  /** Set when `errorClass` is `throttled`, else null. */
  throttleScope: ThrottleScope | null;
  rule: string;
}

/** Graph codes that mean "slow down" whatever the status (some APIs throttle with 400/403). */
const THROTTLE_CODES = new Set(['toomanyrequests', 'activitylimitreached', 'throttledrequest', 'requestthrottled']);

/**
 * TLS trust failures: retrying cannot fix them, the operator must (NODE_EXTRA_CA_CERTS, proxy).
 * Everything else without a response (resets, timeouts, DNS, refused) is worth a retry.
 */
const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

/** 4xx that are about timing, not about the request: retry. */
const TRANSIENT_4XX = new Set([408, 423, 425]);

/**
 * 4xx that become transient inside the replication window. Graph's 400 for a synchronization
 * template the app does not offer looks the same (generic code), so create-sync-job asks for the
 * app's template list before calling a 400 lag: listed and missing, it is permanent at once.
 */
const REPLICATION_4XX = new Set([400, 403, 404]);

function header(headers: FailureFacts['headers'], name: string): string | null {
  if (!headers) return null;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name);
  const rec = headers as Record<string, string | null | undefined>;
  for (const k of Object.keys(rec)) if (k.toLowerCase() === name) return rec[k] ?? null;
  return null;
}

/** Classifies one failed call. Pure: same facts, same answer. */
export function classifyGraphFailure(facts: FailureFacts): Classification {
  const retryAfterMs = parseRetryAfter(header(facts.headers, 'retry-after'), facts.nowMs);
  const code = facts.code?.toLowerCase() ?? null;
  const status = facts.status;
  const inWindow = facts.context?.replicationWindow === true;
  const out = (errorClass: ErrorClass, rule: string, throttleScope: ThrottleScope | null = null): Classification => ({
    errorClass,
    retryAfterMs,
    throttleScope,
    rule,
  });

  if (status === null) {
    const kind = facts.networkErrorKind ?? null;
    if (kind && TLS_TRUST_CODES.has(kind)) return out('permanent', 'tls-trust');
    return out('transient', kind ? `network:${kind}` : 'network');
  }
  if (status === 429) return out('throttled', '429', 'tenant');
  if ((status === 503 || status === 504) && retryAfterMs !== null) {
    return header(facts.headers, 'x-ms-throttle-scope')
      ? out('throttled', `${status}+retry-after+throttle-scope`, 'tenant')
      : out('throttled', `${status}+retry-after`, 'request');
  }
  if (code && THROTTLE_CODES.has(code) && status >= 400) return out('throttled', `code:${facts.code}`, 'tenant');
  // 501/505: the endpoint or feature does not exist here; retrying will not make it appear.
  if (status === 501 || status === 505) return out('permanent', `${status}`);
  if (status >= 500) return out('transient', '5xx');
  if (inWindow && REPLICATION_4XX.has(status)) return out('transient', `${status}-in-replication-window`);
  if (TRANSIENT_4XX.has(status)) return out('transient', `${status}`);
  if (status >= 400) return out('permanent', `${status}`);
  // A 1xx/2xx/3xx reaching the classifier means the caller did not expect it: a contract problem.
  return out('permanent', `unexpected-${status}`);
}

/**
 * The `code` (or name, for aborts) that identifies a network failure, searching the `cause`
 * chain because undici's fetch wraps the socket error in `TypeError: fetch failed`.
 */
export function networkErrorKind(err: unknown): string | null {
  let cur: unknown = err;
  for (let depth = 0; cur && typeof cur === 'object' && depth < 6; depth++) {
    const e = cur as { code?: unknown; name?: unknown; cause?: unknown };
    if (typeof e.code === 'string' && e.code.length > 0) return e.code;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return e.name;
    cur = e.cause;
  }
  return null;
}

/**
 * Re-decides a GraphError with context the client did not have (e.g. a step that knows the
 * servicePrincipal was created seconds ago). Returns the same error when the class is unchanged.
 */
export function reclassify(err: GraphError, context: FailureContext): GraphError {
  if (err.errorClass === 'throttled') return err;
  // Network failures are transient or TLS-permanent regardless of context.
  if (err.status === null) return err;
  const { errorClass } = classifyGraphFailure({ status: err.status, code: err.code, context });
  if (errorClass === err.errorClass) return err;
  const next = new GraphError(err.message, { ...err.details, errorClass });
  next.stack = err.stack;
  return next;
}

/**
 * The instance's failure when Graph refused a call for good: a PermanentError saying what was
 * refused, then Graph's reason, then `hint`. Any other error comes back unchanged (to be retried
 * or waited out), so a step's catch can end with `throw refusedBy(err, …)`.
 */
export function refusedBy(err: unknown, what: string, hint = ''): unknown {
  if (!(err instanceof GraphError) || err.errorClass !== 'permanent') return err;
  return new PermanentError(`${what}: ${err.message}${hint}`);
}

/** How long a throttled failure asks to wait (1 s when it does not say). */
export function retryAfterOf(err: unknown): number {
  if (err instanceof RateLimitedError) return err.retryAfterMs;
  if (err instanceof GraphError) return err.details.retryAfterMs ?? 1000;
  return 1000;
}

/** OAuth error codes that no retry can fix: wrong secret, app not in tenant, bad scope, no consent. */
const PERMANENT_OAUTH_CODES = new Set([
  'invalid_client',
  'unauthorized_client',
  'invalid_request',
  'invalid_scope',
  'invalid_grant',
  'invalid_resource',
  'consent_required',
  'interaction_required',
]);

/** What a failed token request (Entra's token endpoint, through MSAL) tells. */
export interface TokenFailureFacts {
  /** The OAuth `error` code, when Entra answered with one. */
  oauthCode: string | null;
  /** MSAL refused its own configuration (no request was made). */
  configurationError: boolean;
  status: number | null;
  networkErrorKind: string | null;
}

/**
 * Classifies a failed token request. Never throttled: token-endpoint throttling is the login
 * service's, not the tenant's Graph quota, so it is retried later like any transient failure.
 */
export function classifyTokenFailure(f: TokenFailureFacts): Exclude<ErrorClass, 'throttled'> {
  if (f.oauthCode && PERMANENT_OAUTH_CODES.has(f.oauthCode)) return 'permanent';
  if (f.configurationError) return 'permanent';
  const c = classifyGraphFailure({ status: f.status, networkErrorKind: f.networkErrorKind }).errorClass;
  return c === 'permanent' ? 'permanent' : 'transient';
}

/**
 * Whether a webhook delivery that got `status` is worth another attempt: 408, 429 and 5xx are
 * (no answer at all is too). The receiver is the operator's endpoint, not Graph: no throttle
 * scopes, no replication window, so 4xx other than those is a verdict.
 */
export function webhookFailureClass(status: number): Exclude<ErrorClass, 'throttled'> {
  return status === 408 || status === 429 || status >= 500 ? 'transient' : 'permanent';
}
