/**
 * The pacing windows: what a call costs, each tenant's quotas (stretched by the safety factor),
 * and the engine that records calls in them. Two engines sit behind `PacingEngine`: the native
 * sliding-window logs (acquire.lua, the default) and bottleneck's Redis reservoirs
 * (bottleneck-engine.ts); pauses, holds and grants are the limiter's, the same for both.
 *
 * Why safety stretches the window rather than shrinking the count: with 5 reports per 10 s,
 * floor(5 · 0.95) = 4 would pace at 80 %. Keeping the count and stretching the window to W/0.95
 * paces at 95 % for every quota and tolerates up to 5 % of W of latency between our record time
 * and Graph's arrival time.
 */
import { MICROSOFT_LIMITS, type GraphLimits } from '../microsoft-quotas.ts';
import { withThrottleCommands } from './lua.ts';
import type { Redis } from 'ioredis';

/** What one Graph call costs in each quota. */
export interface CallCost {
  writes: number;
  ru: number;
  reports: number;
}

/** The windows, in the order acquire.lua takes them; `share` is a process group's own RU log. */
const WINDOWS = ['write', 'ru', 'reports', 'share'] as const;
export type WindowName = (typeof WINDOWS)[number];
export type Charged = { bucket: WindowName; count: number };

export interface WindowConfig {
  limit: number;
  /** Graph's window stretched by 1/safety, in µs. */
  windowUs: number;
  /** Half the stretch, in ms: how late a grant of this window may still be sent (Grant.sendWithinMs). */
  halfStretchMs: number;
}
export type TenantWindows = Record<WindowName, WindowConfig>;

/** A share of one quota kept by a process group (the poller) below the tenant's own ceiling. */
export interface QuotaShare {
  group: string;
  /** Fraction of the tenant's resource units this group may use (0 < ru ≤ 1). */
  ru: number;
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`throttle: ${name} must be a positive number, got ${v}`);
  return v;
}

/** A tenant's windows from its quotas (Microsoft's where not given), the safety factor and the share. */
export function tenantWindows(
  given: Partial<GraphLimits> | undefined,
  safety: number,
  share: QuotaShare | undefined,
): TenantWindows {
  const l: GraphLimits = { ...MICROSOFT_LIMITS, ...given };
  const w = (limit: number, windowMs: number, name: string): WindowConfig => {
    const windowUs = Math.ceil((positive(`${name}WindowMs`, windowMs) / safety) * 1000);
    return { limit: positive(`${name}Limit`, limit), windowUs, halfStretchMs: (windowUs / 1000 - windowMs) / 2 };
  };
  const ru = w(l.ruLimit, l.ruWindowMs, 'ru');
  return {
    write: w(l.writeLimit, l.writeWindowMs, 'write'),
    ru,
    reports: w(l.reportsLimit, l.reportsWindowMs, 'reports'),
    // Without a share the log is never charged (cost 0), so its limit does not matter.
    share: { ...ru, limit: share ? Math.max(1, Math.floor(l.ruLimit * share.ru)) : ru.limit },
  };
}

/** What each window is charged for `cost` (a single call never costs more than a whole quota). */
export function charges(cost: CallCost, w: TenantWindows, share: boolean): Charged[] {
  const raw: Record<WindowName, number> = { write: cost.writes, ru: cost.ru, reports: cost.reports, share: 0 };
  if (share) raw.share = cost.ru;
  const out: Charged[] = [];
  for (const b of WINDOWS) {
    const c = Math.min(w[b].limit, Math.max(0, Math.ceil(raw[b])));
    if (c > 0) out.push({ bucket: b, count: c });
  }
  return out;
}

/** The Redis keys of one tenant's (and one request's) throttle state. */
export interface TenantKeys {
  pause: string;
  hold: string;
  /** Per window: the native engine's log, or the prefix of bottleneck's limiter id. */
  window: Record<WindowName, string>;
}

/** An engine's answer: recorded (`waitMs` 0), or how long to wait and what said so. */
export interface TakeAnswer {
  waitMs: number;
  /** 'pause' (the tenant), 'hold' (this request) or a window. */
  by: 'pause' | 'hold' | WindowName | null;
  /** Windows that are ≥ 90 % full after this call. */
  tight: ReadonlySet<WindowName>;
}

/** Records calls in a tenant's windows (after checking its pause and the request's hold). */
export interface PacingEngine {
  take(keys: TenantKeys, id: string, charged: Charged[], w: TenantWindows): Promise<TakeAnswer>;
  /** Gives a grant back (its request never left the process); best effort. */
  giveBack(keys: TenantKeys, id: string, charged: readonly Charged[]): Promise<void>;
  close(): Promise<void>;
}

/** The default engine: a sliding-window log per quota in one Lua script (acquire.lua). */
export function nativeEngine(connection: Redis): PacingEngine {
  const redis = withThrottleCommands(connection);
  return {
    async take(keys, id, charged, w) {
      const args: (string | number)[] = [id];
      for (const b of WINDOWS) {
        const c = charged.find((x) => x.bucket === b)?.count ?? 0;
        args.push(w[b].limit, w[b].windowUs, c);
      }
      const [waitMs, idx, mask] = await redis.provflowThrottleAcquire(
        keys.pause,
        ...WINDOWS.map((b) => keys.window[b]),
        keys.hold,
        ...args,
      );
      const tight = new Set(WINDOWS.filter((_, i) => Number(mask ?? 0) & (1 << i)));
      const i = Number(idx);
      const by = Number(waitMs) <= 0 ? null : i === 0 ? 'pause' : i === 5 ? 'hold' : (WINDOWS[i - 1] ?? 'write');
      return { waitMs: Number(waitMs), by, tight };
    },
    async giveBack(keys, id, charged) {
      const multi = redis.multi();
      for (const c of charged) {
        multi.zrem(keys.window[c.bucket], ...Array.from({ length: c.count }, (_, i) => `${id}:${i + 1}`));
      }
      await multi.exec();
    },
    async close() {},
  };
}
