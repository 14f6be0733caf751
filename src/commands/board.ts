/** `provflow board`: Bull Board, /healthz and /metrics, authentication on by default. */
import { BoardStartError, runBoard } from '../board/run-board.ts';
import { connectRedis } from '../app/redis-connection.ts';
import { redisIsCluster } from '../config.ts';
import { CliExit, configFor, EXIT, err, processLogger } from './common.ts';

export async function runBoardCommand(o: {
  port: number;
  host?: string | undefined;
  insecureNoAuth: boolean;
  allowRetries: boolean;
}): Promise<void> {
  const cfg = await configFor(o.insecureNoAuth ? ['redis'] : ['redis', 'board']);
  const logger = processLogger(cfg, 'board');
  try {
    const board = await runBoard({
      redisUrl: cfg.REDIS_URL!,
      connect: redisIsCluster(cfg) ? (options) => connectRedis(cfg, options) : undefined,
      prefix: cfg.BULLMQ_PREFIX,
      port: o.port,
      // Loopback unless asked: --host, else BOARD_HOST (e.g. 0.0.0.0 inside a container).
      host: o.host ?? cfg.BOARD_HOST,
      username: cfg.BOARD_USERNAME,
      password: cfg.BOARD_PASSWORD,
      insecureNoAuth: o.insecureNoAuth,
      allowRetries: o.allowRetries,
      logger,
      handleSignals: true,
    });
    err(
      `board: ${board.url} (${o.allowRetries ? 'retries allowed' : 'read-only'}; ` +
        '/healthz and /metrics on the same port)',
    );
  } catch (e) {
    if (e instanceof BoardStartError) throw new CliExit(e.message, EXIT.badInput);
    throw e;
  }
}
