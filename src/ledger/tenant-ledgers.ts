/**
 * Cross-tenant reads: a batch may span tenants, and each tenant's part lives in that tenant's own
 * Redis Cluster slot. These read one tenant at a time (never a MULTI or script across slots).
 */
import type { Redis } from 'ioredis';
import { DEFAULT_TENANT, tenantPrefix, tenantRegistryKey } from '../redis-keys.ts';
import { Ledger, type BatchMeta, type InstanceRecord } from './ledger.ts';

/** One ledger per tenant that ever had work (`default` first). */
async function tenantLedgers(redis: Redis, base: string): Promise<{ tenant: string; ledger: Ledger }[]> {
  const tenants = await knownTenants(redis, base);
  return tenants.map((tenant) => ({ tenant, ledger: new Ledger(redis, tenantPrefix(base, tenant)) }));
}

/** A batch's parts, one per tenant that has instances of it; empty when no tenant knows the batch. */
export async function batchAcrossTenants(
  redis: Redis,
  base: string,
  batchId: string,
): Promise<{ tenant: string; meta: BatchMeta; rows: InstanceRecord[] }[]> {
  const parts: { tenant: string; meta: BatchMeta; rows: InstanceRecord[] }[] = [];
  for (const { tenant, ledger } of await tenantLedgers(redis, base)) {
    const meta = await ledger.getBatch(batchId);
    if (meta) parts.push({ tenant, meta, rows: await ledger.listInstances(batchId) });
  }
  return parts;
}

/** A batch's instances from every tenant's part, in the file's order (by index). */
export function rowsInFileOrder(parts: readonly { rows: InstanceRecord[] }[]): InstanceRecord[] {
  return parts.flatMap((p) => p.rows).sort((a, b) => a.index - b.index);
}

/** Batch ids known to any tenant, oldest first. */
export async function batchIdsAcrossTenants(redis: Redis, base: string): Promise<string[]> {
  const seen = new Map<string, number>();
  for (const { ledger } of await tenantLedgers(redis, base))
    for (const b of await ledger.listBatches())
      seen.set(b.batchId, Math.min(seen.get(b.batchId) ?? Infinity, b.createdAt));
  return [...seen].sort((a, b) => a[1] - b[1]).map(([id]) => id);
}

/** Records that `tenants` have work (idempotent; one SADD on the deployment's own slot). */
export async function registerTenants(redis: Redis, base: string, tenants: readonly string[]): Promise<void> {
  const others = tenants.filter((t) => t !== DEFAULT_TENANT);
  if (others.length) await redis.sadd(tenantRegistryKey(base), ...others);
}

/** Every tenant that may have keys: `default` first, then the registered ones in name order. */
export async function knownTenants(redis: Redis, base: string): Promise<string[]> {
  const names = await redis.smembers(tenantRegistryKey(base));
  return [DEFAULT_TENANT, ...names.filter((n) => n !== DEFAULT_TENANT).sort()];
}
