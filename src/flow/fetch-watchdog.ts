/**
 * A BullMQ worker that stops fetching while its queue has ready jobs is a worker that can never
 * recover by itself. Seen after a Redis Cluster failover (BullMQ 6.7, ioredis Cluster): a worker
 * sometimes never fetches again, with jobs ready and the process otherwise healthy. Crash-only
 * recovery: the process exits and its supervisor (compose `restart: unless-stopped`, Kubernetes)
 * starts a fresh one; every step is safe to re-run, and jobs it held are taken over when their
 * locks expire.
 */
import type { Job, Queue, Worker } from 'bullmq';

/** Why the watchdog gave up on a worker. */
export interface StuckWorker {
  readyJobs: number;
  idleForMs: number;
}

/** Counts the jobs a processor runs: how many started, how many are in it now. */
export function countingProcessor<J extends Job, R>(
  processor: (job: J, token?: string) => Promise<R>,
): { processor: (job: J, token?: string) => Promise<R>; started: () => number; inFlight: () => number } {
  let started = 0;
  let inFlight = 0;
  return {
    processor: async (job, token) => {
      started++;
      inFlight++;
      try {
        return await processor(job, token);
      } finally {
        inFlight--;
      }
    },
    started: () => started,
    inFlight: () => inFlight,
  };
}

export interface FetchWatchdogOptions {
  /** How often to look (each look is one count on the queue's own slot). */
  intervalMs: number;
  /** Consecutive looks with ready jobs, free capacity and nothing started before it gives up. */
  strikes?: number;
  concurrency: number;
  counts: { started: () => number; inFlight: () => number };
  onStuck: (why: StuckWorker) => void;
}

/** Starts watching `worker`; returns a function that stops it. */
export function watchFetching(worker: Worker, queue: Queue, o: FetchWatchdogOptions): () => void {
  const maxStrikes = o.strikes ?? 3;
  let startedAtLastLook = o.counts.started();
  let strikes = 0;
  let looking = false;
  const timer = setInterval(() => {
    if (looking || worker.closing || !worker.isRunning()) return;
    looking = true;
    void queue
      .getJobCounts('wait', 'prioritized')
      .then((c) => {
        const ready = (c.wait ?? 0) + (c.prioritized ?? 0);
        const started = o.counts.started();
        const idle = started === startedAtLastLook && o.counts.inFlight() < o.concurrency;
        startedAtLastLook = started;
        strikes = ready > 0 && idle ? strikes + 1 : 0;
        if (strikes >= maxStrikes) o.onStuck({ readyJobs: ready, idleForMs: strikes * o.intervalMs });
      })
      // Redis unreachable is not a stuck worker: BullMQ retries, and so do the next looks.
      .catch(() => {})
      .finally(() => (looking = false));
  }, o.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
