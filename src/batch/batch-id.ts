/**
 * Batch ids go into BullMQ job ids (`{batchId}.{instanceKey}.{step}`) and Redis key names, so
 * they are restricted to `[A-Za-z0-9_-]{1,64}` and must not be all digits.
 */
import { createHash } from 'node:crypto';
import { basename, extname } from 'node:path';

/** Allowed characters and length. */
const BATCH_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** What is wrong with `id` and how to fix it, or null when it is a valid batch id. */
export function batchIdProblem(id: string): string | null {
  if (id.length === 0) return 'is empty; use letters, digits, "-" and "_", e.g. "aws-rollout-2026-11"';
  if (id.includes(':')) {
    return (
      'must not contain ":" (BullMQ uses it to separate Redis key parts); ' +
      'use "-" instead, e.g. "aws-rollout-2026-11"'
    );
  }
  if (id.includes('.')) {
    return 'must not contain "." (job ids are batchId.instanceKey.step and are split on "."); use "-" instead';
  }
  if (id.length > 64) return `is ${id.length} characters long; shorten it to at most 64`;
  if (!BATCH_ID_PATTERN.test(id)) {
    return 'may only contain ASCII letters, digits, "-" and "_"; e.g. "aws-rollout-2026-11"';
  }
  if (/^\d+$/.test(id)) {
    return (
      'must not be all digits (BullMQ reserves numeric job ids for its own counter); add a letter, e.g. "batch-' +
      id +
      '"'
    );
  }
  return null;
}

/**
 * The default batch id for a file: its name without extension, with anything outside the
 * allowed set turned into '-' (so `AWS rollout (Nov).json` → `AWS-rollout-Nov`). A name with
 * non-ASCII characters also gets a short hash of the whole name, so `東京.json` and `大阪.json`
 * (`batch-…`) or `Zürich.json` and `Zärich.json` (`Z-rich-…`) never share a batch.
 */
export function batchIdFromFileName(filePath: string): string {
  const stem = basename(filePath, extname(filePath)).normalize('NFC');
  const kept = (max: number) =>
    stem
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, max)
      .replace(/-+$/, '');
  if (/[^\x00-\x7f]/.test(stem)) {
    const hash = createHash('sha256').update(stem, 'utf8').digest('hex').slice(0, 8);
    return `${kept(64 - 9) || 'batch'}-${hash}`;
  }
  let id = kept(64);
  if (id === '') id = 'batch';
  if (/^\d+$/.test(id)) id = `batch-${id}`.slice(0, 64);
  return id;
}
