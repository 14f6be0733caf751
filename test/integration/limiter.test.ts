/**
 * The shared limiter on a private redis-server: several "processes" (separate ioredis
 * connections, plus a real child process) never exceed a quota in any sliding window; a pause
 * stops everyone and is never shortened; a Redis restart does not wedge it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../src/graph/errors.ts';
import { randomBytes } from 'node:crypto';
import {
  createGraphLimiter,
  type CallCost,
  type GraphLimiter,
  type GraphLimits,
} from '../../src/graph/throttle/limiter.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';

let redisHandle: RedisHandle;
const conns: Redis[] = [];
const limiters: GraphLimiter[] = [];

beforeAll(async () => {
  redisHandle = await testRedis({ own: true });
});
afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
  for (const c of conns) c.disconnect();
  await redisHandle?.close();
});

/** A limiter closed after the file (it holds a pub/sub connection for pauses). */
function createLimiter(o: Parameters<typeof createGraphLimiter>[0]): GraphLimiter {
  const l = createGraphLimiter(o);
  limiters.push(l);
  return l;
}

function conn(): Redis {
  const r = new Redis(redisHandle.url, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 50, 500) });
  r.on('error', () => {});
  conns.push(r);
  return r;
}

const BIG = 1_000_000;
function limits(over: Partial<GraphLimits>): GraphLimits {
  return {
    writeLimit: BIG,
    writeWindowMs: 1000,
    ruLimit: BIG,
    ruWindowMs: 1000,
    reportsLimit: BIG,
    reportsWindowMs: 1000,
    ...over,
  };
}
const WRITE: CallCost = { writes: 1, ru: 1, reports: 0 };

/** Largest number of events (weighted) inside any window of `windowMs` (events sorted by time). */
function maxInWindow(events: Array<{ t: number; w?: number }>, windowMs: number): number {
  const ev = [...events].sort((a, b) => a.t - b.t);
  let best = 0;
  let sum = 0;
  let lo = 0;
  for (let hi = 0; hi < ev.length; hi++) {
    sum += ev[hi]!.w ?? 1;
    while (ev[hi]!.t - ev[lo]!.t >= windowMs) sum -= ev[lo++]!.w ?? 1;
    best = Math.max(best, sum);
  }
  return best;
}

/** `n` concurrent loops calling acquire until `untilMs`; returns the grant times. */
async function hammer(
  limiter: GraphLimiter,
  tenant: string,
  cost: CallCost,
  n: number,
  untilMs: number,
): Promise<number[]> {
  const times: number[] = [];
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (Date.now() < untilMs) {
        try {
          const grant = await limiter.acquire(tenant, cost);
          // When the Redis check that said yes was sent, not when this loop saw the answer: a busy
          // machine's stalled event loop would bunch answers that Redis spread over the window.
          const at = performance.timeOrigin + grant.at;
          if (at < untilMs) times.push(at);
        } catch (err) {
          if (!(err instanceof RateLimitedError)) throw err;
          await new Promise((r) => setTimeout(r, Math.min(err.retryAfterMs, 50)));
        }
      }
    }),
  );
  return times;
}

