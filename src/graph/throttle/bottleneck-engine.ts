/**
 * The pacing windows on bottleneck's Redis-clustered limiter (PROVFLOW_THROTTLE_ENGINE=bottleneck):
 * one bottleneck limiter per tenant and window, its reservoir the quota, refreshed to the full
 * quota every (stretched) window. The tenant pause and the request hold stay the throttle's own
 * (check.lua), as bottleneck has no notion of a Retry-After shared between processes.
 *
 * Measured against the native engine and not the default: docs/adr, "throttle engine". What it
 * differs in, by construction:
 * - a reservoir refresh is a fixed window that starts at the last refresh, where Graph's quotas
 *   are sliding windows: calls late in one refresh interval and early in the next can put up to
 *   twice the quota inside one Graph window;
 * - its scripts take the time from the calling process (`Date.now()`), not from Redis;
 * - a grant cannot be given back safely (after a refresh it would raise the reservoir above the
 *   quota), so `giveBack` keeps it spent: a released grant ages out at the next refresh;
 * - a call is charged window by window (reservoir decrements are not one transaction across
 *   windows): a call refused by its second window gives back the first one's charge.
 */
import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { withThrottleCommands } from './lua.ts';
import type { Charged, PacingEngine, TakeAnswer, WindowConfig, WindowName } from './windows.ts';

interface Reservoir {
  limiter: Bottleneck;
  intervalMs: number;
  limit: number;
}

export function bottleneckEngine(connection: Redis): PacingEngine {
  const redis = withThrottleCommands(connection);
  // bottleneck keeps a client and a subscriber of its own; ours stays the caller's to close.
  const client = connection.duplicate();
  const conn = new Bottleneck.IORedisConnection({ client, Redis });
  conn.on('error', () => {});
  const reservoirs = new Map<string, Reservoir>();

  function reservoir(id: string, w: WindowConfig): Reservoir {
    let r = reservoirs.get(id);
    if (!r) {
      const intervalMs = Math.ceil(w.windowUs / 1000);
      const limiter = new Bottleneck({
        id,
        datastore: 'ioredis',
        connection: conn,
        clearDatastore: false,
        reservoir: w.limit,
        reservoirRefreshAmount: w.limit,
        reservoirRefreshInterval: intervalMs,
        // Idle state goes away, as the native logs' TTL does.
        timeout: 2 * intervalMs + 60_000,
      });
      limiter.on('error', () => {});
      r = { limiter, intervalMs, limit: w.limit };
      reservoirs.set(id, r);
    }
    return r;
  }

  /** Ms until the reservoir's next refresh (bottleneck's clock is the calling process's). */
  async function untilRefresh(id: string, r: Reservoir): Promise<number> {
    const last = Number(await client.hget(`b_${id}_settings`, 'lastReservoirRefresh'));
    return Math.max(1, Math.ceil((Number.isFinite(last) ? last : Date.now()) + r.intervalMs - Date.now()));
  }

  return {
    async take(keys, _id, charged, w): Promise<TakeAnswer> {
      const [wait, idx] = await redis.provflowThrottleCheck(keys.pause, keys.hold);
      if (Number(wait) > 0) return { waitMs: Number(wait), by: Number(idx) === 0 ? 'pause' : 'hold', tight: new Set() };
      const taken: { r: Reservoir; count: number }[] = [];
      const tight = new Set<WindowName>();
      for (const c of charged) {
        const id = keys.window[c.bucket];
        const r = reservoir(id, w[c.bucket]);
        await r.limiter.currentReservoir(); // runs the refresh first, so the charge below is not overwritten
        const left = await r.limiter.incrementReservoir(-c.count);
        if (left !== null && left < 0) {
          await Promise.all(
            [r, ...taken.map((t) => t.r)].map((x, i) =>
              x.limiter.incrementReservoir(i === 0 ? c.count : taken[i - 1]!.count),
            ),
          );
          return { waitMs: await untilRefresh(id, r), by: c.bucket, tight };
        }
        taken.push({ r, count: c.count });
        if (left !== null && left * 10 <= r.limit) tight.add(c.bucket);
      }
      return { waitMs: 0, by: null, tight };
    },
    async giveBack(_keys, _id, _charged: readonly Charged[]) {},
    async close() {
      await Promise.allSettled([...reservoirs.values()].map((r) => r.limiter.disconnect(false)));
      reservoirs.clear();
      // The client is our duplicate: quit it and bottleneck's subscriber once their replies are in.
      await conn.disconnect(true).catch(() => undefined);
    },
  };
}
