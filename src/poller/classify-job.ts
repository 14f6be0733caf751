/**
 * Classifies one `GET …/synchronization/jobs/{jobId}` answer into the poller's states.
 *
 * Pure: no I/O, no clock (the caller passes `now`), so the same function serves the poller
 * worker, `provflow status` and the tests over Microsoft's published job examples
 * (test/fixtures/sync-jobs). The non-obvious rules are Microsoft's own quirks:
 * - `0001-01-01T00:00:00Z`, null, '' (and anything unparsable) mean "never".
 * - A NotRun job carries a *placeholder* `lastExecution` (`state: Failed`, never-dates,
 *   error code `None`): that is "no execution yet", not a failure.
 * - A Paused job can carry a `quarantine` object with empty-string reason and dates but a
 *   leftover `seriesCount` and `error`: that quarantine is absent (its error is still a useful
 *   hint for why the job is paused).
 */
import type { SynchronizationJob } from '../graph/schemas.ts';

/** The poller's view of a job. `quarantined` is watched (not terminal) until it clears or the deadline passes. */
export type JobState = 'starting' | 'syncing' | 'steady' | 'quarantined' | 'failed' | 'timed-out';

/** A real quarantine, normalised: never-dates and empty strings are null. */
export interface QuarantineInfo {
  reason: string | null;
  currentBegan: string | null;
  nextAttempt: string | null;
  seriesCount: number | null;
  errorCode: string | null;
  errorMessage: string | null;
}

/** An error Graph reported for the job (last execution's, else the quarantine's). */
export interface JobError {
  code: string | null;
  message: string | null;
}

/**
 * What the poller knows about one job after one GET.
 *
 * `terminal` means "stop watching"; `finalState` is the state to record in the ledger when
 * watching stops, and is null exactly when `terminal` is false. They differ from `state` in one
 * case only: when the deadline passes while the job is quarantined, `state` stays
 * `quarantined` (that is the truth an operator must see, with its reason and next attempt),
 * `terminal` becomes true, `finalState` is `quarantined` and `deadlinePassed` is true — the
 * instance ends *quarantined*, not *timed-out*. Every other state past the deadline (starting,
 * syncing) becomes `timed-out`.
 */
export interface JobAssessment {
  state: JobState;
  /** `status.code` as Graph sent it (NotConfigured | NotRun | Active | Paused | Quarantine), null when no job. */
  code: string | null;
  /** Last *real* execution's state (Succeeded | Failed | EntryLevelErrors); null for none or a placeholder. */
  lastExecutionState: string | null;
  lastExecutionEnded: string | null;
  /** `steadyStateLastAchievedTime` when it is a real date. */
  steadySince: string | null;
  /** Non-null whenever `state` is `quarantined`; also kept on `failed` when a quarantined job got disabled. */
  quarantine: QuarantineInfo | null;
  error: JobError | null;
  terminal: boolean;
  finalState: JobState | null;
  deadlinePassed: boolean;
  /** One line a person can act on. */
  detail: string;
}

/** Inputs that are not in the job itself. */
export interface ClassifyContext {
  /** ISO time provflow started (or restarted) the job: evidence older than this is about a previous run. */
  startedAt: string;
  now: Date;
  /** ISO time after which a job that is neither steady nor failed stops being watched. */
  deadlineAt: string;
  /**
   * Right after `POST …/start`, Graph can still answer with the pre-start job (Paused /
   * Disabled, or 404): within this window such answers mean "starting", after it "failed".
   * Default 120 s.
   */
  startGraceMs?: number;
  /** `countSuccessiveCompleteFailures` at or above this (with no steady state since) is `failed`. Default 3. */
  maxSuccessiveFailures?: number;
  /**
   * A steady-state time up to this much *before* `startedAt` still counts (clocks of Graph and
   * provflow differ). Only ever applied to steady evidence: failure evidence must be strictly
   * after `startedAt`, so a restart right after a failed cycle is not judged on that cycle.
   * Default 120 s.
   */
  clockSkewMs?: number;
}

