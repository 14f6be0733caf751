/**
 * The real Graph client (MSAL token, undici with the simulator's CA, the Redis limiter at the
 * simulator's quotas) against an in-process Graph simulator, fast profile, for integration tests.
 */
import { Redis } from 'ioredis';
import type { Agent } from 'undici';
import type { GraphApi } from '../../src/graph/graph-api.ts';
import { createGraphClient, type GraphResponseEvent } from '../../src/graph/graph-client.ts';
import { createHttpAgent } from '../../src/graph/http-agent.ts';
import { createGraphLimiter, type GraphLimiter } from '../../src/graph/throttle/limiter.ts';
import { createTokenProvider } from '../../src/graph/token-provider.ts';
import { startSimulator } from '../../src/dev/sim/index.ts';
import { testRedis } from './redis.ts';
import { createThrottle } from '../../src/graph/throttle/index.ts';

export interface SimGraph {
  sim: Awaited<ReturnType<typeof startSimulator>>;
  redis: Redis;
  dispatcher: Agent;
  limiter: GraphLimiter;
  graph: GraphApi;
  close(): Promise<void>;
}

/** Every Graph answer the client saw is pushed onto `events`. */
export async function startSimGraph(prefix: string, events: GraphResponseEvent[] = []): Promise<SimGraph> {
  const sim = await startSimulator({ profile: 'fast', seed: 7, port: 0 });
  const redisHandle = await testRedis();
  const redis = new Redis(redisHandle.url, { maxRetriesPerRequest: 3 });
  const dispatcher = createHttpAgent({ extraCaPem: sim.caCertPem, env: {} });
  const s = sim.settings;
  const limits = {
    writeLimit: s.writeLimit,
    writeWindowMs: s.writeWindowMs,
    ruLimit: s.ruLimit,
    ruWindowMs: s.ruWindowMs,
    reportsLimit: s.reportsLimit,
    reportsWindowMs: s.reportsWindowMs,
  };
  const limiter = createGraphLimiter({ redis, prefix, limits });
  const tokenProvider = createTokenProvider({
    tenantId: sim.tenantId,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    authorityHost: sim.authorityHost,
    dispatcher,
  });
  const graph = createGraphClient({
    tenantId: sim.tenantId,
    graphBaseUrl: sim.graphBaseUrl,
    tokenProvider,
    throttle: createThrottle({ limiter }),
    dispatcher,
    onResponse: (e) => events.push(e),
  });
  return {
    sim,
    redis,
    dispatcher,
    limiter,
    graph,
    async close() {
      void limiter.close();
      await dispatcher.close();
      redis.disconnect();
      await sim.close();
      await redisHandle.close();
    },
  };
}

/** `fn`'s first truthy answer, asked every 50 ms (Graph's eventual consistency, simulated). */
export async function eventually<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
