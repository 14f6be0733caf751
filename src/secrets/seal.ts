/**
 * Sealing credentials at rest (Redis, job data) with AES-256-GCM under `PROVFLOW_SECRET_KEY`.
 *
 * Format: `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts). `keyId` is the first 8 hex of
 * sha256(key): not secret, it only says which key to open with, which is what makes rotation
 * work. The header (`v1.<keyId>`) and the caller's context (`aad`, e.g. `batchId.instanceKey`)
 * are authenticated, so a sealed value cannot be edited or moved to another instance unnoticed.
 *
 * Rotation: set the new key as `PROVFLOW_SECRET_KEY` and the old one as
 * `PROVFLOW_SECRET_KEY_PREVIOUS` on every process; new values are sealed with the new key,
 * values already in Redis still open with the old one. Once in-flight jobs have drained (their
 * credentials are deleted once saved to Graph), drop `PROVFLOW_SECRET_KEY_PREVIOUS`.
 *
 * Errors never contain plaintext, ciphertext or key material.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { SecretPair } from '../graph/graph-api.ts';

/** The environment variable holding the current key. */
const SECRET_KEY_ENV = 'PROVFLOW_SECRET_KEY';
/** The environment variable holding the previous key during a rotation (optional). */
const PREVIOUS_SECRET_KEY_ENV = 'PROVFLOW_SECRET_KEY_PREVIOUS';

const VERSION = 'v1';
const IV_BYTES = 12; // GCM's standard nonce size
const TAG_BYTES = 16;

/** A 256-bit key and its public id. */
export interface SecretKey {
  /** First 8 hex chars of sha256(key bytes); written into every sealed value. */
  readonly id: string;
  readonly bytes: Buffer;
}

/** A key could not be parsed or is missing. */
export class SecretKeyError extends Error {
  override readonly name = 'SecretKeyError';
}

/** A sealed value could not be opened (malformed, unknown key, tampered, wrong context). */
export class SealedValueError extends Error {
  override readonly name = 'SealedValueError';
}

const HOW_TO_GENERATE = 'generate one with `openssl rand -base64 32`';

/**
 * Parses a key: 32 bytes as base64 (standard or url-safe, padding optional) or as 64 hex
 * characters. `name` is the variable it came from, for the error message.
 */
export function parseSecretKey(raw: string, name: string = SECRET_KEY_ENV): SecretKey {
  const text = raw.trim();
  let bytes: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(text)) bytes = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    const decoded = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (decoded.length === 32) bytes = decoded;
  }
  if (bytes === null) {
    throw new SecretKeyError(
      `${name} must be 32 random bytes, written as base64 (44 characters) or as 64 hex characters; ${HOW_TO_GENERATE}`,
    );
  }
  return { id: keyIdOf(bytes), bytes };
}

/**
 * The keys from the environment: `[current, previous?]`. Throws a `SecretKeyError` naming the
 * variable when the current key is missing or either key is malformed.
 */
export function loadSecretKeys(env: Readonly<Record<string, string | undefined>> = process.env): SecretKey[] {
  const current = env[SECRET_KEY_ENV];
  if (current === undefined || current.trim() === '') {
    throw new SecretKeyError(
      `${SECRET_KEY_ENV} is not set: provflow seals credentials with it before they reach Redis; ` +
        `${HOW_TO_GENERATE} and export ${SECRET_KEY_ENV}=<that value>`,
    );
  }
  const keys = [parseSecretKey(current, SECRET_KEY_ENV)];
  const previous = env[PREVIOUS_SECRET_KEY_ENV];
  if (previous !== undefined && previous.trim() !== '') keys.push(parseSecretKey(previous, PREVIOUS_SECRET_KEY_ENV));
  return keys;
}

/** A fresh random key (tests, the demo). */
export function generateSecretKey(): SecretKey {
  const bytes = randomBytes(32);
  return { id: keyIdOf(bytes), bytes };
}

function keyIdOf(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 8);
}

function additionalData(header: string, aad: string | undefined): Buffer {
  // Length-prefixing keeps (header, aad) pairs unambiguous.
  const context = aad ?? '';
  return Buffer.from(`${header}\n${context.length}\n${context}`, 'utf8');
}

/** Seals `plaintext` under `key`, bound to the optional context `aad`. */
export function seal(key: SecretKey, plaintext: string, aad?: string): string {
  const iv = randomBytes(IV_BYTES);
  const header = `${VERSION}.${key.id}`;
  const cipher = createCipheriv('aes-256-gcm', key.bytes, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(header, aad));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [header, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
}

/** True when `value` has the shape of a sealed value (cheap check for masking). */
export function isSealed(value: string): boolean {
  return /^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]*$/.test(value);
}

/**
 * Opens a sealed value with whichever of `keys` sealed it (matched by key id). `aad` must be
 * the context given to `seal`.
 */
export function openSealed(keys: SecretKey | readonly SecretKey[], sealed: string, aad?: string): string {
  const list = Array.isArray(keys) ? (keys as readonly SecretKey[]) : [keys as SecretKey];
  if (!isSealed(sealed)) {
    throw new SealedValueError(
      'not a sealed value (expected v1.<keyId>.<iv>.<tag>.<ciphertext>); it was truncated or altered',
    );
  }
  const [version, keyId, ivText, tagText, ctText] = sealed.split('.') as [string, string, string, string, string];
  const key = list.find((k) => k.id === keyId);
  if (!key) {
    const known = list.map((k) => k.id).join(', ') || 'none';
    throw new SealedValueError(
      `sealed with key ${keyId}, which is not configured (configured: ${known}); ` +
        `during a key rotation set ${PREVIOUS_SECRET_KEY_ENV} to the old key until in-flight jobs drain`,
    );
  }
  const decipher = createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(ivText, 'base64url'), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(additionalData(`${version}.${keyId}`, aad));
  decipher.setAuthTag(Buffer.from(tagText, 'base64url'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(ctText, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new SealedValueError(
      `sealed value failed authentication with key ${keyId}: it was altered, ` +
        'or it belongs to a different context (batch/instance) than the one given',
    );
  }
}

/** Seals credential pairs as one value (keys and values both hidden), bound to `aad`. */
export function sealSecretPairs(key: SecretKey, pairs: readonly SecretPair[], aad: string): string {
  return seal(key, JSON.stringify(pairs.map(({ key: k, value }) => [k, value])), aad);
}

/** Opens what `sealSecretPairs` sealed; `aad` must match. */
export function openSecretPairs(keys: SecretKey | readonly SecretKey[], sealed: string, aad: string): SecretPair[] {
  const json = openSealed(keys, sealed, aad);
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    parsed = null;
  }
  const valid =
    Array.isArray(parsed) &&
    parsed.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string');
  if (!valid)
    throw new SealedValueError(
      'sealed value opened but does not hold credential pairs; it was sealed by something else',
    );
  return (parsed as [string, string][]).map(([k, value]) => ({ key: k, value }));
}
