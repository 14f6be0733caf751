/**
 * The throttle's shared state, one per process, keyed by tenant id: grants from the pacing
 * windows (windows.ts, on Redis's own clock), the tenant pause after a 429 and the request hold
 * after a 503, both kept in Redis and broadcast to every process over pub/sub, and remembered
 * locally so the wire check (permit.ts) needs no round trip.
 *
 * Nothing is cached that a Redis restart could invalidate: scripts are re-sent on NOSCRIPT and
 * every key carries a TTL. After a restart without AOF the windows start empty: a short burst
 * may then draw a 429, which pauses the tenant as usual.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../../logger.ts';
import { RateLimitedError } from '../errors.ts';
import type { GraphLimits } from '../microsoft-quotas.ts';
import { Deadlines } from './deadlines.ts';
import { withThrottleCommands } from './lua.ts';
import {
  charges,
  nativeEngine,
  tenantWindows,
  type CallCost,
  type Charged,
  type PacingEngine,
  type QuotaShare,
  type TenantKeys,
  type TenantWindows,
} from './windows.ts';

export type { CallCost, QuotaShare } from './windows.ts';
export type { GraphLimits } from '../microsoft-quotas.ts';

/**
 * The limiter's yes. `at` is `performance.now()` just before the Redis check that said yes was
 * sent: a request sent much later may be one that another process's pause, set meanwhile,
 * should have stopped.
 */
export interface Grant {
  at: number;
  /**
   * The request must be on the wire within this many ms of `at`, or be released and asked for
   * again (Infinity for a read that left the RU window with head-room). Why: the window is
   * Graph's stretched by 1/safety, all the tolerance there is for a request reaching Graph later
   * than its record says; half of it is left for the network (ADR "throttle module").
   */
  sendWithinMs: number;
  /** Recorded entries (to release them when the request is never sent). */
  readonly id: string;
  readonly charged: readonly Charged[];
}

/** Per-process counters (for metrics and tests). */
export interface LimiterStats {
  /** Total ms this process spent waiting inline. */
  waitedMs: number;
  /** Grants given. */
  acquired: number;
  /** Times an acquire found the tenant paused. */
  pausedHits: number;
  /** Times acquire gave up waiting and threw RateLimitedError. */
  deferred: number;
  /** Pauses and holds heard from other processes (or this one) through the broadcast. */
  broadcastsHeard: number;
  /** Grants given back unused (their request never left this process). */
  released: number;
}

/** The shared state every Graph request of every process is admitted through (see permit.ts). */
export interface GraphLimiter {
  /**
   * Resolves when the call may go out (and records it). Waits inline up to `maxInlineWaitMs` in
   * total; beyond that throws `RateLimitedError` so the job is delayed without holding a worker
   * slot. A `requestKey` that a 503 holds throws at once (bucket `hold`), recording nothing.
   */
  acquire(tenantId: string, cost: CallCost, opts?: { requestKey?: string }): Promise<Grant>;
  /** Gives a grant back: its request was never sent. Best effort (entries otherwise age out). */
  release(tenantId: string, grant: Grant): Promise<void>;
  /** Holds one request (method, URL, body) in every process for `ms` (extends, never shortens). */
  hold(tenantId: string, requestKey: string, ms: number): Promise<void>;
  /** Pauses the tenant in every process for `ms` (extends, never shortens): here, in Redis, broadcast. */
  pause(tenantId: string, ms: number, reason: string): Promise<void>;
  /** Remaining pause this process knows of without asking Redis (read at the wire). */
  localPauseMs(tenantId: string): number;
  /** Remaining hold on this request this process knows of without asking Redis (read at the wire). */
  localHoldMs(tenantId: string, requestKey: string): number;
  /** Remaining pause in Redis (0 when not paused). */
  pausedForMs(tenantId: string): Promise<number>;
  stats(): LimiterStats;
  /** Rejects inline waiters, closes the broadcast subscription and the engine; the main connection is the caller's. */
  close(): Promise<void>;
}

/** Options for `createGraphLimiter`. */
export interface GraphLimiterOptions {
  redis: Redis;
  /** Key prefix; a `{hash-tag}` prefix keeps a tenant's keys in one Redis Cluster slot. */
  prefix: string;
  /** Quotas of every tenant not in `tenantLimits` (default Microsoft's). */
  limits?: Partial<GraphLimits>;
  /** A tenant's own quotas (e.g. its size's resource units); undefined = `limits`. */
  tenantLimits?: (tenantId: string) => Partial<GraphLimits> | undefined;
  /** Pace at this fraction of each quota (0 < safety ≤ 1). Default 0.95. */
  safety?: number;
  /** Longest total inline wait before deferring the job. Default 2000 ms. */
  maxInlineWaitMs?: number;
  /**
   * This process group (the poller) keeps to its own share of the tenant's resource units, in a
   * log of its own checked in the same script as the tenant's: it can never starve the workers.
   */
  share?: QuotaShare;
  /** The pacing windows' engine (default native). */
  engine?: (redis: Redis) => PacingEngine;
  /** Subscribe to other processes' pauses and holds (pub/sub on a duplicated connection). Default true. */
  broadcast?: boolean;
  /**
   * Key of the HMAC that names a request's hold in Redis and in the broadcast (the request's body
   * may be a credential list). Limiters bind each other's holds only when they share it: pass the
   * deployment's key (src/secrets/hold-key.ts). Default: a random key of this limiter's own.
   */
  holdSecret?: Buffer;
  logger?: Logger;
}

