import { describe, expect, it } from 'vitest';
import { collectGarbageAbove } from '../../src/flow/memory-budget.ts';

describe('collectGarbageAbove', () => {
  it('does nothing while the heap is under the budget', () => {
    expect(collectGarbageAbove(Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it('collects when over it: garbage made just before is gone afterwards', () => {
    let junk: number[][] | null = Array.from({ length: 200 }, () => Array.from({ length: 10_000 }, (_, i) => i));
    const withJunk = process.memoryUsage().heapUsed;
    expect(junk.length).toBe(200);
    junk = null;
    expect(collectGarbageAbove(0)).toBe(true);
    // 200 × 10,000 numbers ≈ 16 MB of garbage: a full collection returns most of it.
    expect(process.memoryUsage().heapUsed).toBeLessThan(withJunk - 8 * 1024 * 1024);
  });
});
