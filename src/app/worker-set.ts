/** The workers a process runs for its tenant lanes, started, awaited and closed together. */
import type { Worker } from 'bullmq';

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
