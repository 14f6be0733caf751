/**
 * Masking for everything the board shows. Two layers, because neither alone is enough:
 *
 * - `maskSensitive` walks job payloads (data, return values, progress) and hides the value of
 *   any field whose *name* says it is secret, and the `value` of Graph-style `{ key, value }`
 *   secret pairs. Names are the reliable signal inside structured data.
 * - `redactText` rewrites free text (failure reasons, stack traces, logs, and every string in a
 *   payload) and hides anything whose *shape* is secret: bearer tokens, JWTs, sealed blobs,
 *   `client_secret=…` form fields, `"password":"…"` JSON fragments. Shapes are the only signal
 *   in text we did not write (Graph error bodies, MSAL messages).
 *
 * Both are pure: they return new values and never mutate what the queue library handed over.
 */
import { REDACTED } from '../logger.ts';

export { REDACTED };

/** Field names whose values are hidden wherever they occur in a payload. */
const SENSITIVE_KEY = /secret|token|password|credential|sealed|key$/i;

/**
 * Names that end in "key" but are identifiers operators need to see (job ids are built from
 * `instanceKey`). Lower-cased; compared exactly.
 */
const IDENTIFIER_KEYS = new Set([
  'instancekey',
  'batchkey',
  'idempotencykey',
  'repeatjobkey',
  'parentkey',
  'deduplicationkey',
  'dedupkey',
  'cachekey',
  'sortkey',
  'partitionkey',
]);

/** True when a field with this name must not be shown. */
export function isSensitiveKey(name: string): boolean {
  return SENSITIVE_KEY.test(name) && !IDENTIFIER_KEYS.has(name.toLowerCase());
}

// `Bearer <anything>` — no minimum length: a short token is still a token.
const BEARER = /\bBearer\s+[^\s"',;)\]}]+/gi;
// A JWT (header.payload[.signature]); the header always starts with base64url of `{"`.
const JWT = /\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*)?/g;
// provflow's sealed credential blobs: `v<version>.<key id>.<payload…>`. Four or more key-id
// characters so that `/v1.0/…` in a Graph URL is never taken for one.
const SEALED = /\bv\d{1,3}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9._~+/=-]+/g;
// Form/query fields (token requests, echoed URLs).
const FORM_FIELD = /\b(client_secret|client_assertion|access_token|refresh_token|id_token|password|secret)=[^&\s"']+/gi;
// JSON embedded in a message: `"clientSecret":"…"`.
const JSON_FIELD = /("[^"\\]*(?:secret|token|password|credential)[^"\\]*"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

/** Rewrites secret-shaped substrings of `text` to `[REDACTED]`. */
export function redactText(text: string): string {
  return text
    .replace(BEARER, `Bearer ${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(SEALED, REDACTED)
    .replace(FORM_FIELD, (_m, name: string) => `${name}=${REDACTED}`)
    .replace(JSON_FIELD, (_m, head: string) => `${head}"${REDACTED}"`);
}

const MAX_DEPTH = 32;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A copy of `value` with sensitive fields hidden and every string passed through `redactText`.
 * Booleans and nulls under sensitive names are kept: `secretsSaved: true` is status, not a secret.
 */
export function maskSensitive(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return '[TRUNCATED]';
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map((v) => maskSensitive(v, depth + 1));
  if (!isPlainObject(value)) return value;
  // Graph's synchronization secrets are `{ key: 'SecretToken', value: '…' }`: the name is in
  // `key`, not in the field name, so the pair's value is hidden whatever its key says.
  const isSecretPair = typeof value.key === 'string' && 'value' in value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (isSecretPair && k === 'value') out[k] = hide(v);
    else if (k === 'key' && isSecretPair) out[k] = typeof v === 'string' ? redactText(v) : v;
    else if (isSensitiveKey(k)) out[k] = hide(v);
    else out[k] = maskSensitive(v, depth + 1);
  }
  return out;
}

function hide(v: unknown): unknown {
  return v === null || v === undefined || typeof v === 'boolean' ? v : REDACTED;
}

/** Fields of a board API response that carry job payloads, masked by name as well as by shape. */
const PAYLOAD_FIELDS = new Set(['data', 'returnValue', 'returnvalue', 'progress', 'template']);

/**
 * Last line of defence over a whole board API response body: payload fields get
 * `maskSensitive`, every other string `redactText` (failure reasons, stack traces, logs, flow
 * nodes, scheduler templates — fields Bull Board has no formatter hook for).
 */
export function redactResponse(body: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return '[TRUNCATED]';
  if (typeof body === 'string') return redactText(body);
  if (Array.isArray(body)) return body.map((v) => redactResponse(v, depth + 1));
  if (!isPlainObject(body)) return body;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    out[k] = PAYLOAD_FIELDS.has(k) ? maskSensitive(v, depth + 1) : redactResponse(v, depth + 1);
  }
  return out;
}
