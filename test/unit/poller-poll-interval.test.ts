import { describe, expect, it } from 'vitest';
import type { JobAssessment, JobState } from '../../src/poller/classify-job.ts';
import {
  assessmentFingerprint,
  fairShareDelayMs,
  nextPollDelay,
  pollShareCapacity,
  type PollMemory,
  type PollSettings,
} from '../../src/poller/poll-interval.ts';

const settings: PollSettings = { minMs: 10_000, maxMs: 300_000, growth: 2, startFastMs: 2_000 };
const NOW = new Date('2026-03-01T10:00:00Z');

function assessment(state: JobState, extra: Partial<JobAssessment> = {}): JobAssessment {
  const terminal = state === 'steady' || state === 'failed' || state === 'timed-out';
  return {
    state,
    code: 'Active',
    lastExecutionState: null,
    lastExecutionEnded: null,
    steadySince: null,
    quarantine: null,
    error: null,
    terminal,
    finalState: terminal ? state : null,
    deadlinePassed: false,
    detail: state,
    ...extra,
  };
}
function quarantined(nextAttempt: string | null): JobAssessment {
  return assessment('quarantined', {
    code: 'Quarantine',
    quarantine: {
      reason: 'EncounteredQuarantineException',
      currentBegan: '2026-03-01T09:59:00Z',
      nextAttempt,
      seriesCount: 1,
      errorCode: null,
      errorMessage: null,
    },
  });
}

/** Poll the same assessment n times, feeding each answer back as memory. */
function run(a: JobAssessment, n: number, s: PollSettings = settings): number[] {
  let prev: PollMemory | null = null;
  const delays: number[] = [];
  for (let i = 0; i < n; i++) {
    const next = nextPollDelay({ assessment: a, previous: prev, now: NOW, settings: s });
    delays.push(next.delayMs);
    prev = { state: a.state, unchangedPolls: next.unchangedPolls, fingerprint: next.fingerprint };
  }
  return delays;
}

