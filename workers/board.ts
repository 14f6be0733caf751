/**
 * Process entry: the board (same as `provflow board`). Flags: --port N, --host H,
 * --insecure-no-auth, --allow-retries. Configuration from the environment (REDIS_URL,
 * BULLMQ_PREFIX, BOARD_USERNAME, BOARD_PASSWORD; PORT as a fallback for --port).
 */
import { parseArgs } from 'node:util';
import { BoardStartError, runBoard } from '../src/board/run-board.ts';
import { connectRedis } from '../src/app/redis-connection.ts';
import { ConfigError, loadConfig, loadDotEnv, redisIsCluster } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'insecure-no-auth': { type: 'boolean', default: false },
    'allow-retries': { type: 'boolean', default: false },
  },
});

try {
  await loadDotEnv();
  const cfg = loadConfig(process.env, ['redis']);
  const portText = values.port ?? process.env.PORT ?? '3000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new BoardStartError(`--port must be 0–65535, got '${portText}'`);
  await runBoard({
    redisUrl: cfg.REDIS_URL!,
    connect: redisIsCluster(cfg) ? (options) => connectRedis(cfg, options) : undefined,
    prefix: cfg.BULLMQ_PREFIX,
    port,
    host: values.host,
    username: cfg.BOARD_USERNAME,
    password: cfg.BOARD_PASSWORD,
    insecureNoAuth: values['insecure-no-auth'],
    allowRetries: values['allow-retries'],
    logger: createLogger({ name: 'board', level: cfg.LOG_LEVEL }),
  });
} catch (err) {
  if (err instanceof BoardStartError || err instanceof ConfigError) {
    process.stderr.write(`provflow board: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