const DEFAULT_START_GRACE_MS = 120_000;
const DEFAULT_MAX_SUCCESSIVE_FAILURES = 3;
const DEFAULT_CLOCK_SKEW_MS = 120_000;
/** Anything before this is Graph's year-1 "never" in one of its spellings. */
const NEVER_CUTOFF_MS = Date.UTC(1970, 0, 2);
const MAX_DETAIL_PART = 300;

/** The string if it is a real date, else null (`0001-01-01…`, '', null and garbage are "never"). */
export function realDate(value: string | null | undefined): string | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) || ms < NEVER_CUTOFF_MS ? null : value;
}

function ms(value: string): number {
  return Date.parse(value);
}

function text(value: string | null | undefined): string | null {
  if (value == null) return null;
  const t = value.replace(/\s+/g, ' ').trim();
  return t === '' ? null : t;
}

function clip(value: string): string {
  return value.length > MAX_DETAIL_PART ? `${value.slice(0, MAX_DETAIL_PART - 1)}…` : value;
}

type RawError = { code?: string | null; message?: string | null } | null | undefined;

/** Graph's placeholder executions carry `code: "None"` with an empty message: not an error. */
function realError(e: RawError): JobError | null {
  const code = text(e?.code);
  const message = text(e?.message);
  if ((code === null || code === 'None') && message === null) return null;
  return { code: code === 'None' ? null : code, message };
}

function formatError(e: JobError | null): string {
  if (!e) return '';
  return clip([e.code, e.message].filter(Boolean).join(': '));
}

type RawQuarantine = NonNullable<NonNullable<SynchronizationJob['status']>['quarantine']>;

/**
 * The quarantine if it is real. Absent when reason and every date are empty/never: Microsoft's
 * Paused example has exactly that, plus a leftover seriesCount and error, which do not count.
 */
export function readQuarantine(q: RawQuarantine | null | undefined): QuarantineInfo | null {
  if (!q) return null;
  const reason = text(q.reason);
  const currentBegan = realDate(q.currentBegan);
  const nextAttempt = realDate(q.nextAttempt);
  const seriesBegan = realDate(q.seriesBegan);
  if (!reason && !currentBegan && !nextAttempt && !seriesBegan) return null;
  const err = realError(q.error);
  return {
    reason,
    currentBegan: currentBegan ?? seriesBegan,
    nextAttempt,
    seriesCount: q.seriesCount ?? null,
    errorCode: err?.code ?? null,
    errorMessage: err?.message ?? null,
  };
}

/** What to do about a quarantine, by reason (scopes are Graph's `resetScope` values for a restart). */
function quarantineHint(reason: string | null): string {
  if (reason === 'TooManyDeletes') return 'review the deletions, then `provflow restart --scope ForceDeletes`';
  if (reason === 'QuarantinedOnDemand')
    return 'quarantined on request; `provflow restart --scope QuarantineState` to resume';
  return 'fix the cause, then `provflow restart --scope QuarantineState` (or wait for the next attempt)';
}

function quarantineDetail(q: QuarantineInfo): string {
  const since = q.currentBegan ? `Quarantine since ${q.currentBegan}` : 'Quarantine';
  const series = q.seriesCount ? `, series #${q.seriesCount}` : '';
  const head = `${since}: ${q.reason ?? 'reason not given'} (next attempt ${q.nextAttempt ?? 'unknown'}${series})`;
  const err = formatError(q.errorCode || q.errorMessage ? { code: q.errorCode, message: q.errorMessage } : null);
  return `${head}${err ? `: ${err}` : ''} — ${quarantineHint(q.reason)}`;
}

interface Facts {
  code: string | null;
  scheduleState: string | null;
  execState: string | null;
  execEnded: string | null;
  steadySince: string | null;
  quarantine: QuarantineInfo | null;
  error: JobError | null;
  successiveFailures: number;
  inProgress: boolean;
}

