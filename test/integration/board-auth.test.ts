/**
 * The board against a real Redis: authentication on every route, refusal to start unsafely,
 * /healthz with and without workers, /metrics values after a known run, and the access modes.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoardStartError, runBoard } from '../../src/board/run-board.ts';
import { QUEUES } from '../../src/flow/queues.ts';
import { createMetricsRecorder } from '../../src/metrics/redis-counters.ts';
import { freePort } from '../../src/dev/redis-server.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';
import {
  BOARD_PASS,
  BOARD_USER,
  basic,
  plantFlow,
  serveBoard,
  type PlantedFlow,
  type TestBoard,
} from '../browser/board-fixtures.ts';

let redis: RedisHandle;
let prefix: string;
let board: TestBoard;
const auth = { authorization: basic(BOARD_USER, BOARD_PASS) };

beforeAll(async () => {
  redis = await testRedis();
  prefix = testPrefix('auth');
  board = await serveBoard({ redis: redis.url, prefix, auth: { username: BOARD_USER, password: BOARD_PASS } });
});

afterAll(async () => {
  await board?.stop();
  await redis?.close();
});

/** Prometheus text → `name{labels}` → value. */
function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('authentication', () => {
  const protectedPaths = [
    '/',
    '/board/',
    '/board/queue/provflow-steps',
    '/board/api/queues',
    '/board/api/redis/stats',
    '/board/static/favicon-32x32.png',
  ];

  it('answers 401 with a Basic challenge without credentials, on pages, API and static assets', async () => {
    for (const path of protectedPaths) {
      const res = await fetch(board.base + path, { redirect: 'manual' });
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate'), path).toMatch(/^Basic realm="provflow board"/);
      expect(await res.text(), path).not.toContain('provflow-steps');
    }
  });

  it('answers 401 to a wrong password, a wrong user and a malformed header', async () => {
    for (const authorization of [
      basic(BOARD_USER, 'wrong'),
      basic('root', BOARD_PASS),
      basic(BOARD_USER, `${BOARD_PASS}x`),
      'Basic !!!',
      'Bearer x',
    ]) {
      const res = await fetch(`${board.base}/board/api/queues`, { headers: { authorization } });
      expect(res.status, authorization).toBe(401);
    }
  });

  it('serves the board, its API and its assets with the right credentials', async () => {
    const page = await fetch(`${board.base}/board/`, { headers: auth });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>provflow</title>');

    const api = await fetch(`${board.base}/board/api/queues`, { headers: auth });
    expect(api.status).toBe(200);
    expect(api.headers.get('cache-control')).toBe('no-store');
    const names = ((await api.json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> }).queues.map(
      (q) => q.name,
    );
    expect(names.sort()).toEqual([QUEUES.events, QUEUES.ops, QUEUES.poll, QUEUES.steps].sort());

    const asset = await fetch(`${board.base}/board/static/favicon-32x32.png`, { headers: auth });
    expect(asset.status).toBe(200);
    const root = await fetch(`${board.base}/`, { headers: auth, redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/board/');
  });
});

describe('refusing to start', () => {
  const base = { redisUrl: 'redis://127.0.0.1:1', port: 0, handleSignals: false };

  it('refuses without BOARD_USERNAME/BOARD_PASSWORD and names what is missing', async () => {
    await expect(runBoard({ ...base })).rejects.toThrow(/BOARD_USERNAME and BOARD_PASSWORD are not set/);
    await expect(runBoard({ ...base, username: 'ops' })).rejects.toThrow(
      /BOARD_PASSWORD is not set.*--insecure-no-auth/,
    );
    await expect(runBoard({ ...base, username: 'ops', password: '' })).rejects.toBeInstanceOf(BoardStartError);
    // Too short to resist guessing (board-security.test.ts covers the rest of the hardening).
    const short = runBoard({ ...base, username: 'ops', password: '12345678901' });
    await expect(short).rejects.toThrow(/shorter than 12 characters/);
  });

  it('with --insecure-no-auth, refuses a non-loopback host', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) {
      await expect(runBoard({ ...base, insecureNoAuth: true, host })).rejects.toThrow(
        /binds to loopback only; refusing host/,
      );
    }
  });

  it('with --insecure-no-auth, serves on 127.0.0.1 without credentials', async () => {
    const running = await runBoard({
      redisUrl: redis.url,
      prefix,
      port: 0,
      insecureNoAuth: true,
      handleSignals: false,
    });
    try {
      expect(running.host).toBe('127.0.0.1');
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/board\/$/);
      expect((await fetch(`${running.url}api/queues`)).status).toBe(200);
    } finally {
      await running.close();
    }
  });
});

