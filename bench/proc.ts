/** Child processes for the benchmark: resource usage from /proc, output capture, readiness. */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Queue } from 'bullmq';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* 100 on every Linux we know */
}

export interface ProcUsage {
  /** Current resident set (VmRSS). */
  rssMb: number;
  /** Peak resident set since the process started (VmHWM). */
  peakRssMb: number;
  /** User + system CPU time since the process started. */
  cpuMs: number;
}

/** Resource usage of a live process (Linux /proc); zeros when it is gone or /proc is absent. */
export function procUsage(pid: number | undefined): ProcUsage {
  if (!pid) return { rssMb: 0, peakRssMb: 0, cpuMs: 0 };
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    return {
      rssMb: Math.round(kb('VmRSS') / 1024),
      peakRssMb: Math.round(kb('VmHWM') / 1024),
      cpuMs: Math.round((ticks * 1000) / clkTck),
    };
  } catch {
    return { rssMb: 0, peakRssMb: 0, cpuMs: 0 };
  }
}

/** This process: peak RSS (getrusage) and CPU time. */
export function selfUsage(): ProcUsage {
  const cpu = process.cpuUsage();
  return {
    rssMb: Math.round(process.memoryUsage().rss / 1048576),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  };
}

/** Difference of two samples of the same process (CPU only; RSS fields are from `after`). */
export function usageSince(after: ProcUsage, before: ProcUsage): ProcUsage {
  return { ...after, cpuMs: Math.max(0, after.cpuMs - before.cpuMs) };
}

/** Keeps the last lines a child wrote (stdout and stderr), so a failure can show them; drains the pipes. */
export function captureOutput(child: ChildProcess, keep = 40): { lines(): string[]; count(): number } {
  const tail: string[] = [];
  let count = 0;
  const onData = (buf: Buffer) => {
    for (const l of buf.toString('utf8').split('\n')) {
      if (!l.trim()) continue;
      count++;
      tail.push(l.length > 400 ? `${l.slice(0, 400)}…` : l);
      if (tail.length > keep) tail.shift();
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return { lines: () => [...tail], count: () => count };
}

/** Waits until `n` BullMQ workers are connected to `queue` (or throws after `timeoutMs`). */
export async function waitForWorkers(
  queue: Queue,
  n: number,
  timeoutMs: number,
  exited: () => string | null,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const why = exited();
    if (why) throw new Error(why);
    if ((await queue.getWorkersCount()) >= n) return;
    if (Date.now() > end) throw new Error(`no worker on ${queue.name} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}
