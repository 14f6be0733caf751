/**
 * Cross-process counters. Worker and poller processes record; the board process reads and
 * serves them on /metrics. prom-client's own registries are per process, and Prometheus would
 * have to find every scaled worker replica to scrape it, so the counts live in Redis instead:
 * a few hashes under `${prefix}:metrics:*`, incremented with HINCRBY.
 *
 * Recording must cost nothing on the hot path (every Graph call records one response), so
 * increments are summed in memory and flushed in one pipeline every `flushMs` (default 500 ms).
 * A failed flush puts its increments back, so a Redis blip delays counts but loses none; a
 * process crash loses at most one flush interval.
 *
 * With the default `{provflow}` prefix the hash tag puts every metrics key in the queues' Redis
 * Cluster slot, so the pipelines never cross slots.
 */
import type { Redis } from 'ioredis';
import type { GraphResponseEvent } from '../graph/graph-api.ts';
import type { HeldBackReason } from '../graph/throttle/index.ts';

/** How a step job ended (one count per finished attempt that moved the job to that state). */
export type StepOutcome = 'completed' | 'failed';

/** Requests to Graph with one method, route and status. */
export interface GraphRequestCount {
  method: string;
  route: string;
  /** The HTTP status as text, or `network_error`. */
  status: string;
  count: number;
  totalDurationMs: number;
}

/** Everything the counters hold, summed over every process that recorded. */
export interface MetricsSnapshot {
  graphRequests: GraphRequestCount[];
  /** Responses that made callers wait: 429 (the tenant pauses) or 503 with `Retry-After` (that request waits). */
  throttledResponses: number;
  /** Time callers spent waiting because the tenant was throttled (ms, summed over callers). */
  throttledWaitMs: number;
  /**
   * Grants not sent as they were (throttle/permit.ts): `paused` — held back, the tenant was paused
   * after the grant (here or, broadcast, elsewhere); `leaseYield` — the grant had aged past its
   * lease, so pending I/O was let in first; `lateGrant` — the grant was too old to send safely
   * (its window nearly full): released unsent and asked for again.
   */
  heldBack: { paused: number; leaseYield: number; lateGrant: number };
  steps: Array<{ step: string; outcome: StepOutcome; count: number }>;
  /** Instances by the state they ended in (`steady`, `quarantined`, `failed`, …). */
  instances: Array<{ state: string; count: number }>;
  /** The same per tenant (label `tenant`): Graph answers by status, instances by end state. */
  tenants?: {
    graphRequests: Array<{ tenant: string; status: string; count: number }>;
    instances: Array<{ tenant: string; state: string; count: number }>;
  };
}

/** The read side of the counters: what the board needs to serve /metrics. */
export interface MetricsSource {
  read(): Promise<MetricsSnapshot>;
}

/** The write side, used by worker and poller processes; also readable. */
export interface MetricsRecorder extends MetricsSource {
  /** The recorder needs no request id: counts are per method, route and status. */
  graphResponse(event: Omit<GraphResponseEvent, 'requestId'>, tenant?: string): void;
  throttledWait(ms: number): void;
  /** A request held back before sending (see `MetricsSnapshot.heldBack`). */
  heldBack(why: HeldBackReason): void;
  stepOutcome(step: string, outcome: StepOutcome): void;
  instanceEnd(state: string, tenant?: string): void;
  /** Writes buffered increments now (resolves once Redis has them). */
  flush(): Promise<void>;
  /** Stops the timer and flushes what is left. Does not close the Redis connection. */
  close(): Promise<void>;
}

/** Options for `createMetricsRecorder`. */
export interface MetricsRecorderOptions {
  /** Flush interval; 0 writes through on every call (tests). Default 500 ms. */
  flushMs?: number;
}

/** The hash names under `${prefix}:metrics:`. */
const H = {
  graphCount: 'graph-requests',
  graphMs: 'graph-ms',
  throttle: 'throttle',
  steps: 'steps',
  instances: 'instances',
  tenantRequests: 'tenant-requests',
  tenantInstances: 'tenant-instances',
} as const;
type HashName = (typeof H)[keyof typeof H];

