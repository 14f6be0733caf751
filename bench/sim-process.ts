/** The simulator in its own process, for the benchmark: start, read its JSON line, fetch stats. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Agent, fetch } from 'undici';
import type { SimulatorHandle, SimulatorSettings, SimStats } from '../src/sim/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface SimProcess {
  child: ChildProcess;
  /** A handle for startLocalStack (stats() is not available synchronously across processes). */
  handle: SimulatorHandle;
  stats(): Promise<SimStats>;
  close(): Promise<void>;
}

export async function startSimProcess(args: { profile: string; seed: number; timeScale: number }): Promise<SimProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/sim/main.ts'), '--port', '0', '--profile', args.profile, '--seed', String(args.seed), '--time-scale', String(args.timeScale)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => resolve(l));
    child.once('exit', (code) => reject(new Error(`simulator exited ${code}`)));
  });
  const info = JSON.parse(line) as { graphBaseUrl: string; authorityHost: string; tenantId: string; clientId: string; clientSecret: string; caCertPath: string; settings: SimulatorSettings };
  const caCertPem = readFileSync(info.caCertPath, 'utf8');
  const agent = new Agent({ connect: { ca: caCertPem } });
  const stats = async () => (await (await fetch(`${info.graphBaseUrl}/_sim/stats`, { dispatcher: agent })).json()) as SimStats;
  const close = async () => {
    await agent.close();
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  };
  const handle: SimulatorHandle = {
    ...info,
    caCertPem,
    profile: args.profile as SimulatorHandle['profile'],
    seed: args.seed,
    timeScale: args.timeScale,
    stats: () => {
      throw new Error('use the async stats() of the simulator process');
    },
    issuedTokens: () => [],
    configure: () => {
      throw new Error('not available across processes');
    },
    reset: () => {},
    close,
  };
  return { child, handle, stats, close };
}

/** Peak resident set (VmHWM) and CPU time of a process, from /proc (Linux). */
export function procUsage(pid: number): { peakRssMb: number; cpuMs: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const ticks = Number(stat[11]) + Number(stat[12]); // utime + stime, fields 14 and 15
    return { peakRssMb: Math.round(hwm / 1024), cpuMs: ticks * 10 };
  } catch {
    return { peakRssMb: 0, cpuMs: 0 };
  }
}
