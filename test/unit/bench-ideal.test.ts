import { describe, expect, it } from 'vitest';
import {
  accountRoutes,
  diffRoutes,
  efficiency,
  idealOf,
  percentile,
  pollerSharePerMinute,
  routeCost,
  slidingWindowWriteBoundSeconds,
} from '../../bench/ideal.ts';

const MICROSOFT = { writeLimit: 3000, writeWindowMs: 150_000, ruLimit: 3500, ruWindowMs: 10_000 };

describe('benchmark ideal', () => {
  it('1,000 instances × 5 writes at 3,000 writes / 150 s take 250 s, plus the first cycle', () => {
    const i = idealOf({
      instances: 1000,
      writesPerInstance: 5,
      readsRuPerInstance: 10,
      ...MICROSOFT,
      firstCycleMs: 40_000,
    });
    expect(i.writeBoundSeconds).toBeCloseTo(250);
    expect(i.ruBoundSeconds).toBeCloseTo(((1000 * 15) / 3500) * 10);
    expect(i.binding).toBe('writes');
    expect(i.firstCycleSeconds).toBe(40);
    expect(i.seconds).toBeCloseTo(290);
    expect(i.instancesPerMinute).toBeCloseTo((1000 / 290) * 60);
  });

  it('time compression scales the windows, not the counts: ×10 → 25 s + 4 s', () => {
    const i = idealOf({
      instances: 1000,
      writesPerInstance: 5,
      readsRuPerInstance: 15,
      writeLimit: 3000,
      writeWindowMs: 15_000,
      ruLimit: 3500,
      ruWindowMs: 1000,
      firstCycleMs: 4000,
    });
    expect(i.writeBoundSeconds).toBeCloseTo(25);
    expect(i.seconds).toBeCloseTo(29);
    expect(i.instancesPerMinute).toBeCloseTo(2069, 0);
  });

  it('the RU bucket binds when reads dominate', () => {
    const i = idealOf({
      instances: 100,
      writesPerInstance: 5,
      readsRuPerInstance: 1000,
      ...MICROSOFT,
      firstCycleMs: 0,
    });
    expect(i.binding).toBe('resource units');
    expect(i.seconds).toBeCloseTo(i.ruBoundSeconds);
    expect(i.ruBoundSeconds).toBeGreaterThan(i.writeBoundSeconds);
  });

  it('the sliding-window floor lets the first window burst', () => {
    expect(slidingWindowWriteBoundSeconds(0, 3000, 150_000)).toBe(0);
    expect(slidingWindowWriteBoundSeconds(3000, 3000, 150_000)).toBe(0);
    expect(slidingWindowWriteBoundSeconds(3001, 3000, 150_000)).toBe(150);
    expect(slidingWindowWriteBoundSeconds(5000, 3000, 150_000)).toBe(150);
    expect(slidingWindowWriteBoundSeconds(6001, 3000, 150_000)).toBe(300);
    const i = idealOf({
      instances: 1000,
      writesPerInstance: 5,
      readsRuPerInstance: 0,
      ...MICROSOFT,
      firstCycleMs: 40_000,
    });
    expect(i.slidingWindowSeconds).toBeCloseTo(190);
    expect(i.slidingWindowSeconds).toBeLessThan(i.seconds);
  });

  it('no instances, no time', () => {
    const i = idealOf({
      instances: 0,
      writesPerInstance: 5,
      readsRuPerInstance: 10,
      ...MICROSOFT,
      firstCycleMs: 40_000,
    });
    expect(i.seconds).toBe(0);
    expect(i.instancesPerMinute).toBe(0);
  });
});

describe('efficiency and percentiles', () => {
  it('efficiency = ideal ÷ actual', () => {
    expect(efficiency(90, 100)).toBeCloseTo(0.9);
    expect(efficiency(29, 29)).toBe(1);
    expect(efficiency(90, 0)).toBe(0);
  });
  it('nearest-rank percentiles', () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        95,
      ),
    ).toBe(95);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 95)).toBe(0);
  });
});

describe('request accounting', () => {
  it('prices routes as the simulator does', () => {
    expect(routeCost('POST /applicationTemplates/{id}/instantiate')).toEqual({ write: true, ru: 1, reports: false });
    expect(routeCost('PUT /servicePrincipals/{id}/synchronization/secrets')).toEqual({
      write: true,
      ru: 1,
      reports: false,
    });
    expect(routeCost('GET /applications')).toEqual({ write: false, ru: 2, reports: false });
    expect(routeCost('GET /servicePrincipals')).toEqual({ write: false, ru: 2, reports: false });
    expect(routeCost('GET /servicePrincipals/{id}')).toEqual({ write: false, ru: 1, reports: false });
    expect(routeCost('GET /auditLogs/provisioning')).toEqual({ write: false, ru: 0, reports: true });
  });
  it('sums and diffs per-route counters', () => {
    const before = { 'GET /applications': 10, 'POST /applicationTemplates/{id}/instantiate': 5 };
    const after = {
      'GET /applications': 30,
      'POST /applicationTemplates/{id}/instantiate': 15,
      'GET /servicePrincipals/{id}': 40,
      'GET /auditLogs/provisioning': 2,
    };
    const d = diffRoutes(after, before);
    expect(d).toEqual({
      'GET /applications': 20,
      'POST /applicationTemplates/{id}/instantiate': 10,
      'GET /servicePrincipals/{id}': 40,
      'GET /auditLogs/provisioning': 2,
    });
    expect(accountRoutes(d)).toEqual({ requests: 72, writeRequests: 10, reads: 62, readRu: 80, ru: 90, reports: 2 });
  });
});

describe('poller quota share', () => {
  it('20 % of 3,500 RU / 10 s at 0.95 safety is 3,990 polls per minute', () => {
    expect(pollerSharePerMinute({ ruLimit: 3500, ruWindowMs: 10_000, share: 0.2, safety: 0.95 })).toBeCloseTo(3990);
    expect(pollerSharePerMinute({ ruLimit: 3500, ruWindowMs: 1000, share: 0.2 })).toBeCloseTo(42_000);
  });
});
