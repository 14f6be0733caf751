/**
 * Simulator settings: the three profiles, in *simulated* time, and the time-scaling that turns
 * them into the effective real-millisecond values the simulator runs on.
 */
import { MICROSOFT_LIMITS, type GraphLimits } from '../../graph/microsoft-quotas.ts';

/** Named presets: `fast` for unit tests, `realistic` for demos/benchmarks, `chaos` for reliability runs. */
export type SimProfile = 'fast' | 'realistic' | 'chaos';

/** An inclusive range of milliseconds. */
export interface MsRange {
  min: number;
  max: number;
}

/**
 * Effective settings, already divided by `timeScale`, all durations in real milliseconds.
 * `configure()` / `POST /_sim/configure` take a partial of this (values are used as given, not re-scaled).
 * The quotas (`GraphLimits`: writes, resource units, reports) are enforced per app+tenant.
 */
export interface SimulatorSettings extends GraphLimits {
  /** Added to every Graph response (not to /_sim or the token endpoint's discovery documents). */
  latencyMs: MsRange;
  /** New applications, servicePrincipals and sync jobs stay invisible to GET and $filter for this long. */
  replicationLagMs: MsRange;
  /** Probability of a random 500/502/503/504 before a request is applied. */
  transientFaultRate: number;
  /**
   * Probability of a 503 carrying `Retry-After` (the service is busy: this request must not be
   * repeated before Retry-After; the caller's other requests are not affected).
   */
  throttle503Rate: number;
  /** Retry-After seconds sent with those 503s (real seconds, already scaled, at least 1). */
  throttle503RetryAfterSec: number;
  /**
   * Probability, per request, that Graph starts throttling the app+tenant for reasons the caller
   * cannot see or pace for (`x-ms-throttle-information: CPULimitExceeded`, or other apps' load on
   * a shared tenant limit): a 429 storm — every request of the caller gets 429 until the
   * Retry-After passes, and any that arrives after the grace is a violation.
   */
  throttleStormRate: number;
  /** Retry-After seconds of a 429 storm (real seconds, already scaled, at least 1). */
  throttleStormRetryAfterSec: number;
  /** Probability that instantiate creates the app and still answers 404, 500, 504 or hangs. */
  ambiguousInstantiateRate: number;
  /** How long a "hanging" instantiate holds the connection before answering 504. */
  instantiateHangMs: number;
  /** Time from `start` (or restart) to the end of the first (initial) cycle. */
  firstCycleMs: number;
  /** Time between incremental cycles once the initial cycle is done (Microsoft: 40 min). */
  cycleIntervalMs: number;
  /** Duration of an incremental cycle. */
  incrementalCycleMs: number;
  /** First quarantine retry delay (Microsoft: ~6 h, then 12 h, 24 h, daily). */
  quarantineRetryMs: number;
  /** How long provisioning-log entries are kept (Microsoft: 30 days). */
  logRetentionMs: number;
  /**
   * A second job from a template a service principal already has a job of: Microsoft does not
   * document it. `accept` creates it (an id with a suffix), `conflict` answers 409.
   */
  secondJobFromSameTemplate: 'accept' | 'conflict';
  /** Provisioning-log entries written by an initial cycle (successes). */
  logEntriesPerCycle: number;
  /** Access token lifetime in real seconds (`expires_in`; not scaled, Entra issues 3599). */
  tokenLifetimeSec: number;
  /**
   * Application permissions in the access token's `roles` claim (default SIM_TOKEN_ROLES); a test
   * leaves one out to see `provflow doctor` name it. Not enforced on Graph calls.
   */
  tokenRoles?: string[];
  /**
   * Requests that arrive within this many ms after a 429/503 *left the simulator* are not
   * counted as Retry-After violations: they were issued before the caller could have read the
   * answer. 250 ms because on a 2-core host running the simulator, Redis and several Node
   * processes, a process can take that long to get to an answer sitting in its socket
   * (measured: stragglers at 60–320 ms); anything later is a real violation.
   */
  retryAfterGraceMs: number;
  /** Default and maximum `$top` for provisioning logs. */
  logsPageSize: number;
  /** Default page size for directory lists (applications, servicePrincipals, templates). */
  listPageSize: number;
  /** PEM of a certificate whose key must sign client assertions; null = accept any well-formed assertion. */
  clientAssertionCertPem: string | null;
  /** provisionOnDemand calls allowed per app+tenant per window (Microsoft: 5 per 10 s). */
  onDemandLimit: number;
  onDemandWindowMs: number;
  /**
   * Fault knobs. Principals whose app role assignment is refused (403), besides role-assignable
   * groups; subjects whose provision on demand fails, besides the seeded `failing` user.
   */
  refusedAssignmentPrincipals: string[];
  failingSmokeSubjects: string[];
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Durations and rates in simulated time, before scaling. */
const PROFILES: Record<SimProfile, SimulatorSettings> = {
  fast: {
    // Generous quotas so functional tests never trip them unless they configure a limit.
    writeLimit: 1_000_000,
    writeWindowMs: 150 * SECOND,
    ruLimit: 1_000_000,
    ruWindowMs: 10 * SECOND,
    reportsLimit: 1_000_000,
    reportsWindowMs: 10 * SECOND,
    latencyMs: { min: 0, max: 0 },
    replicationLagMs: { min: 0, max: 0 },
    transientFaultRate: 0,
    throttle503Rate: 0,
    throttle503RetryAfterSec: 1,
    throttleStormRate: 0,
    throttleStormRetryAfterSec: 1,
    ambiguousInstantiateRate: 0,
    instantiateHangMs: 5 * SECOND,
    firstCycleMs: 200,
    cycleIntervalMs: 40 * MINUTE,
    incrementalCycleMs: 100,
    quarantineRetryMs: 6 * HOUR,
    logRetentionMs: 30 * DAY,
    secondJobFromSameTemplate: 'accept',
    logEntriesPerCycle: 4,
    tokenLifetimeSec: 3599,
    retryAfterGraceMs: 250,
    logsPageSize: 50,
    listPageSize: 100,
    clientAssertionCertPem: null,
    onDemandLimit: 1_000_000,
    onDemandWindowMs: 10 * SECOND,
    refusedAssignmentPrincipals: [],
    failingSmokeSubjects: [],
  },
  realistic: {
    ...MICROSOFT_LIMITS,
    latencyMs: { min: 20, max: 300 },
    replicationLagMs: { min: 1 * SECOND, max: 8 * SECOND },
    transientFaultRate: 0.005,
    throttle503Rate: 0.001,
    throttle503RetryAfterSec: 10,
    // provflow is alone in the tenant and paces under its quota: Graph never has to throttle it.
    throttleStormRate: 0,
    throttleStormRetryAfterSec: 10,
    ambiguousInstantiateRate: 0.005,
    instantiateHangMs: 100 * SECOND,
    firstCycleMs: 40 * SECOND,
    cycleIntervalMs: 40 * MINUTE,
    incrementalCycleMs: 10 * SECOND,
    quarantineRetryMs: 6 * HOUR,
    logRetentionMs: 30 * DAY,
    secondJobFromSameTemplate: 'accept',
    logEntriesPerCycle: 4,
    tokenLifetimeSec: 3599,
    retryAfterGraceMs: 250,
    logsPageSize: 50,
    listPageSize: 100,
    clientAssertionCertPem: null,
    onDemandLimit: 5,
    onDemandWindowMs: 10 * SECOND,
    refusedAssignmentPrincipals: [],
    failingSmokeSubjects: [],
  },
  chaos: {
    // Low quotas produce 429 storms with a modest number of instances.
    writeLimit: 300,
    writeWindowMs: 150 * SECOND,
    ruLimit: 600,
    ruWindowMs: 10 * SECOND,
    reportsLimit: 5,
    reportsWindowMs: 10 * SECOND,
    latencyMs: { min: 20, max: 600 },
    replicationLagMs: { min: 1 * SECOND, max: 30 * SECOND },
    transientFaultRate: 0.07,
    throttle503Rate: 0.02,
    throttle503RetryAfterSec: 20,
    // About one storm per 300 requests: every process must stop together, repeatedly.
    throttleStormRate: 0.003,
    throttleStormRetryAfterSec: 20,
    ambiguousInstantiateRate: 0.1,
    instantiateHangMs: 100 * SECOND,
    firstCycleMs: 40 * SECOND,
    cycleIntervalMs: 40 * MINUTE,
    incrementalCycleMs: 10 * SECOND,
    quarantineRetryMs: 6 * HOUR,
    logRetentionMs: 30 * DAY,
    secondJobFromSameTemplate: 'accept',
    logEntriesPerCycle: 4,
    tokenLifetimeSec: 3599,
    retryAfterGraceMs: 250,
    logsPageSize: 50,
    listPageSize: 100,
    clientAssertionCertPem: null,
    onDemandLimit: 5,
    onDemandWindowMs: 10 * SECOND,
    refusedAssignmentPrincipals: [],
    failingSmokeSubjects: [],
  },
};

/** Keys whose values are simulated durations in ms (divided by timeScale). */
const DURATION_KEYS = [
  'writeWindowMs',
  'ruWindowMs',
  'reportsWindowMs',
  'instantiateHangMs',
  'firstCycleMs',
  'cycleIntervalMs',
  'incrementalCycleMs',
  'quarantineRetryMs',
  'logRetentionMs',
  'onDemandWindowMs',
] as const;

/** Whether a string names a profile. */
export function isSimProfile(v: unknown): v is SimProfile {
  return v === 'fast' || v === 'realistic' || v === 'chaos';
}

/** The effective settings of a profile at a time scale, with overrides applied last (unscaled). */
export function resolveSettings(
  profile: SimProfile,
  timeScale: number,
  overrides: Partial<SimulatorSettings> = {},
): SimulatorSettings {
  if (!(timeScale > 0)) throw new Error(`timeScale must be > 0, got ${timeScale}`);
  const base = PROFILES[profile];
  const s: SimulatorSettings = {
    ...base,
    latencyMs: { ...base.latencyMs },
    replicationLagMs: { ...base.replicationLagMs },
  };
  for (const k of DURATION_KEYS) s[k] = Math.max(1, Math.round(base[k] / timeScale));
  s.latencyMs = scaleRange(base.latencyMs, timeScale);
  s.replicationLagMs = scaleRange(base.replicationLagMs, timeScale);
  s.throttle503RetryAfterSec = Math.max(1, Math.ceil(base.throttle503RetryAfterSec / timeScale));
  s.throttleStormRetryAfterSec = Math.max(1, Math.ceil(base.throttleStormRetryAfterSec / timeScale));
  return applyOverrides(s, overrides);
}

/** Merge a partial (e.g. from `/_sim/configure`) into settings, validating ranges. */
export function applyOverrides(s: SimulatorSettings, overrides: Partial<SimulatorSettings>): SimulatorSettings {
  const out: SimulatorSettings = { ...s, ...overrides };
  if (out.secondJobFromSameTemplate !== 'accept' && out.secondJobFromSameTemplate !== 'conflict') {
    const got = String(out.secondJobFromSameTemplate);
    throw new Error(`secondJobFromSameTemplate must be accept or conflict, got ${got}`);
  }
  for (const k of ['latencyMs', 'replicationLagMs'] as const) {
    const r = out[k];
    if (!r || !(r.min >= 0) || !(r.max >= r.min)) throw new Error(`${k} must be {min>=0, max>=min}`);
  }
  return out;
}

function scaleRange(r: MsRange, timeScale: number): MsRange {
  return { min: Math.round(r.min / timeScale), max: Math.round(r.max / timeScale) };
}
