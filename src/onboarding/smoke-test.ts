/**
 * provisionOnDemand for a canary: the rule id to send (from the job schema) and the answer
 * read. Graph answers a stringKeyStringValuePair whose `key` is JSON inside a string
 * (`{"result":"Skipped","details":{"errorCode":…,"errorMessage":…}}`) and whose `value` is the
 * provisioning record, also JSON inside a string (its `statusInfo` has status, errorCode, reason).
 */
import type { ProvisionOnDemandResponse, SynchronizationSchema } from '../graph/onboarding-schemas.ts';

export type SmokeResult = 'Success' | 'Skipped' | 'Failure';

export interface SmokeOutcome {
  result: SmokeResult;
  /** Graph's error code (Skipped and Failure usually carry one). */
  code: string | null;
  /** Graph's reason, as it said it. */
  reason: string | null;
}

/**
 * The rule to run: the first rule with an object mapping whose source is `type` (User or
 * Group) — Microsoft's example sends the schema's synchronizationRule id. Null when none: an
 * import-only job (AWS Single-Account Access imports roles from AWS) provisions no users, so it
 * has nothing to prove on demand.
 */
export function ruleIdFor(schema: SynchronizationSchema, type: 'User' | 'Group'): string | null {
  for (const rule of schema.synchronizationRules ?? [])
    if ((rule.objectMappings ?? []).some((o) => o.sourceObjectName.toLowerCase() === type.toLowerCase()))
      return rule.id;
  return null;
}

function json(s: string | null | undefined): Record<string, unknown> | null {
  if (!s) return null;
  try {
    const v = JSON.parse(s) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

function normalise(s: string | null): SmokeResult | null {
  const v = (s ?? '').toLowerCase();
  if (v === 'success' || v === 'succeeded') return 'Success';
  if (v === 'skipped') return 'Skipped';
  if (v === 'failure' || v === 'failed' || v === 'warning') return 'Failure';
  return null;
}

/** Reads Graph's answer; an answer it cannot read counts as a Failure naming that. */
export function parseOnDemand(res: ProvisionOnDemandResponse): SmokeOutcome {
  const key = json(res.key);
  const value = json(res.value);
  const details = (key?.details ?? {}) as Record<string, unknown>;
  const status = (value?.statusInfo ?? {}) as Record<string, unknown>;
  const result = normalise(str(key?.result)) ?? normalise(str(status.status));
  if (!result) return { result: 'Failure', code: 'UnreadableAnswer', reason: 'Graph answered without a result' };
  return {
    result,
    code: str(details.errorCode) ?? str(status.errorCode),
    reason: str(details.errorMessage) ?? str(status.reason),
  };
}

/** "Skipped (RedundantExport: The state of the user …)" for status rows and messages. */
export function describeOutcome(o: SmokeOutcome): string {
  const why = [o.code, o.reason].filter(Boolean).join(': ');
  return why ? `${o.result} (${why})` : o.result;
}
