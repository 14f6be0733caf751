/**
 * The simulator in its own process, as Graph is for provflow: spawn `src/dev/sim/main.ts`, read its
 * one JSON line of connection details (with its effective `settings`), and talk to its /_sim
 * control endpoints over HTTPS (stats, configure, reset) trusting its CA. The benchmark and the
 * reliability suite use it so the simulator's clock — when a request arrived, when a throttling
 * answer left — is read by an event loop that nothing else keeps busy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Agent, fetch } from 'undici';
import type { SimProfile, SimulatorHandle, SimulatorSettings, SimStats } from './index.ts';
import { SIM_GROUPS, SIM_USERS } from './seed-directory.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface SimProcess {
  child: ChildProcess;
  /** For startLocalStack({ sim }): connection details and settings; in-process-only methods throw. */
  handle: SimulatorHandle;
  /** The settings the simulator printed at start (effective, already time-scaled). */
  settings: SimulatorSettings;
  stats(): Promise<SimStats>;
  /** POST /_sim/configure (values used as given, not re-scaled); returns the new settings. */
  configure(overrides: Partial<SimulatorSettings>): Promise<SimulatorSettings>;
  /** POST /_sim/reset: directory, secrets, quotas and counters cleared (issued tokens stay valid). */
  reset(): Promise<void>;
  /** POST /_sim/clock: `{advanceMs}`, `{advanceDays}` or `{set: ISO}`; returns the calendar. */
  moveClock(body: { advanceMs?: number; advanceDays?: number; set?: string }): Promise<{ now: string }>;
  /** POST /_sim/deletes: stage deletions on an instance's job for its next cycle. */
  stageDeletes(body: Parameters<SimulatorHandle['stageDeletes']>[0]): Promise<{ jobId: string }>;
  close(): Promise<void>;
}

export async function startSimProcess(args: {
  profile: SimProfile;
  seed: number;
  timeScale: number;
  /** Effective settings applied after start (like startSimulator's overrides: not re-scaled). */
  overrides?: Partial<SimulatorSettings>;
  env?: Record<string, string>;
}): Promise<SimProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'src/dev/sim/main.ts'),
      '--port',
      '0',
      '--profile',
      args.profile,
      '--seed',
      String(args.seed),
      '--time-scale',
      String(args.timeScale),
      // Stats, configure and reset are how the benchmark and the reliability suite drive it.
      '--control',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...args.env } },
  );
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error('the simulator printed nothing within 60 s')), 60_000);
    rl.once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    child.once('exit', (code) =>
      reject(new Error(`the simulator exited (${code}) before printing its connection line`)),
    );
  });
  child.stdout!.resume(); // nothing more is expected; never let a full pipe block it
  const LINE_KEYS = [
    'graphBaseUrl',
    'authorityHost',
    'tenantId',
    'clientId',
    'clientSecret',
    'caCertPath',
    'settings',
  ] as const;
  const info = JSON.parse(line) as Pick<SimulatorHandle, (typeof LINE_KEYS)[number]>;
  for (const k of LINE_KEYS) {
    if (!info[k]) throw new Error(`the simulator's JSON line has no ${k}: ${line.slice(0, 200)}`);
  }
  const caCertPem = readFileSync(info.caCertPath, 'utf8');
  const agent = new Agent({ connect: { ca: caCertPem }, connections: 4 });
  const control = async (method: 'GET' | 'POST', sub: string, body?: unknown) => {
    const res = await fetch(`${info.graphBaseUrl}/_sim/${sub}`, {
      method,
      dispatcher: agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`/_sim/${sub}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await agent.close().catch(() => {});
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  };
  const notHere = (what: string) => () => {
    throw new Error(`${what} is not available for a simulator in another process (use the SimProcess's async methods)`);
  };
  const settings =
    args.overrides && Object.keys(args.overrides).length
      ? ((await control('POST', 'configure', args.overrides)) as SimulatorSettings)
      : info.settings;
  const handle: SimulatorHandle = {
    graphBaseUrl: info.graphBaseUrl,
    authorityHost: info.authorityHost,
    tenantId: info.tenantId,
    clientId: info.clientId,
    clientSecret: info.clientSecret,
    caCertPath: info.caCertPath,
    caCertPem,
    profile: args.profile,
    seed: args.seed,
    timeScale: args.timeScale,
    settings,
    control: true,
    directory: { users: SIM_USERS, groups: SIM_GROUPS },
    stats: notHere('stats()'),
    issuedTokens: () => [],
    configure: notHere('configure()'),
    clock: notHere('clock()'),
    stageDeletes: notHere('stageDeletes()'),
    reset: notHere('reset()'),
    close,
  };
  return {
    child,
    handle,
    settings,
    stats: async () => (await control('GET', 'stats')) as SimStats,
    configure: async (o) => (await control('POST', 'configure', o)) as SimulatorSettings,
    reset: async () => {
      await control('POST', 'reset', {});
    },
    moveClock: async (b) => (await control('POST', 'clock', b)) as { now: string },
    stageDeletes: async (b) => (await control('POST', 'deletes', b)) as { jobId: string },
    close,
  };
}
