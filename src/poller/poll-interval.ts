/**
 * When to look at a job again, and how much polling the tenant's quota allows.
 *
 * Pure functions: the poller worker turns `delayMs` into a BullMQ delayed re-add (never a
 * sleep), and the global cap into a limiter. Why adaptive: right after start a job changes
 * within seconds, then a cycle can take hours (PT40M schedules, quarantine retries at 6 h,
 * 12 h, 24 h…); polling 10,000 jobs at a fixed fast rate would spend the tenant's quota on
 * answers that say nothing new.
 */
import type { JobAssessment, JobState } from './classify-job.ts';

/** Polling knobs (all in milliseconds except `growth`). */
export interface PollSettings {
  /** Delay after a change once the job is past `starting`; also the floor of every delay. */
  minMs: number;
  /** Ceiling of every delay. */
  maxMs: number;
  /** Multiplier per poll that saw no change (e.g. 1.5). */
  growth: number;
  /** Delay while the job is `starting` (the first polls after start), usually below `minMs`. */
  startFastMs: number;
  /** Added after `quarantine.nextAttempt` so the re-evaluation has happened when we look. Default 5 s. */
  afterAttemptMs?: number;
  /** ± fraction of random spread, so jobs started together do not poll together. Default 0. */
  jitterRatio?: number;
}

/** What the poller remembers between polls of one job (persist it with the watch job's data). */
export interface PollMemory {
  state: JobState;
  unchangedPolls: number;
  /** From `assessmentFingerprint`; when absent, only `state` changes count as changes. */
  fingerprint?: string;
}

/**
 * How many jobs the poller watches and how many polls per second its quota share allows. With
 * it, the delay is kept between
 * - a floor, `activeJobs / pollsPerSecond`: never schedule faster than the share can serve
 *   (10,000 jobs at 66 polls/s → every ~150 s), so polls happen when scheduled instead of
 *   piling up behind the limiter; and
 * - a ceiling for jobs that may change soon (starting, syncing), `activeJobs / (pollsPerSecond ×
 *   targetUse)` but at least `minMs`: while the fleet is small the share has room, and a job
 *   becoming steady is seen within that instead of after a long backoff.
 * A quarantined job waiting for `nextAttempt` keeps that delay (nothing changes before it).
 */
export interface FleetBudget {
  activeJobs: number;
  pollsPerSecond: number;
  /** Share of `pollsPerSecond` the ceiling aims to use (0 < targetUse ≤ 1). */
  targetUse: number;
}

/** The next poll: `delayMs` 0 with `stop` true means the assessment is terminal — do not poll again. */
export interface NextPoll {
  delayMs: number;
  unchangedPolls: number;
  fingerprint: string;
  stop: boolean;
  /** Which rule chose the delay (for logs and tests). */
  reason: 'terminal' | 'start-fast' | 'backoff' | 'next-attempt' | 'deadline' | 'fleet-floor' | 'fleet-ceiling';
}

/**
 * What counts as "something changed": the state, the status code, a new cycle ending, a new
 * steady time, a new quarantine evaluation. Not `detail` (it can embed times that move).
 */
export function assessmentFingerprint(a: JobAssessment): string {
  return [
    a.state,
    a.code ?? '',
    a.lastExecutionState ?? '',
    a.lastExecutionEnded ?? '',
    a.steadySince ?? '',
    a.quarantine?.currentBegan ?? '',
    a.quarantine?.nextAttempt ?? '',
    a.quarantine?.seriesCount ?? '',
  ].join('|');
}

/**
 * Delay before the next poll of one job.
 * - terminal → stop;
 * - changed (or first poll) → reset to the base delay: `startFastMs` while starting, else `minMs`;
 * - unchanged → base × growth^unchangedPolls, capped at `maxMs`;
 * - quarantined with a future `nextAttempt` → just after it (nothing changes before), capped at `maxMs`;
 * - with a `fleet`: within its floor and (for jobs that may change) its ceiling — see `FleetBudget`;
 * - never later than just after `deadlineAt`, so the deadline is noticed on time.
 */
