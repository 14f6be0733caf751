/** Shared bits of CLI commands: config loading with friendly failure, exit codes, output. */
import { ConfigError, loadConfig, loadDotEnv, type Config, type Requirement } from '../config.ts';
import { pino } from 'pino';
import { createLogger, type Logger } from '../logger.ts';
import { createRuntime, RedisUnreachableError, type Runtime, type RuntimeOptions } from '../app/runtime.ts';

/**
 * Exit codes: 0 ok, 1 failure at run time, 2 bad input or configuration (nothing was done),
 * 3 `provflow diff` found drift (Graph differs from the batch file).
 */
export const EXIT = { ok: 0, failed: 1, badInput: 2, drift: 3 } as const;

/** Raised by commands to stop with a message and an exit code (printed once by cli.ts). */
export class CliExit extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export async function configFor(require: Requirement[]): Promise<Config> {
  await loadDotEnv();
  try {
    return loadConfig(process.env, require);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliExit(err.message, EXIT.badInput);
    throw err;
  }
}

/** One-shot commands log to stderr so stdout stays clean for tables and --json. */
export function cliLogger(cfg: Pick<Config, 'LOG_LEVEL'>, name: string, level?: string): Logger {
  return createLogger({ level: level ?? cfg.LOG_LEVEL, name, destination: pino.destination({ fd: 2, sync: false }) });
}

/** Long-running processes (worker, poller, board) log JSON lines to stdout, where log collectors look. */
export function processLogger(cfg: Pick<Config, 'LOG_LEVEL'>, name: string): Logger {
  return createLogger({ level: cfg.LOG_LEVEL, name, destination: pino.destination({ fd: 1, sync: false }) });
}

export const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
export const err = (s: string) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`);

/**
 * Resolves once what was written to `stream` so far has reached the OS. Writes to a pipe are
 * asynchronous once its 64 KiB buffer is full: exiting before this would cut the output.
 */
function flushed(stream: NodeJS.WritableStream & { writable: boolean }): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.writable) return resolve();
    stream.write('', () => resolve());
  });
}

/**
 * `provflow status B | head`: once the reader is gone, the rest of the output has nowhere to go.
 * Stop quietly with the exit code so far, as Unix tools do, not with an unhandled EPIPE trace.
 */
export function exitQuietlyOnClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(Number(process.exitCode ?? 0));
      throw e;
    });
  }
}

/** Exits with `code` once stdout and stderr are flushed (whatever handles a library left open). */
export async function exitWhenFlushed(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

/** Prints a CliExit's message (or an unexpected error) once and exits with its code, output flushed. */
export async function reportAndExit(e: unknown): Promise<never> {
  if (e instanceof CliExit) {
    err(e.message);
    return exitWhenFlushed(e.code);
  }
  // A broken tenants file found while a process starts (worker, poller): bad input, exit 2.
  if (e instanceof ConfigError) {
    err(e.message);
    return exitWhenFlushed(EXIT.badInput);
  }
  err(`provflow: ${(e as Error)?.stack ?? String(e)}`);
  return exitWhenFlushed(EXIT.failed);
}

/**
 * The runtime of a one-shot command: gives up with exit 1 and a message naming REDIS_URL when
 * Redis does not answer within REDIS_CONNECT_TIMEOUT_MS (long-running processes retry for ever).
 */
export async function oneShotRuntime(cfg: Config, opts: Omit<RuntimeOptions, 'connectTimeoutMs'>): Promise<Runtime> {
  try {
    return await createRuntime(cfg, { ...opts, connectTimeoutMs: cfg.REDIS_CONNECT_TIMEOUT_MS });
  } catch (e) {
    if (e instanceof RedisUnreachableError) throw new CliExit(`provflow: ${e.message}`, EXIT.failed);
    throw e;
  }
}
