/**
 * Events that change a running job at its next cycle, applied lazily (before each request) to
 * the jobs that have one: a saved credential reaching its `expires:` date (the next cycle fails
 * and the job quarantines, `EncounteredQuarantineException`), and staged deletions (the next
 * cycle performs them, or stages them and quarantines with `TooManyDeletes` when over the
 * threshold). The run is split at that cycle, so the job's history before it stands.
 */
import { CREDENTIAL_ERROR_CODE, type QuarantineCause, type SimJob, type SimRun } from './directory.ts';
import { earliestExpiry, expiredProblem } from './expiry.ts';
import type { SimulatorSettings } from './settings.ts';
import { stageOnRun } from './staged-deletes.ts';
import type { SimState } from './state.ts';

/** Look at a job at the next request (it started, or its deletions or secrets changed). */
export function watchJob(st: SimState, jobId: string): void {
  st.watched.set(jobId, { at: 0, moves: st.clock.moves });
}

/** Watch the jobs of a service principal (its secrets changed). */
export function watchSp(st: SimState, spId: string): void {
  for (const job of st.jobs.values()) if (job.spId === spId) watchJob(st, job.id);
}

/** Apply every due event of the watched jobs; a job with nothing pending is no longer watched. */
export function settleWatched(st: SimState, now: number): void {
  if (!st.watched.size) return;
  const s = st.settings();
  const moves = st.clock.moves;
  for (const [id, w] of [...st.watched]) {
    if (w.at > now && w.moves === moves) continue;
    const job = st.jobs.get(id);
    const next = job ? settleJob(st, job, s, now) : null;
    if (next === null) st.watched.delete(id);
    else st.watched.set(id, { at: next, moves });
  }
}

/** Index and end (real ms) of the first cycle of a healthy run ending strictly after `at`. */
function cycleAfter(run: SimRun, s: SimulatorSettings, at: number): { k: number; end: number } {
  const firstEnd = run.startedAt + s.firstCycleMs;
  const k = at < firstEnd ? 0 : Math.floor((at - firstEnd) / s.cycleIntervalMs) + 1;
  return { k, end: firstEnd + k * s.cycleIntervalMs };
}

/**
 * From cycle `k` on, the run behaves as `apply` makes it: cycle 0 changes the run itself; a later
 * cycle ends this run after cycle k-1 and starts a new one whose first cycle ends with cycle k.
 */
function splitAt(job: SimJob, run: SimRun, k: number, end: number, s: SimulatorSettings, apply: (r: SimRun) => void) {
  if (k === 0) return apply(run);
  const prevEnd = end - s.cycleIntervalMs;
  const startedAt = Math.max(prevEnd, end - s.firstCycleMs);
  run.endedAt = startedAt;
  const next: SimRun = {
    startedAt,
    endedAt: null,
    cause: null,
    entryErrors: run.entryErrors,
    failures: run.failures,
    seriesBase: 0,
    seriesBegan: null,
    resumed: false,
  };
  apply(next);
  job.runs.push(next);
}

/** Apply what is due on one job; returns when to look again (real ms), or null when nothing is pending. */
function settleJob(st: SimState, job: SimJob, s: SimulatorSettings, now: number): number | null {
  for (let guard = 0; guard < 8; guard++) {
    const run = job.runs[job.runs.length - 1];
    // Paused, never started, or already quarantined: nothing happens until a start or restart.
    if (!run || run.endedAt !== null || job.pausedAt !== null || run.cause) return null;
    const expiring = earliestExpiry(st.secrets.get(job.spId) ?? []);
    const expiresAt = expiring ? st.clock.realTimeOf(expiring.at) : Infinity;
    const pending = job.pendingDeletes && !job.pendingDeletes.staged ? job.pendingDeletes : null;
    const deletesAt = pending ? Math.max(pending.since, run.startedAt) : Infinity;
    if (expiresAt === Infinity && deletesAt === Infinity) return null;
    const eventAt = Math.min(expiresAt, deletesAt);
    const { k, end } = cycleAfter(run, s, eventAt);
    // Not due before that cycle ends (an expiry still ahead can only come sooner if the calendar moves).
    if (end > now) return eventAt > now ? Math.min(end, eventAt) : end;
    if (expiresAt <= deletesAt) {
      const saved = st.secrets.get(job.spId) ?? [];
      const problem = expiredProblem(saved, expiring!.at) ?? 'The saved credentials have expired.';
      const cause: QuarantineCause = {
        code: CREDENTIAL_ERROR_CODE,
        message: `${problem} Update the credentials and restart the job.`,
      };
      splitAt(job, run, k, end, s, (r) => {
        r.cause = cause;
        r.entryErrors = false;
      });
    } else if (pending!.count > pending!.threshold) {
      splitAt(job, run, k, end, s, (r) => stageOnRun(r, pending!));
    } else {
      const threshold = pending!.threshold;
      run.deletes = [...(run.deletes ?? []), { cycle: k, count: pending!.count, staged: false, threshold }];
      job.pendingDeletes = null;
    }
  }
  return now;
}
