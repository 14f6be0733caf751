/**
 * Sealing credentials for Redis (AES-256-GCM under PROVFLOW_SECRET_KEY, with the previous key
 * still accepted while in-flight jobs drain after a rotation). The additional authenticated data
 * binds a sealed blob to its batch and instance, so a blob copied to another instance won't open.
 */
import type { Config } from '../config.ts';
import type { SecretPair } from '../graph/graph-api.ts';
import { openSecretPairs, parseSecretKey, sealSecretPairs, type SecretKey } from '../secrets/seal.ts';
import type { CredentialVault, InstanceSpec } from '../steps/types.ts';

export interface Vault extends CredentialVault {
  seal(pairs: SecretPair[], instance: InstanceSpec): Promise<string>;
}

const aadOf = (i: InstanceSpec) => `${i.batchId}/${i.instanceKey}`;

export function createVault(cfg: Pick<Config, 'PROVFLOW_SECRET_KEY' | 'PROVFLOW_SECRET_KEY_PREVIOUS'>): Vault {
  let keys: SecretKey[] | null = null;
  const load = (): SecretKey[] => {
    if (keys) return keys;
    if (!cfg.PROVFLOW_SECRET_KEY) {
      throw new Error('PROVFLOW_SECRET_KEY is not set: credentials cannot be sealed or opened. Generate one with: openssl rand -base64 32');
    }
    keys = [parseSecretKey(cfg.PROVFLOW_SECRET_KEY, 'PROVFLOW_SECRET_KEY')];
    if (cfg.PROVFLOW_SECRET_KEY_PREVIOUS) keys.push(parseSecretKey(cfg.PROVFLOW_SECRET_KEY_PREVIOUS, 'PROVFLOW_SECRET_KEY_PREVIOUS'));
    return keys;
  };
  return {
    async seal(pairs, instance) {
      return sealSecretPairs(load()[0]!, pairs, aadOf(instance));
    },
    async open(sealed, instance) {
      return openSecretPairs(load(), sealed, aadOf(instance));
    },
  };
}
