/**
 * Provisioning-log entries beyond the synthetic users of each cycle: the on-demand runs, and,
 * once a SCIM job's run started with `SyncAll` saved, its initial cycle's verdict on each seeded
 * user — created when in scope, skipped (`NotEffectivelyEntitled`) when not assigned under
 * scope "assigned". Assignments are read as they are now (they rarely change after a start).
 */
import { PROVISIONING_SERVICE, type SimJob } from './directory.ts';
import { cyclesOf } from './job-status.ts';
import type { SimulatorSettings } from './settings.ts';
import type { SimState } from './state.ts';
import { logEntry, outcomeFor } from './provisioning-outcome.ts';
import { SEED_USERS, SIM_USERS } from './seed-directory.ts';
import { scopeChosen, syncsAll } from './sync-scope.ts';
import { jobSchema } from './routes/schema.ts';

type Json = Record<string, unknown>;

/** The extra entries of one job retained at `now` (newer than `retainFrom`). */
export function onboardingLogs(st: SimState, job: SimJob, s: SimulatorSettings, now: number, retainFrom: number) {
  const out: Json[] = (st.onboarding.onDemandLogs.get(job.id) ?? []).filter(
    (e) => Date.parse(String(e.activityDateTime)) >= retainFrom,
  );
  const run = job.runs[job.runs.length - 1];
  const sp = st.sps.get(job.spId);
  if (!run || !sp || job.templateId !== 'scim' || run.cause || !scopeChosen(st, job)) return out;
  const first = cyclesOf(run, s, Math.min(now, run.endedAt ?? now))[0];
  if (!first || first.ended < retainFrom) return out;
  const rule = (jobSchema(st, job).body.synchronizationRules as Json[])[0];
  const mapping = ((rule?.objectMappings ?? []) as Json[]).find((m) => m.sourceObjectName === 'User');
  const syncAll = syncsAll(st, job);
  SEED_USERS.forEach((u, i) => {
    // The smoke-test fault belongs to on-demand runs: cycles leave that user out.
    if (u.id === SIM_USERS.failing) return;
    const subject = { id: u.id, type: 'User' as const };
    const verdict = outcomeFor(st, sp, job, mapping, subject, { syncAll });
    if (verdict.result === 'Failure') return;
    const key = `${job.id}|scope|${job.runs.length}|${u.id}`;
    out.push(logEntry(st, job, subject, verdict, first.ended - (i + 1) * 40, key, PROVISIONING_SERVICE));
  });
  return out;
}
