/**
 * Graph's throttling as Microsoft documents it, per app+tenant: sliding windows of writes,
 * resource units and reports requests; a 429 carries Retry-After and the throttle headers.
 * A caller told to wait that calls again early is counted as a Retry-After violation and told
 * to wait again (as Dev Proxy's RetryAfterPlugin does).
 *
 * Two scopes, as Microsoft documents them: a 429 "limits any further requests from that client
 * app for some time" — every request of the app+tenant must wait; a 503 says "the service is
 * temporarily unavailable… you may repeat the request after a delay, which may be specified in
 * Retry-After" — that request (same method, URL and body) must not be repeated before it.
 */
import type { SimulatorSettings } from './settings.ts';

/** What the quota decided for one request. */
export type QuotaDecision =
  | { ok: true; ruPercent: number }
  | { ok: false; retryAfterSec: number; info: 'WriteLimitExceeded' | 'ResourceUnitLimitExceeded' | 'ReportsLimitExceeded' | 'RetryAfterViolation'; scope: string; violation: boolean };

interface Window {
  /** [time, cost] pairs in arrival order. */
  entries: [number, number][];
  sum: number;
}

interface CallerState {
  write: Window;
  ru: Window;
  reports: Window;
  /** Real ms until which the caller was told to wait, and when that was said. */
  retryUntil: number;
  toldAt: number;
  /** The User-Agent of the request whose throttling answer last left (which process). */
  toldWho: string | null;
}

const newWindow = (): Window => ({ entries: [], sum: 0 });

function trim(w: Window, now: number, windowMs: number): void {
  while (w.entries.length && w.entries[0]![0] <= now - windowMs) {
    w.sum -= w.entries.shift()![1];
  }
}

/** Seconds until `need` units fit again under `limit` (at least 1: Retry-After is whole seconds). */
function secondsUntilFree(w: Window, now: number, windowMs: number, limit: number, need: number): number {
  let sum = w.sum;
  for (const [t, c] of w.entries) {
    if (sum + need <= limit) break;
    sum -= c;
    if (sum + need <= limit) return Math.max(1, Math.ceil((t + windowMs - now) / 1000));
  }
  return Math.max(1, Math.ceil(windowMs / 1000));
}

/** A request told (by a 503) not to come back before `until`. */
interface RequestHold {
  until: number;
  toldAt: number;
  /** The User-Agent of the request that was told (which process, for diagnosis). */
  toldWho: string | null;
}

/** Where a violation came from, relative to the answer that told the caller to wait. */
export interface ViolationInfo {
  sinceToldMs: number;
  untilFreeMs: number;
  /** User-Agent of the request that was answered with the throttle (null when unknown). */
  toldWho: string | null;
}

export class QuotaModel {
  private callers = new Map<string, CallerState>();
  private holds = new Map<string, RequestHold>();
  /** How early the last violation came (for diagnosis in stats). */
  lastViolation: ViolationInfo | null = null;
  /** Whether the last admit let a late-read request through as in flight (see SimStats.lateReadsExcused). */
  lastExcused = false;
  constructor(private settings: () => SimulatorSettings) {}

  private caller(key: string): CallerState {
    let c = this.callers.get(key);
    if (!c) {
      c = { write: newWindow(), ru: newWindow(), reports: newWindow(), retryUntil: 0, toldAt: 0, toldWho: null };
      this.callers.set(key, c);
    }
    return c;
  }

  reset(): void {
    this.callers.clear();
    this.holds.clear();
  }

  /** A 503 with Retry-After for this request (caller + method + URL + body). */
  tellRequest(requestKey: string, now: number, retryAfterSec: number, who: string | null = null): void {
    if (this.holds.size > 50_000) for (const [k, h] of this.holds) if (h.until <= now) this.holds.delete(k);
    const h = this.holds.get(requestKey);
    this.holds.set(requestKey, { until: Math.max(h?.until ?? 0, now + retryAfterSec * 1000), toldAt: now, toldWho: who });
  }

  /** The 503 has left the server (the grace for in-flight repeats starts now). */
  deliveredRequest(requestKey: string, at: number, who: string | null = null): void {
    const h = this.holds.get(requestKey);
    if (!h) return;
    if (at >= h.toldAt) h.toldWho = who ?? h.toldWho;
    h.toldAt = Math.max(h.toldAt, at);
  }