describe('/healthz', () => {
  it('is open, reports 0 workers and "degraded" when none are attached', async () => {
    const res = await fetch(`${board.base}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ status: 'degraded', redis: { ok: true }, workersAlive: false });
    expect(body.queues[QUEUES.steps]).toEqual({ workers: 0, alive: false });
    expect(body.queues[QUEUES.poll]).toEqual({ workers: 0, alive: false });
  });

  it('reports workers alive once a worker listens on each required queue', async () => {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const workers = [QUEUES.steps, QUEUES.poll].map((name) => new Worker(name, async () => {}, { connection, prefix }));
    try {
      let body: any;
      for (const end = Date.now() + 5000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
        body = await (await fetch(`${board.base}/healthz`)).json();
        if (body.status === 'ok') break;
      }
      expect(body).toMatchObject({ status: 'ok', workersAlive: true });
      expect(body.queues[QUEUES.steps].workers).toBe(1);
      expect(body.queues[QUEUES.poll].workers).toBe(1);
      expect(body.queues[QUEUES.events]).toEqual({ workers: 0, alive: false });
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await connection.quit();
    }
  });

  it('answers 503 when Redis is unreachable', async () => {
    const dead = await serveBoard({
      redis: `redis://127.0.0.1:${await freePort()}`,
      prefix,
      auth: null,
      probeTimeoutMs: 500,
    });
    try {
      const res = await fetch(`${dead.base}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'down', redis: { ok: false } });
      const metrics = parseProm(await (await fetch(`${dead.base}/metrics`)).text());
      expect(metrics.get('provflow_redis_up')).toBe(0);
    } finally {
      await dead.stop();
    }
  });
});

describe('/metrics', () => {
  it('matches a known run: queue depths, step outcomes, Graph requests, throttling, instance end states', async () => {
    const mprefix = testPrefix('metrics');
    const metricsBoard = await serveBoard({
      redis: redis.url,
      prefix: mprefix,
      auth: { username: BOARD_USER, password: BOARD_PASS },
    });
    const conn = new Redis(redis.url);
    const steps = new Queue(QUEUES.steps, { connection: conn, prefix: mprefix });
    const poll = new Queue(QUEUES.poll, { connection: conn, prefix: mprefix });
    // Two worker processes' worth of recorders, as in a scaled deployment.
    const a = createMetricsRecorder(conn, mprefix);
    const b = createMetricsRecorder(conn, mprefix);
    try {
      await steps.add('resolve-template', { instance: { instanceKey: 'x1' } });
      await steps.add('resolve-template', { instance: { instanceKey: 'x2' } });
      await poll.add('watch', {}, { delay: 60_000 });
      for (let i = 0; i < 3; i++)
        a.graphResponse({
          method: 'GET',
          route: '/applicationTemplates',
          status: 200,
          throttled: false,
          durationMs: 100,
        });
      b.graphResponse({
        method: 'post',
        route: '/applicationTemplates/8adf8e6e-67b2-4cf2-a259-e3dc5476c621/instantiate',
        status: 201,
        throttled: false,
        durationMs: 250,
      });
      a.graphResponse({
        method: 'POST',
        route: '/applicationTemplates/{id}/instantiate',
        status: 429,
        throttled: true,
        durationMs: 20,
      });
      b.graphResponse({
        method: 'POST',
        route: '/applicationTemplates/{id}/instantiate',
        status: 429,
        throttled: true,
        durationMs: 30,
      });
      b.graphResponse({
        method: 'GET',
        route: '/servicePrincipals/{id}',
        status: null,
        throttled: false,
        durationMs: 5000,
      });
      a.throttledWait(1000);
      b.throttledWait(500);
      a.stepOutcome('instantiate-app', 'completed');
      b.stepOutcome('instantiate-app', 'completed');
      b.stepOutcome('instantiate-app', 'failed');
      a.instanceEnd('steady');
      b.instanceEnd('quarantined');
      await Promise.all([a.flush(), b.flush()]);

      const res = await fetch(`${metricsBoard.base}/metrics`); // no credentials needed
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      const m = parseProm(text);
      const expected: Record<string, number> = {
        provflow_redis_up: 1,
        'provflow_queue_jobs{queue="provflow-steps",state="waiting"}': 2,
        'provflow_queue_jobs{queue="provflow-steps",state="completed"}': 0,
        'provflow_queue_jobs{queue="provflow-poll",state="delayed"}': 1,
        'provflow_queue_jobs{queue="provflow-poll",state="waiting-children"}': 0,
        'provflow_queue_jobs{queue="provflow-events",state="prioritized"}': 0,
        'provflow_queue_workers{queue="provflow-steps"}': 0,
        'provflow_step_jobs_total{step="instantiate-app",outcome="completed"}': 2,
        'provflow_step_jobs_total{step="instantiate-app",outcome="failed"}': 1,
        'provflow_graph_requests_total{method="GET",route="/applicationTemplates",status="200"}': 3,
        'provflow_graph_requests_total{method="POST",route="/applicationTemplates/{id}/instantiate",status="201"}': 1,
        'provflow_graph_requests_total{method="POST",route="/applicationTemplates/{id}/instantiate",status="429"}': 2,
        'provflow_graph_requests_total{method="GET",route="/servicePrincipals/{id}",status="network_error"}': 1,
        'provflow_graph_request_seconds_total{method="GET",route="/applicationTemplates",status="200"}': 0.3,
        provflow_graph_429_total: 2,
        provflow_graph_throttled_responses_total: 2,
        provflow_graph_throttled_wait_seconds_total: 1.5,
        'provflow_instances_ended_total{state="steady"}': 1,
        'provflow_instances_ended_total{state="quarantined"}': 1,
      };
      for (const [series, value] of Object.entries(expected)) expect(m.get(series), series).toBeCloseTo(value, 9);
      // Counts only: no job data on an unauthenticated endpoint.
      expect(text).not.toContain('x1');
    } finally {
      await Promise.all([a.close(), b.close()]);
      await Promise.all([steps.close(), poll.close()]);
      await conn.quit();
      await metricsBoard.stop();
    }
  });
});

describe('access modes', () => {
  let planted: PlantedFlow;
  let mprefix: string;
  beforeAll(async () => {
    mprefix = testPrefix('modes');
    planted = await plantFlow(redis.url, mprefix);
  });

  const put = (b: TestBoard, path: string) =>
    fetch(`${b.base}/board/api/queues/${path}`, { method: 'PUT', headers: auth });

  it('read-only by default: retry, clean and pause are refused', async () => {
    const ro = await serveBoard({
      redis: redis.url,
      prefix: mprefix,
      auth: { username: BOARD_USER, password: BOARD_PASS },
    });
    try {
      expect((await put(ro, `${QUEUES.steps}/${planted.failedId}/retry`)).status).toBe(405);
      expect((await put(ro, `${QUEUES.steps}/clean/failed`)).status).toBe(405);
      expect((await put(ro, `${QUEUES.steps}/pause`)).status).toBe(405);
      expect((await put(ro, 'pause')).status).toBe(405);
    } finally {
      await ro.stop();
    }
  });

  it('--allow-retries: retries failed jobs and promotes, refuses everything else', async () => {
    const rw = await serveBoard({
      redis: redis.url,
      prefix: mprefix,
      allowRetries: true,
      auth: { username: BOARD_USER, password: BOARD_PASS },
    });
    try {
      const queues = ((await (await fetch(`${rw.base}/board/api/queues`, { headers: auth })).json()) as any).queues;
      expect(
        queues.every(
          (q: any) => q.readOnlyMode === false && q.allowRetries === true && q.allowCompletedRetries === false,
        ),
      ).toBe(true);
      // A completed step must not be re-run from the board.
      expect((await put(rw, `${QUEUES.steps}/${planted.saveSecretsId}/retry`)).status).toBe(403);
      expect((await put(rw, `${QUEUES.steps}/retry/completed`)).status).toBe(403);
      expect((await put(rw, `${QUEUES.steps}/clean/failed`)).status).toBe(403);
      expect((await put(rw, `${QUEUES.steps}/empty`)).status).toBe(403);
      expect((await put(rw, `${QUEUES.steps}/obliterate`)).status).toBe(403);
      expect([200, 204]).toContain((await put(rw, `${QUEUES.steps}/promote`)).status);
      expect([200, 204]).toContain((await put(rw, `${QUEUES.steps}/${planted.failedId}/retry`)).status);
      const job = await (
        await fetch(`${rw.base}/board/api/queues/${QUEUES.steps}/${planted.failedId}`, { headers: auth })
      ).json();
      expect((job as any).status).toBe('waiting');
    } finally {
      await rw.stop();
    }
  });
});
