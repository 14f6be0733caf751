/**
 * Redis key layout of provflow's own state, under the same prefix as BullMQ's queues (so a
 * `{hash-tag}` prefix keeps a deployment in one Redis Cluster slot, Lua-safe).
 */
export const ledgerKeys = (prefix: string) => ({
  /** zset batchId → created epoch ms. */
  batches: `${prefix}:pf:batches`,
  /** hash: batch metadata. */
  batch: (batchId: string) => `${prefix}:pf:batch:${batchId}`,
  /** zset instanceKey → index in the batch file (keeps file order for status tables). */
  instances: (batchId: string) => `${prefix}:pf:batch:${batchId}:instances`,
  /** hash: one instance's ledger (state, ids, attempts, last error, step markers). */
  instance: (batchId: string, instanceKey: string) => `${prefix}:pf:inst:${batchId}:${instanceKey}`,
  /** hash instanceKey → sealed credentials (AES-256-GCM), deleted once saved to Graph. */
  secrets: (batchId: string) => `${prefix}:pf:secrets:${batchId}`,
  /** hash: per-batch cache (template names → ids). */
  cache: (batchId: string) => `${prefix}:pf:cache:${batchId}`,
});

/** Sealed credentials not used within a week are dropped (a failed batch must not keep them forever). */
export const SECRETS_TTL_SECONDS = 7 * 24 * 3600;
