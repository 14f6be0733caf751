/** Shared bits of CLI commands: config loading with friendly failure, exit codes, output. */
import { ConfigError, loadConfig, loadDotEnv, type Config, type Requirement } from '../config.ts';
import { pino } from 'pino';
import { createLogger, type Logger } from '../logger.ts';

/** Exit codes: 0 ok, 1 failure at run time, 2 bad input or configuration (nothing was done). */
export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;

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

/** Logs go to stderr so stdout stays clean for tables and --json. */
export function cliLogger(cfg: Pick<Config, 'LOG_LEVEL'>, name: string, level?: string): Logger {
  return createLogger({ level: level ?? cfg.LOG_LEVEL, name, destination: pino.destination({ fd: 2, sync: false }) });
}

export const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
export const err = (s: string) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`);

/** Prints a CliExit's message (or an unexpected error) once and exits with its code. */
export function reportAndExit(e: unknown): never {
  if (e instanceof CliExit) {
    err(e.message);
    process.exit(e.code);
  }
  err(`provflow: ${(e as Error)?.stack ?? String(e)}`);
  process.exit(EXIT.failed);
}
