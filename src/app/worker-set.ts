/** The workers a process runs for its tenant lanes, started, awaited and closed together. */
import type { Worker } from 'bullmq';
import type { Config } from '../config.ts';

export interface WorkerSet {
  workers: Worker[];
  waitUntilReady(): Promise<void>;
  close(): Promise<void>;
}

export function workerSet(workers: Worker[]): WorkerSet {
  return {
    workers,
    async waitUntilReady() {
      await Promise.all(workers.map((w) => w.waitUntilReady()));
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}

/**
 * The stall options of every provflow worker (steps, ops, watch). Crash-restarts are expected
 * (SIGKILL, deploys): a job may stall several times and still be safe to re-run, because every
 * step looks before it acts.
 */
export function stallOptions(cfg: Pick<Config, 'WORKER_STALLED_INTERVAL_MS' | 'WORKER_LOCK_DURATION_MS'>) {
  return {
    maxStalledCount: 10,
    stalledInterval: cfg.WORKER_STALLED_INTERVAL_MS,
    lockDuration: cfg.WORKER_LOCK_DURATION_MS,
  };
}
