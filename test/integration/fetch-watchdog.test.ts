/**
 * The fetch watchdog gives up on a worker only when its queue has ready jobs, the worker has free
 * slots and it started nothing for `strikes` looks; a busy or progressing worker is left alone.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchFetching, type StuckWorker } from '../../src/flow/fetch-watchdog.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';

let redis: RedisHandle;
let conn: Redis;
let ready: Queue;
let idle: Worker;
const prefix = testPrefix('watchdog');

beforeAll(async () => {
  redis = await testRedis();
  conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  // Ready jobs nobody takes: the queue the watchdog looks at.
  ready = new Queue('ready', { connection: conn, prefix });
  await ready.addBulk([1, 2, 3].map((i) => ({ name: 'j', data: { i } })));
  // A running worker that (as a stuck one) never starts a job of that queue.
  idle = new Worker('elsewhere', async () => {}, { connection: conn.duplicate(), prefix });
  await idle.waitUntilReady();
});

afterAll(async () => {
  await idle?.close();
  await ready?.close();
  conn?.disconnect();
  await redis?.close();
});

const watch = (counts: { started: () => number; inFlight: () => number }) =>
  new Promise<StuckWorker | null>((resolve) => {
    const stop = watchFetching(idle, ready, {
      intervalMs: 50,
      strikes: 3,
      concurrency: 2,
      counts,
      onStuck: (why) => {
        stop();
        resolve(why);
      },
    });
    setTimeout(() => {
      stop();
      resolve(null);
    }, 1500);
  });

describe('fetch watchdog', () => {
  it('fires when jobs are ready, slots are free and nothing starts', async () => {
    const why = await watch({ started: () => 0, inFlight: () => 0 });
    expect(why).toEqual({ readyJobs: 3, idleForMs: 150 });
  });

  it('leaves a worker alone whose slots are all busy', async () => {
    expect(await watch({ started: () => 0, inFlight: () => 2 })).toBeNull();
  });

  it('leaves a worker alone that keeps starting jobs', async () => {
    let n = 0;
    expect(await watch({ started: () => n++, inFlight: () => 0 })).toBeNull();
  });
});