export function nextPollDelay(args: {
  assessment: JobAssessment;
  previous: PollMemory | null;
  now: Date;
  settings: PollSettings;
  deadlineAt?: string;
  random?: () => number;
  fleet?: FleetBudget | null;
}): NextPoll {
  const { assessment: a, previous, now, settings: s } = args;
  const fingerprint = assessmentFingerprint(a);
  if (a.terminal) return { delayMs: 0, unchangedPolls: 0, fingerprint, stop: true, reason: 'terminal' };

  const changed =
    previous === null ||
    previous.state !== a.state ||
    (previous.fingerprint !== undefined && previous.fingerprint !== fingerprint);
  const unchangedPolls = changed ? 0 : previous.unchangedPolls + 1;

  const floor = Math.min(s.startFastMs, s.minMs);
  const base = a.state === 'starting' ? s.startFastMs : s.minMs;
  let delay = Math.min(s.maxMs, base * Math.pow(Math.max(1, s.growth), unchangedPolls));
  let reason: NextPoll['reason'] = a.state === 'starting' && unchangedPolls === 0 ? 'start-fast' : 'backoff';

  const nextAttempt = a.state === 'quarantined' ? a.quarantine?.nextAttempt : null;
  if (nextAttempt) {
    const untilAttempt = Date.parse(nextAttempt) - now.getTime();
    // A nextAttempt already behind us says nothing about the future: plain backoff then.
    if (untilAttempt > 0) {
      delay = Math.min(s.maxMs, untilAttempt + (s.afterAttemptMs ?? 5_000));
      reason = 'next-attempt';
    }
  }

  const jitter = s.jitterRatio ?? 0;
  if (jitter > 0 && reason !== 'next-attempt') {
    const r = (args.random ?? Math.random)();
    delay = delay * (1 + jitter * (2 * r - 1));
  }
  delay = Math.max(floor, Math.min(s.maxMs, delay));

  const fleet = args.fleet;
  if (fleet && fleet.pollsPerSecond > 0 && fleet.activeJobs > 0) {
    const fleetFloor = fairShareDelayMs(fleet);
    const use = Math.min(1, Math.max(0.01, fleet.targetUse));
    const fleetCeiling = Math.max(
      s.minMs,
      fairShareDelayMs({ activeJobs: fleet.activeJobs, pollsPerSecond: fleet.pollsPerSecond * use }),
    );
    if (reason !== 'next-attempt' && delay > fleetCeiling) {
      delay = fleetCeiling;
      reason = 'fleet-ceiling';
    }
    // Above maxMs if it must be: a fleet the share cannot poll every maxMs is polled as often as it can.
    if (delay < fleetFloor) {
      delay = fleetFloor;
      reason = 'fleet-floor';
    }
  }

  if (args.deadlineAt) {
    // +1 ms: the classifier's rule is `now > deadlineAt`.
    const untilDeadline = Date.parse(args.deadlineAt) - now.getTime() + 1;
    if (untilDeadline < delay) {
      delay = Math.max(0, untilDeadline);
      reason = 'deadline';
    }
  }
  return { delayMs: Math.round(delay), unchangedPolls, fingerprint, stop: false, reason };
}

/**
 * Polls per second the global poll limiter may allow, so that watching any number of jobs
 * stays inside `share` of the tenant's quota: `ruLimit × share / window / ruPerPoll`.
 * E.g. 3,500 RU per 10 s (small tenant), 10 % share, 1 RU per `GET …/jobs/{id}` → 35 polls/s.
 * The same formula gives the reports budget: 5 requests per 10 s, share 1 → 0.5 requests/s.
 */
export function pollShareCapacity(args: {
  ruLimit: number;
  ruWindowMs: number;
  share: number;
  ruPerPoll?: number;
}): number {
  const { ruLimit, ruWindowMs, share } = args;
  const ruPerPoll = args.ruPerPoll ?? 1;
  if (!(ruLimit > 0) || !(ruWindowMs > 0) || !(ruPerPoll > 0)) {
    throw new RangeError('pollShareCapacity: ruLimit, ruWindowMs and ruPerPoll must be positive');
  }
  if (!(share > 0 && share <= 1)) throw new RangeError('pollShareCapacity: share must be in (0, 1]');
  return (ruLimit * share) / (ruWindowMs / 1000) / ruPerPoll;
}

/**
 * The smallest per-job delay that keeps `activeJobs` watches inside `pollsPerSecond`
 * (10,000 jobs at 35 polls/s → one poll per job every ~286 s). Use as a floor on `delayMs`
 * when the fleet is large; the limiter enforces the cap, this keeps queues from piling up.
 */
export function fairShareDelayMs(args: { pollsPerSecond: number; activeJobs: number }): number {
  if (!(args.pollsPerSecond > 0)) throw new RangeError('fairShareDelayMs: pollsPerSecond must be positive');
  return Math.ceil((Math.max(0, args.activeJobs) / args.pollsPerSecond) * 1000);
}
