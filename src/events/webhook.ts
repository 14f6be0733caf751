/**
 * Operator notifications: a JSON POST to a configured URL when an instance reaches steady,
 * quarantined or failed.
 *
 * Secrets: the body is built field by field from a fixed list (never by spreading the
 * caller's object), so nothing but the documented fields can leave — even if a caller passes
 * an instance record that carries credentials. The URL itself may embed a token (chat
 * webhooks do), so logs and errors only ever show its origin.
 *
 * Delivery: at-least-once with bounded retries (network errors, timeouts, 408, 429, 5xx), with
 * exponential backoff and jitter, honouring `Retry-After`. Each event carries a stable
 * `X-Provflow-Event-Id` so a receiver can drop the duplicates that at-least-once implies.
 * Redirects are not followed: re-POSTing the event to wherever a 3xx points is not ours to decide.
 */
import { createHash } from 'node:crypto';
import { webhookFailureClass } from '../graph/classify-error.ts';
import { parseRetryAfter } from '../graph/retry-after.ts';

/**
 * The events an operator can subscribe to: the three ends of a flow, saved credentials that
 * `verify` found refused (before the job quarantines), and a day-two operation that failed.
 */
export type WebhookEventType =
  | 'instance.steady'
  | 'instance.quarantined'
  | 'instance.failed'
  | 'instance.credentials-failing'
  | 'instance.operation-failed';

/** What is posted. Ids and text only; there is deliberately no place for credentials. */
export interface WebhookEvent {
  type: WebhookEventType;
  batchId: string;
  instanceKey: string;
  displayName: string;
  /** The poller state (`steady`, `quarantined`, `failed`, …). */
  state: string;
  /** The one-line, actionable description from the classifier. */
  detail: string;
  ids: { applicationObjectId?: string; servicePrincipalId?: string; jobId?: string };
  /** The smoke test's outcome when the batch asked for one (e.g. "Success", "Failure (code: reason)"). */
  smokeTest?: string;
  /** ISO time of the transition. */
  at: string;
}

/** Outcome of one `notify`. `lastError` is null when delivered. */
export interface WebhookResult {
  delivered: boolean;
  attempts: number;
  /** HTTP status of the last attempt, null if it got no response. */
  status: number | null;
  lastError: string | null;
}