/** The Redis key of a tenant's pause (for inspection and tests). */
export const pauseKey = (prefix: string, tenantId: string) => `${prefix}:limiter:${tenantId}:pause`;

/** A Redis-backed limiter with a cross-process tenant pause and request holds. */
export function createGraphLimiter(opts: GraphLimiterOptions): GraphLimiter {
  const redis = withThrottleCommands(opts.redis);
  const engine = (opts.engine ?? nativeEngine)(opts.redis);
  const safety = opts.safety ?? 0.95;
  if (!(safety > 0 && safety <= 1)) throw new Error(`throttle: safety must be in (0, 1], got ${safety}`);
  const share = opts.share;
  if (share && !(share.ru > 0 && share.ru <= 1)) throw new Error(`throttle: share must be in (0, 1], got ${share.ru}`);
  const maxInlineWaitMs = opts.maxInlineWaitMs ?? 2000;
  const logger = opts.logger ?? silentLogger();
  const windowsOf = new Map<string, TenantWindows>();
  const windowsFor = (tenantId: string): TenantWindows => {
    let w = windowsOf.get(tenantId);
    if (!w) {
      w = tenantWindows({ ...opts.limits, ...opts.tenantLimits?.(tenantId) }, safety, share);
      windowsOf.set(tenantId, w);
    }
    return w;
  };
  windowsFor(''); // validates the default quotas at construction
  const counters: LimiterStats = {
    waitedMs: 0,
    acquired: 0,
    pausedHits: 0,
    deferred: 0,
    broadcastsHeard: 0,
    released: 0,
  };
  const sleepers = new Set<{ timer: NodeJS.Timeout; reject: (e: Error) => void }>();
  let closed = false;
  // This process learns of a throttle before Redis does: concurrent calls here must stop at
  // once, not after the pause's round trip (those would arrive inside Graph's Retry-After).
  const localPause = new Deadlines();
  // Holds on single requests (a 503's Retry-After), this process's and other processes' (broadcast).
  const localHolds = new Deadlines();

  const key = (tenantId: string, what: string) => `${opts.prefix}:limiter:${tenantId}:${what}`;
  const channel = `${opts.prefix}:limiter:pauses`;
  const holdChannel = `${opts.prefix}:limiter:holds`;
  // A request's hold: `tenant|digest` locally and in the broadcast, `…:hold:digest` in Redis.
  const holdSecret = opts.holdSecret ?? randomBytes(32);
  const digest = (requestKey: string) => createHmac('sha256', holdSecret).update(requestKey).digest('base64url');
  const holdName = (tenantId: string, requestKey: string) => `${tenantId}|${digest(requestKey)}`;
  const holdKey = (tenantId: string, requestKey: string | undefined) =>
    key(tenantId, `hold:${requestKey ? digest(requestKey) : '-'}`);
  const keysFor = (tenantId: string, requestKey?: string): TenantKeys => ({
    pause: pauseKey(opts.prefix, tenantId),
    hold: holdKey(tenantId, requestKey),
    window: {
      write: key(tenantId, 'write'),
      ru: key(tenantId, 'ru'),
      reports: key(tenantId, 'reports'),
      share: key(tenantId, `share:${share?.group ?? '-'}`),
    },
  });

  // Other processes' pauses and holds, pushed: a request that passed its Redis check just before
  // another process's pause landed is stopped at the wire (permit.ts), not sent late.
  let subscriber: Redis | null = null;
  if (opts.broadcast ?? true) {
    subscriber = opts.redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true });
    subscriber.on('error', (err: Error) =>
      logger.warn({ err: err.message }, 'throttle: pause subscription error (Redis still guards every grant)'),
    );
    subscriber.on('message', (ch: string, msg: string) => {
      const sp = msg.lastIndexOf(' ');
      const what = msg.slice(0, sp);
      const ms = Number(msg.slice(sp + 1));
      if (!what || !(ms > 0)) return;
      counters.broadcastsHeard++;
      // Pauses carry the tenant id; holds `tenant|digest` (the same key localHoldMs reads).
      (ch === holdChannel ? localHolds : localPause).extend(what, ms);
    });
    subscriber
      .subscribe(channel, holdChannel)
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'throttle: could not subscribe to pauses'));
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = {
        timer: setTimeout(() => {
          sleepers.delete(entry);
          resolve();
        }, ms),
        reject,
      };
      sleepers.add(entry);
    });
  }

  async function tryAcquire(tenantId: string, cost: CallCost, requestKey: string | undefined, at: number) {
    const localMs = localPause.remainingMs(tenantId);
    if (localMs > 0) return { waitMs: localMs, by: 'pause' as const, grant: null };
    const w = windowsFor(tenantId);
    const charged = charges(cost, w, share !== undefined);
    const id = randomUUID();
    const { waitMs, by, tight } = await engine.take(keysFor(tenantId, requestKey), id, charged, w);
    if (waitMs > 0) return { waitMs, by, grant: null };
    let sendWithinMs = Infinity;
    for (const { bucket: b } of charged) {
      // Writes and reports always: few, and a window can fill from other processes while this
      // one waits to send. Resource units only when nearly full: reads are many and cheap.
      if ((b !== 'ru' && b !== 'share') || tight.has(b)) sendWithinMs = Math.min(sendWithinMs, w[b].halfStretchMs);
    }
    return { waitMs: 0, by: null, grant: { at, id, charged, sendWithinMs } };
  }

  async function sendBroadcast(k: string, ms: number, reason: string, ch: string, what: string): Promise<number> {
    return redis.provflowThrottlePause(k, ms, reason.slice(0, 200), subscriber ? ch : '', what);
  }

  return {
    async acquire(tenantId, cost, o = {}) {
      let waitedHere = 0;
      for (;;) {
        if (closed) throw new Error('limiter closed');
        const { waitMs, by, grant } = await tryAcquire(tenantId, cost, o.requestKey, performance.now());
        if (grant) {
          counters.acquired++;
          return grant;
        }
        // Held by Graph for ~a second or more (another process's 503): noted for the wire check,
        // and never worth a worker slot.
        if (by === 'hold') {
          if (o.requestKey) localHolds.extend(holdName(tenantId, o.requestKey), waitMs);
          throw new RateLimitedError(tenantId, waitMs, 'hold');
        }
        if (by === 'pause') counters.pausedHits++;
        const bucket = by === 'share' ? 'ru' : (by ?? 'write');
        if (waitedHere + waitMs > maxInlineWaitMs) {
          counters.deferred++;
          logger.debug({ tenantId, bucket, waitMs }, 'throttle: deferring call');
          throw new RateLimitedError(tenantId, waitMs, bucket);
        }
        // A little jitter so waiters woken together do not all race for the same freed slot.
        const nap = waitMs + Math.floor(Math.random() * 10);
        waitedHere += nap;
        counters.waitedMs += nap;
        await sleep(nap);
      }
    },
    async release(tenantId, grant) {
      if (grant.charged.length === 0) return;
      counters.released++;
      await engine.giveBack(keysFor(tenantId), grant.id, grant.charged).catch((err: unknown) => {
        logger.debug({ err: (err as Error).message }, 'throttle: could not release a grant (its entries age out)');
      });
    },
    async hold(tenantId, requestKey, ms) {
      const whole = Math.ceil(ms);
      if (!(whole > 0)) return;
      // Every later grant naming this request reads the key; the broadcast stops a twin request
      // (another job's identical GET) that was granted already, at the wire of every process.
      const name = holdName(tenantId, requestKey);
      localHolds.extend(name, whole);
      await sendBroadcast(holdKey(tenantId, requestKey), whole, 'held by a 503 Retry-After', holdChannel, name);
    },
    async pause(tenantId, ms, reason) {
      const whole = Math.ceil(ms);
      if (!(whole > 0)) return;
      localPause.extend(tenantId, whole);
      const now = await sendBroadcast(pauseKey(opts.prefix, tenantId), whole, reason, channel, tenantId);
      logger.info({ tenantId, ms: whole, pausedForMs: Number(now), reason }, 'throttle: tenant paused');
    },
    localPauseMs: (tenantId) => localPause.remainingMs(tenantId),
    localHoldMs: (tenantId, requestKey) => localHolds.remainingMs(holdName(tenantId, requestKey)),
    async pausedForMs(tenantId) {
      const pttl = await redis.pttl(pauseKey(opts.prefix, tenantId));
      return pttl > 0 ? pttl : 0;
    },
    stats: () => ({ ...counters }),
    async close() {
      closed = true;
      for (const s of sleepers) {
        clearTimeout(s.timer);
        s.reject(new Error('limiter closed'));
      }
      sleepers.clear();
      subscriber?.disconnect();
      subscriber = null;
      await engine.close();
    },
  };
}
