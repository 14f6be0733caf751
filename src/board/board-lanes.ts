/**
 * The board's queues, tenant by tenant: `default`'s at once (a single-tenant deployment's board is
 * what it always was), every other tenant's once the tenant list (src/redis-keys.ts) names it.
 * Each tenant's queues live under its own prefix (its own Redis Cluster slot), so the board holds
 * one Queue per tenant and name, and shows a tenant's as `tenant:queue` (Bull Board's adapter
 * prefix) so two tenants' `provflow-steps` are two entries.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES } from '../flow/queues.ts';
import { ledgerKeys } from '../ledger/keys.ts';
import { knownTenants } from '../ledger/tenant-ledgers.ts';
import { DEFAULT_TENANT, tenantPrefix } from '../redis-keys.ts';
import { withDeadline } from './health.ts';

/** One tenant's queue as the board shows it. */
export interface BoardQueue {
  tenant: string;
  /** Bull Board's name for it (its URLs, /healthz and /metrics keys): see `boardQueueName`. */
  name: string;
  queue: Queue;
}

/** The queue's own name for `default`, `tenant:queue` for any other tenant. */
export function boardQueueName(tenant: string, queue: string): string {
  return tenant === DEFAULT_TENANT ? queue : `${tenant}:${queue}`;
}

/** Queues that must have a worker in each lane with work (the events queue's consumer is optional). */
const REQUIRED_WORKER_QUEUES: readonly string[] = [QUEUES.steps, QUEUES.poll];

export interface BoardLanes {
  /** Every queue of every lane seen so far (`default`'s first). */
  entries(): readonly BoardQueue[];
  /** Reads the tenant list (at most once per `refreshMs`) and adds the new tenants' queues. */
  refresh(): Promise<void>;
  /**
   * The queues that must have a worker: steps and poll of each tenant with work. `default` counts
   * when it is alone (a single-tenant deployment) or has batches of its own.
   */
  requiredWorkers(): Promise<string[]>;
  close(): Promise<void>;
}

export function createBoardLanes(o: {
  redis: Redis;
  basePrefix: string;
  queueNames: readonly string[];
  /** Called with the queues of tenants seen for the first time (to put them on Bull Board). */
  onAdded?: (added: BoardQueue[]) => void;
  refreshMs?: number;
  /** Deadline of each read of the tenant list (a hung Redis must not hang a probe). */
  timeoutMs?: number;
}): BoardLanes {
  const entries: BoardQueue[] = [];
  const tenants = new Set<string>();
  const add = (tenant: string): BoardQueue[] => {
    tenants.add(tenant);
    const made = o.queueNames.map((name) => {
      const queue = new Queue(name, { connection: o.redis, prefix: tenantPrefix(o.basePrefix, tenant) });
      // Connection errors are logged once by the board's connection; without a listener BullMQ prints each.
      queue.on('error', () => {});
      return { tenant, name: boardQueueName(tenant, name), queue };
    });
    entries.push(...made);
    return made;
  };
  add(DEFAULT_TENANT);
  const refreshMs = o.refreshMs ?? 5000;
  let last = 0;
  let pending: Promise<void> | null = null;
  const readTenants = async () => {
    try {
      const names = await withDeadline(knownTenants(o.redis, o.basePrefix), o.timeoutMs ?? 2000, 'tenant list');
      const added = names.filter((t) => !tenants.has(t)).flatMap(add);
      last = Date.now();
      if (added.length) o.onAdded?.(added);
    } catch {
      // Redis unavailable: the probes report it; the next request tries again.
    } finally {
      pending = null;
    }
  };
  return {
    entries: () => entries,
    refresh() {
      if (Date.now() - last < refreshMs) return Promise.resolve();
      return (pending ??= readTenants());
    },
    async requiredWorkers() {
      const others = [...tenants].filter((t) => t !== DEFAULT_TENANT);
      const batches = () =>
        withDeadline(o.redis.zcard(ledgerKeys(o.basePrefix).batches), o.timeoutMs ?? 2000, 'batches');
      const defaultHasWork =
        others.length === 0 ||
        (await batches().then(
          (n) => n > 0,
          () => true,
        ));
      return [...tenants]
        .filter((t) => t !== DEFAULT_TENANT || defaultHasWork)
        .flatMap((t) => REQUIRED_WORKER_QUEUES.map((q) => boardQueueName(t, q)));
    },
    async close() {
      await Promise.allSettled(entries.map((e) => e.queue.close()));
    },
  };
}
