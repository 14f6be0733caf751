/**
 * A tenant's queues: the same queue names for every tenant, under the tenant's own prefix (its own
 * Redis Cluster slot; see src/redis-keys.ts). A flow never leaves its tenant, so BullMQ's parent and
 * children always share a slot.
 */
import { DEFAULT_TENANT, tenantPrefix } from '../redis-keys.ts';
import { DEFAULT_PREFIX, QUEUES } from './queues.ts';

/** What a process needs to reach one tenant's queues and keys. */
export interface TenantQueues {
  tenant: string;
  /** BullMQ prefix and the prefix of the tenant's ledger and limiter keys. */
  prefix: string;
  steps: string;
  poll: string;
  events: string;
  ops: string;
}

/** `queuesFor('default')` is today's layout: prefix `{provflow}` (or `base`), names from QUEUES. */
export function queuesFor(tenant: string = DEFAULT_TENANT, base: string = DEFAULT_PREFIX): TenantQueues {
  return { tenant, prefix: tenantPrefix(base, tenant), ...QUEUES };
}
