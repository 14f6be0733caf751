/**
 * A lane is one tenant's queues and ledger as a process reaches them: the steps, poll, ops and
 * events queues and the ledger, all under the tenant's prefix (one hash tag, one Redis Cluster
 * slot). A batch that spans tenants is enqueued lane by lane, and a worker or poller process
 * runs one BullMQ worker per lane it serves, so a tenant's ready work never waits behind another
 * tenant's (docs/adr/0008-many-tenants.md).
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { queuesFor } from '../flow/tenant-queues.ts';
import { Ledger } from '../ledger/ledger.ts';
import type { Logger } from '../logger.ts';
import { DEFAULT_TENANT } from '../redis-keys.ts';

export interface TenantLane {
  tenant: string;
  /** The tenant's prefix: its queues, ledger and limiter windows. */
  prefix: string;
  ledger: Ledger;
  stepsQueue: Queue;
  pollQueue: Queue;
  opsQueue: Queue;
  eventsQueue: Queue;
}

// BullMQ's event streams default to 10,000 entries per queue (~2 MB): the ledger and the
// metrics are the record, so a short stream is enough for the board's live updates.
const STREAMS = { events: { maxLen: 1000 } };

/** Lanes built on first use and kept (Queue objects are cheap until used); `close` closes them all. */
export function createLanes(redis: Redis, basePrefix: string, logger: Logger) {
  const lanes = new Map<string, TenantLane>();
  const build = (tenant: string): TenantLane => {
    const q = queuesFor(tenant, basePrefix);
    const queue = (name: string) => {
      const made = new Queue(name, { connection: redis, prefix: q.prefix, streams: STREAMS });
      // Connection errors while Redis restarts are expected and retried: log them, don't crash on them.
      made.on('error', (err) => logger.warn({ err: err.message, queue: name, tenant }, 'queue connection error'));
      return made;
    };
    return {
      tenant,
      prefix: q.prefix,
      ledger: new Ledger(redis, q.prefix),
      stepsQueue: queue(q.steps),
      pollQueue: queue(q.poll),
      opsQueue: queue(q.ops),
      eventsQueue: queue(q.events),
    };
  };
  return {
    lane(tenant: string): TenantLane {
      let lane = lanes.get(tenant);
      if (!lane) lanes.set(tenant, (lane = build(tenant)));
      return lane;
    },
    async close(): Promise<void> {
      const all = [...lanes.values()].flatMap((l) => [l.stepsQueue, l.pollQueue, l.opsQueue, l.eventsQueue]);
      lanes.clear();
      await Promise.allSettled(all.map((q) => q.close()));
    },
  };
}

/**
 * The tenants whose queues a worker or poller process serves: the one PROVFLOW_TENANT names (a
 * fleet split across machines by tenant), else `default` (the deployment's own queues, where a
 * single-tenant deployment's work lives) and every tenant this process has credentials for.
 */
export function servedTenants(only: string | undefined, known: readonly string[]): string[] {
  if (only) return [only];
  return [...new Set([DEFAULT_TENANT, ...known])];
}
