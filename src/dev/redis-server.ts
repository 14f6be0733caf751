/**
 * Finding or starting a Redis for the demo, the tests and the benchmark, in this order:
 * REDIS_URL if it answers; else a `redis-server` spawned on a free port in a temp dir; else
 * testcontainers when a Docker engine answers; else a message saying how to get Redis.
 * PROVFLOW_TEST_REDIS=container skips the first two: every Redis is a container.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

/** A running Redis and how to stop (or kill, or restart) it. */
export interface RedisHandle {
  url: string;
  /** Set only when this process spawned the server. */
  port: number | null;
  dir: string | null;
  child: ChildProcess | null;
  /** Stop it (SIGTERM, or SIGKILL with hard), keeping its data dir. */
  stop(opts?: { hard?: boolean }): Promise<void>;
  /** Start it again on the same port and dir (AOF is replayed when it was on). */
  restart(): Promise<void>;
  /** Stop it and delete its dir. */
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** True when a Redis at `url` answers PING within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function waitForRedis(url: string, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await redisAnswers(url, 500)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server at ${url} did not answer within ${deadlineMs} ms`);
}

/** Options for a spawned redis-server. */
export interface SpawnRedisOptions {
  /** Append-only file on (fsync everysec unless `fsync` says otherwise). */
  appendonly?: boolean;
  fsync?: 'always' | 'everysec' | 'no';
  port?: number;
}

/** Spawns `redis-server` on a free port in a fresh temp dir, configured as README recommends for BullMQ. */
export async function spawnRedisServer(opts: SpawnRedisOptions = {}): Promise<RedisHandle> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'provflow-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  const args = () => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    opts.appendonly ? 'yes' : 'no',
    '--appendfsync',
    opts.fsync ?? 'everysec',
    '--maxmemory-policy',
    'noeviction',
    '--logfile',
    path.join(dir, 'redis.log'),
  ];
  const start = async () => {
    child = spawn('redis-server', args(), { stdio: 'ignore' });
    const c = child;
    await new Promise<void>((resolve, reject) => {
      c.once('error', reject);
      c.once('spawn', () => resolve());
    });
    await waitForRedis(url, 10_000);
  };
  const stop = async ({ hard = false }: { hard?: boolean } = {}) => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(hard ? 'SIGKILL' : 'SIGTERM');
    await exited;
  };
  await start();
  const handle: RedisHandle = {
    url,
    port,
    dir,
    get child() {
      return child;
    },
    stop,
    restart: start,
    close: async () => {
      await stop({ hard: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

/** Exit code 0 of `docker ARGS` within `timeoutMs` (false when the CLI is missing). */
function dockerSucceeds(args: string[], timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn('docker', args, { stdio: 'ignore' });
    const t = setTimeout(() => {
      p.kill();
      resolve(false);
    }, timeoutMs);
    p.on('error', () => {
      clearTimeout(t);
      resolve(false);
    });
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve(code === 0);
    });
  });
}

async function dockerAnswers(): Promise<boolean> {
  return dockerSucceeds(['info', '--format', '{{.ServerVersion}}']);
}

const HOW_TO_GET_REDIS = [
  'provflow needs Redis (>= 6.2) and found none:',
  '  - set REDIS_URL to a reachable Redis, or',
  '  - install redis-server:  sudo apt-get install -y redis-server   |   brew install redis',
  '  - or run one in Docker:  docker run -d -p 6379:6379 redis:7 --appendonly yes --maxmemory-policy noeviction',
].join('\n');

/** Options for a Redis container: the spawn options, plus the image. */
export interface RedisContainerOptions extends SpawnRedisOptions {
  /** Any image with `redis-server` on PATH. Default: PROVFLOW_REDIS_IMAGE, else redis:7. */
  image?: string;
}

/**
 * Starts Redis in a container with testcontainers, configured like spawnRedisServer. The host
 * port is fixed, so the URL survives stop/restart. An engine without a default bridge network
 * (`dockerd --bridge=none`, as in CI) gets host networking with Redis on 127.0.0.1 instead of a
 * published port (and no testcontainers reaper, which needs one). Elsewhere the reaper is an
 * image pull: where no registry answers, set TESTCONTAINERS_RYUK_DISABLED=true (close() removes
 * the container either way).
 */
export async function startRedisContainer(opts: RedisContainerOptions = {}): Promise<RedisHandle> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const image = opts.image ?? process.env.PROVFLOW_REDIS_IMAGE ?? 'redis:7';
  const port = opts.port ?? (await freePort());
  const hostNetwork = !(await dockerSucceeds(['network', 'inspect', 'bridge']));
  if (hostNetwork) {
    // Without a bridge, testcontainers cannot find the engine's host from the bridge's gateway,
    // and its reaper (a container reached through a published port) cannot run at all.
    process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  }
  const args = [
    'redis-server',
    '--port',
    hostNetwork ? String(port) : '6379',
    '--bind',
    hostNetwork ? '127.0.0.1' : '0.0.0.0',
    '--protected-mode',
    'no',
    '--save',
    '',
    '--appendonly',
    opts.appendonly ? 'yes' : 'no',
    '--appendfsync',
    opts.fsync ?? 'everysec',
    '--maxmemory-policy',
    'noeviction',
  ];
  let container = new GenericContainer(image)
    .withCommand(args)
    .withLabels({ 'dev.provflow.role': 'redis' })
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/));
  container = hostNetwork
    ? container.withNetworkMode('host')
    : container.withExposedPorts({ container: 6379, host: port });
  const c = await container.start();
  const url = `redis://${hostNetwork ? '127.0.0.1' : c.getHost()}:${port}`;
  await waitForRedis(url, 10_000);
  // stop/restart/close go to the engine directly: testcontainers' stop() can only run once.
  const { getContainerRuntimeClient } = await import('testcontainers');
  const engine = (await getContainerRuntimeClient()).container.getById(c.getId());
  return {
    url,
    port,
    dir: null,
    child: null,
    stop: async ({ hard = false } = {}) => {
      if (hard) await engine.kill({ signal: 'SIGKILL' });
      else await engine.stop({ t: 10 });
      await engine.wait();
    },
    restart: async () => {
      await engine.start();
      await waitForRedis(url, 10_000);
    },
    close: async () => {
      await engine.remove({ force: true, v: true });
    },
  };
}

/**
 * Redis for the demo and tests. `preferSpawn` skips REDIS_URL (tests that must kill or restart
 * their own server).
 */
export async function obtainRedis(
  opts: { preferSpawn?: boolean; spawn?: SpawnRedisOptions } = {},
): Promise<RedisHandle> {
  if (process.env.PROVFLOW_TEST_REDIS === 'container') return startRedisContainer(opts.spawn);
  const envUrl = process.env.REDIS_URL;
  if (!opts.preferSpawn && envUrl && (await redisAnswers(envUrl))) {
    const noop = async () => {};
    return { url: envUrl, port: null, dir: null, child: null, stop: noop, restart: noop, close: noop };
  }
  try {
    return await spawnRedisServer(opts.spawn);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (await dockerAnswers()) return startRedisContainer(opts.spawn);
  throw new Error(HOW_TO_GET_REDIS);
}
