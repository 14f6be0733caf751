/**
 * The send guard over real sockets (undici Agent, a local HTTP server standing in for Graph)
 * and the real limiter on a private redis-server: a request is stopped unsent at the wire when
 * the tenant was paused (by another process, heard through the broadcast) or its limiter grant
 * went stale while it waited for a connection; a throttling answer pauses the tenant as soon
 * as its headers are parsed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../src/graph/errors.ts';
import { createGraphClient } from '../../src/graph/graph-client.ts';
import { createGraphLimiter, type GraphLimiter, type GraphLimits } from '../../src/graph/throttle/limiter.ts';
import { guardedDispatcher, notSentCause, RequestNotSentError } from '../../src/graph/throttle/send-guard.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';
import { createThrottle } from '../../src/graph/throttle/index.ts';

interface Arrival {
  path: string;
  at: number;
}

let redisHandle: RedisHandle;
let server: http.Server;
let base: string;
const arrivals: Arrival[] = [];
const conns: Redis[] = [];
const limiters: GraphLimiter[] = [];
const agents: Agent[] = [];

/** Routes: /beta/servicePrincipals/{id} answers 200; `slow-*` after 900 ms (room for a loaded host to deliver the
 * pause first, yet under the 1 s Retry-After); `throttle-*` 429 Retry-After 1; `late-body` sends headers now, body later. */
