/** Default batch ids from file names: valid, stable, and distinct for names that are not ASCII. */
import { describe, expect, it } from 'vitest';
import { batchIdFromFileName, batchIdProblem } from '../../src/batch/batch-id.ts';

describe('batchIdFromFileName', () => {
  it('gives non-ASCII names distinct, valid, stable ids', () => {
    const names = [
      '東京.json',
      '大阪.json',
      'Zürich.json',
      'Zärich.csv',
      'München rollout.json',
      '🚀.json',
      '2026年.json',
    ];
    const ids = names.map((n) => batchIdFromFileName(`/x/${n}`));
    expect(new Set(ids).size).toBe(names.length);
    for (const id of ids) expect(batchIdProblem(id)).toBeNull();
    expect(ids[0]).toMatch(/^batch-[0-9a-f]{8}$/);
    expect(ids[2]).toMatch(/^Z-rich-[0-9a-f]{8}$/);
    expect(ids[4]).toMatch(/^M-nchen-rollout-[0-9a-f]{8}$/);
    // Same name (composed or decomposed accents), same id: re-enqueueing the file finds its batch.
    expect(batchIdFromFileName('/y/Zu\u0308rich.json')).toBe(ids[2]);
    expect(batchIdFromFileName(`/x/${'é'.repeat(100)}.json`)).toHaveLength(14);
  });

  it('keeps the ids of ASCII names as they were', () => {
    expect(batchIdFromFileName('/x/AWS rollout (Nov).json')).toBe('AWS-rollout-Nov');
    expect(batchIdFromFileName('/x/aws-rollout.json')).toBe('aws-rollout');
    expect(batchIdFromFileName('/x/2026.csv')).toBe('batch-2026');
    expect(batchIdFromFileName('/x/---.json')).toBe('batch');
  });
});
