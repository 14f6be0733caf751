/**
 * The one way provflow builds a logger: pino with redaction of everything secret-shaped.
 *
 * Why both `redact` paths and `redactString`: pino's paths catch secrets that sit in
 * structured fields (headers, credentials, token responses); `redactString` is for free text we
 * did not write ourselves (Graph error messages, MSAL messages) that might echo a value back.
 */
import { pino, type DestinationStream, type Logger as PinoLogger, type LevelWithSilent } from 'pino';

/** The logger type every module accepts (a pino logger). */
export type Logger = PinoLogger;

/** What replaces a secret in logs, errors and CLI output. */
export const REDACTED = '[REDACTED]';

/**
 * Field paths whose values never reach a log line. Top-level and one level down (`*.x`)
 * because call sites log either `{ token }` or `{ req: { headers } }`-shaped objects.
 */
const REDACT_PATHS: readonly string[] = [
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'clientSecret',
  'client_secret',
  'client_assertion',
  'privateKey',
  'password',
  'authorization',
  'Authorization',
  'secret',
  'secrets',
  'headers.authorization',
  'headers.Authorization',
  'credentials[*].value',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.clientSecret',
  '*.client_secret',
  '*.client_assertion',
  '*.privateKey',
  '*.password',
  '*.authorization',
  '*.Authorization',
  '*.secret',
  '*.secrets',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.credentials[*].value',
];

/** Options for `createLogger`. */
export interface CreateLoggerOptions {
  /** pino level; `silent` for tests. Defaults to `LOG_LEVEL` or `info`. */
  level?: LevelWithSilent | string;
  /** Component name, shown as `name` on every line. */
  name?: string;
  /** Where lines go (defaults to stdout). Tests pass a stream to inspect output. */
  destination?: DestinationStream;
  /** Extra paths to redact, on top of `REDACT_PATHS`. */
  redactPaths?: string[];
}

/** A pino logger with provflow's redaction rules. */
export function createLogger(opts: CreateLoggerOptions = {}): Logger {
  const options = {
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    name: opts.name,
    redact: { paths: [...REDACT_PATHS, ...(opts.redactPaths ?? [])], censor: REDACTED },
    // Error objects keep their stack but pino's default serializer is fine; nothing else custom.
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that writes nothing (default for library code when the caller passes none). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

const BEARER = /Bearer\s+[A-Za-z0-9\-._~+/]{8,}=*/g;

/**
 * Replaces every occurrence of each secret in `s` with `[REDACTED]`. Longest secrets first so a
 * secret that contains another is replaced whole. Empty strings are ignored (they would match
 * everywhere); the caller decides what counts as a secret. `Bearer …` tokens are always masked.
 */
export function redactString(s: string, secrets: ReadonlyArray<string | null | undefined>): string {
  const list = [...new Set(secrets.filter((x): x is string => typeof x === 'string' && x.length > 0))].sort(
    (a, b) => b.length - a.length,
  );
  let out = s;
  for (const secret of list) out = out.split(secret).join(REDACTED);
  // A bearer token pasted into free text (e.g. an echoed request) is a secret whoever wrote it.
  return out.replace(BEARER, `Bearer ${REDACTED}`);
}
