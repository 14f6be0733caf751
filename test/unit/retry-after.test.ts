import { describe, expect, it } from 'vitest';
import { backoffMs, parseRetryAfter, retryDelayMs } from '../../src/graph/retry-after.ts';

const NOW = Date.parse('2025-01-01T00:00:00Z');

describe('parseRetryAfter', () => {
  it.each([
    ['absent (undefined)', undefined, null],
    ['absent (null)', null, null],
    ['empty', '', null],
    ['blank', '   ', null],
    ['zero', '0', 0],
    ['delta seconds', '5', 5000],
    ['delta seconds with spaces', ' 12 ', 12_000],
    ['large delta', '3600', 3_600_000],
    ['fractional seconds (lenient)', '1.5', 1500],
    ['negative', '-5', null],
    ['unit suffix', '5s', null],
    ['garbage', 'soon', null],
    ['HTTP-date 30 s ahead', 'Wed, 01 Jan 2025 00:00:30 GMT', 30_000],
    ['HTTP-date in the past', 'Tue, 31 Dec 2024 23:59:00 GMT', 0],
    ['HTTP-date equal to now', 'Wed, 01 Jan 2025 00:00:00 GMT', 0],
  ])('%s: %j → %j', (_name, value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});

describe('backoffMs (full jitter)', () => {
  it.each([
    [0, 1, 1000],
    [1, 1, 2000],
    [3, 1, 8000],
    [10, 1, 60_000], // capped at maxMs
    [1000, 1, 60_000], // huge attempt does not overflow
    [3, 0, 0], // jitter can go to zero
    [2, 0.5, 2000],
  ])('attempt %d, random %d → %d', (attempt, r, expected) => {
    expect(backoffMs(attempt, { random: () => r })).toBe(expected);
  });

  it('stays within [0, cap] with real randomness', () => {
    for (let i = 0; i < 200; i++) {
      const v = backoffMs(4, { baseMs: 100, maxMs: 1000 });
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1000);
    }
  });
});

describe('retryDelayMs', () => {
  it.each([
    ['header wins', '7', 3, 7000],
    ['zero header wins (no backoff)', '0', 3, 0],
    ['absent → backoff', null, 2, 4000],
    ['unparseable → backoff', 'later', 0, 1000],
  ])('%s', (_n, header, attempt, expected) => {
    expect(retryDelayMs(header, attempt, { random: () => 1, nowMs: NOW })).toBe(expected);
  });
});
