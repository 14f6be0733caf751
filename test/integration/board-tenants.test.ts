/**
 * The board with two tenants, over HTTP (the browser tests need Chromium): a board started before
 * any tenant had work picks up each tenant's queues from the tenant list; Bull Board lists them
 * as `tenant:queue`, and an instance's flow link on `/batches` opens its root job in its own
 * tenant's steps queue; the batch list and page read every tenant's part, in file order;
 * /healthz and /metrics cover every lane.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/app/runtime.ts';
import type { WorkerSet } from '../../src/app/worker-set.ts';
import { startStepsWorkers } from '../../src/app/steps-worker.ts';
import { startLocalStack, type LocalStack } from '../../src/dev/local-stack.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { QUEUES } from '../../src/flow/queues.ts';
import { silentLogger } from '../../src/logger.ts';
import { startPoller, type PollerHandle } from '../../src/poller/start-poller.ts';
import { batchOf, instance } from '../helpers/batches.ts';
import { waitFor, waitForBatchStates } from '../helpers/wait.ts';
import { serveBoard, type TestBoard } from '../browser/board-fixtures.ts';

let stack: LocalStack;
let rt: Runtime;
let board: TestBoard;
let steps: WorkerSet;
let poller: PollerHandle;

beforeAll(async () => {
  stack = await startLocalStack({ profile: 'fast', timeScale: 50, tenants: 2 });
  rt = await stack.runtime(silentLogger());
  // Started before any tenant has work: the tenants' queues must appear on their own.
  board = await serveBoard({ redis: stack.redis.url, prefix: rt.basePrefix, auth: null });
  steps = startStepsWorkers(rt, { concurrency: 8 });
  poller = startPoller(rt);
}, 60_000);

afterAll(async () => {
  await steps?.close();
  await poller?.close();
  await board?.stop();
  await rt?.close();
  await stack?.close();
});

const get = async (path: string) => {
  const res = await fetch(`${board.base}${path}`);
  return { status: res.status, text: await res.text() };
};

describe('the board with two tenants', () => {
  it('shows each tenant’s queues, the batch across tenants, and health and metrics per lane', async () => {
    const batch = batchOf('bt', [
      { ...instance(0, 'Board One A'), tenant: 't1' },
      { ...instance(1, 'Board Two A'), tenant: 't2' },
      { ...instance(2, 'Board One B'), tenant: 't1' },
    ]);
    await enqueueBatch(rt, batch);
    await waitForBatchStates(rt, 'bt', ['steady', 'failed'], 90_000);

    // Bull Board: default's queues under their own names, each tenant's as `tenant:queue`.
    const names = await waitFor('the tenants on the board', async () => {
      const api = JSON.parse((await get('/board/api/queues')).text) as {
        queues: { name: string; displayName?: string }[];
      };
      const all = api.queues.map((q) => q.name);
      return all.includes(`t2:${QUEUES.steps}`) ? api.queues : null;
    });
    expect(names.map((q) => q.name).sort()).toEqual(
      ['', 't1:', 't2:'].flatMap((p) => Object.values(QUEUES).map((q) => `${p}${q}`)).sort(),
    );
    expect(names.find((q) => q.name === `t1:${QUEUES.poll}`)?.displayName).toBe(`${QUEUES.poll} (t1)`);

    // The list and the page: every tenant's part, in the file's order, one tenant column.
    const list = await get('/batches');
    expect(list.status).toBe(200);
    expect(list.text).toMatch(/href="\/batches\/bt"[\s\S]*<td class="n">3<\/td>/);
    const page = await get('/batches/bt');
    expect(page.status).toBe(200);
    const order = [...page.text.matchAll(/class="flow"[^>]*>([^<]+)</g)].map((m) => m[1]);
    expect(order).toEqual(['Board One A', 'Board Two A', 'Board One B']);
    expect([...page.text.matchAll(/<td class="tenant">([^<]+)</g)].map((m) => m[1])).toEqual(['t1', 't2', 't1']);
    // Each flow link opens the root job in its own tenant's steps queue.
    const links = [...page.text.matchAll(/class="flow" href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    expect(links[1]).toContain(`/board/queue/${encodeURIComponent(`t2:${QUEUES.steps}`)}/`);
    for (const link of links) {
      const job = await get(link.replace('/board/queue/', '/board/api/queues/'));
      expect(job.status, link).toBe(200);
    }
    expect((await get('/batches/nope')).status).toBe(404);

    // /healthz: every lane's queues; `default` has no work, so only the tenants' need workers.
    const health = JSON.parse((await get('/healthz')).text) as {
      status: string;
      queues: Record<string, { workers: number | null }>;
    };
    expect(health.status).toBe('ok');
    expect(health.queues[`t1:${QUEUES.steps}`]?.workers).toBeGreaterThan(0);
    expect(health.queues[`t2:${QUEUES.poll}`]?.workers).toBeGreaterThan(0);
    expect(Object.keys(health.queues)).toContain(QUEUES.steps);

    // /metrics: one series per tenant and queue, labelled with the tenant.
    const metrics = (await get('/metrics')).text;
    expect(metrics).toMatch(/provflow_queue_jobs\{queue="provflow-steps",tenant="t2",state="completed"\} [1-9]/);
    expect(metrics).toMatch(/provflow_queue_workers\{queue="provflow-poll",tenant="t1"\} [1-9]/);
    expect(metrics).toMatch(/provflow_queue_workers\{queue="provflow-poll",tenant="default"\}/);
  }, 150_000);
});
