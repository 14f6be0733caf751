/**
 * The benchmark's arithmetic, pure (unit-tested in test/unit/bench-ideal.test.ts): the physical
 * limit Graph's quotas put on onboarding, efficiency against it, Graph request accounting from
 * the simulator's per-route counters, percentiles, and the poller's quota share.
 */

export interface IdealInput {
  instances: number;
  /** Writes one instance needs at minimum (the procedure: instantiate, create job, validate, save secrets, start = 5). */
  writesPerInstance: number;
  /** Resource units one instance's reads cost (measured), for the RU-bound equivalent. */
  readsRuPerInstance: number;
  writeLimit: number;
  writeWindowMs: number;
  ruLimit: number;
  ruWindowMs: number;
  /** A job cannot be steady before its first cycle ends: added once (the last instance's). */
  firstCycleMs: number;
}

export interface Ideal {
  /** N × writes ÷ write quota × window: all writes at exactly the quota's sustained rate. */
  writeBoundSeconds: number;
  /** N × (reads + writes) RU ÷ RU quota × window (every request costs RU, writes included). */
  ruBoundSeconds: number;
  /** Which quota binds. */
  binding: 'writes' | 'resource units';
  firstCycleSeconds: number;
  /** The binding bound plus the last instance's first cycle: the earliest "all steady": the ideal. */
  seconds: number;
  instancesPerMinute: number;
  /**
   * A tighter bound, for information: Graph's write quota is a sliding window, so starting from
   * an empty window the first `writeLimit` writes may go at once and write k waits only until
   * write k − limit leaves the window: the last of W writes at ⌊(W−1)/limit⌋ × window.
   * (Real instances cannot burst like that — each needs replication between its writes — so
   * this is a floor no tool reaches, not the target.)
   */
  slidingWindowSeconds: number;
}

export function slidingWindowWriteBoundSeconds(writes: number, writeLimit: number, writeWindowMs: number): number {
  if (writes <= 0) return 0;
  return Math.floor((writes - 1) / writeLimit) * (writeWindowMs / 1000);
}

export function idealOf(i: IdealInput): Ideal {
  const writes = i.instances * i.writesPerInstance;
  const writeBoundSeconds = (writes / i.writeLimit) * (i.writeWindowMs / 1000);
  const ruBoundSeconds =
    ((i.instances * (i.readsRuPerInstance + i.writesPerInstance)) / i.ruLimit) * (i.ruWindowMs / 1000);
  const firstCycleSeconds = i.instances > 0 ? i.firstCycleMs / 1000 : 0;
  const binding = ruBoundSeconds > writeBoundSeconds ? 'resource units' : 'writes';
  const seconds = Math.max(writeBoundSeconds, ruBoundSeconds) + firstCycleSeconds;
  const slidingWindowSeconds =
    Math.max(slidingWindowWriteBoundSeconds(writes, i.writeLimit, i.writeWindowMs), ruBoundSeconds) + firstCycleSeconds;
  return {
    writeBoundSeconds,
    ruBoundSeconds,
    binding,
    firstCycleSeconds,
    seconds,
    instancesPerMinute: seconds > 0 ? (i.instances / seconds) * 60 : 0,
    slidingWindowSeconds,
  };
}

/** Efficiency = ideal time ÷ actual time (1.0 = at the physical limit). */
export function efficiency(idealSeconds: number, actualSeconds: number): number {
  return actualSeconds > 0 ? idealSeconds / actualSeconds : 0;
}

/** Nearest-rank percentile (p in 0..100); 0 for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/**
 * What one request of a simulator route key (`"GET /servicePrincipals/{id}"`) costs, by
 * Microsoft's rules as the simulator applies them: every POST/PUT/PATCH/DELETE is a write;
 * every request costs 1 RU except directory list queries (`GET /applications`,
 * `GET /servicePrincipals`: 2 RU) and reports (`/auditLogs/provisioning`: 0 RU, own quota).
 */
export function routeCost(routeKey: string): { write: boolean; ru: number; reports: boolean } {
  const [method = 'GET', path = ''] = routeKey.split(' ');
  const write = method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE';
  const reports = path.startsWith('/auditLogs/provisioning');
  const list = /^\/(applications|servicePrincipals)$/.test(path);
  return { write, ru: reports ? 0 : list ? 2 : 1, reports };
}

export interface RequestAccount {
  requests: number;
  /** Write requests sent (POST/PUT/PATCH/DELETE), whatever their answer. */
  writeRequests: number;
  /** Read requests sent (GET). */
  reads: number;
  /** Resource units of reads only (what the RU-bound equivalent uses besides the writes). */
  readRu: number;
  /** Resource units of everything sent. */
  ru: number;
  reports: number;
}

/** Sums the simulator's `byRoute` counters (requests as they arrived, answered or not). */
export function accountRoutes(byRoute: Readonly<Record<string, number>>): RequestAccount {
  const a: RequestAccount = { requests: 0, writeRequests: 0, reads: 0, readRu: 0, ru: 0, reports: 0 };
  for (const [route, n] of Object.entries(byRoute)) {
    const c = routeCost(route);
    a.requests += n;
    a.ru += c.ru * n;
    if (c.reports) a.reports += n;
    if (c.write) a.writeRequests += n;
    else {
      a.reads += n;
      a.readRu += c.ru * n;
    }
  }
  return a;
}

/** Per-route counters of `after` minus `before` (stats are cumulative across a run's phases). */
export function diffRoutes(
  after: Readonly<Record<string, number>>,
  before: Readonly<Record<string, number>> = {},
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d) out[k] = d;
  }
  return out;
}

/**
 * Polls per minute the poller may send inside its share of the tenant's RU quota, at the
 * limiter's safety factor (the limiter stretches the window to W ÷ safety): 1 RU per job read.
 */
export function pollerSharePerMinute(a: {
  ruLimit: number;
  ruWindowMs: number;
  share: number;
  safety?: number;
  ruPerPoll?: number;
}): number {
  const perWindow = Math.max(1, Math.floor(a.ruLimit * a.share)) / (a.ruPerPoll ?? 1);
  return (perWindow / (a.ruWindowMs / (a.safety ?? 1))) * 60_000;
}

/** "1,234" */
export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
