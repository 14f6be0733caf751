/**
 * The per-tenant Graph rate limiter shared by every worker process through Redis.
 *
 * One Lua script decides atomically, on Redis's own clock (`TIME`, so process clocks never
 * matter): is the tenant paused (a self-expiring key set after a 429)? would this call push any
 * sliding-window log (writes, resource units, reports) over its quota? If neither, it records
 * the call and answers 0; otherwise it answers how long to wait and which bucket said so.
 *
 * Why a sliding-window log and not a token bucket: Graph's write quota is a sliding window
 * (3,000 per 150 s); a bucket that refills lets a full burst through at the end of one window
 * and another at the start of the next, i.e. up to 2x the quota inside one Graph window.
 *
 * Why safety stretches the window rather than shrinking the count: with 5 reports per 10 s,
 * floor(5 · 0.95) = 4 would pace at 80 %. Keeping the count and stretching the window to W/0.95
 * paces at 95 % for every quota and tolerates up to 5 % of W of network-latency jitter between
 * our record time and Graph's arrival time.
 *
 * Nothing is cached that a Redis restart could invalidate: ioredis' `defineCommand` sends
 * EVALSHA and falls back to EVAL on NOSCRIPT, and every key carries a TTL (it vanishes once
 * its window passes). After a restart without AOF the windows start empty: a short burst may
 * then be answered by Graph with 429, which pauses the tenant as usual.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../logger.ts';
import { Deadlines } from './deadlines.ts';
import { RateLimitedError } from './errors.ts';
import { randomHoldSecret } from './hold-secret.ts';
import { MICROSOFT_LIMITS, type GraphLimits } from './microsoft-quotas.ts';

export type { GraphLimits } from './microsoft-quotas.ts';

/** What one Graph call costs in each bucket. */
export interface CallCost {
  writes: number;
  ru: number;
  reports: number;
}

/**
 * The limiter's yes. `at` is `performance.now()` just before the Redis check that said yes was
 * sent: a request sent much later (see `sendLeaseMs`) may be one that another process's pause,
 * set meanwhile, should have stopped.
 */
export interface Grant {
  at: number;
  /**
   * The request must be on the wire within this many ms of `at`, or be released and asked for
   * again (Infinity for a read that left the RU window with head-room). Why: the
   * limiter's window is Graph's stretched by 1/safety; that stretch is all the tolerance there
   * is for a request reaching Graph later than its record says. When a window is (or fills up
   * to) full, a request delayed past half that stretch (a busy event loop, a slow connection) can land in
   * the same Graph window as requests granted a full window after it, and draw a 429. Half:
   * the other half is left for the network.
   */
  sendWithinMs: number;
  /** Recorded entries (to release them when the request is never sent). */
  readonly id: string;
  readonly charged: readonly { bucket: 'write' | 'ru' | 'reports'; count: number }[];
}

/** Per-process counters (for metrics and tests). */
export interface LimiterStats {
  /** Total ms this process spent waiting inline. */
  waitedMs: number;
  /** Calls let through. */
  acquired: number;
  /** Times an acquire found the tenant paused. */
  pausedHits: number;
  /** Times acquire gave up waiting and threw RateLimitedError. */
  deferred: number;
  /** Pauses heard from other processes (or this one) through the broadcast channel. */
  broadcastsHeard: number;
  /** Grants given back unused (their request never left this process). */
  released: number;
}

