/**
 * The provflow processes a benchmark runs against a local stack: steps worker(s) and a poller as
 * child processes, their output kept for when one exits, started only once every tenant's lane
 * has its BullMQ workers (a process starts them in order, so the last tenant's is the last).
 */
import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import type { Runtime } from '../src/app/runtime.ts';
import type { LocalStack } from '../src/dev/local-stack.ts';
import { captureOutput, stopChild, waitForWorkers } from './proc.ts';

export interface BenchFleet {
  workers: ChildProcess[];
  poller: ChildProcess;
  /** The kept output of every process when one has exited, else null. */
  exited(): string | null;
  stop(): Promise<void>;
}

export async function startBenchFleet(
  stack: LocalStack,
  rt: Runtime,
  o: { workers?: number; env?: Record<string, string> } = {},
): Promise<BenchFleet> {
  const workers = Array.from({ length: Math.max(1, o.workers ?? 1) }, () => stack.spawnProcess('worker', o.env));
  const poller = stack.spawnProcess('poller', o.env);
  const children = [...workers, poller];
  const outs = children.map((c) => captureOutput(c));
  const exited = () =>
    children.some((c) => c.exitCode !== null) ? outs.map((x) => x.lines().join('\n')).join('\n') : null;
  const fleet = {
    workers,
    poller,
    exited,
    stop: async () => void (await Promise.all(children.map((c) => stopChild(c)))),
  };
  try {
    const last = rt.lane(stack.tenantNames[stack.tenantNames.length - 1]!);
    await waitForWorkers(last.stepsQueue, workers.length, 60_000, exited);
    await waitForWorkers(last.pollQueue, 1, 60_000, exited);
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  return fleet;
}

/** The `state` field of each ledger key, in one pipeline (null: not there yet). */
export async function statesOf(redis: Redis, keys: readonly string[]): Promise<(string | null)[]> {
  const p = redis.pipeline();
  for (const k of keys) p.hget(k, 'state');
  return ((await p.exec()) ?? []).map((r) => r[1] as string | null);
}
