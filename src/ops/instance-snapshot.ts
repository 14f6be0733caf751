/**
 * What Graph holds for one instance, read by the ids the ledger holds, in a stable shape that
 * never carries a credential value: `export` writes it, `diff` compares it with the batch file.
 *
 * Extension point: `SNAPSHOT_SECTIONS` lists the sections besides the job and its saved keys
 * (settings, assignments and the job schema join here as the onboarding steps gain them); each
 * reads its part and `diff` compares it through the section's `compare`.
 */
import { isSecretValuedKey } from '../batch/secret-keys.ts';
import type { BatchInstance } from '../batch/batch-types.ts';
import { GraphError } from '../graph/errors.ts';
import type { GraphApi } from '../graph/graph-api.ts';
import type { InstanceRecord } from '../ledger/ledger.ts';
import { compareSettings, compileSettings } from '../onboarding/settings.ts';
import { assignmentsSection, schemaSection } from './onboarding-sections.ts';

/** Graph's mask for credential values read back. */
const MASKED = '*';

interface JobSnapshot {
  templateId: string | null;
  code: string | null;
  scheduleState: string | null;
  quarantineReason: string | null;
  lastExecutionState: string | null;
}

export interface InstanceSnapshot {
  batchId: string;
  displayName: string;
  instanceKey: string;
  state: string;
  ids: Record<string, string>;
  /** null: the job (or service principal) is not in Graph. */
  job: JobSnapshot | null;
  /** Settings saved with the secrets that Graph returns in clear, by key. */
  settings: Record<string, string> | null;
  /** Keys saved whose values are credentials: names only, never values. */
  credentialKeys: string[] | null;
  /** Further sections (SNAPSHOT_SECTIONS), by name. */
  sections: Record<string, unknown>;
}

/** One difference between the batch file and Graph. Values of credential keys are never shown. */
export interface Difference {
  field: string;
  desired: string;
  actual: string;
}

/** A part of an instance read from Graph and compared with the batch file (see the module comment). */
export interface SnapshotSection {
  name: string;
  read(graph: GraphApi, r: InstanceRecord): Promise<unknown>;
  /** May read Graph to resolve what the file names (group names, role names, schema vocabulary). */
  compare?(graph: GraphApi, desired: BatchInstance, actual: unknown, r: InstanceRecord): Promise<Difference[]>;
}

const SNAPSHOT_SECTIONS: SnapshotSection[] = [assignmentsSection, schemaSection];

export async function readSnapshot(graph: GraphApi, batchId: string, r: InstanceRecord): Promise<InstanceSnapshot> {
  const ids: Record<string, string> = {};
  for (const k of ['applicationObjectId', 'appId', 'servicePrincipalId', 'jobId', 'templateId'] as const) {
    const v = r[k];
    if (v) ids[k] = v;
  }
  const snap: InstanceSnapshot = {
    batchId,
    displayName: r.displayName,
    instanceKey: r.instanceKey,
    state: r.state,
    ids,
    job: null,
    settings: null,
    credentialKeys: null,
    sections: {},
  };
  if (!r.servicePrincipalId) return snap;
  if (r.jobId) {
    const job = await graph.getSynchronizationJob(r.servicePrincipalId, r.jobId);
    if (job)
      snap.job = {
        templateId: job.templateId ?? null,
        code: job.status?.code ?? null,
        scheduleState: job.schedule?.state ?? null,
        quarantineReason: job.status?.quarantine?.reason || null,
        lastExecutionState: job.status?.lastExecution?.state ?? null,
      };
  }
  const saved = await graph.getSynchronizationSecrets(r.servicePrincipalId).catch((e: unknown) => {
    if (e instanceof GraphError && e.status === 404) return null; // the service principal is gone
    throw e;
  });
  if (saved) {
    const settings: Record<string, string> = {};
    const creds: string[] = [];
    for (const p of saved) {
      // A credential key is listed by name even if Graph ever returned its value in clear.
      if (p.value === MASKED || p.value === null || isSecretValuedKey(p.key)) creds.push(p.key);
      else settings[p.key] = p.value;
    }
    snap.settings = settings;
    snap.credentialKeys = creds.sort();
  }
  for (const s of SNAPSHOT_SECTIONS) snap.sections[s.name] = await s.read(graph, r);
  return snap;
}

