/**
 * Desired settings as synchronizationSecret keys, and their comparison with what Graph saved.
 *
 * Settings and credentials go to Graph in ONE complete `PUT …/secrets`: Microsoft's pages
 * disagree on whether that PUT merges or replaces, and a GET masks credential values, so the
 * only safe write is the complete set compiled from the batch file — never values read back.
 * Reused by the save-secrets step and by the day-2 commands (diff, rotate).
 */
import type { SavedSecret, SecretPair } from '../graph/graph-api.ts';
import type { SettingsInput } from '../batch/onboarding-fields.ts';

/** The parsed `SyncNotificationSettings` value (Graph stores it as a JSON string). */
interface NotificationSettings {
  Enabled?: boolean;
  Recipients?: string;
  DeleteThresholdEnabled?: boolean;
  DeleteThresholdValue?: number;
}

/** The secret pairs `settings` asks for (empty when it asks for nothing). */
export function compileSettings(settings: SettingsInput | undefined): SecretPair[] {
  if (!settings) return [];
  const out: SecretPair[] = [];
  if (settings.scope !== undefined) out.push({ key: 'SyncAll', value: settings.scope === 'all' ? 'true' : 'false' });
  const n: NotificationSettings = {};
  if (settings.notifyOnFailure !== undefined) n.Enabled = settings.notifyOnFailure;
  if (settings.notificationEmail !== undefined) {
    n.Recipients = settings.notificationEmail;
    n.Enabled ??= true;
  }
  if (settings.deletionThreshold !== undefined) {
    n.DeleteThresholdEnabled = settings.deletionThreshold !== false;
    if (settings.deletionThreshold !== false) n.DeleteThresholdValue = settings.deletionThreshold;
  }
  if (Object.keys(n).length) out.push({ key: 'SyncNotificationSettings', value: JSON.stringify(n) });
  if (settings.skipOutOfScopeDeletions !== undefined)
    out.push({ key: 'SkipOutOfScopeDeletions', value: String(settings.skipOutOfScopeDeletions) });
  return out;
}

/** The complete PUT body: credentials first, then the settings (a setting key wins over a credential cell). */
export function completeSecrets(credentials: readonly SecretPair[], settings: readonly SecretPair[]): SecretPair[] {
  const keys = new Set(settings.map((s) => s.key));
  return [...credentials.filter((c) => !keys.has(c.key)), ...settings];
}

/** One setting Graph did not keep as asked: safe to show (settings are not secrets). */
export interface SettingDifference {
  key: string;
  wanted: string;
  found: string | null;
}

function parseNotification(v: string | null): NotificationSettings | null {
  if (v === null) return null;
  try {
    const o = JSON.parse(v) as unknown;
    return typeof o === 'object' && o !== null ? (o as NotificationSettings) : null;
  } catch {
    return null;
  }
}

/**
 * Compares the wanted settings with a read-back. `SyncNotificationSettings` is compared field
 * by field (Graph may reorder or add fields); booleans ignore case ("True" / "true").
 */
export function compareSettings(wanted: readonly SecretPair[], saved: readonly SavedSecret[]): SettingDifference[] {
  const found = new Map(saved.map((s) => [s.key, s.value]));
  const diffs: SettingDifference[] = [];
  for (const w of wanted) {
    const got = found.get(w.key) ?? null;
    if (w.key === 'SyncNotificationSettings') {
      const want = parseNotification(w.value) ?? {};
      const have = parseNotification(got);
      const same =
        have !== null &&
        Object.entries(want).every(([k, v]) => String(have[k as keyof NotificationSettings]) === String(v));
      if (!same) diffs.push({ key: w.key, wanted: w.value, found: got });
    } else if ((got ?? '').toLowerCase() !== w.value.toLowerCase()) {
      diffs.push({ key: w.key, wanted: w.value, found: got });
    }
  }
  return diffs;
}

/** The scope a read-back says is saved: "all", "assigned", or null when SyncAll was never set. */
export function savedScope(saved: readonly SavedSecret[]): 'all' | 'assigned' | null {
  const v = saved.find((s) => s.key === 'SyncAll')?.value;
  if (v === undefined || v === null) return null;
  return v.toLowerCase() === 'true' ? 'all' : 'assigned';
}

/** "SyncAll: wanted false, Graph has true" lines for an error or a plan. */
export function describeDifferences(diffs: readonly SettingDifference[]): string {
  return diffs.map((d) => `${d.key}: wanted ${d.wanted}, Graph has ${d.found ?? 'nothing'}`).join('; ');
}