/** A limiter in a real child process (node + tsx), printing its grant times as JSON. */
function childHammer(opts: {
  url: string;
  prefix: string;
  tenant: string;
  limits: GraphLimits;
  untilMs: number;
  n: number;
}): Promise<number[]> {
  const limiterPath = path.resolve('src/graph/throttle/limiter.ts');
  const code = `
    import { Redis } from 'ioredis';
    import { createGraphLimiter } from ${JSON.stringify(limiterPath)};
    const o = JSON.parse(process.env.PF_LIMITER_OPTS);
    const redis = new Redis(o.url, { maxRetriesPerRequest: null });
    const l = createGraphLimiter({ redis, prefix: o.prefix, limits: o.limits, maxInlineWaitMs: 60000 });
    const times = [];
    await Promise.all(Array.from({ length: o.n }, async () => {
      while (Date.now() < o.untilMs) {
        await l.acquire(o.tenant, { writes: 1, ru: 1, reports: 0 });
        if (Date.now() < o.untilMs) times.push(Date.now());
      }
    }));
    process.stdout.write(JSON.stringify(times));
    l.close();
    redis.disconnect();
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: process.cwd(),
      env: { ...process.env, PF_LIMITER_OPTS: JSON.stringify(opts) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`child exited ${code}: ${err}`)),
    );
  });
}

describe('sliding window shared across processes', () => {
  it('two connections and a child process never exceed the write quota in any window', async () => {
    const prefix = testPrefix('lim-share');
    const lim = limits({ writeLimit: 12, writeWindowMs: 1000 });
    const a = createLimiter({ redis: conn(), prefix, limits: lim, maxInlineWaitMs: 60_000 });
    const b = createLimiter({ redis: conn(), prefix, limits: lim, maxInlineWaitMs: 60_000 });
    // The child needs ~0.4 s to start: give everyone a common start line.
    const start = Date.now() + 800;
    const until = start + 3200;
    const child = childHammer({ url: redisHandle.url, prefix, tenant: 't1', limits: lim, untilMs: until, n: 3 });
    await new Promise((r) => setTimeout(r, start - Date.now()));
    const [ta, tb, tc] = await Promise.all([hammer(a, 't1', WRITE, 4, until), hammer(b, 't1', WRITE, 4, until), child]);
    const all = [...ta, ...tb, ...tc].map((t) => ({ t }));
    expect(tc.length).toBeGreaterThan(0);
    expect(ta.length).toBeGreaterThan(0);
    expect(tb.length).toBeGreaterThan(0);
    expect(maxInWindow(all, 1000)).toBeLessThanOrEqual(12);
    // Paced at ~95 %, not starved: 3.2 s ≈ 3 windows of 1.053 s → ~36 grants (+ burst at start).
    expect(all.length).toBeGreaterThanOrEqual(30);
    void a.close();
    void b.close();
  });

  it('RU cost 2 and the reports bucket are paced in their own windows', async () => {
    const prefix = testPrefix('lim-ru');
    // 1 s windows: the grant times are read in this (busy) test process after each acquire
    // resolves, and the limiter's 5 % margin (53 ms here) must cover that lag.
    const lim = limits({ ruLimit: 10, ruWindowMs: 1000, reportsLimit: 3, reportsWindowMs: 1000 });
    const a = createLimiter({ redis: conn(), prefix, limits: lim, maxInlineWaitMs: 60_000 });
    const b = createLimiter({ redis: conn(), prefix, limits: lim, maxInlineWaitMs: 60_000 });
    const until = Date.now() + 3200;
    const [ru, rep] = await Promise.all([
      Promise.all([
        hammer(a, 't', { writes: 0, ru: 2, reports: 0 }, 3, until),
        hammer(b, 't', { writes: 0, ru: 2, reports: 0 }, 3, until),
      ]),
      Promise.all([
        hammer(a, 't', { writes: 0, ru: 0, reports: 1 }, 2, until),
        hammer(b, 't', { writes: 0, ru: 0, reports: 1 }, 2, until),
      ]),
    ]);
    expect(
      maxInWindow(
        ru.flat().map((t) => ({ t, w: 2 })),
        1000,
      ),
    ).toBeLessThanOrEqual(10);
    expect(
      maxInWindow(
        rep.flat().map((t) => ({ t })),
        1000,
      ),
    ).toBeLessThanOrEqual(3);
    expect(rep.flat().length).toBeGreaterThanOrEqual(6);
    void a.close();
    void b.close();
  });

  it('a call over quota throws RateLimitedError with the bucket and the wait, without recording', async () => {
    const prefix = testPrefix('lim-defer');
    const redis = conn();
    const l = createLimiter({
      redis,
      prefix,
      limits: limits({ writeLimit: 2, writeWindowMs: 10_000 }),
      maxInlineWaitMs: 500,
    });
    await l.acquire('t', WRITE);
    await l.acquire('t', WRITE);
    const err = await l.acquire('t', WRITE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).bucket).toBe('write');
    // window 10 s / 0.95 ≈ 10.53 s
    expect((err as RateLimitedError).retryAfterMs).toBeGreaterThan(10_000);
    expect((err as RateLimitedError).retryAfterMs).toBeLessThanOrEqual(10_600);
    expect(await redis.zcard(`${prefix}:limiter:t:write`)).toBe(2);
    expect(l.stats()).toMatchObject({ acquired: 2, deferred: 1 });
    // Another tenant is not affected.
    await l.acquire('other', WRITE);
  });

  it('write grants must be sent within half the window stretch, reads only once their bucket is 90 % full; release gives a slot back', async () => {
    const prefix = testPrefix('lim-tight');
    const redis = conn();
    // 10 per 10 s at safety 0.95: the limiter's windows are 10,526 ms, a stretch of 526 ms.
    const l = createLimiter({
      redis,
      prefix,
      limits: limits({ writeLimit: 10, writeWindowMs: 10_000, ruLimit: 10, ruWindowMs: 10_000 }),
      maxInlineWaitMs: 0,
    });
    const READ: CallCost = { writes: 0, ru: 1, reports: 0 };
    const reads = [];
    for (let i = 0; i < 10; i++) reads.push(await l.acquire('t', READ));
    // Reads 1..8 of 10 leave head-room; the 9th and 10th fill the RU window to 90 % and more.
    expect(reads.slice(0, 8).every((g) => g.sendWithinMs === Infinity)).toBe(true);
    expect(reads[8]!.sendWithinMs).toBeCloseTo(263, 0);
    expect(reads[9]!.sendWithinMs).toBeCloseTo(263, 0);
    expect(await l.acquire('t', READ).catch((e: unknown) => e)).toBeInstanceOf(RateLimitedError);
    // A request held back unsent gives its slot back: the next call goes through at once.
    await l.release('t', reads[9]!);
    expect(await redis.zcard(`${prefix}:limiter:t:ru`)).toBe(9);
    await l.acquire('t', READ);
    // A write is always held to it (another process can fill the window while this one waits).
    const w = await l.acquire('other', { writes: 1, ru: 0, reports: 0 });
    expect(w.sendWithinMs).toBeCloseTo(263, 0);
    expect(l.stats()).toMatchObject({ acquired: 12, released: 1 });
  });

  it('a request held by a 503 is refused to every process until its Retry-After passes; other requests go on', async () => {
    const prefix = testPrefix('lim-hold');
    const redis = conn();
    // Holds bind limiters that share the deployment's hold key (see src/secrets/hold-key.ts).
    const holdSecret = randomBytes(32);
    const a = createLimiter({ redis, prefix, limits: limits({}), maxInlineWaitMs: 5000, holdSecret });
    const b = createLimiter({ redis: conn(), prefix, limits: limits({}), maxInlineWaitMs: 5000, holdSecret });
    const key = 'GET https://graph/beta/applications?$filter=x';
    await new Promise((r) => setTimeout(r, 200)); // let b's subscription settle
    await a.hold('t', key, 600);
    await a.hold('t', key, 100); // never shortens
    const err = await b.acquire('t', WRITE, { requestKey: key }).catch((e: unknown) => e);
    // Refused at once (not waited inline, although 5 s would be allowed), and nothing recorded.
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).bucket).toBe('hold');
    expect((err as RateLimitedError).retryAfterMs).toBeGreaterThan(400);
    expect(await redis.zcard(`${prefix}:limiter:t:write`)).toBe(0);
    await b.acquire('t', WRITE, { requestKey: 'GET https://graph/beta/applications/other' });
    await b.acquire('t', WRITE);
    // Broadcast too: the other process knows at the wire, without asking Redis (a twin request
    // that passed its acquire before the hold is stopped there).
    expect(a.localHoldMs('t', key)).toBeGreaterThan(300);
    await waitFor('the hold to reach the other process', async () => b.localHoldMs('t', key) > 0, 2000, 10);
    expect(b.localHoldMs('t', 'GET https://graph/beta/applications/other')).toBe(0);
    expect(b.localHoldMs('other-tenant', key)).toBe(0);
    await new Promise((r) => setTimeout(r, 650));
    await b.acquire('t', WRITE, { requestKey: key });
    expect(await redis.zcard(`${prefix}:limiter:t:write`)).toBe(3);
  });

  it('a share caps a low-priority process group below the full quota', async () => {
    const prefix = testPrefix('lim-share-ru');
    const lim = limits({ ruLimit: 10, ruWindowMs: 10_000 });
    const poller = createLimiter({
      redis: conn(),
      prefix,
      limits: lim,
      share: { group: 'poller', ru: 0.5 },
      maxInlineWaitMs: 0,
    });
    const worker = createLimiter({ redis: conn(), prefix, limits: lim, maxInlineWaitMs: 0 });
    const READ = { writes: 0, ru: 1, reports: 0 };
    for (let i = 0; i < 5; i++) await poller.acquire('t', READ);
    await expect(poller.acquire('t', READ)).rejects.toBeInstanceOf(RateLimitedError);
    for (let i = 0; i < 5; i++) await worker.acquire('t', READ);
    await expect(worker.acquire('t', READ)).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('keys carry a TTL so nothing grows', async () => {
    const prefix = testPrefix('lim-ttl');
    const redis = conn();
    const l = createLimiter({ redis, prefix, limits: limits({ writeWindowMs: 2000, ruWindowMs: 1000 }) });
    await l.acquire('t', WRITE);
    const ttlW = await redis.pttl(`${prefix}:limiter:t:write`);
    const ttlR = await redis.pttl(`${prefix}:limiter:t:ru`);
    expect(ttlW).toBeGreaterThan(0);
    expect(ttlW).toBeLessThanOrEqual(Math.ceil(2000 / 0.95) + 1000);
    expect(ttlR).toBeGreaterThan(0);
    expect(await redis.exists(`${prefix}:limiter:t:reports`)).toBe(0);
  });
});

describe('pause', () => {
  it('blocks every instance until it expires; short waits inline, long ones defer', async () => {
    const prefix = testPrefix('lim-pause');
    const a = createLimiter({ redis: conn(), prefix, limits: limits({}), maxInlineWaitMs: 2000 });
    const b = createLimiter({ redis: conn(), prefix, limits: limits({}), maxInlineWaitMs: 2000 });
    const c = createLimiter({ redis: conn(), prefix, limits: limits({}), maxInlineWaitMs: 100 });
    await a.pause('t', 800, '429 on POST /x');
    expect(await b.pausedForMs('t')).toBeGreaterThan(600);
    const started = Date.now();
    await b.acquire('t', WRITE);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(b.stats().pausedHits).toBeGreaterThanOrEqual(1);
    await a.pause('t', 1500, '429 again');
    const err = await c.acquire('t', WRITE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).bucket).toBe('pause');
    expect((err as RateLimitedError).retryAfterMs).toBeGreaterThan(1000);
    // Other tenants are not paused.
    await c.acquire('other', WRITE);
  });

  it('is extended but never shortened; 0 is a no-op', async () => {
    const prefix = testPrefix('lim-pause2');
    const l = createLimiter({ redis: conn(), prefix, limits: limits({}) });
    await l.pause('t', 5000, 'first');
    await l.pause('t', 100, 'shorter');
    expect(await l.pausedForMs('t')).toBeGreaterThan(4000);
    await l.pause('t', 9000, 'longer');
    expect(await l.pausedForMs('t')).toBeGreaterThan(8000);
    await l.pause('u', 0, 'retry-after 0');
    expect(await l.pausedForMs('u')).toBe(0);
  });

  it('reaches every other process at once through the broadcast (no Redis read needed), also after a Redis restart', async () => {
    const prefix = testPrefix('lim-broadcast');
    const a = createLimiter({ redis: conn(), prefix, limits: limits({}) });
    const b = createLimiter({ redis: conn(), prefix, limits: limits({}) });
    const heard = async (l: GraphLimiter, tenant: string) => {
      const t0 = performance.now();
      while (l.localPauseMs(tenant) === 0) {
        if (performance.now() - t0 > 2000) throw new Error('pause never heard');
        await new Promise((r) => setTimeout(r, 2));
      }
      return performance.now() - t0;
    };
    // Let the subscriptions settle.
    await new Promise((r) => setTimeout(r, 200));
    expect(b.localPauseMs('t')).toBe(0);
    const sent = a.pause('t', 1500, '429 on GET /x');
    expect(a.localPauseMs('t')).toBeGreaterThan(1400); // the pausing process knows before Redis does
    const ms = await heard(b, 't');
    await sent;
    expect(ms).toBeLessThan(250);
    expect(b.localPauseMs('t')).toBeGreaterThan(1000);
    expect(b.localPauseMs('other')).toBe(0);
    expect(b.stats().broadcastsHeard).toBeGreaterThanOrEqual(1);
    // ioredis re-subscribes after a reconnect: pauses still arrive.
    await redisHandle.stop({ hard: true });
    await redisHandle.restart();
    await new Promise((r) => setTimeout(r, 1500));
    await a.pause('t2', 1500, '429 after restart');
    await heard(b, 't2');
  });

  it('acquire returns when its yes was asked for, so a stale yes can be told apart', async () => {
    const prefix = testPrefix('lim-grant');
    const l = createLimiter({ redis: conn(), prefix, limits: limits({}) });
    const before = performance.now();
    const grant = await l.acquire('t', WRITE);
    expect(grant.at).toBeGreaterThanOrEqual(before);
    expect(grant.at).toBeLessThanOrEqual(performance.now());
  });

  it('close() releases inline waiters', async () => {
    const prefix = testPrefix('lim-close');
    const l = createLimiter({ redis: conn(), prefix, limits: limits({}), maxInlineWaitMs: 5000 });
    await l.pause('t', 3000, 'x');
    const p = l.acquire('t', WRITE).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    void l.close();
    expect(String(await p)).toContain('limiter closed');
  });
});

describe('resilience', () => {
  it('survives SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const prefix = testPrefix('lim-flush');
    const redis = conn();
    const l = createLimiter({ redis, prefix, limits: limits({}) });
    await l.acquire('t', WRITE);
    await redis.script('FLUSH');
    await l.acquire('t', WRITE);
    await l.pause('t', 10, 'x');
    expect(l.stats().acquired).toBe(2);
  });

  it('keeps working across a Redis restart mid-run, still within quota afterwards', async () => {
    const prefix = testPrefix('lim-restart');
    const lim = limits({ writeLimit: 8, writeWindowMs: 500 });
    const a = createLimiter({ redis: conn(), prefix, limits: lim, maxInlineWaitMs: 60_000 });
    const b = createLimiter({ redis: conn(), prefix, limits: lim, maxInlineWaitMs: 60_000 });
    const until = Date.now() + 3500;
    const run = Promise.all([hammer(a, 't', WRITE, 3, until), hammer(b, 't', WRITE, 3, until)]);
    await new Promise((r) => setTimeout(r, 800));
    await redisHandle.stop({ hard: true });
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 500));
    await redisHandle.restart();
    const upAt = Date.now();
    const [ta, tb] = await run;
    const after = [...ta, ...tb].filter((t) => t > upAt);
    const before = [...ta, ...tb].filter((t) => t < downAt);
    expect(before.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(8);
    // After the restart the log starts empty, then paces as before.
    expect(
      maxInWindow(
        after.map((t) => ({ t })),
        500,
      ),
    ).toBeLessThanOrEqual(8);
    void a.close();
    void b.close();
  });
});
