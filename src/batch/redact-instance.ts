/** A loggable copy of a batch instance: credential values masked, everything else kept. */
import { maskSecretPairs } from '../secrets/mask.ts';
import type { BatchInstance } from './batch-types.ts';

/** `instance` with secret-valued credentials replaced by `[redacted]` (see src/secrets/mask.ts). */
export function redactInstance(instance: BatchInstance): BatchInstance {
  return { ...instance, credentials: maskSecretPairs(instance.credentials) };
}