/** JSON with keys sorted at every level and a final newline: the same state gives the same bytes. */
export function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}

/** The differences between one instance of the batch file and its snapshot. */
export async function compareInstance(
  graph: GraphApi,
  desired: BatchInstance,
  snap: InstanceSnapshot,
  r: InstanceRecord,
): Promise<Difference[]> {
  const diffs: Difference[] = [...compareJob(desired, snap)];
  if (snap.settings && snap.credentialKeys) diffs.push(...compareSecrets(desired, snap.settings, snap.credentialKeys));
  for (const s of SNAPSHOT_SECTIONS)
    if (s.compare) diffs.push(...(await s.compare(graph, desired, snap.sections[s.name], r)));
  return diffs;
}

function compareJob(desired: BatchInstance, snap: InstanceSnapshot): Difference[] {
  const diffs: Difference[] = [];
  const want = desired.expect ?? 'steady';
  if (!snap.job) return [{ field: 'job', desired: 'present', actual: 'not in Graph' }];
  if (snap.job.code === 'Quarantine' && want !== 'quarantined')
    diffs.push({
      field: 'job.status',
      desired: 'running',
      actual: `quarantined (${snap.job.quarantineReason ?? '?'})`,
    });
  else if (snap.job.code === 'Paused' || snap.job.scheduleState === 'Paused')
    diffs.push({ field: 'job.status', desired: 'running', actual: 'paused' });
  else if (snap.job.scheduleState === 'Disabled' || snap.job.code === 'NotConfigured')
    diffs.push({ field: 'job.status', desired: 'running', actual: 'not started' });
  if (desired.synchronizationTemplateId && snap.job.templateId !== desired.synchronizationTemplateId)
    diffs.push({
      field: 'job.templateId',
      desired: desired.synchronizationTemplateId,
      actual: snap.job.templateId ?? '(none)',
    });
  return diffs;
}

/**
 * Saved keys against the file's credentials and compiled settings (the one secrets PUT holds
 * both): a key missing or extra, a setting's value (compared as onboarding compares its read-back).
 */
function compareSecrets(desired: BatchInstance, clear: Record<string, string>, masked: string[]): Difference[] {
  const diffs: Difference[] = [];
  const wantedSettings = compileSettings(desired.onboarding?.settings);
  const settingKeys = new Set(wantedSettings.map((p) => p.key));
  const savedKeys = new Set([...Object.keys(clear), ...masked]);
  const fileKeys = new Set([...desired.credentials.map((c) => c.key), ...settingKeys]);
  for (const c of desired.credentials) {
    if (settingKeys.has(c.key)) continue; // a setting wins over a credential cell of the same key
    const secret = isSecretValuedKey(c.key);
    if (!savedKeys.has(c.key))
      diffs.push({ field: `secrets.${c.key}`, desired: secret ? '(set)' : c.value, actual: '(not saved)' });
    else if (!secret && c.key in clear && clear[c.key] !== c.value)
      diffs.push({ field: `secrets.${c.key}`, desired: c.value, actual: clear[c.key]! });
  }
  const saved = Object.entries(clear).map(([key, value]) => ({ key, value }));
  for (const d of compareSettings(wantedSettings, saved))
    diffs.push({ field: `settings.${d.key}`, desired: d.wanted, actual: d.found ?? '(not saved)' });
  for (const k of [...savedKeys].sort())
    if (!fileKeys.has(k))
      diffs.push({
        field: `secrets.${k}`,
        desired: '(not in file)',
        actual: isSecretValuedKey(k) || !(k in clear) ? '(set)' : clear[k]!,
      });
  return diffs;
}
