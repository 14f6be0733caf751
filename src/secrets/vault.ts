/**
 * Sealing credentials for Redis (AES-256-GCM under PROVFLOW_SECRET_KEY, with the previous key
 * still accepted while in-flight jobs drain after a rotation). The additional authenticated data
 * binds a sealed blob to its batch and instance, so a blob copied to another instance won't open.
 */
import type { SecretPair } from '../graph/graph-api.ts';
import { loadSecretKeys, openSecretPairs, sealSecretPairs, type SecretKey } from './seal.ts';
import type { InstanceSpec } from '../steps/instance.ts';
import type { CredentialVault } from '../steps/types.ts';

export interface Vault extends CredentialVault {
  seal(pairs: SecretPair[], instance: InstanceSpec): Promise<string>;
}

const aadOf = (i: InstanceSpec) => `${i.batchId}/${i.instanceKey}`;

/** The two configuration values the vault reads (a structural type: secrets/ sits below config.ts). */
type VaultKeys = { PROVFLOW_SECRET_KEY?: string | undefined; PROVFLOW_SECRET_KEY_PREVIOUS?: string | undefined };

export function createVault(cfg: VaultKeys): Vault {
  let keys: SecretKey[] | null = null;
  // Read on first use: a process that never seals or opens credentials needs no key.
  const load = (): SecretKey[] => (keys ??= loadSecretKeys(cfg));
  return {
    async seal(pairs, instance) {
      return sealSecretPairs(load()[0]!, pairs, aadOf(instance));
    },
    async open(sealed, instance) {
      return openSecretPairs(load(), sealed, aadOf(instance));
    },
  };
}