function readFacts(job: SynchronizationJob, startedAtMs: number): Facts {
  const status = job.status ?? null;
  const exec = status?.lastExecution ?? null;
  const execBegan = realDate(exec?.timeBegan);
  const execEnded = realDate(exec?.timeEnded);
  // A placeholder execution (never-dates) is "no execution yet", whatever its state says.
  const execIsReal = exec != null && (execBegan !== null || execEnded !== null);
  const steadySince = realDate(status?.steadyStateLastAchievedTime);
  const code = status?.code ?? null;
  let quarantine = readQuarantine(status?.quarantine);
  // While code is not Quarantine, a quarantine that began before provflow (re)started the job,
  // or was followed by a steady state, is history (e.g. the one a restart just cleared).
  if (quarantine && code !== 'Quarantine' && quarantine.currentBegan) {
    const began = ms(quarantine.currentBegan);
    if (began < startedAtMs || (steadySince !== null && ms(steadySince) > began)) quarantine = null;
  }
  const execError = execIsReal ? realError(exec?.error) : null;
  const leftoverError = realError(status?.quarantine?.error);
  const progress = status?.progress ?? [];
  return {
    code,
    scheduleState: job.schedule?.state ?? null,
    execState: execIsReal ? (exec?.state ?? null) : null,
    execEnded,
    steadySince,
    quarantine,
    error: execError ?? leftoverError,
    successiveFailures: status?.countSuccessiveCompleteFailures ?? 0,
    // A cycle that began and has not ended, or progress reported, means work is happening.
    inProgress: (execBegan !== null && execEnded === null) || progress.length > 0,
  };
}

type Verdict = Pick<JobAssessment, 'state' | 'detail'>;

function judge(f: Facts, ctx: ClassifyContext): Verdict {
  const started = ms(ctx.startedAt);
  const sinceStart = ctx.now.getTime() - started;
  const inGrace = sinceStart < (ctx.startGraceMs ?? DEFAULT_START_GRACE_MS);
  const skew = ctx.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  const errText = formatError(f.error);
  const withErr = (s: string) => (errText ? `${s}: ${errText}` : s);

  // 1. Quarantine first: Graph keeps stale steady/execution data around while quarantined.
  //    A Paused job with a real quarantine was disabled (after weeks of quarantine): rule 3.
  if (f.code === 'Quarantine' || (f.quarantine && f.code !== 'Paused')) {
    return { state: 'quarantined', detail: '' }; // detail built by the caller from the quarantine
  }

  // 2. Steady: a real steady-state time from this run and a last execution that did its job.
  const steadyOk = f.execState === 'Succeeded' || f.execState === 'EntryLevelErrors';
  const steadyFresh =
    f.steadySince !== null &&
    (ms(f.steadySince) >= started - skew || (f.execEnded !== null && ms(f.execEnded) >= started - skew));
  if (f.steadySince && steadyOk && steadyFresh && f.code !== 'Paused' && f.scheduleState !== 'Disabled') {
    const tail =
      f.execState === 'EntryLevelErrors'
        ? 'last cycle had entry-level errors: see the provisioning-log summary'
        : 'last cycle succeeded';
    return { state: 'steady', detail: `Steady since ${f.steadySince} (${tail})` };
  }

  // 3. Disabled / paused / never configured after provflow started it.
  const disabled = f.code === 'Paused' || f.scheduleState === 'Disabled' || f.scheduleState === 'Paused';
  if (disabled || f.code === 'NotConfigured') {
    if (inGrace)
      return {
        state: 'starting',
        detail: `Start requested at ${ctx.startedAt}; Graph still reports ${f.code ?? 'no status'}`,
      };
    const what =
      f.code === 'NotConfigured'
        ? 'Job is NotConfigured (no credentials saved?)'
        : `Job ${f.code === 'Paused' ? 'paused' : 'disabled'} (code ${f.code ?? '?'}, ` +
          `schedule ${f.scheduleState ?? '?'}) after provflow started it`;
    const was = f.quarantine ? ` (was quarantined: ${f.quarantine.reason ?? 'reason not given'})` : '';
    return { state: 'failed', detail: withErr(`${what}${was}`) };
  }

  // 4. A failed cycle of this run, not followed by a steady state. Strictly after startedAt:
  //    the failed cycle that led to a restart must not fail the restarted watch.
  const failedFresh = f.execState === 'Failed' && f.execEnded !== null && ms(f.execEnded) > started;
  const steadyAfterFailure = f.steadySince !== null && f.execEnded !== null && ms(f.steadySince) >= ms(f.execEnded);
  if (failedFresh && !steadyAfterFailure) {
    return { state: 'failed', detail: withErr(`Last cycle failed (ended ${f.execEnded})`) };
  }
  const maxFailures = ctx.maxSuccessiveFailures ?? DEFAULT_MAX_SUCCESSIVE_FAILURES;
  if (f.successiveFailures >= maxFailures && f.execEnded !== null && ms(f.execEnded) > started && !steadyAfterFailure) {
    return { state: 'failed', detail: withErr(`${f.successiveFailures} successive complete failures`) };
  }

  // 5. Still on its way.
  if (f.execState === null && !f.inProgress) {
    return { state: 'starting', detail: `Waiting for the first cycle (code ${f.code ?? '?'})` };
  }
  if (f.code === 'NotRun' && !f.inProgress) {
    return { state: 'starting', detail: 'Waiting for the first cycle to complete (code NotRun)' };
  }
  const last = f.execState ? `; last cycle ${f.execState}${f.execEnded ? ` at ${f.execEnded}` : ''}` : '';
  return { state: 'syncing', detail: `Cycle in progress, no steady state yet (code ${f.code ?? '?'}${last})` };
}

