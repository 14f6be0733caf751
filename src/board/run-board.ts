/**
 * `provflow board`: the long-running board process. Refuses unsafe configurations before it
 * touches the network, listens, and closes cleanly on SIGTERM/SIGINT.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_PREFIX } from '../flow/queues.ts';
import { silentLogger, type Logger } from '../logger.ts';
import { BOARD_BASE_PATH, createBoardApp, type CreateBoardAppOptions } from './create-board-app.ts';
import { isLoopbackHost } from './security.ts';

/** Options for `runBoard` (the CLI maps flags and config onto these). */
export interface RunBoardOptions {
  /** `REDIS_URL`. */
  redisUrl: string;
  /** Connects to a Redis Cluster instead (see `CreateBoardAppOptions.connect`). */
  connect?: CreateBoardAppOptions['connect'];
  /** `BULLMQ_PREFIX` (default `{provflow}`). */
  prefix?: string;
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Interface to bind (`--host` / `BOARD_HOST`). Default `127.0.0.1`: exposure is explicit. */
  host?: string | undefined;
  /** `BOARD_USERNAME` / `BOARD_PASSWORD`: required unless `insecureNoAuth`. */
  username?: string | undefined;
  password?: string | undefined;
  /** `--insecure-no-auth`: no authentication, loopback only. */
  insecureNoAuth?: boolean;
  /** `--allow-retries`: retry failed jobs and promote delayed ones from the board. */
  allowRetries?: boolean;
  title?: string;
  logger?: Logger;
  /**
   * Close on SIGTERM/SIGINT (default true; tests pass false). The process exits afterwards only
   * when no other handler listens for the signal, so an embedding command keeps control.
   */
  handleSignals?: boolean;
}

/** A listening board. */
export interface RunningBoard {
  /** Base URL of the board UI, e.g. `http://127.0.0.1:3000/board/`. */
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/** The board refused to start; the message says what to change. */
export class BoardStartError extends Error {
  override readonly name = 'BoardStartError';
}

export { isLoopbackHost };

/** Shortest BOARD_PASSWORD accepted (in characters). */
const MIN_BOARD_PASSWORD_LENGTH = 12;

/** Checks the options and returns the resolved host and credentials, or throws BoardStartError. */
function resolveBoardSecurity(opts: RunBoardOptions): {
  host: string;
  auth: { username: string; password: string } | null;
} {
  if (opts.insecureNoAuth) {
    const host = opts.host ?? '127.0.0.1';
    if (!isLoopbackHost(host)) {
      throw new BoardStartError(
        '--insecure-no-auth serves the board without authentication, so it binds to loopback only; ' +
          `refusing host '${host}'. ` +
          'Use 127.0.0.1 (and an SSH tunnel to reach it remotely), or set BOARD_USERNAME and BOARD_PASSWORD.',
      );
    }
    return { host, auth: null };
  }
  const missing = [!opts.username && 'BOARD_USERNAME', !opts.password && 'BOARD_PASSWORD'].filter(Boolean);
  if (missing.length > 0) {
    throw new BoardStartError(
      'refusing to start the board without authentication: ' +
        `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set. ` +
        'Set BOARD_USERNAME and BOARD_PASSWORD, ' +
        'or pass --insecure-no-auth to serve it unauthenticated on 127.0.0.1 only.',
    );
  }
  if (opts.username!.includes(':'))
    throw new BoardStartError('BOARD_USERNAME must not contain ":" (HTTP Basic cannot carry it).');
  if ([...opts.password!].length < MIN_BOARD_PASSWORD_LENGTH) {
    throw new BoardStartError(
      `BOARD_PASSWORD is shorter than ${MIN_BOARD_PASSWORD_LENGTH} characters, too easy to guess for a page that ` +
        'shows every queue; set a longer one, e.g. BOARD_PASSWORD=$(openssl rand -base64 18)',
    );
  }
  return { host: opts.host ?? '127.0.0.1', auth: { username: opts.username!, password: opts.password! } };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Starts the board and resolves once it listens. */
export async function runBoard(opts: RunBoardOptions): Promise<RunningBoard> {
  const logger = opts.logger ?? silentLogger();
  const { host, auth } = resolveBoardSecurity(opts);
  if (!auth) logger.warn('board: authentication is OFF (--insecure-no-auth); listening on loopback only');
  if (auth && !isLoopbackHost(host)) {
    logger.warn(
      { host },
      'board: listening beyond loopback with HTTP Basic over plain HTTP: the password crosses the network in clear ' +
        'unless a TLS reverse proxy (or a VPN/SSH tunnel) is in front',
    );
  }

  const board = createBoardApp({
    redis: opts.redisUrl,
    connect: opts.connect,
    prefix: opts.prefix ?? DEFAULT_PREFIX,
    allowRetries: opts.allowRetries ?? false,
    readOnly: true,
    auth,
    title: opts.title ?? 'provflow',
    logger,
  });
  const { createServer } = await import('node:http');
  const server = createServer(board.app);
  // Keep-alive sockets from browsers would otherwise hold close() open until they time out.
  server.keepAliveTimeout = 5000;
  try {
    await listen(server, opts.port ?? 3000, host);
  } catch (err) {
    await board.close();
    throw new BoardStartError(`the board could not listen on ${host}:${opts.port ?? 3000}: ${(err as Error).message}`);
  }
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}${BOARD_BASE_PATH}/`;
  logger.info({ url, mode: board.mode, auth: auth ? 'basic' : 'off' }, 'board: listening');

  let closing: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'board: shutting down');
    // Embedded (the demo) another handler owns the process's exit; standalone, we do.
    const standalone = process.listenerCount(signal) === 0;
    void close().then(
      () => standalone && process.exit(0),
      () => standalone && process.exit(1),
    );
  };
  const close = () =>
    (closing ??= (async () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Long-polling browsers: give in-flight requests a moment, then cut.
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      await board.close();
    })());
  if (opts.handleSignals ?? true) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { url, host, port, close };
}
