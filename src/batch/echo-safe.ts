/**
 * Whether text from the batch file may be quoted back in a message. People paste secrets where
 * a variable name, a path or a column name goes; an error message must not print them back.
 * These checks let through what looks like a name or a path and describe anything else by its
 * length only.
 */

const REFERENCE_PREFIX = /^\s*(env|file|value):/i;

/** A run of letters and digits long and mixed enough to be a key, a token or a hash. */
function secretLikeRun(run: string): boolean {
  if (run.length >= 32) return true;
  if (run.length < 12) return false;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((re) => re.test(run)).length;
  return classes >= 2;
}

/** True when any separator-free part of `text` looks like a credential. */
function hasSecretLikeRun(text: string): boolean {
  return text.split(/[^A-Za-z0-9]+/).some(secretLikeRun);
}

/**
 * For JSON keys and path segments, which are CamelCase names by design (`SyncNotificationSettings`):
 * only a run with several digits, or one longer than any Graph key, or a reference, is a pasted value.
 */
export function keyLooksLikeValue(key: string): boolean {
  if (looksLikeCredentialReference(key)) return true;
  return key
    .split(/[^A-Za-z0-9]+/)
    .some((run) => run.length >= 40 || (run.length >= 16 && (run.match(/[0-9]/g)?.length ?? 0) >= 3));
}

/** True for a cell written as a credential reference (`env:…`, `file:…`, `value:…`). */
export function looksLikeCredentialReference(text: string): boolean {
  return REFERENCE_PREFIX.test(text);
}

/**
 * Variable names people write: `AWS_SECRET_TOKEN`, `HOME`, `http_proxy`. A lowercase word
 * with no `_` (`hunter2`) or a long mixed run (`AKIAIOSFODNN7EXAMPLE`) is more likely a value.
 */
export function mayEchoVariableName(name: string): boolean {
  if (name.length > 64 || hasSecretLikeRun(name)) return false;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && (name.includes('_') || !/[a-z]/.test(name));
}

/** Paths people write: with a `/`, `\` or a `.` (`./token.txt`, `/run/secrets/aws`). */
export function mayEchoPath(path: string): boolean {
  if (path.length > 1024 || hasSecretLikeRun(path) || /\s{2,}/.test(path)) return false;
  return /[/\\.]/.test(path);
}

/** Column names people write: a short identifier, e.g. `ClientSecrt`, `Email`, `Cost center`. */
export function mayEchoColumnName(name: string): boolean {
  if (looksLikeCredentialReference(name) || hasSecretLikeRun(name)) return false;
  return /^[A-Za-z][A-Za-z0-9_ ]{0,39}$/.test(name) && !/[0-9]/.test(name);
}

/** `(17 characters, not shown)`: how to mention text that may be a credential. */
export function hidden(text: string): string {
  const n = [...text].length;
  return `(${n} character${n === 1 ? '' : 's'}, not shown)`;
}
