/**
 * Cross-process counters in Redis: recorders in several processes add up, increments are
 * buffered until flushed, and a flush that fails while Redis is down loses nothing.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPrometheus } from '../../src/metrics/prometheus.ts';
import {
  createMetricsReader,
  createMetricsRecorder,
  metricsKeys,
  normalizeRoute,
} from '../../src/metrics/redis-counters.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';

let redis: RedisHandle;
let conn: Redis;

beforeAll(async () => {
  // Own server with AOF: one test stops and restarts it and must find earlier writes.
  redis = await testRedis({ own: true, spawn: { appendonly: true, fsync: 'always' } });
  conn = new Redis(redis.url, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  conn?.disconnect();
  await redis?.close();
});

describe('redis counters', () => {
  it('sums what two recorders (two processes) record', async () => {
    const prefix = testPrefix('sum');
    const other = new Redis(redis.url);
    const a = createMetricsRecorder(conn, prefix);
    const b = createMetricsRecorder(other, prefix);
    a.graphResponse({
      method: 'GET',
      route: '/servicePrincipals/{id}',
      status: 200,
      throttled: false,
      durationMs: 12.4,
    });
    b.graphResponse({
      method: 'GET',
      route: '/servicePrincipals/{id}',
      status: 200,
      throttled: false,
      durationMs: 7.7,
    });
    b.graphResponse({
      method: 'PUT',
      route: '/servicePrincipals/{id}/synchronization/secrets',
      status: 503,
      throttled: true,
      durationMs: 3,
    });
    a.throttledWait(250);
    b.throttledWait(750);
    a.heldBack('paused');
    b.heldBack('paused');
    b.heldBack('lease-yield');
    b.heldBack('late-grant');
    a.stepOutcome('save-secrets', 'completed');
    b.stepOutcome('save-secrets', 'completed');
    b.stepOutcome('start-job', 'failed');
    a.instanceEnd('steady');
    b.instanceEnd('steady');
    b.instanceEnd('failed');
    await Promise.all([a.close(), b.close()]);
    const snap = await createMetricsReader(conn, prefix).read();
    expect(snap).toEqual({
      graphRequests: [
        { method: 'GET', route: '/servicePrincipals/{id}', status: '200', count: 2, totalDurationMs: 20 },
        {
          method: 'PUT',
          route: '/servicePrincipals/{id}/synchronization/secrets',
          status: '503',
          count: 1,
          totalDurationMs: 3,
        },
      ],
      throttledResponses: 1,
      throttledWaitMs: 1000,
      heldBack: { paused: 2, leaseYield: 1, lateGrant: 1 },
      steps: [
        { step: 'save-secrets', outcome: 'completed', count: 2 },
        { step: 'start-job', outcome: 'failed', count: 1 },
      ],
      instances: [
        { state: 'failed', count: 1 },
        { state: 'steady', count: 2 },
      ],
    });
    // Every key shares the prefix's hash tag (one Redis Cluster slot).
    expect(Object.values(metricsKeys(prefix)).every((k) => k.startsWith(`${prefix}:metrics:`))).toBe(true);
    other.disconnect();
  });

  it('buffers in memory until the flush interval, then writes one pipeline', async () => {
    const prefix = testPrefix('buffer');
    const rec = createMetricsRecorder(conn, prefix, { flushMs: 100 });
    for (let i = 0; i < 1000; i++) rec.stepOutcome('resolve-template', 'completed');
    expect(await conn.exists(metricsKeys(prefix).steps)).toBe(0);
    await new Promise((r) => setTimeout(r, 250));
    expect(await conn.hget(metricsKeys(prefix).steps, 'resolve-template:completed')).toBe('1000');
    await rec.close();
    rec.stepOutcome('resolve-template', 'completed'); // after close: ignored, no timer left
    expect((await rec.read()).steps).toEqual([{ step: 'resolve-template', outcome: 'completed', count: 1000 }]);
  });

  it('keeps increments through a Redis outage and writes them once Redis is back', async () => {
    const prefix = testPrefix('outage');
    const flaky = new Redis(redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
    flaky.on('error', () => {});
    const ready = () =>
      new Promise<void>((resolve) => (flaky.status === 'ready' ? resolve() : flaky.once('ready', () => resolve())));
    await ready();
    const rec = createMetricsRecorder(flaky, prefix, { flushMs: 0 });
    rec.instanceEnd('steady');
    await rec.flush();
    await redis.stop();
    rec.instanceEnd('steady');
    rec.instanceEnd('quarantined');
    await expect(rec.flush()).rejects.toThrow();
    await redis.restart();
    await ready();
    await rec.flush();
    const instances = (await rec.read()).instances;
    expect(instances).toEqual([
      { state: 'quarantined', count: 1 },
      { state: 'steady', count: 2 },
    ]);
    await rec.close();
    flaky.disconnect();
  });

  it('folds ids out of raw paths so label cardinality stays bounded', () => {
    expect(
      normalizeRoute(
        '/servicePrincipals/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/synchronization/jobs/aws.e7a9a6d1b2c34f5e8f0a?$select=id',
      ),
    ).toBe('/servicePrincipals/{id}/synchronization/jobs/{id}');
    expect(normalizeRoute('/applicationTemplates')).toBe('/applicationTemplates');
  });

  it('renders an empty snapshot as zero-valued series', async () => {
    const text = await renderPrometheus({
      redisUp: true,
      queueCounts: { 'provflow-steps': {} },
      snapshot: {
        graphRequests: [],
        throttledResponses: 0,
        throttledWaitMs: 0,
        heldBack: { paused: 3, leaseYield: 0, lateGrant: 2 },
        steps: [],
        instances: [],
      },
    });
    expect(text).toContain('provflow_queue_jobs{queue="provflow-steps",state="waiting"} 0');
    expect(text).toContain('provflow_graph_throttled_wait_seconds_total 0');
    expect(text).toContain('provflow_graph_requests_held_total{why="paused"} 3');
    expect(text).toContain('provflow_graph_requests_held_total{why="late_grant"} 2');
    expect(text).toContain('# TYPE provflow_graph_requests_total counter');
  });
});