/** The Redis keys the counters use (exported for tests and operators' tooling). */
export function metricsKeys(prefix: string): Record<keyof typeof H, string> {
  const k = (h: HashName) => `${prefix}:metrics:${h}`;
  return {
    graphCount: k(H.graphCount),
    graphMs: k(H.graphMs),
    throttle: k(H.throttle),
    steps: k(H.steps),
    instances: k(H.instances),
    tenantRequests: k(H.tenantRequests),
    tenantInstances: k(H.tenantInstances),
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Folds ids out of a path so label cardinality stays bounded even when a caller passes a raw
 * path: GUIDs, and long segments that contain digits (sync job ids like `aws.6d1b…`), become
 * `{id}`; the query string is dropped.
 */
export function normalizeRoute(route: string): string {
  const path = route.split('?')[0] ?? '';
  return path
    .split('/')
    .map((seg) => (GUID.test(seg) || (seg.length >= 16 && /\d/.test(seg)) ? '{id}' : seg.replace(/\s+/g, '_')))
    .join('/');
}

/** A recorder that buffers increments in memory and flushes them to Redis. */
export function createMetricsRecorder(
  redis: Redis,
  prefix: string,
  opts: MetricsRecorderOptions = {},
): MetricsRecorder {
  const flushMs = opts.flushMs ?? 500;
  const keys = metricsKeys(prefix);
  let pending = new Map<string, Map<string, number>>();
  let inFlight: Promise<void> = Promise.resolve();
  let closed = false;

  const merge = (key: string, field: string, by: number) => {
    let fields = pending.get(key);
    if (!fields) pending.set(key, (fields = new Map()));
    fields.set(field, (fields.get(field) ?? 0) + by);
  };
  const add = (key: string, field: string, by: number) => {
    if (!Number.isFinite(by) || by === 0) return;
    merge(key, field, by);
    if (flushMs === 0) void flush().catch(() => {});
  };

  const writeOnce = async () => {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    const pipe = redis.pipeline();
    for (const [key, fields] of batch) for (const [field, by] of fields) pipe.hincrby(key, field, by);
    try {
      const results = (await pipe.exec()) ?? [];
      const failed = results.find(([err]) => err)?.[0];
      if (failed) throw failed;
    } catch (err) {
      // Put the batch back (merged with anything recorded meanwhile) so nothing is lost.
      for (const [key, fields] of batch) for (const [field, by] of fields) merge(key, field, by);
      throw err;
    }
  };
  // Flushes run one after another so a slow flush never overlaps (and double-counts) the next.
  const flush = (): Promise<void> => {
    const next = inFlight.then(writeOnce, writeOnce);
    inFlight = next.catch(() => {});
    return next;
  };

  const timer = flushMs > 0 ? setInterval(() => void flush().catch(() => {}), flushMs) : null;
  timer?.unref();

  return {
    graphResponse({ method, route, status, throttled, durationMs }, tenant) {
      if (closed) return;
      if (tenant) add(keys.tenantRequests, `${tenant} ${status ?? 'network_error'}`, 1);
      const field = `${method.toUpperCase()} ${normalizeRoute(route)} ${status ?? 'network_error'}`;
      add(keys.graphCount, field, 1);
      // Integers only: HINCRBY is exact where HINCRBYFLOAT would drift over millions of calls.
      add(keys.graphMs, field, Math.max(0, Math.round(durationMs)));
      if (throttled) add(keys.throttle, 'responses', 1);
    },
    throttledWait(ms) {
      if (!closed) add(keys.throttle, 'wait-ms', Math.max(0, Math.round(ms)));
    },
    heldBack(why) {
      if (!closed) add(keys.throttle, `held-${why}`, 1);
    },
    stepOutcome(step, outcome) {
      if (!closed) add(keys.steps, `${step}:${outcome}`, 1);
    },
    instanceEnd(state, tenant) {
      if (closed) return;
      add(keys.instances, state, 1);
      if (tenant) add(keys.tenantInstances, `${tenant} ${state}`, 1);
    },
    flush,
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      await flush();
    },
    read: () => readMetrics(redis, prefix),
  };
}

/** The read side alone, for the board process. */
export function createMetricsReader(redis: Redis, prefix: string): MetricsSource {
  return { read: () => readMetrics(redis, prefix) };
}

const num = (v: string | undefined): number => (v === undefined ? 0 : Number(v) || 0);

/** Reads every counter hash in one round trip and sums nothing: Redis already holds the totals. */
async function readMetrics(redis: Redis, prefix: string): Promise<MetricsSnapshot> {
  const keys = metricsKeys(prefix);
  const pipe = redis.pipeline();
  const all = [keys.graphCount, keys.graphMs, keys.throttle, keys.steps, keys.instances];
  for (const key of [...all, keys.tenantRequests, keys.tenantInstances]) pipe.hgetall(key);
  const results = (await pipe.exec()) ?? [];
  const hashes = results.map(([err, value]) => {
    if (err) throw err;
    return (value ?? {}) as Record<string, string>;
  });
  const [graphCount = {}, graphMs = {}, throttle = {}, steps = {}, instances = {}, tReq = {}, tInst = {}] = hashes;
  // `tenant value`: tenant names have no spaces (src/tenants/tenant-schema.ts).
  const perTenant = <K extends string>(h: Record<string, string>, k: K) =>
    Object.entries(h)
      .map(([field, count]) => {
        const at = field.indexOf(' ');
        return { tenant: field.slice(0, at), [k]: field.slice(at + 1), count: num(count) } as {
          tenant: string;
          count: number;
        } & Record<K, string>;
      })
      .sort((a, b) => `${a.tenant} ${a[k]}`.localeCompare(`${b.tenant} ${b[k]}`));

  const graphRequests: GraphRequestCount[] = Object.entries(graphCount).map(([field, count]) => {
    // `METHOD route status`; the route has no spaces (normalizeRoute replaces them).
    const first = field.indexOf(' ');
    const last = field.lastIndexOf(' ');
    return {
      method: field.slice(0, first),
      route: field.slice(first + 1, last),
      status: field.slice(last + 1),
      count: num(count),
      totalDurationMs: num(graphMs[field]),
    };
  });
  const stepCounts = Object.entries(steps).flatMap(([field, count]) => {
    const at = field.lastIndexOf(':');
    const outcome = field.slice(at + 1);
    if (outcome !== 'completed' && outcome !== 'failed') return [];
    return [{ step: field.slice(0, at), outcome: outcome as StepOutcome, count: num(count) }];
  });
  // Stable order, so /metrics output and snapshots compare equal across reads.
  const by =
    <T>(key: (t: T) => string) =>
    (a: T, b: T) =>
      key(a).localeCompare(key(b));
  return {
    graphRequests: graphRequests.sort(by((g) => `${g.method} ${g.route} ${g.status}`)),
    throttledResponses: num(throttle.responses),
    throttledWaitMs: num(throttle['wait-ms']),
    heldBack: {
      paused: num(throttle['held-paused']),
      leaseYield: num(throttle['held-lease-yield']),
      lateGrant: num(throttle['held-late-grant']),
    },
    steps: stepCounts.sort(by((s) => `${s.step}:${s.outcome}`)),
    instances: Object.entries(instances)
      .map(([state, count]) => ({ state, count: num(count) }))
      .sort(by((i) => i.state)),
    // Only once something was recorded per tenant: single-tenant snapshots keep their shape.
    ...(Object.keys(tReq).length + Object.keys(tInst).length > 0
      ? { tenants: { graphRequests: perTenant(tReq, 'status'), instances: perTenant(tInst, 'state') } }
      : {}),
  };
}