/** The limiter every Graph client in every process shares. */
export interface GraphLimiter {
  /**
   * Resolves when the call may go out (and records it). Waits inline up to `maxInlineWaitMs`
   * in total; beyond that throws `RateLimitedError` (class throttled) so the job can be delayed
   * without holding a worker slot or spending an attempt.
   */
  acquire(tenantId: string, cost: CallCost, opts?: AcquireOptions): Promise<Grant>;
  /**
   * Graph asked for this one request (method, URL, body: `requestKey`) to be repeated only after
   * `ms`: recorded in Redis so that no process sends it before (extends, never shortens). An
   * acquire naming the same `requestKey` then throws `RateLimitedError` (bucket `hold`) at once,
   * without recording anything: the job is delayed, the worker slot freed.
   */
  hold(tenantId: string, requestKey: string, ms: number): Promise<void>;
  /**
   * Gives a grant's recorded entries back: its request was never sent (held back at the wire).
   * Best effort: if Redis cannot be reached the entries simply age out (conservative).
   */
  release(tenantId: string, grant: Grant): Promise<void>;
  /**
   * Pauses the tenant for every process for `ms` (extends a current pause, never shortens it):
   * at once in this process, in Redis for every later acquire, and broadcast so that every
   * other process stops even requests that already passed their Redis check.
   */
  pause(tenantId: string, ms: number, reason: string): Promise<void>;
  /**
   * Remaining pause this process knows of without asking Redis (its own throttles and other
   * processes' broadcasts): what the last-moment check before a request hits the wire reads.
   */
  localPauseMs(tenantId: string): number;
  /**
   * Remaining hold on this request (see `hold`) this process knows of without asking Redis: its
   * own, and other processes' through the broadcast — read at the wire like `localPauseMs`.
   */
  localHoldMs(tenantId: string, requestKey: string): number;
  /** How old a grant may be before the client lets pending I/O in before sending (ms). */
  readonly sendLeaseMs: number;
  /** Remaining pause in ms (0 when not paused). */
  pausedForMs(tenantId: string): Promise<number>;
  /** The Redis key holding the tenant's pause (for inspection and tests). */
  pauseKey(tenantId: string): string;
  stats(): LimiterStats;
  /** Rejects inline waiters and closes the broadcast subscription; the main Redis connection is the caller's. */
  close(): void;
}

/** Per-call options of `acquire`. */
export interface AcquireOptions {
  /** The request's identity (method, URL, body digest): refused while a 503 holds it. */
  requestKey?: string;
}

/** Options for `createGraphLimiter`. */
export interface GraphLimiterOptions {
  redis: Redis;
  /** Key prefix; a `{hash-tag}` prefix keeps a tenant's keys in one Redis Cluster slot. */
  prefix: string;
  limits?: Partial<GraphLimits>;
  /** Pace at this fraction of each quota (0 < safety ≤ 1). Default 0.95. */
  safety?: number;
  /** Longest total inline wait before deferring the job. Default 2000 ms. */
  maxInlineWaitMs?: number;
  /**
   * This instance takes resource units only while the tenant's total use (all processes) is
   * below `ruShare × ruLimit` (0 < ruShare ≤ 1, default 1). Same shared log, a lower ceiling:
   * a low-priority process (the poller) can then never take the last (1 − ruShare) of the
   * quota from the workers, yet uses the whole share when they are idle.
   */
  ruShare?: number;
  /**
   * Subscribe to other processes' pauses (Redis pub/sub on a duplicated connection). Default
   * true; off for a limiter that only ever adds a ceiling in front of another (the share limiter).
   */
  broadcast?: boolean;
  /**
   * A grant older than this when its request is about to be sent means the process was busy
   * since Redis said yes: the client lets pending I/O (a pause broadcast) in before sending.
   * Default 20 ms: a measured violation came from a worker whose loop lagged ~70 ms, sending
   * 60-ms-old grants while the pause broadcast sat unread in its socket; yielding costs two
   * loop turns, nothing on the wire.
   */
  sendLeaseMs?: number;
  /**
   * Key of the HMAC that names a request's hold in Redis and in the broadcast (the request's
   * body may be a credential list). Limiters bind each other's holds only when they share it: pass
   * the deployment's key (see hold-secret.ts). Default: a random key of this limiter's own.
   */
  holdSecret?: Buffer;
  logger?: Logger;
}

const BUCKETS = ['write', 'ru', 'reports'] as const;
/**
 * Which bucket made a caller wait; `pause` is the post-429 tenant pause, `hold` a 503's
 * Retry-After on this very request (see `GraphLimiter.hold`).
 */
export type LimiterBucket = (typeof BUCKETS)[number] | 'pause' | 'hold';

/*
 * KEYS[1] pause key, KEYS[2..4] write/ru/reports logs, KEYS[5] this request's hold.
 * ARGV[1] unique call id; then per bucket (write, ru, reports): limit, window µs, cost.
 * Returns {0, 0, tight} when recorded (tight: bitmask of charged buckets now ≥ 90 % full), else
 * {waitMs, bucketIndex} (0 = pause, 1..3 = buckets, 4 = the request's hold).
 */