/** pino-compatible subset. */
export interface WebhookLogger {
  warn(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
}

export interface WebhookNotifierOptions {
  url: string;
  /** `PROVFLOW_WEBHOOK_AUTHORIZATION`: sent as the `Authorization` header (never logged). */
  authorization?: string | undefined;
  fetchImpl?: typeof fetch;
  maxAttempts?: number;
  baseDelayMs?: number;
  /** Cap on one backoff wait, including a server's Retry-After. Default 30 s. */
  maxDelayMs?: number;
  /** Per attempt. */
  timeoutMs?: number;
  logger?: WebhookLogger;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface WebhookNotifier {
  notify(event: WebhookEvent): Promise<WebhookResult>;
}

const EVENT_TYPES: ReadonlySet<string> = new Set<WebhookEventType>([
  'instance.steady',
  'instance.quarantined',
  'instance.failed',
  'instance.credentials-failing',
  'instance.operation-failed',
]);
const ID_KEYS = ['applicationObjectId', 'servicePrincipalId', 'jobId'] as const;
const MAX_DETAIL = 1_000;

function str(value: unknown, max = 300): string {
  return typeof value === 'string' ? value.slice(0, max) : '';
}

/** The exact JSON body: a whitelist copy of the event (extra properties are dropped). */
export function webhookBody(event: WebhookEvent): string {
  const ids: Record<string, string> = {};
  for (const key of ID_KEYS) {
    const v = event.ids?.[key];
    if (typeof v === 'string' && v !== '') ids[key] = v.slice(0, 300);
  }
  return JSON.stringify({
    type: event.type,
    batchId: str(event.batchId),
    instanceKey: str(event.instanceKey),
    displayName: str(event.displayName),
    state: str(event.state, 50),
    detail: str(event.detail, MAX_DETAIL),
    ids,
    at: str(event.at, 50),
  });
}

/** Stable per event (not per attempt), so receivers can deduplicate retries. */
export function webhookEventId(event: WebhookEvent): string {
  return createHash('sha256')
    .update([event.type, event.batchId, event.instanceKey, event.state, event.at].join('\n'))
    .digest('hex')
    .slice(0, 32);
}

/** The variable that carries a receiver's credentials, since the URL may not. */
const WEBHOOK_AUTH_ENV = 'PROVFLOW_WEBHOOK_AUTHORIZATION';

/**
 * Why `raw` cannot be a webhook URL, or null when it can. Never quotes the URL: it may carry a
 * token or a password. fetch refuses URLs with `user:password@` outright, so such a URL would
 * pass a plain URL check and then fail every delivery.
 */
export function webhookUrlProblem(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'is not an absolute URL; use e.g. https://hooks.example.com/provflow';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    const scheme = u.protocol.replace(/[^a-z0-9+.:-]/gi, '?').slice(0, 20);
    return `uses the scheme '${scheme}'; only http:// and https:// URLs can receive webhooks`;
  }
  if (u.username !== '' || u.password !== '') {
    return (
      'carries credentials (user:password@) in the URL, which HTTP clients refuse to send, so every delivery would ' +
      `fail; remove them from the URL and set ${WEBHOOK_AUTH_ENV} to the Authorization header value instead ` +
      `(e.g. ${WEBHOOK_AUTH_ENV}="Basic $(printf %s 'user:password' | base64)" or "Bearer <token>")`
    );
  }
  return null;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}

export function createWebhookNotifier(opts: WebhookNotifierOptions): WebhookNotifier {
  const problem = webhookUrlProblem(opts.url);
  if (problem) throw new Error(`PROVFLOW_WEBHOOK_URL ${problem}`);
  const fetchImpl = opts.fetchImpl ?? fetch;
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
  const baseDelayMs = opts.baseDelayMs ?? 500;
  const maxDelayMs = opts.maxDelayMs ?? 30_000;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = opts.random ?? Math.random;
  const origin = originOf(opts.url);
  // Errors from fetch can quote the URL; never let the full (possibly tokenised) URL through.
  const scrub = (msg: string) => msg.split(opts.url).join(origin);

  /** "Equal jitter": half fixed, half random, so retries from many instances spread out. */
  function backoff(attempt: number, retryAfterMs: number | null): number {
    const exp = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    const jittered = exp / 2 + random() * (exp / 2);
    return Math.min(maxDelayMs, Math.max(jittered, retryAfterMs ?? 0));
  }

  async function notify(event: WebhookEvent): Promise<WebhookResult> {
    if (!EVENT_TYPES.has(event.type)) {
      return { delivered: false, attempts: 0, status: null, lastError: `unknown event type ${String(event.type)}` };
    }
    const body = webhookBody(event);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'provflow-webhook',
      'x-provflow-event': event.type,
      'x-provflow-event-id': webhookEventId(event),
      ...(opts.authorization ? { authorization: opts.authorization } : {}),
    };
    let lastError: string | null = null;
    let status: number | null = null;

    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let retryAfterMs: number | null = null;
      let retriable = true;
      try {
        const res = await fetchImpl(opts.url, {
          method: 'POST',
          headers: { ...headers, 'x-provflow-attempt': String(attempt) },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = res.status;
        // Free the connection; the receiver's body is of no interest.
        await res.body?.cancel().catch(() => undefined);
        if (res.status >= 200 && res.status < 300) {
          opts.logger?.info?.(
            { origin, type: event.type, instanceKey: event.instanceKey, attempt },
            'webhook delivered',
          );
          return { delivered: true, attempts: attempt, status, lastError: null };
        }
        lastError = `HTTP ${res.status}`;
        retriable = webhookFailureClass(res.status) === 'transient';
        if (res.status === 429 || res.status === 503) retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      } catch (err) {
        status = null;
        const e = err as Error & { cause?: { code?: string; message?: string } };
        const name =
          e?.name === 'TimeoutError' || e?.name === 'AbortError'
            ? `timeout after ${timeoutMs} ms`
            : (e?.message ?? String(err));
        const cause = e?.cause?.code ?? e?.cause?.message;
        lastError = scrub(cause ? `${name} (${cause})` : name);
      }

      const giveUp = !retriable || attempt === maxAttempts;
      opts.logger?.warn(
        { origin, type: event.type, instanceKey: event.instanceKey, attempt, maxAttempts, status, error: lastError },
        giveUp ? 'webhook delivery failed, giving up' : 'webhook delivery failed, retrying',
      );
      if (giveUp) return { delivered: false, attempts: attempt, status, lastError };
      await sleep(backoff(attempt, retryAfterMs));
    }
    // Unreachable: the loop returns on its last attempt.
    return { delivered: false, attempts: maxAttempts, status, lastError };
  }

  return { notify };
}
