/** The simulated calendar and the `expires:<ISO date>:` credential convention. */
import { describe, expect, it } from 'vitest';
import { SimClock } from '../../src/dev/sim/clock.ts';
import { earliestExpiry, expiredProblem, expiryOf } from '../../src/dev/sim/expiry.ts';

const T0 = Date.parse('2026-12-01T18:00:00Z');
const DAY = 86_400_000;

describe('SimClock', () => {
  it('runs timeScale times faster than real time from the real start date', () => {
    const c = new SimClock(10, T0);
    expect(c.now(T0)).toBe(T0);
    expect(c.now(T0 + 1000)).toBe(T0 + 10_000);
  });

  it('moves forward only; a move applies from its real moment on, not before', () => {
    const c = new SimClock(1, T0);
    c.advance(5 * DAY, T0 + 100);
    expect(c.now(T0 + 50)).toBe(T0 + 50);
    expect(c.now(T0 + 100)).toBe(T0 + 100 + 5 * DAY);
    expect(() => c.set(T0, T0 + 200)).toThrow(/only moves forward/);
    expect(() => c.advance(-1)).toThrow();
    c.set(T0 + 10 * DAY, T0 + 200);
    expect(c.now(T0 + 200)).toBe(T0 + 10 * DAY);
  });

  it('realTimeOf: the real moment the calendar reaches a date, by running or by a jump', () => {
    const c = new SimClock(2, T0);
    expect(c.realTimeOf(T0 + 2000)).toBe(T0 + 1000);
    c.advance(DAY, T0 + 1000);
    // Dates before the jump were reached by running; dates inside it at the jump; later ones after it.
    expect(c.realTimeOf(T0 + 1000)).toBe(T0 + 500);
    expect(c.realTimeOf(T0 + DAY / 2)).toBe(T0 + 1000);
    expect(c.realTimeOf(T0 + 2000 + DAY + 400)).toBe(T0 + 1200);
    expect(c.now(c.realTimeOf(T0 + 3 * DAY))).toBe(T0 + 3 * DAY);
    expect(c.realTimeOf(T0 - 2000)).toBe(T0 - 1000);
  });
});

describe('expires:<ISO date>: credentials', () => {
  it('reads a date, a date-time with Z or an offset; a zoneless time is UTC; anything else is not the convention', () => {
    expect(expiryOf('expires:2027-01-31:tok')).toBe(Date.parse('2027-01-31T00:00:00Z'));
    expect(expiryOf('expires:2027-01-31T12:30:00Z:tok')).toBe(Date.parse('2027-01-31T12:30:00Z'));
    expect(expiryOf('expires:2027-01-31T12:30:00+02:00:t:o:k')).toBe(Date.parse('2027-01-31T10:30:00Z'));
    expect(expiryOf('expires:2027-01-31T12:30:00:tok')).toBe(Date.parse('2027-01-31T12:30:00Z'));
    expect(expiryOf('expires:soon:tok')).toBeNull();
    expect(expiryOf('token-expires:2027-01-31:tok')).toBeNull();
  });

  it('the earliest expiry wins; valid before it, rejected from it on with the key and the date', () => {
    const creds = [
      { key: 'ClientSecret', value: 'expires:2027-06-01:a' },
      { key: 'SecretToken', value: 'expires:2027-03-01:b' },
      { key: 'BaseAddress', value: 'https://x' },
    ];
    expect(earliestExpiry(creds)).toEqual({ key: 'SecretToken', at: Date.parse('2027-03-01T00:00:00Z') });
    expect(expiredProblem(creds, Date.parse('2027-02-28T23:59:59Z'))).toBeNull();
    const why = expiredProblem(creds, Date.parse('2027-03-01T00:00:00Z'));
    expect(why).toMatch(/SecretToken/);
    expect(why).toMatch(/2027-03-01T00:00:00.000Z/);
  });
});
