/**
 * Graph's throttling as Microsoft documents it, per app+tenant: sliding windows of writes,
 * resource units and reports requests; a 429 carries Retry-After and the throttle headers.
 * A caller told to wait that calls again early is counted as a Retry-After violation and told
 * to wait again (as Dev Proxy's RetryAfterPlugin does).
 *
 * Two scopes, as Microsoft documents them: a 429 "limits any further requests from that client
 * app for some time" — each throttle for what its limit covers: the reports limit stops reports
 * requests, the write limit writes, the resource-unit limit (and a storm) every identity request;
 * a request inside a Retry-After is always refused. A 503 says "the service is
 * temporarily unavailable… you may repeat the request after a delay, which may be specified in
 * Retry-After" — that request (same method, URL and body) must not be repeated before it.
 */
import type { SimulatorSettings } from './settings.ts';

/** What a throttle limits: the reports service, writes, resource units, or (a storm) everything. */
export type BlockKind = 'reports' | 'write' | 'ru' | 'all';
export type ThrottleInfo =
  'WriteLimitExceeded' | 'ResourceUnitLimitExceeded' | 'ReportsLimitExceeded' | 'CPULimitExceeded';

/** What the quota decided for one request. */
export type QuotaDecision =
  | { ok: true; ruPercent: number }
  | {
      ok: false;
      retryAfterSec: number;
      info: ThrottleInfo;
      scope: string;
      /** Counted as a Retry-After violation (false: a new throttle, or a request already in flight). */
      violation: boolean;
      /** The throttle that refused it: the caller was told by this very answer (a new block) or before. */
      kind: BlockKind;
      blockId: number;
      fresh: boolean;
      ruPercent: number;
    };

/** Which throttle: what it limits and its id. */
type BlockRef = { kind: BlockKind; id: number };

/** One throttle in force for an app+tenant: what it limits, until when, and when it was told. */
interface Block {
  id: number;
  until: number;
  /** When the answer that set it left the simulator (the grace runs from here). */
  toldAt: number;
  toldWho: string | null;
  info: ThrottleInfo;
  scope: string;
}

interface Window {
  /** [time, cost] pairs in arrival order. */
  entries: [number, number][];
  sum: number;
}

interface CallerState {
  write: Window;
  ru: Window;
  reports: Window;
  /** Throttles in force, by what they limit: a reports 429 does not stop writes, and so on. */
  blocks: Partial<Record<BlockKind, Block>>;
}

