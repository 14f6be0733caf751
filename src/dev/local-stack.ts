/**
 * A complete local provflow stack: the Graph simulator, a Redis, and the environment that
 * points provflow at them with every duration scaled to the simulator's clock. Used by the
 * demo, the end-to-end tests, the chaos suite and the benchmark, so all of them run the same
 * production code paths (MSAL, fetch, BullMQ) the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { obtainRedis, type RedisHandle, type SpawnRedisOptions } from './redis-server.ts';
import { startSimulator, type SimProfile, type SimulatorHandle, type SimulatorSettings } from './sim/index.ts';
import { createRuntime, type Runtime } from '../app/runtime.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface LocalStackOptions {
  profile?: SimProfile;
  timeScale?: number;
  seed?: number;
  overrides?: Partial<SimulatorSettings>;
  /** Use an existing simulator (e.g. one in its own process) instead of starting one. */
  sim?: SimulatorHandle;
  /** Spawn a private redis-server even when REDIS_URL is set (tests that kill or restart Redis). */
  ownRedis?: boolean;
  redisSpawn?: SpawnRedisOptions;
  prefix?: string;
  /** Extra environment (overrides the derived one). */
  env?: Record<string, string>;
}

export interface LocalStack {
  sim: SimulatorHandle;
  redis: RedisHandle;
  prefix: string;
  /** Environment for provflow processes (also what `cfg` was parsed from). */
  env: Record<string, string>;
  cfg: Config;
  /** An in-process runtime with a Graph client trusting the simulator's CA. */
  runtime(logger: Logger, opts?: { ruShare?: number }): Promise<Runtime>;
  /** A real child process: `provflow worker` or `provflow poller` (stdout/stderr piped and always drained). */
  spawnProcess(kind: 'worker' | 'poller', extraEnv?: Record<string, string>): ChildProcess;
  /** The last lines (up to 200) a child from `spawnProcess` wrote. */
  outputOf(child: ChildProcess): string[];
  close(): Promise<void>;
}

/** provflow's durations, scaled like the simulator's clock. */
export function scaledEnv(sim: SimulatorHandle, timeScale: number): Record<string, string> {
  const s = sim.settings;
  const scale = (ms: number) => String(Math.max(10, Math.round(ms / timeScale)));
  return {
    AZURE_TENANT_ID: sim.tenantId,
    AZURE_CLIENT_ID: sim.clientId,
    AZURE_CLIENT_SECRET: sim.clientSecret,
    AZURE_AUTHORITY_HOST: sim.authorityHost,
    GRAPH_BASE_URL: sim.graphBaseUrl,
    NODE_EXTRA_CA_CERTS: sim.caCertPath,
    GRAPH_WRITE_LIMIT: String(s.writeLimit),
    GRAPH_WRITE_WINDOW_MS: String(s.writeWindowMs),
    GRAPH_RU_LIMIT: String(s.ruLimit),
    GRAPH_RU_WINDOW_MS: String(s.ruWindowMs),
    GRAPH_REPORTS_LIMIT: String(s.reportsLimit),
    GRAPH_REPORTS_WINDOW_MS: String(s.reportsWindowMs),
    // Deadlines are not compressed below what a loaded 2-core machine needs: a slow host must
    // not turn into failed instances (they are safety nets, not the behaviour under test).
    REPLICATION_TIMEOUT_MS: String(Math.max(60_000, Number(scale(600_000)), s.replicationLagMs.max * 4)),
    // Long enough for the simulator's slowest replication, four times over (a real tenant's
    // default is 5 minutes because Microsoft publishes no bound; the simulator has one).
    RECONCILE_WINDOW_MS: String(Math.max(1000, s.replicationLagMs.max * 4)),
    REPLICATION_POLL_MS: scale(5_000),
    ROLE_IMPORT_TIMEOUT_MS: String(Math.max(60_000, Number(scale(3_600_000)))),
    POLLER_MIN_INTERVAL_MS: scale(5_000),
    POLLER_MAX_INTERVAL_MS: scale(300_000),
    POLLER_DEADLINE_MS: scale(7_200_000),
    POLLER_START_GRACE_MS: String(Math.max(15_000, Number(scale(120_000)))),
    GRAPH_REQUEST_TIMEOUT_MS: String(Math.max(5_000, Number(scale(30_000)))),
  };
}

export async function startLocalStack(o: LocalStackOptions = {}): Promise<LocalStack> {
  const timeScale = o.timeScale ?? 20;
  const sim =
    o.sim ??
    (await startSimulator({ profile: o.profile ?? 'fast', seed: o.seed ?? 1, timeScale, overrides: o.overrides }));
  const redis = await obtainRedis({ preferSpawn: o.ownRedis, spawn: o.redisSpawn });
  const prefix = o.prefix ?? `{pf-${randomBytes(3).toString('hex')}}`;
  const env: Record<string, string> = {
    REDIS_URL: redis.url,
    BULLMQ_PREFIX: prefix,
    PROVFLOW_SECRET_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'warn',
    ...scaledEnv(sim, timeScale),
    ...o.env,
  };
  const cfg = loadConfig({ ...env });
  const children = new Set<ChildProcess>();
  const outputTails = new WeakMap<ChildProcess, string[]>();
  return {
    sim,
    redis,
    prefix,
    env,
    cfg,
    runtime: (logger, opts = {}) =>
      createRuntime(cfg, {
        logger,
        withGraph: true,
        extraCaPem: sim.caCertPem,
        ruShare: opts.ruShare,
        stepSettings: { replicationPollMs: Number(env.REPLICATION_POLL_MS) },
      }),
    outputOf: (child) => [...(outputTails.get(child) ?? [])],
    spawnProcess(kind, extraEnv = {}) {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(ROOT, 'workers', kind === 'worker' ? 'steps.ts' : 'poller.ts')],
        {
          cwd: ROOT,
          env: { ...process.env, ...env, ...extraEnv },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      // Always drain the pipes: a child whose stdout nobody reads blocks in its next log write
      // once the pipe buffer (64 KB) is full — a stalled event loop that looks like a bug in
      // whatever the child was doing. The last lines are kept for diagnosis.
      const tail: string[] = [];
      const keep = (buf: Buffer) => {
        for (const line of buf.toString('utf8').split('\n')) {
          if (!line.trim()) continue;
          tail.push(line);
          if (tail.length > 200) tail.shift();
        }
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      outputTails.set(child, tail);
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    async close() {
      await Promise.all(
        [...children].map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGKILL');
            }),
        ),
      );
      await redis.close();
      if (!o.sim) await sim.close();
    },
  };
}
