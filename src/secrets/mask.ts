/**
 * Masking for anything shown to people (logs, CLI, Bull Board): credential values become
 * `[redacted]`, plain settings stay readable.
 */
import type { SecretPair } from '../graph/graph-api.ts';
import type { BatchInstance } from '../batch/batch-types.ts';
import { isSecretValuedKey, isSynchronizationSecretKey } from '../batch/secret-keys.ts';

/** What a masked value is replaced with. */
export const REDACTED = '[redacted]';

/** Pairs with every secret-valued key's value replaced (unknown keys count as secret). */
export function maskSecretPairs(pairs: readonly SecretPair[], options: { maskAll?: boolean } = {}): SecretPair[] {
  return pairs.map(({ key, value }) => ({
    key,
    value: options.maskAll || !isSynchronizationSecretKey(key) || isSecretValuedKey(key) ? REDACTED : value,
  }));
}

/** A loggable copy of a batch instance: credential values masked, everything else kept. */
export function redactInstance(instance: BatchInstance): BatchInstance {
  return { ...instance, credentials: maskSecretPairs(instance.credentials) };
}