/**
 * Classify a job. `job` null means Graph answered 404: within the start grace that is
 * replication lag ("starting"), after it the job is gone ("failed").
 */
export function classifyJob(job: SynchronizationJob | null, ctx: ClassifyContext): JobAssessment {
  const deadlinePassed = ctx.now.getTime() > ms(ctx.deadlineAt);
  let base: Omit<JobAssessment, 'terminal' | 'finalState' | 'deadlinePassed'>;

  if (job === null) {
    const inGrace = ctx.now.getTime() - ms(ctx.startedAt) < (ctx.startGraceMs ?? DEFAULT_START_GRACE_MS);
    base = {
      state: inGrace ? 'starting' : 'failed',
      code: null,
      lastExecutionState: null,
      lastExecutionEnded: null,
      steadySince: null,
      quarantine: null,
      error: null,
      detail: inGrace
        ? 'Synchronization job not visible yet (replication lag)'
        : 'Synchronization job not found (deleted?): re-run the batch for this instance',
    };
  } else {
    const f = readFacts(job, ms(ctx.startedAt));
    const verdict = judge(f, ctx);
    let quarantine = f.quarantine;
    let detail = verdict.detail;
    if (verdict.state === 'quarantined') {
      // code Quarantine with an empty object still gets a quarantine record, and one without
      // an error borrows the last execution's, so the operator always sees why.
      const q = quarantine ?? {
        reason: null,
        currentBegan: null,
        nextAttempt: null,
        seriesCount: null,
        errorCode: null,
        errorMessage: null,
      };
      quarantine =
        !q.errorCode && !q.errorMessage && f.error
          ? { ...q, errorCode: f.error.code, errorMessage: f.error.message }
          : q;
      detail = quarantineDetail(quarantine);
    }
    base = {
      state: verdict.state,
      code: f.code,
      lastExecutionState: f.execState,
      lastExecutionEnded: f.execEnded,
      steadySince: f.steadySince,
      quarantine,
      error: f.error,
      detail,
    };
  }

  if (base.state === 'steady' || base.state === 'failed') {
    return { ...base, terminal: true, finalState: base.state, deadlinePassed };
  }
  if (!deadlinePassed) return { ...base, terminal: false, finalState: null, deadlinePassed };
  if (base.state === 'quarantined') {
    return {
      ...base,
      terminal: true,
      finalState: 'quarantined',
      deadlinePassed,
      detail: `${base.detail} (watch deadline ${ctx.deadlineAt} passed)`,
    };
  }
  return {
    ...base,
    state: 'timed-out',
    terminal: true,
    finalState: 'timed-out',
    deadlinePassed,
    detail: `No steady state by the deadline ${ctx.deadlineAt}; last seen: ${base.detail}`,
  };
}
