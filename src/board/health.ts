/**
 * What /healthz and /metrics read from Redis: reachability, worker presence, queue depths.
 * Each read has a deadline so a hung Redis makes a probe fail fast instead of hanging the
 * orchestrator's health check.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES } from '../flow/queues.ts';
import { QUEUE_STATES } from '../metrics/prometheus.ts';

/** A queue under the name the board reports it by (`tenant:queue` for a tenant's own: board-lanes.ts). */
export interface NamedQueue {
  name: string;
  queue: Queue;
}

/** The /healthz body. No job data: probes are unauthenticated. */
export interface HealthReport {
  /**
   * ok: Redis answers and every required queue has a worker; degraded: Redis answers, workers missing;
   * down: no Redis.
   */
  status: 'ok' | 'degraded' | 'down';
  redis: { ok: boolean; latencyMs: number | null; error?: string };
  /** True when every queue in `requiredWorkers` has at least one worker. */
  workersAlive: boolean;
  queues: Record<string, { workers: number | null; alive: boolean }>;
  checkedAt: string;
}

/** Queues that must have a worker for `status: ok` by default (the events queue's consumer is optional). */
const REQUIRED_WORKER_QUEUES: readonly string[] = [QUEUES.steps, QUEUES.poll];

/** Rejects after `ms` with a message naming what timed out. */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** PINGs Redis; never throws. */
export async function pingRedis(redis: Redis, timeoutMs: number): Promise<HealthReport['redis']> {
  const t0 = performance.now();
  try {
    const pong = await withDeadline(redis.ping(), timeoutMs, 'Redis PING');
    if (pong !== 'PONG') return { ok: false, latencyMs: null, error: `unexpected PING reply ${JSON.stringify(pong)}` };
    return { ok: true, latencyMs: Math.round((performance.now() - t0) * 10) / 10 };
  } catch (err) {
    return { ok: false, latencyMs: null, error: (err as Error).message };
  }
}

/** Worker count per queue (BullMQ `getWorkers`, i.e. named connections in CLIENT LIST); null when unreadable. */
export async function workerCounts(
  queues: readonly NamedQueue[],
  timeoutMs: number,
): Promise<Record<string, number | null>> {
  const entries = await Promise.all(
    queues.map(async ({ name, queue }) => {
      try {
        return [name, (await withDeadline(queue.getWorkers(), timeoutMs, `workers of ${name}`)).length] as const;
      } catch {
        return [name, null] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}

/** Job counts per queue for the states /metrics reports. */
export async function queueCounts(
  queues: readonly NamedQueue[],
  timeoutMs: number,
): Promise<Record<string, Record<string, number>>> {
  const entries = await Promise.all(
    queues.map(
      async ({ name, queue }) =>
        [name, await withDeadline(queue.getJobCounts(...QUEUE_STATES), timeoutMs, `job counts of ${name}`)] as const,
    ),
  );
  return Object.fromEntries(entries);
}

/** The full health report. */
export async function checkHealth(
  redis: Redis,
  queues: readonly NamedQueue[],
  opts: { timeoutMs?: number; requiredWorkers?: readonly string[] } = {},
): Promise<HealthReport> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const required = opts.requiredWorkers ?? REQUIRED_WORKER_QUEUES;
  const redisState = await pingRedis(redis, timeoutMs);
  const counts: Record<string, number | null> = redisState.ok
    ? await workerCounts(queues, timeoutMs)
    : Object.fromEntries(queues.map((q) => [q.name, null]));
  const perQueue = Object.fromEntries(
    Object.entries(counts).map(([name, n]) => [name, { workers: n, alive: (n ?? 0) > 0 }]),
  );
  const workersAlive = required.every((name) => perQueue[name]?.alive === true);
  return {
    status: !redisState.ok ? 'down' : workersAlive ? 'ok' : 'degraded',
    redis: redisState,
    workersAlive,
    queues: perQueue,
    checkedAt: new Date().toISOString(),
  };
}