beforeAll(async () => {
  redisHandle = await testRedis({ own: true });
  server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    arrivals.push({ path, at: Date.now() });
    const id = path.split('/').pop() ?? '';
    const ok = () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id, appId: `${id}-app` }));
    };
    if (id.startsWith('slow')) setTimeout(ok, 900);
    else if (id.startsWith('throttle')) {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ error: { code: 'TooManyRequests', message: 'slow down' } }));
    } else if (id === 'late-body') {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
      res.flushHeaders();
      setTimeout(() => res.end(JSON.stringify({ error: { code: 'TooManyRequests', message: 'x' } })), 400);
    } else ok();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/beta`;
});
afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
  for (const c of conns) c.disconnect();
  for (const a of agents) await a.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await redisHandle?.close();
});

const BIG = 1_000_000;
const LIMITS: GraphLimits = {
  writeLimit: BIG,
  writeWindowMs: 1000,
  ruLimit: BIG,
  ruWindowMs: 1000,
  reportsLimit: BIG,
  reportsWindowMs: 1000,
};

/** One "process": its own Redis connection, limiter (same prefix = same tenant state) and agent. */
function proc(prefix: string, o: { sendLeaseMs?: number; connections?: number } = {}) {
  const redis = new Redis(redisHandle.url, { maxRetriesPerRequest: null });
  conns.push(redis);
  const limiter = createGraphLimiter({
    redis,
    prefix,
    limits: LIMITS,
    maxInlineWaitMs: 5000,
  });
  limiters.push(limiter);
  const agent = new Agent({ connections: o.connections ?? 8 });
  agents.push(agent);
  const heldBack: string[] = [];
  const graph = createGraphClient({
    tenantId: 't',
    graphBaseUrl: base,
    tokenProvider: { getToken: async () => 'tok' },
    throttle: createThrottle({ limiter, sendLeaseMs: o.sendLeaseMs, onHeldBack: (why) => heldBack.push(why) }),
    dispatcher: agent,
  });
  return { graph, limiter, heldBack };
}

const settle = () => new Promise((r) => setTimeout(r, 150));
const arrivalOf = (id: string) => arrivals.find((a) => a.path.endsWith(`/${id}`));

describe('guardedDispatcher', () => {
  it('a request stopped at the wire never reaches the server, and the error says so', async () => {
    const agent = new Agent();
    agents.push(agent);
    const before = arrivals.length;
    const err = await fetch(`${base}/servicePrincipals/never`, {
      dispatcher: guardedDispatcher(agent, { beforeSend: () => new RequestNotSentError('paused', 500) }),
    }).catch((e: unknown) => e);
    const cause = notSentCause(err);
    expect(cause).toBeInstanceOf(RequestNotSentError);
    expect(cause!.why).toBe('paused');
    await settle();
    expect(arrivals.length).toBe(before);
    // The same agent still serves the next request.
    const ok = await fetch(`${base}/servicePrincipals/after`, {
      dispatcher: guardedDispatcher(agent, { beforeSend: () => null }),
    });
    expect(ok.status).toBe(200);
  });

  it('reports status and headers as soon as they are parsed, before the body arrives', async () => {
    const agent = new Agent();
    agents.push(agent);
    let headersAt = 0;
    let retryAfter: string | null = null;
    const t0 = performance.now();
    const res = await fetch(`${base}/servicePrincipals/late-body`, {
      dispatcher: guardedDispatcher(agent, {
        beforeSend: () => null,
        onHeaders: (status, header) => {
          if (status === 429) {
            headersAt = performance.now() - t0;
            retryAfter = header('retry-after');
          }
        },
      }),
    });
    await res.text();
    const bodyAt = performance.now() - t0;
    expect(retryAfter).toBe('2');
    expect(bodyAt - headersAt).toBeGreaterThan(300);
  });
});

describe('the Graph client with the guard', () => {
  it('a request that passed the limiter before another process was throttled is held back until the pause ends', async () => {
    const prefix = testPrefix('guard-pause');
    const a = proc(prefix);
    // One connection, and a long lease: B's second request waits for the connection, and only
    // the broadcast pause (not a stale grant, not Redis) can stop it at the wire.
    const b = proc(prefix, { connections: 1, sendLeaseMs: 60_000 });
    await settle();
    const slow = b.graph.getServicePrincipal('slow-1'); // holds B's only connection for 900 ms
    await new Promise((r) => setTimeout(r, 20));
    const queued = b.graph.getServicePrincipal('queued-1'); // granted now, then waits for the connection
    await new Promise((r) => setTimeout(r, 50));
    await a.graph.getServicePrincipal('throttle-1').catch(() => {}); // 429, Retry-After 1 → tenant paused
    const toldAt = arrivalOf('throttle-1')!.at;
    await slow;
    expect(await queued).toMatchObject({ id: 'queued-1' });
    expect(b.heldBack).toContain('paused');
    // Sent only after the Retry-After (plus scheduling slack), not when the connection freed up.
    expect(arrivalOf('queued-1')!.at - toldAt).toBeGreaterThanOrEqual(950);
  });

  it('a process busy between its Redis check and sending lets a waiting pause broadcast in first', async () => {
    const prefix = testPrefix('guard-stale');
    const a = proc(prefix);
    const b = proc(prefix, { sendLeaseMs: 100 });
    await settle();
    // Right after B's limiter asked Redis (the EVALSHA is written synchronously), A pauses the
    // tenant and B's process is busy for 300 ms: Redis's yes to B and A's broadcast then sit in
    // B's sockets together, in no guaranteed order.
    const realAcquire = b.limiter.acquire.bind(b.limiter);
    let pausedAt = 0;
    b.limiter.acquire = (tenant, cost) => {
      const p = realAcquire(tenant, cost);
      if (!pausedAt) {
        pausedAt = Date.now();
        void a.limiter.pause('t', 1000, '429 elsewhere');
        const until = performance.now() + 300;
        while (performance.now() < until) {
          /* busy */
        }
      }
      return p;
    };
    expect(await b.graph.getServicePrincipal('busy-1')).toMatchObject({ id: 'busy-1' });
    expect(b.heldBack.slice(0, 2)).toEqual(['lease-yield', 'paused']);
    expect(arrivalOf('busy-1')!.at - pausedAt).toBeGreaterThanOrEqual(950);
  });

  it('a create that cannot go on the wire within its send window is not sent at all (throttled, safe to retry)', async () => {
    const prefix = testPrefix('guard-late');
    const b = proc(prefix, { connections: 1 });
    await settle();
    const before = arrivals.length;
    const slow = b.graph.getServicePrincipal('slow-3'); // holds the only connection for 900 ms
    await new Promise((r) => setTimeout(r, 20));
    const err = await b.graph
      .createSynchronizationJob('late-sp', 'aws', { sendWithinMs: 100 })
      .catch((e: unknown) => e);
    await slow;
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).bucket).toBe('send-window');
    await settle();
    expect(arrivals.slice(before).map((a) => a.path)).toEqual(['/beta/servicePrincipals/slow-3']);
  });

  it('a 429 pauses the tenant from its headers: the same process and the others stop at once', async () => {
    const prefix = testPrefix('guard-early');
    const a = proc(prefix);
    const b = proc(prefix);
    await settle();
    await a.graph.getServicePrincipal('throttle-2').catch(() => {});
    expect(a.limiter.localPauseMs('t')).toBeGreaterThan(800);
    const t0 = performance.now();
    while (b.limiter.localPauseMs('t') === 0 && performance.now() - t0 < 1000)
      await new Promise((r) => setTimeout(r, 2));
    expect(b.limiter.localPauseMs('t')).toBeGreaterThan(700);
    const toldAt = arrivalOf('throttle-2')!.at;
    await b.graph.getServicePrincipal('after-pause');
    expect(arrivalOf('after-pause')!.at - toldAt).toBeGreaterThanOrEqual(950);
  });
});
