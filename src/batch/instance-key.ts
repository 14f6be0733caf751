/**
 * Instance keys: the middle part of BullMQ job ids `{batchId}.{instanceKey}.{step}`.
 * BullMQ reserves ':' (key separator) and treats all-digit ids as its own counters, and the
 * ledger splits ids on '.', so a key is ASCII `[a-z0-9-]` only. A readable slug helps people
 * scanning Bull Board; the hash makes keys unique (names that slug alike still differ).
 */
import { createHash } from 'node:crypto';

/** Longest slug part; with '-' and 10 hex the key stays ≤ 43 chars. */
const INSTANCE_SLUG_MAX = 32;

/** Matches every key `instanceKeyOf` can produce. */
export const INSTANCE_KEY_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*-[0-9a-f]{10}$/;

/**
 * Deterministic key for a display name: `slug-hash10`, e.g. `aws-contoso-prod-3f9a0c1b2d`.
 * The hash is over the NFC form so the same name typed with composed or decomposed accents
 * maps to one key. Names with no ASCII letters (`東京`) get the slug `instance`.
 */
export function instanceKeyOf(displayName: string): string {
  const normalised = displayName.normalize('NFC');
  const hash = createHash('sha256').update(normalised, 'utf8').digest('hex').slice(0, 10);
  return `${slugOf(normalised) || 'instance'}-${hash}`;
}

function slugOf(name: string): string {
  return name
    .normalize('NFKD') // splits "ü" into "u" + combining mark, which the next line drops
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, INSTANCE_SLUG_MAX)
    .replace(/^-+|-+$/g, '');
}