const ACQUIRE_LUA = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local pttl = redis.call('PTTL', KEYS[1])
if pttl > 0 then return {pttl, 0} end
local held = redis.call('PTTL', KEYS[5])
if held > 0 then return {held, 4} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local worstWait, worstBucket = 0, 0
for b = 1, 3 do
  local limit = tonumber(ARGV[2 + (b - 1) * 3])
  local window = tonumber(ARGV[3 + (b - 1) * 3])
  local cost = tonumber(ARGV[4 + (b - 1) * 3])
  if cost > 0 then
    local key = KEYS[1 + b]
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    local used = redis.call('ZCARD', key)
    if used + cost > limit then
      -- The oldest (used + cost - limit) entries must leave the window first.
      local idx = used + cost - limit - 1
      local entry = redis.call('ZRANGE', key, idx, idx, 'WITHSCORES')
      local wait = window
      if entry[2] then wait = tonumber(entry[2]) + window - now end
      local waitMs = math.floor(wait / 1000) + 1
      if waitMs > worstWait then worstWait, worstBucket = waitMs, b end
    end
  end
end
if worstWait > 0 then return {worstWait, worstBucket} end
local tight = 0
for b = 1, 3 do
  local limit = tonumber(ARGV[2 + (b - 1) * 3])
  local window = tonumber(ARGV[3 + (b - 1) * 3])
  local cost = tonumber(ARGV[4 + (b - 1) * 3])
  if cost > 0 then
    local key = KEYS[1 + b]
    for i = 1, cost do redis.call('ZADD', key, now, ARGV[1] .. ':' .. i) end
    redis.call('PEXPIRE', key, math.ceil(window / 1000) + 1000)
    if redis.call('ZCARD', key) * 10 >= limit * 9 then tight = tight + 2 ^ (b - 1) end
  end
end
return {0, 0, tight}
`;

/*
 * KEYS[1] pause key; ARGV[1] ms, ARGV[2] reason, ARGV[3] broadcast channel ('' = none), ARGV[4]
 * tenant id. Extends, never shortens; publishes the resulting pause (ms from now) in the same
 * round trip, so other processes hear of it as soon as Redis does. Returns the resulting PTTL.
 */
const PAUSE_LUA = `
local cur = redis.call('PTTL', KEYS[1])
local want = tonumber(ARGV[1])
local result = cur
if cur < want then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', want)
  result = want
