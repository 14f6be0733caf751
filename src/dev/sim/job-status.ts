/**
 * A synchronization job as Graph shows it, computed on read from its runs' timestamps: the cycles
 * of a run (initial, incremental, quarantine retries) and the status, schedule and executions.
 */
import { iso } from './http.ts';
import type { SimulatorSettings } from './settings.ts';
import { guid, NEVER, type QuarantineCause, type SimJob, type SimRun } from './directory.ts';

const DISABLED_INTERVAL = 'P10675199DT2H48M5.4775807S';

/** Microsoft's placeholder execution on a job that has not run yet: Failed, never-dates, code None. */
const PLACEHOLDER_EXECUTION = {
  activityIdentifier: null,
  countEntitled: 0,
  countEntitledForProvisioning: 0,
  countEscrowed: 0,
  countEscrowedRaw: 0,
  countExported: 0,
  countExports: 0,
  countImported: 0,
  countImportedDeltas: 0,
  countImportedReferenceDeltas: 0,
  error: { code: 'None', message: '', tenantActionable: false },
  state: 'Failed',
  timeBegan: NEVER,
  timeEnded: NEVER,
};

/** One cycle of a run: its window and what it did (the logs are generated from the same numbers). */
export interface SimCycle {
  index: number;
  began: number;
  ended: number;
  exported: number;
  failures: number;
  state: 'Succeeded' | 'Failed' | 'EntryLevelErrors';
  /** For a quarantined run: this cycle's failure is the quarantine's cause. */
  quarantined: boolean;
}

/** Quarantine retries: about 6 h, 12 h, 24 h apart, then daily (units of quarantineRetryMs = 6 h). */
const RETRY_STEPS = [1, 2, 4];
/** A job quarantined for four weeks (112 × 6 h) is disabled. */
const DISABLE_AFTER_STEPS = 112;

function retryOffset(n: number): number {
  // Offset (in retry units) of the n-th retry after the quarantine began (n ≥ 1).
  let t = 0;
  for (let i = 0; i < n; i++) t += RETRY_STEPS[i] ?? 4;
  return t;
}

/** The cycles of a run completed by `until` (real ms), oldest first, from `fromIndex`. */
export function cyclesOf(run: SimRun, s: SimulatorSettings, until: number, fromIndex = 0): SimCycle[] {
  const firstEnd = run.startedAt + s.firstCycleMs;
  const out: SimCycle[] = [];
  if (until < firstEnd) return out;
  if (run.cause) {
    // The initial cycle fails, then each retry (6 h, 12 h, 24 h, daily) until disabled.
    const unit = s.quarantineRetryMs;
    for (let n = fromIndex; ; n++) {
      const at = n === 0 ? firstEnd : firstEnd + retryOffset(n) * unit;
      if (at > until || (n > 0 && retryOffset(n) >= DISABLE_AFTER_STEPS)) break;
      const began = n === 0 ? run.startedAt : at - s.incrementalCycleMs;
      // A threshold quarantine fails no entry: its cycle stages the deletes instead.
      const failures = run.reason === 'TooManyDeletes' ? 0 : 1;
      out.push({ index: n, began, ended: at, exported: 0, failures, state: 'Failed', quarantined: true });
      if (out.length > 10_000) break;
    }
    return out;
  }
  const last = Math.floor((until - firstEnd) / s.cycleIntervalMs);
  for (let k = Math.max(0, fromIndex); k <= last; k++) {
    const ended = firstEnd + k * s.cycleIntervalMs;
    const failures = run.entryErrors ? run.failures : 0;
    // The initial cycle exports everyone in scope; incremental ones have nothing new to export.
    const exported = k === 0 ? s.logEntriesPerCycle : 0;
    const began = k === 0 ? run.startedAt : ended - s.incrementalCycleMs;
    const state = failures ? 'EntryLevelErrors' : 'Succeeded';
    out.push({ index: k, began, ended, exported, failures, state, quarantined: false });
  }
  return out;
}

function execution(job: SimJob, c: SimCycle, error: QuarantineCause | null) {
  const attempted = c.exported + c.failures;
  return {
    activityIdentifier: guid(`${job.id}|${job.seed}|${c.began}|exec`),
    countEntitled: attempted,
    countEntitledForProvisioning: attempted,
    countEscrowed: c.state === 'EntryLevelErrors' ? c.failures : 0,
    countEscrowedRaw: c.state === 'EntryLevelErrors' ? c.failures : 0,
    countExported: c.exported,
    countExports: attempted,
    countImported: attempted,
    countImportedDeltas: 0,
    countImportedReferenceDeltas: 0,
    error: error ? { ...error, tenantActionable: true } : null,
    state: c.state,
    timeBegan: iso(c.began),
    timeEnded: iso(c.ended),
  };
}

