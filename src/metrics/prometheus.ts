/**
 * Renders provflow's metrics in Prometheus text format with prom-client. A fresh Registry per
 * scrape: every value is read from Redis at scrape time (queue depths, cross-process
 * counters), so there is no in-process state to keep, and two concurrent scrapes can't
 * interleave each other's values.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { MetricsSnapshot } from './redis-counters.ts';

/** The queue states reported per queue (BullMQ's names). */
export const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'completed',
  'failed',
  'waiting-children',
  'prioritized',
] as const;

/** What one scrape observed. `snapshot` and the queue maps are absent when Redis was unreachable. */
export interface ScrapeData {
  redisUp: boolean;
  /** queue → state → job count. */
  queueCounts?: Record<string, Record<string, number>>;
  /** queue → number of connected BullMQ workers. */
  workers?: Record<string, number>;
  /**
   * The labels of each key of the two maps above when it is not a bare queue name: many tenants'
   * queues (`t1:provflow-steps` → queue `provflow-steps`, tenant `t1`). Absent: the key is the queue.
   */
  queueLabels?: Record<string, { queue: string; tenant: string }>;
  snapshot?: MetricsSnapshot;
}

/** The Prometheus text content type prom-client produces. */
export const PROMETHEUS_CONTENT_TYPE = new Registry().contentType;

/** Prometheus exposition text for one scrape. */
export async function renderPrometheus(data: ScrapeData): Promise<string> {
  const registers = [new Registry()];
  const gauge = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers });
  // Counters here mirror totals kept in Redis; `inc` from zero sets them to that total.
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name, help, labelNames, registers });

  gauge('provflow_redis_up', 'Whether the board reached Redis for this scrape (1) or not (0).').set(
    data.redisUp ? 1 : 0,
  );

  // A single tenant's queues keep their one label; many tenants' carry `tenant` too.
  const labelsOf = (key: string) => data.queueLabels?.[key] ?? { queue: key };
  if (data.queueCounts) {
    const depth = gauge('provflow_queue_jobs', 'Jobs per queue and state.', ['queue', 'state', 'tenant']);
    for (const [key, counts] of Object.entries(data.queueCounts)) {
      for (const state of QUEUE_STATES) depth.set({ ...labelsOf(key), state }, counts[state] ?? 0);
    }
  }
  if (data.workers) {
    const workers = gauge('provflow_queue_workers', 'BullMQ workers connected to each queue.', ['queue', 'tenant']);
    for (const [key, n] of Object.entries(data.workers)) workers.set(labelsOf(key), n);
  }

  const s = data.snapshot;
  if (s) {
    const steps = counter('provflow_step_jobs_total', 'Step jobs finished, by step (job name) and outcome.', [
      'step',
      'outcome',
    ]);
    for (const { step, outcome, count } of s.steps) steps.inc({ step, outcome }, count);

    const labels = ['method', 'route', 'status'];
    const requests = counter(
      'provflow_graph_requests_total',
      'Microsoft Graph requests, by method, route and HTTP status.',
      labels,
    );
    const seconds = counter(
      'provflow_graph_request_seconds_total',
      'Time spent in Graph requests (seconds, summed).',
      labels,
    );
    for (const g of s.graphRequests) {
      const l = { method: g.method, route: g.route, status: g.status };
      requests.inc(l, g.count);
      seconds.inc(l, g.totalDurationMs / 1000);
    }
    const responses429 = s.graphRequests.filter((g) => g.status === '429').reduce((n, g) => n + g.count, 0);
    counter('provflow_graph_429_total', 'Graph answers with HTTP 429 Too Many Requests.').inc(responses429);
    counter(
      'provflow_graph_throttled_responses_total',
      'Graph answers that made callers wait: 429 (the tenant pauses) or 503 with Retry-After (that request waits).',
    ).inc(s.throttledResponses);
    counter(
      'provflow_graph_throttled_wait_seconds_total',
      'Time callers waited because the tenant was throttled (seconds, summed over callers).',
    ).inc(s.throttledWaitMs / 1000);
    const held = counter(
      'provflow_graph_requests_held_total',
      'Requests held back before sending: the tenant was paused after the limiter said yes (paused), ' +
        'the yes had gone stale (stale_grant), or it was too old to send into a nearly full quota window (late_grant).',
      ['why'],
    );
    held.inc({ why: 'paused' }, s.heldBack?.paused ?? 0);
    held.inc({ why: 'lease_yield' }, s.heldBack?.leaseYield ?? 0);
    held.inc({ why: 'late_grant' }, s.heldBack?.lateGrant ?? 0);

    const ended = counter('provflow_instances_ended_total', 'Instances by the state they ended in.', ['state']);
    for (const { state, count } of s.instances) ended.inc({ state }, count);
    if (s.tenants) {
      const help = 'Microsoft Graph requests per tenant (name in the tenants file, or default), by HTTP status.';
      const tenantRequests = counter('provflow_tenant_graph_requests_total', help, ['tenant', 'status']);
      for (const g of s.tenants.graphRequests) tenantRequests.inc({ tenant: g.tenant, status: g.status }, g.count);
      const tenantEnded = counter('provflow_tenant_instances_ended_total', 'Instances per tenant by end state.', [
        'tenant',
        'state',
      ]);
      for (const i of s.tenants.instances) tenantEnded.inc({ tenant: i.tenant, state: i.state }, i.count);
    }
  }
  return registers[0]!.metrics();
}