end
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4] .. ' ' .. result) end
return result
`;

type LimiterRedis = Redis & {
  provflowLimiterAcquire(
    k1: string,
    k2: string,
    k3: string,
    k4: string,
    k5: string,
    ...args: (string | number)[]
  ): Promise<[number, number, number?]>;
  provflowLimiterPause(k1: string, ms: number, reason: string, channel: string, tenantId: string): Promise<number>;
};

function withCommands(redis: Redis): LimiterRedis {
  const r = redis as LimiterRedis;
  // defineCommand is idempotent per connection; EVALSHA with NOSCRIPT fallback survives restarts.
  if (typeof r.provflowLimiterAcquire !== 'function')
    redis.defineCommand('provflowLimiterAcquire', { numberOfKeys: 5, lua: ACQUIRE_LUA });
  if (typeof r.provflowLimiterPause !== 'function')
    redis.defineCommand('provflowLimiterPause', { numberOfKeys: 1, lua: PAUSE_LUA });
  return r;
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`limiter: ${name} must be a positive number, got ${v}`);
  return v;
}

/** A Redis-backed sliding-window limiter with a cross-process tenant pause. */
export function createGraphLimiter(opts: GraphLimiterOptions): GraphLimiter {
  const redis = withCommands(opts.redis);
  const limits: GraphLimits = { ...MICROSOFT_LIMITS, ...opts.limits };
  const safety = opts.safety ?? 0.95;
  if (!(safety > 0 && safety <= 1)) throw new Error(`limiter: safety must be in (0, 1], got ${safety}`);
  const maxInlineWaitMs = opts.maxInlineWaitMs ?? 2000;
  const logger = opts.logger ?? silentLogger();
  const ruShare = opts.ruShare ?? 1;
  if (!(ruShare > 0 && ruShare <= 1)) throw new Error(`limiter: ruShare must be in (0, 1], got ${ruShare}`);
  const bucketConfig = {
    write: {
      limit: positive('writeLimit', limits.writeLimit),
      windowUs: Math.ceil((positive('writeWindowMs', limits.writeWindowMs) / safety) * 1000),
    },
    ru: {
      limit: Math.max(1, Math.floor(positive('ruLimit', limits.ruLimit) * ruShare)),
      windowUs: Math.ceil((positive('ruWindowMs', limits.ruWindowMs) / safety) * 1000),
    },
    reports: {
      limit: positive('reportsLimit', limits.reportsLimit),
      windowUs: Math.ceil((positive('reportsWindowMs', limits.reportsWindowMs) / safety) * 1000),
    },
  };
  const counters: LimiterStats = {
    waitedMs: 0,
    acquired: 0,
    pausedHits: 0,
    deferred: 0,
    broadcastsHeard: 0,
    released: 0,
  };
  // Half of each bucket's stretch (see Grant.sendWithinMs), in ms.
  const halfStretchMs = {
    write: (bucketConfig.write.windowUs / 1000 - limits.writeWindowMs) / 2,
    ru: (bucketConfig.ru.windowUs / 1000 - limits.ruWindowMs) / 2,
    reports: (bucketConfig.reports.windowUs / 1000 - limits.reportsWindowMs) / 2,
  };
  const sendLeaseMs = opts.sendLeaseMs ?? 20;
  const sleepers = new Set<{ timer: NodeJS.Timeout; reject: (e: Error) => void }>();
  let closed = false;
  // This process learns of a throttle before Redis does: concurrent calls here must stop at
  // once, not after the pause's round trip (those would arrive inside Graph's Retry-After).
  const localPause = new Deadlines();

  const key = (tenantId: string, what: string) => `${opts.prefix}:limiter:${tenantId}:${what}`;
  const channel = `${opts.prefix}:limiter:pauses`;
  const holdChannel = `${opts.prefix}:limiter:holds`;
  // Holds on single requests (a 503's Retry-After), this process's and other processes' (broadcast).
  const localHolds = new Deadlines();
  // A request's hold: `tenant|digest` locally and in the broadcast, `…:hold:digest` in Redis.
  const holdSecret = opts.holdSecret ?? randomHoldSecret();
  const digest = (requestKey: string) => createHmac('sha256', holdSecret).update(requestKey).digest('base64url');
  const holdName = (tenantId: string, requestKey: string) => `${tenantId}|${digest(requestKey)}`;

  function notePause(tenantId: string, ms: number): void {
    if (ms > 0) localPause.extend(tenantId, ms);
  }

  // Other processes' pauses, pushed: a request that passed its Redis check just before another
  // process's pause landed is stopped at the wire (see graph-client's send guard), not sent late.
  let subscriber: Redis | null = null;
  if (opts.broadcast ?? true) {
    subscriber = opts.redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true });
    subscriber.on('error', (err: Error) =>
      logger.warn({ err: err.message }, 'limiter: pause subscription error (Redis still guards every acquire)'),
    );
    subscriber.on('message', (ch: string, msg: string) => {
      const sp = msg.lastIndexOf(' ');
      const what = msg.slice(0, sp);
      const ms = Number(msg.slice(sp + 1));
      if (!what || !(ms > 0)) return;
      counters.broadcastsHeard++;
      // Pauses carry the tenant id; holds `tenant|digest` (the same key localHoldMs reads).
      if (ch === holdChannel) localHolds.extend(what, ms);
      else notePause(what, ms);
    });
    subscriber
      .subscribe(channel, holdChannel)
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'limiter: could not subscribe to pauses'));
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

  type Charged = Grant['charged'][number];
  const holdKey = (tenantId: string, requestKey: string | undefined) =>
    key(tenantId, `hold:${requestKey ? digest(requestKey) : '-'}`);
  async function tryAcquire(
    tenantId: string,
    cost: CallCost,
    requestKey: string | undefined,
  ): Promise<{ waitMs: number; bucket: LimiterBucket; id: string; charged: Charged[]; sendWithinMs: number }> {
    const id = randomUUID();
    const args: (string | number)[] = [id];
    const charged: Charged[] = [];
    for (const b of BUCKETS) {
      const cfg = bucketConfig[b];
      const raw = b === 'write' ? cost.writes : b === 'ru' ? cost.ru : cost.reports;
      // A single call can never cost more than the whole quota, or it would wait forever.
      const c = Math.min(cfg.limit, Math.max(0, Math.ceil(raw)));
      args.push(cfg.limit, cfg.windowUs, c);
      if (c > 0) charged.push({ bucket: b, count: c });
    }
    const [waitMs, idx, tight] = await redis.provflowLimiterAcquire(
      key(tenantId, 'pause'),
      key(tenantId, 'write'),
      key(tenantId, 'ru'),
      key(tenantId, 'reports'),
      holdKey(tenantId, requestKey),
      ...args,
    );
    let sendWithinMs = Infinity;
    const mask = Number(tight ?? 0);
    for (const { bucket: b } of charged) {
      // Writes and reports always: few, and a window can fill from other processes while this
      // one waits to send (measured: 3 workers on 60 writes per 3 s drew 429s on grants taken
      // at 80-85 %). Resource units only when nearly full: reads are many and cheap.
      if (b !== 'ru' || mask & (1 << BUCKETS.indexOf(b))) sendWithinMs = Math.min(sendWithinMs, halfStretchMs[b]);
    }
    const bucket: LimiterBucket = idx === 0 ? 'pause' : idx === 4 ? 'hold' : (BUCKETS[Number(idx) - 1] ?? 'write');
    return { waitMs: Number(waitMs), bucket, id, charged, sendWithinMs };
  }

  return {
    async acquire(tenantId, cost, o = {}) {
      let waitedHere = 0;
      for (;;) {
        if (closed) throw new Error('limiter closed');
        const localMs = localPause.remainingMs(tenantId);
        const at = performance.now();
        const { waitMs, bucket, id, charged, sendWithinMs } =
          localMs > 0
            ? { waitMs: localMs, bucket: 'pause' as const, id: '', charged: [], sendWithinMs: Infinity }
            : await tryAcquire(tenantId, cost, o.requestKey);
        if (waitMs <= 0) {
          counters.acquired++;
          return { at, id, charged, sendWithinMs };
        }
        // Held by Graph for ~a second or more (another process's 503): noted here for the send
        // guard, and never worth a worker slot.
        if (bucket === 'hold') {
          if (o.requestKey) localHolds.extend(holdName(tenantId, o.requestKey), waitMs);
          throw new RateLimitedError(tenantId, waitMs, 'hold');
        }
        if (bucket === 'pause') counters.pausedHits++;
        if (waitedHere + waitMs > maxInlineWaitMs) {
          counters.deferred++;
          logger.debug({ tenantId, bucket, waitMs }, 'limiter: deferring call');
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
      try {
        const multi = redis.multi();
        for (const c of grant.charged) {
          multi.zrem(key(tenantId, c.bucket), ...Array.from({ length: c.count }, (_, i) => `${grant.id}:${i + 1}`));
        }
        await multi.exec();
      } catch (err) {
        logger.debug({ err: (err as Error).message }, 'limiter: could not release a grant (its entries age out)');
      }
    },
    async hold(tenantId, requestKey, ms) {
      const whole = Math.ceil(ms);
      if (!(whole > 0)) return;
      // The pause script on the request's own key: extends, never shortens; every later acquire
      // naming this request reads the key, and the broadcast stops a twin request (another job's
      // identical GET) that passed its acquire already, at the wire of every process.
      const name = holdName(tenantId, requestKey);
      localHolds.extend(name, whole);
      await redis.provflowLimiterPause(
        holdKey(tenantId, requestKey),
        whole,
        'held by a 503 Retry-After',
        subscriber ? holdChannel : '',
        name,
      );
    },
    async pause(tenantId, ms, reason) {
      const whole = Math.ceil(ms);
      if (!(whole > 0)) return;
      notePause(tenantId, whole);
      const now = await redis.provflowLimiterPause(
        key(tenantId, 'pause'),
        whole,
        reason.slice(0, 200),
        subscriber ? channel : '',
        tenantId,
      );
      logger.info({ tenantId, ms: whole, pausedForMs: Number(now), reason }, 'limiter: tenant paused');
    },
    localPauseMs: (tenantId) => localPause.remainingMs(tenantId),
    localHoldMs: (tenantId, requestKey) => localHolds.remainingMs(holdName(tenantId, requestKey)),
    sendLeaseMs,
    async pausedForMs(tenantId) {
      const pttl = await redis.pttl(key(tenantId, 'pause'));
      return pttl > 0 ? pttl : 0;
    },
    pauseKey: (tenantId) => key(tenantId, 'pause'),
    stats: () => ({ ...counters }),
    close() {
      closed = true;
      for (const s of sleepers) {
        clearTimeout(s.timer);
        s.reject(new Error('limiter closed'));
      }
      sleepers.clear();
      subscriber?.disconnect();
      subscriber = null;
    },
  };
}