describe('nextPollDelay', () => {
  it('polls fast right after start, then grows geometrically while nothing changes', () => {
    expect(run(assessment('starting'), 5)).toEqual([2_000, 4_000, 8_000, 16_000, 32_000]);
  });

  it('syncing starts at minMs and is capped at maxMs', () => {
    expect(run(assessment('syncing'), 8)).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it('resets on a state change', () => {
    const prev: PollMemory = { state: 'starting', unchangedPolls: 6 };
    const next = nextPollDelay({ assessment: assessment('syncing'), previous: prev, now: NOW, settings });
    expect(next.unchangedPolls).toBe(0);
    expect(next.delayMs).toBe(10_000);
  });

  it('resets when the fingerprint changes within the same state (a new cycle ended)', () => {
    const a1 = assessment('syncing', { lastExecutionState: 'Succeeded', lastExecutionEnded: '2026-03-01T09:50:00Z' });
    const a2 = assessment('syncing', { lastExecutionState: 'Succeeded', lastExecutionEnded: '2026-03-01T09:59:00Z' });
    const prev: PollMemory = { state: 'syncing', unchangedPolls: 4, fingerprint: assessmentFingerprint(a1) };
    expect(nextPollDelay({ assessment: a1, previous: prev, now: NOW, settings }).unchangedPolls).toBe(5);
    expect(nextPollDelay({ assessment: a2, previous: prev, now: NOW, settings }).unchangedPolls).toBe(0);
  });

  it('stops on a terminal assessment', () => {
    const next = nextPollDelay({ assessment: assessment('steady'), previous: null, now: NOW, settings });
    expect(next).toMatchObject({ stop: true, delayMs: 0, reason: 'terminal' });
  });

  it('quarantined with a known nextAttempt polls just after it', () => {
    const next = nextPollDelay({ assessment: quarantined('2026-03-01T10:02:00Z'), previous: null, now: NOW, settings });
    expect(next.reason).toBe('next-attempt');
    expect(next.delayMs).toBe(120_000 + 5_000);
  });

  it('nextAttempt far away is bounded by maxMs', () => {
    const next = nextPollDelay({ assessment: quarantined('2026-03-01T16:00:00Z'), previous: null, now: NOW, settings });
    expect(next.delayMs).toBe(300_000);
  });

  it('nextAttempt far away is bounded by the deadline (+1 ms, the classifier uses now > deadline)', () => {
    const next = nextPollDelay({
      assessment: quarantined('2026-03-01T16:00:00Z'),
      previous: null,
      now: NOW,
      settings: { ...settings, maxMs: 24 * 3_600_000 },
      deadlineAt: '2026-03-01T11:00:00Z',
    });
    expect(next.reason).toBe('deadline');
    expect(next.delayMs).toBe(3_600_001);
  });

  it('a nextAttempt in the past or unknown falls back to backoff', () => {
    expect(
      nextPollDelay({ assessment: quarantined('2026-03-01T09:00:00Z'), previous: null, now: NOW, settings }).reason,
    ).toBe('backoff');
    expect(run(quarantined(null), 3)).toEqual([10_000, 20_000, 40_000]);
  });

  it('never schedules past the deadline, and polls at once when it has passed', () => {
    const d1 = nextPollDelay({
      assessment: assessment('syncing'),
      previous: { state: 'syncing', unchangedPolls: 10 },
      now: NOW,
      settings,
      deadlineAt: '2026-03-01T10:00:30Z',
    });
    expect(d1).toMatchObject({ delayMs: 30_001, reason: 'deadline' });
    const d2 = nextPollDelay({
      assessment: assessment('syncing'),
      previous: null,
      now: NOW,
      settings,
      deadlineAt: '2026-03-01T09:00:00Z',
    });
    expect(d2.delayMs).toBe(0);
  });

  it('jitter spreads delays within ±jitterRatio and stays inside [floor, maxMs]', () => {
    const s = { ...settings, jitterRatio: 0.2 };
    const lo = nextPollDelay({
      assessment: assessment('syncing'),
      previous: null,
      now: NOW,
      settings: s,
      random: () => 0,
    });
    const hi = nextPollDelay({
      assessment: assessment('syncing'),
      previous: null,
      now: NOW,
      settings: s,
      random: () => 0.999999,
    });
    expect(lo.delayMs).toBe(8_000);
    expect(hi.delayMs).toBeCloseTo(12_000, -1);
    const capped = nextPollDelay({
      assessment: assessment('syncing'),
      previous: { state: 'syncing', unchangedPolls: 20 },
      now: NOW,
      settings: s,
      random: () => 0.999999,
    });
    expect(capped.delayMs).toBe(300_000);
  });

  it('growth below 1 is treated as no growth (never shrinks while unchanged)', () => {
    expect(run(assessment('syncing'), 3, { ...settings, growth: 0.5 })).toEqual([10_000, 10_000, 10_000]);
  });
});

describe('nextPollDelay within the fleet budget', () => {
  const fleet = (activeJobs: number) => ({ activeJobs, pollsPerSecond: 50, targetUse: 0.5 });
  const at = (a: JobAssessment, prev: PollMemory | null, f: ReturnType<typeof fleet>) =>
    nextPollDelay({ assessment: a, previous: prev, now: NOW, settings, fleet: f });

  it('a small fleet is polled every minMs instead of backing off (the share has room)', () => {
    // 100 jobs at 50 polls/s, aiming at half: ceiling max(10 s, 100 / 25 s = 4 s) = 10 s.
    const long = at(assessment('syncing'), { state: 'syncing', unchangedPolls: 6 }, fleet(100));
    expect(long).toMatchObject({ delayMs: 10_000, reason: 'fleet-ceiling' });
    // Fast polls after a start stay fast.
    expect(at(assessment('starting'), null, fleet(100))).toMatchObject({ delayMs: 2_000, reason: 'start-fast' });
  });

  it('a large fleet is never scheduled faster than the share serves it, even above maxMs', () => {
    // 10,000 jobs at 50 polls/s: every 200 s at the most.
    expect(at(assessment('starting'), null, fleet(10_000))).toMatchObject({ delayMs: 200_000, reason: 'fleet-floor' });
    // 100,000 jobs: 2,000 s, past maxMs (300 s): the share cannot do better.
    expect(at(assessment('syncing'), { state: 'syncing', unchangedPolls: 9 }, fleet(100_000)).delayMs).toBe(2_000_000);
    // Between floor (200 s) and ceiling (400 s) the adaptive backoff still decides.
    expect(at(assessment('syncing'), { state: 'syncing', unchangedPolls: 4 }, fleet(10_000))).toMatchObject({
      delayMs: 300_000,
      reason: 'backoff',
    });
  });

  it('a quarantined job waits for its nextAttempt whatever the ceiling; the deadline still wins', () => {
    const q = at(quarantined('2026-03-01T12:00:00Z'), null, fleet(10));
    expect(q).toMatchObject({ reason: 'next-attempt', delayMs: 300_000 });
    const d = nextPollDelay({
      assessment: assessment('starting'),
      previous: null,
      now: NOW,
      settings,
      fleet: fleet(10_000),
      deadlineAt: '2026-03-01T10:00:30Z',
    });
    expect(d).toMatchObject({ delayMs: 30_001, reason: 'deadline' });
  });

  it('an empty fleet or no budget changes nothing', () => {
    const plain = nextPollDelay({
      assessment: assessment('syncing'),
      previous: { state: 'syncing', unchangedPolls: 3 },
      now: NOW,
      settings,
    });
    expect(at(assessment('syncing'), { state: 'syncing', unchangedPolls: 3 }, fleet(0))).toEqual(plain);
  });
});

describe('poll budget', () => {
  it.each([
    [{ ruLimit: 3_500, ruWindowMs: 10_000, share: 0.1 }, 35],
    [{ ruLimit: 8_000, ruWindowMs: 10_000, share: 0.25 }, 200],
    [{ ruLimit: 5, ruWindowMs: 10_000, share: 1 }, 0.5],
    [{ ruLimit: 3_500, ruWindowMs: 10_000, share: 0.1, ruPerPoll: 2 }, 17.5],
  ])('pollShareCapacity(%j) = %d polls/s', (args, expected) => {
    expect(pollShareCapacity(args)).toBeCloseTo(expected, 10);
  });

  it.each([
    { ruLimit: 0, ruWindowMs: 10_000, share: 0.1 },
    { ruLimit: 3_500, ruWindowMs: 0, share: 0.1 },
    { ruLimit: 3_500, ruWindowMs: 10_000, share: 0 },
    { ruLimit: 3_500, ruWindowMs: 10_000, share: 1.5 },
    { ruLimit: 3_500, ruWindowMs: 10_000, share: Number.NaN },
  ])('pollShareCapacity rejects %j', (args) => {
    expect(() => pollShareCapacity(args)).toThrow(RangeError);
  });

  it('10,000 jobs inside a 10 % share of a small tenant: one poll per job every ~286 s', () => {
    const pps = pollShareCapacity({ ruLimit: 3_500, ruWindowMs: 10_000, share: 0.1 });
    const floor = fairShareDelayMs({ pollsPerSecond: pps, activeJobs: 10_000 });
    expect(floor).toBe(285_715);
    // the fleet's poll rate at that spacing stays inside the share
    expect(10_000 / (floor / 1000)).toBeLessThanOrEqual(pps);
  });
});
