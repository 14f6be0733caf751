/**
 * The key that names a 503's request hold in Redis (see `GraphLimiter.hold`).
 *
 * A hold is named by the request it holds: method, URL and body. For `validateCredentials` and
 * `secrets` that body is the credential list, so the name must not let anyone who reads Redis
 * (or its pub/sub) test guesses of a credential: it is an HMAC-SHA256 under a per-deployment key.
 *
 * Holds must bind across every process that calls Graph (workers, poller, plan, restart), so the
 * key must be the same in all of them:
 * - with `PROVFLOW_SECRET_KEY` set, it is derived from it by HKDF (its own `info`, so the sealing
 *   key is never used for anything else); Redis never sees it;
 * - without it, a random key is created once per deployment in Redis (`SET NX`) and read by every
 *   process: that still stops precomputed tables and cross-deployment guessing, but whoever reads
 *   Redis can read the key too. Set PROVFLOW_SECRET_KEY on every Graph-calling process for more.
 * A fingerprint of the key in Redis lets a process notice it does not share the key of the
 * process before it (PROVFLOW_SECRET_KEY set on the workers but not the poller, or a rotation
 * under way): holds then bind within each group only, which is logged as a warning.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import { parseSecretKey } from './seal.ts';

const HKDF_INFO = 'provflow limiter request-hold key v1';

/** The hold key derived from `PROVFLOW_SECRET_KEY` (deterministic: the same in every process). */
export function holdSecretFromSecretKey(secretKey: string): Buffer {
  const ikm = parseSecretKey(secretKey, 'PROVFLOW_SECRET_KEY').bytes;
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), HKDF_INFO, 32));
}

/** Public, non-reversible id of a hold key (for the cross-process consistency check). */
export function holdSecretFingerprint(secret: Buffer): string {
  return createHmac('sha256', secret).update('fingerprint').digest('hex').slice(0, 16);
}

/** Redis keys used here (exported for tests). */
export const holdSecretKeys = (prefix: string) => ({
  stored: `${prefix}:limiter:hold-secret`,
  fingerprint: `${prefix}:limiter:hold-secret-id`,
});

/**
 * The deployment's hold key: from `secretKey` when given, else the one stored in Redis (created
 * by whichever process asks first). Warns when the previous process to start used another key.
 */
export async function resolveHoldSecret(o: {
  redis: Redis;
  prefix: string;
  secretKey?: string | undefined;
  logger?: Logger;
}): Promise<Buffer> {
  const keys = holdSecretKeys(o.prefix);
  let secret: Buffer;
  if (o.secretKey) {
    secret = holdSecretFromSecretKey(o.secretKey);
  } else {
    await o.redis.set(keys.stored, randomBytes(32).toString('base64'), 'NX');
    const stored = await o.redis.get(keys.stored);
    const bytes = stored ? Buffer.from(stored, 'base64') : Buffer.alloc(0);
    if (bytes.length !== 32) {
      throw new Error(`${keys.stored} in Redis is not a 32-byte base64 key; delete it and restart`);
    }
    secret = bytes;
  }
  const fp = holdSecretFingerprint(secret);
  const previous = await o.redis.getset(keys.fingerprint, fp);
  if (previous && previous !== fp) {
    o.logger?.warn(
      { source: o.secretKey ? 'PROVFLOW_SECRET_KEY' : 'redis' },
      'limiter: this process names 503 holds with another key than the process started before it, so their holds ' +
        'do not bind each other; set the same PROVFLOW_SECRET_KEY on every worker, poller and CLI process (or on none)',
    );
  }
  return secret;
}
