/**
 * One request's way through the throttle, from its grant to its answer (the protocol in
 * docs/adr, "throttle module"): the grant's lease (two loop turns of pending I/O when the
 * grant has aged, so a pause broadcast sitting unread is heard), the wire check (send deadline,
 * request hold, tenant pause, grant expiry: any of them stops the request unsent, which is
 * always safe to admit again), and the answer (a 429 pauses the tenant, a 503 with Retry-After
 * holds the request, both as soon as the headers are parsed).
 */
import type { Dispatcher } from 'undici';
import type { Logger } from '../../logger.ts';
import { classifyGraphFailure, type Classification } from '../classify-error.ts';
import { RateLimitedError } from '../errors.ts';
import { backoffMs } from '../retry-after.ts';
import type { Grant, GraphLimiter } from './limiter.ts';
import { guardedDispatcher, notSentCause, RequestNotSentError } from './send-guard.ts';

/** Why a granted request was not sent as it was (the `why` label of the held-back metric). */
export type HeldBackReason = 'paused' | 'late-grant' | 'lease-yield';

/** Requests held back unsent in a row before the job is deferred instead. */
const MAX_HELD_BACK = 20;

/** What a permit needs from its throttle (one per request, made by `createThrottle`). */
interface PermitContext {
  tenantId: string;
  limiter: GraphLimiter;
  grant: Grant;
  /** The request's identity for holds: method, URL and body digest. */
  requestKey: string;
  method: string;
  route: string;
  sendBy: number | undefined;
  /** Times this request was already held back (counted across admissions of the same request). */
  tries: { paused: number; late: number };
  streak: { get(): number; set(n: number): void };
  onHeldBack: (why: HeldBackReason) => void;
  logger: Logger;
}

/** The answer as the client classified it; `failure` absent for a success. */
export interface Answer {
  status: number;
  code: string | null;
  failure?: Pick<Classification, 'errorClass' | 'retryAfterMs' | 'throttleScope'>;
}

/** A granted request: send it through `dispatcher`, then report how it went. */
export interface Permit {
  /** The dispatcher to send through: re-checks at the wire, reports throttling headers at once. */
  dispatcher(inner: Dispatcher, onSent?: () => void): Dispatcher;
  /**
   * A failed fetch: true when the request never left (grant released: admit the same request
   * again); false when it did. Throws RateLimitedError when the request must wait longer.
   */
  notSent(err: unknown): Promise<boolean>;
  /** The answer: a throttled one pauses the tenant or holds the request. Returns the wait to report. */
  observe(answer: Answer): Promise<number | null>;
}

/** Two loop turns: the first check phase may come before the poll phase that reads the subscriber's socket. */
async function letPendingIoIn(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
}

/**
 * Builds the permit; yields first when the grant is older than the lease. Null when the request
 * must not be sent after all (grant released): the caller asks for a grant again.
 */
export async function makePermit(p: PermitContext, sendLeaseMs: number): Promise<Permit | null> {
  const { limiter, tenantId, grant } = p;
  if (performance.now() - grant.at > sendLeaseMs) {
    p.onHeldBack('lease-yield');
    await letPendingIoIn();
  }
  let earlyPausedMs = 0;
  const logError = (what: string) => (err: unknown) => p.logger.error({ err: (err as Error).message }, what);
  const holdEverywhere = (ms: number) =>
    void limiter.hold(tenantId, p.requestKey, ms).catch(logError('could not record the request hold in Redis'));

  // Asked right after the grant and again at the wire (waiting for a connection is not sending).
  const wontSend = (): RequestNotSentError | null => {
    if (p.sendBy !== undefined && Date.now() > p.sendBy) return new RequestNotSentError('send-deadline', 0);
    const held = limiter.localHoldMs(tenantId, p.requestKey);
    if (held > 0) return new RequestNotSentError('held', held);
    const paused = limiter.localPauseMs(tenantId);
    if (paused > 0) return new RequestNotSentError('paused', paused);
    // Sent now, it could reach Graph in the same window as calls granted a full window later.
    return performance.now() - grant.at > grant.sendWithinMs ? new RequestNotSentError('late-grant', 0) : null;
  };

  const notSent = async (n: RequestNotSentError): Promise<void> => {
    await limiter.release(tenantId, grant).catch(() => undefined);
    if (n.why === 'send-deadline') throw new RateLimitedError(tenantId, 1000, 'send-window');
    if (n.why === 'held') throw new RateLimitedError(tenantId, n.waitMs, 'hold');
    if (n.why === 'late-grant') {
      p.onHeldBack('late-grant');
      // A process that keeps failing to send in time defers the job rather than spin.
      if (++p.tries.late > MAX_HELD_BACK) throw new RateLimitedError(tenantId, 1000, 'write');
      return;
    }
    p.onHeldBack('paused');
    if (++p.tries.paused > MAX_HELD_BACK) throw new RateLimitedError(tenantId, Math.max(n.waitMs, 1000), 'pause');
    p.logger.debug({ method: p.method, route: p.route, waitMs: n.waitMs }, 'request held back: tenant paused');
  };

  // The moment the status line and headers say "wait", before fetch resolves or the body is read:
  // calls issued meanwhile (here or, through the broadcast, elsewhere) would land inside Retry-After.
  const onHeaders = (status: number, header: (name: string) => string | null) => {
    if (status !== 429 && status !== 503 && status !== 504) return;
    const c = classifyGraphFailure({
      status,
      headers: { 'retry-after': header('retry-after'), 'x-ms-throttle-scope': header('x-ms-throttle-scope') },
    });
    if (c.errorClass !== 'throttled' || !c.retryAfterMs || c.retryAfterMs <= 0) return;
    if (c.throttleScope === 'request') return holdEverywhere(c.retryAfterMs);
    earlyPausedMs = c.retryAfterMs;
    void limiter
      .pause(tenantId, c.retryAfterMs, `${status} on ${p.method} ${p.route}`)
      .catch(logError('could not record the tenant pause in Redis'));
  };

  const before = wontSend();
  if (before) {
    await notSent(before);
    return null;
  }
  return {
    dispatcher: (inner, onSent) => guardedDispatcher(inner, { beforeSend: wontSend, onSent, onHeaders }),
    async notSent(err) {
      const n = notSentCause(err);
      if (!n) return false;
      await notSent(n);
      return true;
    },
    async observe(a) {
      const f = a.failure;
      if (!f) {
        p.streak.set(0);
        return null;
      }
      let retryAfterMs = f.retryAfterMs;
      if (f.errorClass !== 'throttled') return retryAfterMs;
      if (f.throttleScope === 'request' && retryAfterMs !== null) {
        // Only this request waits (the job is delayed by Retry-After); the tenant goes on.
        if (limiter.localHoldMs(tenantId, p.requestKey) < retryAfterMs - 50) holdEverywhere(retryAfterMs);
        return retryAfterMs;
      }
      retryAfterMs ??= Math.max(1000, backoffMs(p.streak.get(), { baseMs: 2000, maxMs: 60_000 }));
      p.streak.set(p.streak.get() + 1);
      // Pause the tenant for every process BEFORE the caller throws, so no one else walks into the
      // wall (unless the headers already did, for at least as long).
      if (earlyPausedMs === 0 || retryAfterMs > earlyPausedMs) {
        const reason = `${a.status} ${a.code ?? ''} on ${p.method} ${p.route}`.trim();
        await limiter
          .pause(tenantId, retryAfterMs, reason)
          .catch(logError('could not record the tenant pause in Redis'));
      }
      return retryAfterMs;
    },
  };
}