const emptyStatus = () => ({
  countSuccessiveCompleteFailures: 0,
  escrowsPruned: false,
  lastExecution: null as unknown,
  lastSuccessfulExecution: null as unknown,
  lastSuccessfulExecutionWithExports: null as unknown,
  progress: [] as unknown[],
  quarantine: null as unknown,
  steadyStateFirstAchievedTime: NEVER,
  steadyStateLastAchievedTime: NEVER,
  synchronizedEntryCountByType: [] as unknown[],
  troubleshootingUrl: null,
});

/** A Paused job's quarantine as Microsoft's example shows it: present, every field empty. */
const EMPTY_QUARANTINE = {
  currentBegan: '',
  nextAttempt: '',
  seriesBegan: '',
  seriesCount: 0,
  reason: '',
  error: null,
};

/** The status of the job's current run at `now` (it runs: not paused, not deleted). */
function runStatus(
  job: SimJob,
  run: SimRun,
  s: SimulatorSettings,
  now: number,
): { status: Record<string, unknown>; disabled: boolean } {
  const cycles = cyclesOf(run, s, now);
  const status = emptyStatus();
  if (!cycles.length) {
    if (run.resumed && job.frozenStatus) {
      return { status: { ...job.frozenStatus, code: 'Active', quarantine: null }, disabled: false };
    }
    return {
      status: {
        ...status,
        code: 'NotRun',
        lastExecution: PLACEHOLDER_EXECUTION,
        progress: [{ completedUnits: 0, totalUnits: 1, units: 'Entries', progressObservationDateTime: iso(now) }],
      },
      disabled: false,
    };
  }
  const last = cycles[cycles.length - 1]!;
  if (run.cause) {
    const first = cycles[0]!;
    const retries = cycles.length - 1;
    const disabled = now >= first.ended + DISABLE_AFTER_STEPS * s.quarantineRetryMs;
    const nextAttempt = first.ended + retryOffset(retries + 1) * s.quarantineRetryMs;
    return {
      status: {
        ...status,
        code: 'Quarantine',
        countSuccessiveCompleteFailures: cycles.length,
        lastExecution: execution(job, last, run.cause),
        quarantine: {
          currentBegan: iso(last.ended),
          nextAttempt: iso(disabled ? first.ended + DISABLE_AFTER_STEPS * s.quarantineRetryMs : nextAttempt),
          seriesBegan: iso(run.seriesBegan ?? first.ended),
          seriesCount: run.seriesBase + cycles.length,
          reason: run.reason ?? 'EncounteredQuarantineException',
          error: { ...run.cause, tenantActionable: true },
        },
      },
      disabled,
    };
  }
  const exported = cycles.reduce((n, c) => n + c.exported, 0);
  const succeeded = [...cycles].reverse().find((c) => c.state === 'Succeeded');
  const withExports = [...cycles].reverse().find((c) => c.state === 'Succeeded' && c.exported > 0);
  return {
    status: {
      ...status,
      code: 'Active',
      lastExecution: execution(job, last, null),
      lastSuccessfulExecution: succeeded ? execution(job, succeeded, null) : null,
      lastSuccessfulExecutionWithExports: withExports ? execution(job, withExports, null) : null,
      steadyStateFirstAchievedTime: iso(cycles[0]!.ended),
      steadyStateLastAchievedTime: iso(last.ended),
      synchronizedEntryCountByType: [{ key: 'user to user', value: exported }],
    },
    disabled: false,
  };
}

/** The synchronizationJob resource as Graph would show it at real time `now`. */
export function renderJob(job: SimJob, s: SimulatorSettings, now: number) {
  const base = {
    id: job.id,
    templateId: job.templateId,
    synchronizationJobSettings: [
      { name: 'QuarantineTooManyDeletesThreshold', value: String(job.deleteThreshold ?? 500) },
      { name: 'Domain', value: '{"DomainFqdn":"contoso.example","DomainNetBios":"contoso"}' },
    ],
  };
  const run = job.runs[job.runs.length - 1];
  if (job.startedAt === null || !run) {
    const schedule = { expiration: null, interval: DISABLED_INTERVAL, state: 'Disabled' };
    return { ...base, schedule, status: { ...emptyStatus(), code: 'NotConfigured' } };
  }
  if (job.pausedAt !== null) {
    // Pause keeps the history; a quarantine object stays, emptied, as in Microsoft's example.
    const kept = job.frozenStatus ?? emptyStatus();
    return {
      ...base,
      schedule: { expiration: null, interval: DISABLED_INTERVAL, state: 'Paused' },
      status: { ...kept, code: 'Paused', progress: [], quarantine: EMPTY_QUARANTINE },
    };
  }
  const { status, disabled } = runStatus(job, run, s, now);
  const interval = disabled ? DISABLED_INTERVAL : 'PT40M';
  const schedule = { expiration: null, interval, state: disabled ? 'Disabled' : 'Active' };
  return { ...base, schedule, status };
}