  /**
   * Is this request a repeat that came before its Retry-After? Returns the seconds still to wait
   * (≥ 1) when it is, null when it may proceed. Repeats within the grace were already in flight.
   */
  checkRequest(requestKey: string, now: number, earliest = now): ({ retryAfterSec: number } & ViolationInfo) | 'excused' | null {
    const h = this.holds.get(requestKey);
    if (!h) return null;
    if (now >= h.until) {
      this.holds.delete(requestKey);
      return null;
    }
    const graceEnd = h.toldAt + this.settings().retryAfterGraceMs;
    if (now <= graceEnd) return null;
    if (earliest <= graceEnd) return 'excused';
    return { retryAfterSec: Math.max(1, Math.ceil((h.until - now) / 1000)), sinceToldMs: now - h.toldAt, untilFreeMs: h.until - now, toldWho: h.toldWho };
  }

  /** Marks the caller as told to wait (after a 429 or a 503 with Retry-After). */
  tell(key: string, now: number, retryAfterSec: number, who: string | null = null): void {
    const c = this.caller(key);
    c.retryUntil = Math.max(c.retryUntil, now + retryAfterSec * 1000);
    c.toldAt = now;
    c.toldWho = who;
  }

  /**
   * The throttling answer has left the server: only requests that arrive after this (plus the
   * grace) were sent by a caller that could have known to wait. Earlier ones were in flight.
   */
  delivered(key: string, at: number, who: string | null = null): void {
    const c = this.caller(key);
    if (at >= c.toldAt) c.toldWho = who ?? c.toldWho;
    c.toldAt = Math.max(c.toldAt, at);
  }

  /** Decides and, when allowed, records the request. */
  admit(args: { appId: string; tenantId: string; now: number; earliest?: number; write: boolean; ru: number; reports: boolean; who?: string | null }): QuotaDecision {
    const s = this.settings();
    const key = `${args.appId}/${args.tenantId}`;
    const c = this.caller(key);
    const { now } = args;
    this.lastExcused = false;
    const graceEnd = c.toldAt + s.retryAfterGraceMs;
    if (now < c.retryUntil && now > graceEnd) {
      // Read late only because our own loop was stalled: in flight, like a request inside the grace.
      if ((args.earliest ?? now) <= graceEnd) this.lastExcused = true;
      else {
        const retryAfterSec = Math.max(1, Math.ceil((c.retryUntil - now) / 1000));
        this.lastViolation = { sinceToldMs: now - c.toldAt, untilFreeMs: c.retryUntil - now, toldWho: c.toldWho };
        return { ok: false, retryAfterSec, info: 'RetryAfterViolation', scope: `Tenant_Application/ReadWrite/${args.appId}/${args.tenantId}`, violation: true };
      }
    }
    trim(c.write, now, s.writeWindowMs);
    trim(c.ru, now, s.ruWindowMs);
    trim(c.reports, now, s.reportsWindowMs);
    if (args.reports && c.reports.sum + 1 > s.reportsLimit) {
      const ra = secondsUntilFree(c.reports, now, s.reportsWindowMs, s.reportsLimit, 1);
      this.tell(key, now, ra, args.who ?? null);
      return { ok: false, retryAfterSec: ra, info: 'ReportsLimitExceeded', scope: `Tenant_Application/Reports/${args.appId}/${args.tenantId}`, violation: false };
    }
    if (args.ru > 0 && c.ru.sum + args.ru > s.ruLimit) {
      const ra = secondsUntilFree(c.ru, now, s.ruWindowMs, s.ruLimit, args.ru);
      this.tell(key, now, ra, args.who ?? null);
      return { ok: false, retryAfterSec: ra, info: 'ResourceUnitLimitExceeded', scope: `Tenant_Application/ReadWrite/${args.appId}/${args.tenantId}`, violation: false };
    }
    if (args.write && c.write.sum + 1 > s.writeLimit) {
      const ra = secondsUntilFree(c.write, now, s.writeWindowMs, s.writeLimit, 1);
      this.tell(key, now, ra, args.who ?? null);
      return { ok: false, retryAfterSec: ra, info: 'WriteLimitExceeded', scope: `Tenant_Application/Write/${args.appId}/${args.tenantId}`, violation: false };
    }
    if (args.reports) {
      c.reports.entries.push([now, 1]);
      c.reports.sum += 1;
    }
    if (args.ru > 0) {
      c.ru.entries.push([now, args.ru]);
      c.ru.sum += args.ru;
    }
    if (args.write) {
      c.write.entries.push([now, 1]);
      c.write.sum += 1;
    }
    return { ok: true, ruPercent: Math.round((c.ru.sum / s.ruLimit) * 100) };
  }
}
