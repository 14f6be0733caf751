/**
 * A limiter that also holds one process group (the poller) to a share of the tenant's
 * resource units: every call passes the group's own sliding window first, then the tenant's
 * shared limiter. So watching 10,000 jobs can never starve onboarding of its quota.
 */
import type { Redis } from 'ioredis';
import { createGraphLimiter, type GraphLimiter, type GraphLimits } from '../graph/limiter.ts';
import type { Logger } from '../logger.ts';

const UNLIMITED = 1_000_000_000;

export function createShareLimiter(args: {
  main: GraphLimiter;
  redis: Redis;
  prefix: string;
  group: string;
  limits: GraphLimits;
  share: number;
  safety: number;
  logger: Logger;
}): GraphLimiter {
  const share = createGraphLimiter({
    redis: args.redis,
    prefix: `${args.prefix}:share:${args.group}`,
    limits: {
      writeLimit: UNLIMITED,
      writeWindowMs: args.limits.writeWindowMs,
      ruLimit: Math.max(1, Math.floor(args.limits.ruLimit * args.share)),
      ruWindowMs: args.limits.ruWindowMs,
      reportsLimit: UNLIMITED,
      reportsWindowMs: args.limits.reportsWindowMs,
    },
    safety: args.safety,
    // Pauses are the tenant limiter's business (it broadcasts them); this one only adds a ceiling.
    broadcast: false,
    logger: args.logger,
  });
  const { main } = args;
  return {
    async acquire(tenantId, cost, o) {
      if (cost.ru > 0) await share.acquire(tenantId, { writes: 0, ru: cost.ru, reports: 0 });
      // The tenant limiter's yes is the one whose age the send guard checks.
      return main.acquire(tenantId, cost, o);
    },
    hold: (t, k, ms) => main.hold(t, k, ms),
    // The share's own entry is kept (it ages out): a ceiling that errs low is harmless.
    release: (t, g) => main.release(t, g),
    localPauseMs: (t) => main.localPauseMs(t),
    localHoldMs: (t, k) => main.localHoldMs(t, k),
    get sendLeaseMs() {
      return main.sendLeaseMs;
    },
    pause: (t, ms, reason) => main.pause(t, ms, reason),
    pausedForMs: (t) => main.pausedForMs(t),
    pauseKey: (t) => main.pauseKey(t),
    stats: () => {
      const a = main.stats();
      const b = share.stats();
      return {
        waitedMs: a.waitedMs + b.waitedMs,
        acquired: a.acquired,
        pausedHits: a.pausedHits,
        deferred: a.deferred + b.deferred,
        broadcastsHeard: a.broadcastsHeard,
        released: a.released,
      };
    },
    close() {
      share.close();
      main.close();
    },
  };
}