/** Which throttles stop a request: reports requests the reports limit; writes the write and RU limits. */
function blockingKinds(req: { write: boolean; reports: boolean }): BlockKind[] {
  if (req.reports) return ['all', 'reports'];
  return req.write ? ['all', 'ru', 'write'] : ['all', 'ru'];
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
  id: number;
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

/** Is a request inside a Retry-After counted? In flight (read within the grace, or late only because
 * the simulator stalled) it is not — unless it came on a connection that had already carried the
 * throttling answer: with keep-alive and no pipelining, that caller had read it. */
export interface ArrivalFacts {
  now: number;
  /** Earliest moment it can have arrived (the simulator's loop may have been stalled). */
  earliest?: number;
  /** The connection already delivered this throttle's answer (same block or hold id). */
  sameConnectionTold?: boolean;
}

export class QuotaModel {
  private callers = new Map<string, CallerState>();
  private holds = new Map<string, RequestHold>();
  private nextId = 1;
  /** How early the last violation came (for diagnosis in stats). */
  lastViolation: ViolationInfo | null = null;
  /** Whether the last refusal was excused only because the simulator's loop stalled (SimStats.lateReadsExcused). */
  lastExcused = false;
  /** Whether the last refusal was excused as in flight (refused, not counted). */
  lastInFlight = false;
  constructor(private settings: () => SimulatorSettings) {}

  private caller(key: string): CallerState {
    let c = this.callers.get(key);
    if (!c) {
      c = { write: newWindow(), ru: newWindow(), reports: newWindow(), blocks: {} };
      this.callers.set(key, c);
    }
    return c;
  }

  reset(): void {
    this.callers.clear();
    this.holds.clear();
  }

  /** Counted or excused: sets lastExcused/lastInFlight and returns whether it is a violation. */
  private judge(toldAt: number, a: ArrivalFacts): boolean {
    this.lastExcused = false;
    this.lastInFlight = false;
    if (a.sameConnectionTold) return true;
    const graceEnd = toldAt + this.settings().retryAfterGraceMs;
    if (a.now <= graceEnd) {
      this.lastInFlight = true;
      return false;
    }
    if ((a.earliest ?? a.now) <= graceEnd) {
      this.lastInFlight = true;
      this.lastExcused = true;
      return false;
    }
    return true;
  }

  /** A 503 with Retry-After for this request (caller + method + URL + body); returns the hold's id. */
  tellRequest(requestKey: string, now: number, retryAfterSec: number, who: string | null = null): number {
    if (this.holds.size > 50_000) for (const [k, h] of this.holds) if (h.until <= now) this.holds.delete(k);
    const h = this.holds.get(requestKey);
    const id = this.nextId++;
    const until = Math.max(h?.until ?? 0, now + retryAfterSec * 1000);
    this.holds.set(requestKey, { id, until, toldAt: now, toldWho: who });
    return id;
  }

  /** The 503 that set hold `id` has left the server (the grace for in-flight repeats starts now). */
  deliveredRequest(requestKey: string, at: number, who: string | null = null, id?: number): void {
    const h = this.holds.get(requestKey);
    if (!h || (id !== undefined && h.id !== id)) return;
    if (at >= h.toldAt) h.toldWho = who ?? h.toldWho;
    h.toldAt = Math.max(h.toldAt, at);
  }

  /** The hold in force on this request, if any (for the connection check). */
  holdId(requestKey: string, now: number): number | null {
    const h = this.holds.get(requestKey);
    return h && now < h.until ? h.id : null;
  }

  /**
   * Is this request a repeat that came before its Retry-After? It is always refused then; it is
   * counted unless it was in flight. Returns null when it may proceed.
   */
  checkRequest(
    requestKey: string,
    a: ArrivalFacts,
  ): ({ retryAfterSec: number; violation: boolean; holdId: number } & ViolationInfo) | null {
    const h = this.holds.get(requestKey);
    if (!h) return null;
    if (a.now >= h.until) {
      this.holds.delete(requestKey);
      return null;
    }
    const violation = this.judge(h.toldAt, a);
    return {
      retryAfterSec: Math.max(1, Math.ceil((h.until - a.now) / 1000)),
      violation,
      holdId: h.id,
      sinceToldMs: a.now - h.toldAt,
      untilFreeMs: h.until - a.now,
      toldWho: h.toldWho,
    };
  }

  /** Sets (or extends) a throttle on the caller; returns its id. */
  tell(
    key: string,
    kind: BlockKind,
    now: number,
    retryAfterSec: number,
    info: ThrottleInfo,
    scope: string,
    who: string | null = null,
  ): number {
    const c = this.caller(key);
    const prev = c.blocks[kind];
    const id = this.nextId++;
    const until = Math.max(prev && prev.until > now ? prev.until : 0, now + retryAfterSec * 1000);
    c.blocks[kind] = { id, until, toldAt: now, toldWho: who, info, scope };
    return id;
  }

  /**
   * The answer that set block `id` has left the server: only requests that arrive after this
   * (plus the grace) were sent by a caller that could have known to wait. Refusals of later
   * requests do not move it (else a caller retrying every few ms would always be "in flight").
   */
  delivered(key: string, kind: BlockKind, id: number, at: number, who: string | null = null): void {
    const b = this.caller(key).blocks[kind];
    if (!b || b.id !== id) return;
    if (at >= b.toldAt) b.toldWho = who ?? b.toldWho;
    b.toldAt = Math.max(b.toldAt, at);
  }

  /** The throttle that stops this request now, if any (the one lasting longest). */
  blockFor(key: string, req: { write: boolean; reports: boolean }, now: number): BlockRef | null {
    const c = this.caller(key);
    let best: { kind: BlockKind; b: Block } | null = null;
    for (const kind of blockingKinds(req)) {
      const b = c.blocks[kind];
      if (b && now < b.until && (!best || b.until > best.b.until)) best = { kind, b };
    }
    return best ? { kind: best.kind, id: best.b.id } : null;
  }

  /** Decides and, when allowed, records the request. */
  admit(args: {
    appId: string;
    tenantId: string;
    now: number;
    earliest?: number;
    write: boolean;
    ru: number;
    reports: boolean;
    who?: string | null;
    /** Whether this request's connection already carried the answer of throttle `blockId`. */
    sameConnectionTold?: (blockId: number) => boolean;
  }): QuotaDecision {
    const s = this.settings();
    const key = `${args.appId}/${args.tenantId}`;
    const c = this.caller(key);
    const { now } = args;
    this.lastExcused = false;
    this.lastInFlight = false;
    trim(c.write, now, s.writeWindowMs);
    trim(c.ru, now, s.ruWindowMs);
    trim(c.reports, now, s.reportsWindowMs);
    const pct = (extra: number) => Math.round(((c.ru.sum + extra) / s.ruLimit) * 100);
    // A request inside a Retry-After is always refused; whether it counts is judge()'s question.
    const blocking = this.blockFor(key, args, now);
    if (blocking) {
      const b = c.blocks[blocking.kind]!;
      const sameConnectionTold = args.sameConnectionTold?.(b.id);
      const violation = this.judge(b.toldAt, { now, earliest: args.earliest, sameConnectionTold });
      if (violation) {
        this.lastViolation = { sinceToldMs: now - b.toldAt, untilFreeMs: b.until - now, toldWho: b.toldWho };
      }
      const retryAfterSec = Math.max(1, Math.ceil((b.until - now) / 1000));
      const { info, scope } = b;
      const kind = blocking.kind;
      return { ok: false, retryAfterSec, info, scope, violation, kind, blockId: b.id, fresh: false, ruPercent: pct(0) };
    }
    const refuse = (kind: BlockKind, ra: number, info: ThrottleInfo, label: string): QuotaDecision => {
      const scope = `Tenant_Application/${label}/${args.appId}/${args.tenantId}`;
      const blockId = this.tell(key, kind, now, ra, info, scope, args.who ?? null);
      const ruPercent = pct(args.ru);
      return { ok: false, retryAfterSec: ra, info, scope, violation: false, kind, blockId, fresh: true, ruPercent };
    };
    if (args.reports && c.reports.sum + 1 > s.reportsLimit) {
      const ra = secondsUntilFree(c.reports, now, s.reportsWindowMs, s.reportsLimit, 1);
      return refuse('reports', ra, 'ReportsLimitExceeded', 'Reports');
    }
    if (args.ru > 0 && c.ru.sum + args.ru > s.ruLimit) {
      const ra = secondsUntilFree(c.ru, now, s.ruWindowMs, s.ruLimit, args.ru);
      return refuse('ru', ra, 'ResourceUnitLimitExceeded', 'ReadWrite');
    }
    if (args.write && c.write.sum + 1 > s.writeLimit) {
      const ra = secondsUntilFree(c.write, now, s.writeWindowMs, s.writeLimit, 1);
      return refuse('write', ra, 'WriteLimitExceeded', 'Write');
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
    return { ok: true, ruPercent: pct(0) };
  }
}
