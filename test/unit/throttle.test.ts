/**
 * The throttle module on a real Redis, through its one interface (admit → permit), with each
 * engine: per-tenant quotas, a share, the tenant pause and the request hold from an answer,
 * backoff without Retry-After, and the send deadline. Cross-process pacing and the wire check
 * are covered by test/integration/limiter.test.ts and send-guard.test.ts.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../src/graph/errors.ts';
import { createRedisThrottle, type Throttle, type ThrottleEngine } from '../../src/graph/throttle/index.ts';
import type { GraphLimiterOptions } from '../../src/graph/throttle/limiter.ts';
import type { GraphLimits } from '../../src/graph/microsoft-quotas.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';

let redisHandle: RedisHandle;
const conns: Redis[] = [];
const throttles: Throttle[] = [];

beforeAll(async () => {
  redisHandle = await testRedis();
});
afterAll(async () => {
  await Promise.all(throttles.map((t) => t.close()));
  for (const c of conns) c.disconnect();
  await redisHandle?.close();
});

const BIG = 1_000_000;
const LIMITS: GraphLimits = {
  writeLimit: BIG,
  writeWindowMs: 60_000,
  ruLimit: BIG,
  ruWindowMs: 60_000,
  reportsLimit: BIG,
  reportsWindowMs: 60_000,
};
const WRITE = { writes: 1, ru: 1, reports: 0 };
const READ = { writes: 0, ru: 1, reports: 0 };
const req = (url: string, cost = WRITE, sendBy?: number) => ({
  method: 'POST',
  url,
  bodyText: '{}',
  route: '/x',
  cost,
  ...(sendBy !== undefined ? { sendBy } : {}),
});

function throttle(
  engine: ThrottleEngine,
  o: Partial<Omit<GraphLimiterOptions, 'engine'>> & { prefix: string },
): Throttle {
  const redis = new Redis(redisHandle.url, { maxRetriesPerRequest: null });
  conns.push(redis);
  const t = createRedisThrottle({ redis, limits: LIMITS, maxInlineWaitMs: 0, engine, ...o });
  throttles.push(t);
  return t;
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e,
  );

describe.each(['native', 'bottleneck'] as const)('throttle, %s engine', (engine) => {
  it('keeps each tenant to its own quotas (a limits object per tenant, defaults for the others)', async () => {
    const prefix = testPrefix(`thr-tenants-${engine}`);
    const t = throttle(engine, {
      prefix,
      tenantLimits: (id) => (id === 'small' ? { writeLimit: 2 } : undefined),
    });
    await t.admit('small', req('/a'));
    await t.admit('small', req('/b'));
    const err = await refusal(t.admit('small', req('/c')));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).bucket).toBe('write');
    expect((err as RateLimitedError).retryAfterMs).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) await t.admit('large', req(`/l${i}`));
  });

  it("a process group's share caps its resource units below the tenant's, the tenant's own calls go on", async () => {
    const prefix = testPrefix(`thr-share-${engine}`);
    const limits = { ...LIMITS, ruLimit: 10 };
    const poller = throttle(engine, { prefix, limits, share: { group: 'poller', ru: 0.3 } });
    const worker = throttle(engine, { prefix, limits });
    for (let i = 0; i < 3; i++) await poller.admit('t', req(`/p${i}`, READ));
    expect(await refusal(poller.admit('t', req('/p3', READ)))).toBeInstanceOf(RateLimitedError);
    for (let i = 0; i < 7; i++) await worker.admit('t', req(`/w${i}`, READ));
    expect(await refusal(worker.admit('t', req('/w7', READ)))).toBeInstanceOf(RateLimitedError);
  });

  it('a 429 pauses the tenant for every process; without Retry-After it backs off at least 1 s', async () => {
    const prefix = testPrefix(`thr-pause-${engine}`);
    const a = throttle(engine, { prefix });
    const b = throttle(engine, { prefix });
    const permit = await a.admit('t', req('/x'));
    const wait = await permit.observe({
      status: 429,
      code: 'TooManyRequests',
      failure: { errorClass: 'throttled', retryAfterMs: null, throttleScope: null },
    });
    expect(wait).toBeGreaterThanOrEqual(1000);
    const err = await refusal(b.admit('t', req('/y')));
    expect((err as RateLimitedError).bucket).toBe('pause');
    await b.admit('other-tenant', req('/y'));
  });

  it('a 503 with Retry-After holds that one request everywhere; other requests go on', async () => {
    const prefix = testPrefix(`thr-hold-${engine}`);
    const holdSecret = Buffer.alloc(32, 7);
    const a = throttle(engine, { prefix, holdSecret });
    const b = throttle(engine, { prefix, holdSecret });
    const permit = await a.admit('t', req('/same'));
    const failure = { errorClass: 'throttled' as const, retryAfterMs: 5000, throttleScope: 'request' as const };
    expect(await permit.observe({ status: 503, code: null, failure })).toBe(5000);
    const here = await refusal(a.admit('t', req('/same')));
    expect((here as RateLimitedError).bucket).toBe('hold');
    // The hold reaches Redis asynchronously: the other process finds it there (or hears it).
    let there: unknown = null;
    for (let i = 0; i < 50 && !there; i++) {
      there = await refusal(b.admit('t', req('/same')));
      if (!there) await new Promise((r) => setTimeout(r, 20));
    }
    expect((there as RateLimitedError).bucket).toBe('hold');
    await b.admit('t', req('/other'));
  });

  it('a request past its send deadline is never admitted', async () => {
    const t = throttle(engine, { prefix: testPrefix(`thr-deadline-${engine}`) });
    const err = await refusal(t.admit('t', req('/late', WRITE, Date.now() - 1)));
    expect((err as RateLimitedError).bucket).toBe('send-window');
  });
});
