/**
 * The throttle: every Graph request of every process is admitted here, per tenant, and gets a
 * permit that carries it to the wire and reads its answer. It owns the pacing windows, the
 * tenant pause (after a 429), the request hold (after a 503 with Retry-After), the send deadline
 * and the broadcast of pauses and holds between processes (docs/adr, "throttle module").
 *
 * Vocabulary, the same in code, metrics and docs: a *grant* is a window's yes; a *pause* stops
 * a tenant; a *hold* stops one request (method, URL, body); a *send deadline* is the caller's
 * last moment to send. A request stopped before its first byte is *held back* (always safe).
 */
import { createHash } from 'node:crypto';
import { silentLogger, type Logger } from '../../logger.ts';
import { RateLimitedError } from '../errors.ts';
import { bottleneckEngine } from './bottleneck-engine.ts';
import { createGraphLimiter, type GraphLimiter, type GraphLimiterOptions } from './limiter.ts';
import { makePermit, type HeldBackReason, type Permit } from './permit.ts';
import { nativeEngine, type CallCost } from './windows.ts';

export type { Answer, HeldBackReason, Permit } from './permit.ts';
export type { CallCost, QuotaShare } from './windows.ts';

/** What the throttle needs to know of a request. */
export interface ThrottledRequest {
  method: string;
  url: string;
  /** The JSON body as sent ('' for none): part of the request's identity for holds. */
  bodyText: string;
  route: string;
  cost: CallCost;
  /** Send deadline, epoch ms: past it the request fails unsent (RateLimitedError 'send-window'). */
  sendBy?: number;
}

/** The one interface the Graph client sees. */
export interface Throttle {
  /**
   * Waits for a grant (inline up to the limiter's budget) and returns the request's permit.
   * Throws RateLimitedError: bucket `hold` when Graph holds this very request, `send-window`
   * past its send deadline, any other when the job should be delayed instead of waiting here.
   * Admitting the same request object again (after `permit.notSent`) continues its count of
   * times held back, so a request that can never be sent defers its job.
   */
  admit(tenantId: string, request: ThrottledRequest): Promise<Permit>;
  close(): Promise<void>;
}

export interface ThrottleOptions {
  /** The shared state (limiter.ts): windows on the chosen engine, pauses, holds, broadcast. */
  limiter: GraphLimiter;
  /**
   * A grant older than this when its request is about to be sent means the process was busy since
   * Redis said yes: pending I/O (a pause broadcast) is let in first. Default 20 ms: a measured
   * violation came from a worker whose loop lagged ~70 ms while a pause broadcast sat unread.
   */
  sendLeaseMs?: number;
  /** For metrics (see HeldBackReason and docs/operators.md). */
  onHeldBack?: (why: HeldBackReason) => void;
  logger?: Logger;
}

interface RequestState {
  requestKey: string;
  tries: { paused: number; late: number };
}

export function createThrottle(opts: ThrottleOptions): Throttle {
  const { limiter } = opts;
  const sendLeaseMs = opts.sendLeaseMs ?? 20;
  const logger = opts.logger ?? silentLogger();
  const onHeldBack = opts.onHeldBack ?? (() => {});
  const states = new WeakMap<ThrottledRequest, RequestState>();
  // Throttles without Retry-After in a row, per tenant, for backoff (reset by any success).
  const streaks = new Map<string, number>();

  function stateOf(r: ThrottledRequest): RequestState {
    let s = states.get(r);
    if (!s) {
      // "The request" a 503 holds is this method, URL and body: other instances' instantiates
      // (same URL, another displayName) are other requests. The limiter names it in Redis by a
      // keyed HMAC, as the body may be a credential list.
      const digest = r.bodyText ? ` ${createHash('sha256').update(r.bodyText).digest('base64url')}` : '';
      s = { requestKey: `${r.method} ${r.url}${digest}`, tries: { paused: 0, late: 0 } };
      states.set(r, s);
    }
    return s;
  }

  return {
    async admit(tenantId, request) {
      const s = stateOf(request);
      for (;;) {
        if (request.sendBy !== undefined && Date.now() > request.sendBy) {
          throw new RateLimitedError(tenantId, 1000, 'send-window');
        }
        // Graph asked for exactly this request to be repeated later: it waits, the tenant goes on.
        const heldMs = limiter.localHoldMs(tenantId, s.requestKey);
        if (heldMs > 0) throw new RateLimitedError(tenantId, heldMs, 'hold');
        const grant = await limiter.acquire(tenantId, request.cost, { requestKey: s.requestKey });
        const permit = await makePermit(
          {
            tenantId,
            limiter,
            grant,
            requestKey: s.requestKey,
            method: request.method,
            route: request.route,
            sendBy: request.sendBy,
            tries: s.tries,
            streak: { get: () => streaks.get(tenantId) ?? 0, set: (n) => void streaks.set(tenantId, n) },
            onHeldBack,
            logger,
          },
          sendLeaseMs,
        );
        if (permit) return permit;
      }
    },
    close: () => limiter.close(),
  };
}

/** Which engine keeps the pacing windows (PROVFLOW_THROTTLE_ENGINE; docs/adr, "throttle engine"). */
export type ThrottleEngine = 'native' | 'bottleneck';

/** The throttle of one process over Redis: its limiter on the chosen engine, and the permits. */
export function createRedisThrottle(
  o: Omit<GraphLimiterOptions, 'engine'> & Omit<ThrottleOptions, 'limiter'> & { engine?: ThrottleEngine },
): Throttle {
  const { engine, sendLeaseMs, onHeldBack, ...rest } = o;
  const limiter = createGraphLimiter({ ...rest, engine: engine === 'bottleneck' ? bottleneckEngine : nativeEngine });
  return createThrottle({ limiter, sendLeaseMs, onHeldBack, logger: o.logger });
}
