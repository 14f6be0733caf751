/**
 * Credentials that expire on a simulated date: a secret value `expires:<ISO date>:<rest>` is
 * valid before that date of the simulator's calendar (src/dev/sim/clock.ts) and rejected from
 * it on, as a SCIM token past its lifetime is (401 from the target application).
 */

/** `expires:2027-01-31:…` or `expires:2027-01-31T12:00:00Z:…` (an offset instead of Z is fine). */
const EXPIRES = /^expires:(\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?):/i;

/** The simulated date (ms) a secret value expires on, or null when it does not follow the convention. */
export function expiryOf(value: string): number | null {
  const m = EXPIRES.exec(value);
  if (!m) return null;
  // A bare date is midnight UTC; a time without a zone is UTC too (Date would read it as local).
  const iso = /T/.test(m[1]!) && !/(Z|[+-]\d{2}:\d{2})$/i.test(m[1]!) ? `${m[1]}Z` : m[1]!;
  const at = Date.parse(iso);
  return Number.isFinite(at) ? at : null;
}

/** The earliest expiry among credentials, with its key, or null when none expires. */
export function earliestExpiry(creds: { key: string; value: string }[]): { key: string; at: number } | null {
  let out: { key: string; at: number } | null = null;
  for (const c of creds) {
    const at = expiryOf(c.value);
    if (at !== null && (!out || at < out.at)) out = { key: c.key, at };
  }
  return out;
}

/** Why credentials fail at simulated time `simNow` because one has expired, or null. */
export function expiredProblem(creds: { key: string; value: string }[], simNow: number): string | null {
  const e = earliestExpiry(creds);
  if (!e || simNow < e.at) return null;
  return (
    `Failed to validate credentials: the target application rejected '${e.key}' (401 Unauthorized): ` +
    `the token expired on ${new Date(e.at).toISOString()}. ` +
    'Generate a new token in the application and update the credentials.'
  );
}
