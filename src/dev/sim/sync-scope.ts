/**
 * Provisioning settings kept among the synchronization secrets: which keys GET shows in clear
 * (settings) and which it masks (credentials), and the scope a run uses. `SyncAll` false or
 * absent is Entra's default, "sync only assigned users and groups"; a run keeps the scope saved
 * when it started — a change takes effect at the next start or restart (a known issue Microsoft
 * documents).
 */
import type { SimJob } from './directory.ts';
import { seedGroup } from './seed-directory.ts';
import type { SimState } from './state.ts';

/** Secret keys that are settings, not credentials: GET reads them back in clear. */
const SETTING_KEYS: ReadonlySet<string> = new Set([
  'SyncAll',
  'SyncNotificationSettings',
  'SkipOutOfScopeDeletions',
  'SynchronizationSchedule',
  'SystemOfRecord',
  'HardDeletesEnabled',
  'EnforceDomain',
  'ValidateDomain',
  'UpdateKeyOnSoftDelete',
  'PerformInboundEntitlementGrants',
  'TestReferences',
]);

/** GET …/synchronization/secrets: credentials masked as `*`, settings as saved. */
export function readBackSecrets(saved: { key: string; value: string }[]): { key: string; value: string }[] {
  return saved.map((v) => ({ key: v.key, value: SETTING_KEYS.has(v.key) ? v.value : '*' }));
}

/** Records the scope a run starts with (called at every start and restart). */
export function noteRunStart(st: SimState, job: SimJob): void {
  const saved = st.secrets.get(job.spId) ?? [];
  st.onboarding.syncAllAtStart.set(job.id, saved.find((v) => v.key === 'SyncAll')?.value);
}

/** Whether the job provisions everyone ("all") rather than assigned users and groups only. */
export function syncsAll(st: SimState, job: SimJob): boolean {
  const at = st.onboarding.syncAllAtStart;
  // Never started: what is saved now is what a start would use.
  const value = at.has(job.id)
    ? at.get(job.id)
    : (st.secrets.get(job.spId) ?? []).find((v) => v.key === 'SyncAll')?.value;
  return String(value ?? '').toLowerCase() === 'true';
}

/** Whether SyncAll was saved explicitly when the job's current run started. */
export function scopeChosen(st: SimState, job: SimJob): boolean {
  return st.onboarding.syncAllAtStart.get(job.id) !== undefined;
}

/** Whether a user or group is assigned to the service principal (directly, or a user through a group). */
export function isAssigned(st: SimState, spId: string, principalId: string): boolean {
  return (st.onboarding.assignments.get(spId) ?? []).some(
    (a) => a.principalId === principalId || (seedGroup(a.principalId)?.members.includes(principalId) ?? false),
  );
}
