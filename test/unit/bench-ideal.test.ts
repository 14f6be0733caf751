import { describe, expect, it } from 'vitest';
import { efficiency, idealOf, percentile } from '../../bench/ideal.ts';

describe('benchmark arithmetic', () => {
  it('1,000 instances × 5 writes at 3,000 writes / 150 s take 250 s, plus the first cycle', () => {
    const i = idealOf({ instances: 1000, writesPerInstance: 5, readsRuPerInstance: 10, writeLimit: 3000, writeWindowMs: 150_000, ruLimit: 3500, ruWindowMs: 10_000, firstCycleMs: 40_000 });
    expect(i.writeBoundSeconds).toBeCloseTo(250);
    expect(i.ruBoundSeconds).toBeCloseTo((1000 * 15) / 3500 * 10);
    expect(i.seconds).toBeCloseTo(290);
    expect(i.instancesPerMinute).toBeCloseTo((1000 / 290) * 60);
  });
  it('the RU bucket binds when reads dominate', () => {
    const i = idealOf({ instances: 100, writesPerInstance: 5, readsRuPerInstance: 1000, writeLimit: 3000, writeWindowMs: 150_000, ruLimit: 3500, ruWindowMs: 10_000, firstCycleMs: 0 });
    expect(i.seconds).toBeCloseTo(i.ruBoundSeconds);
    expect(i.ruBoundSeconds).toBeGreaterThan(i.writeBoundSeconds);
  });
  it('efficiency and percentiles', () => {
    expect(efficiency(90, 100)).toBeCloseTo(0.9);
    expect(efficiency(90, 0)).toBe(0);
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
    expect(percentile([], 95)).toBe(0);
  });
});
