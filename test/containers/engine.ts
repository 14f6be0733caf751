/**
 * What the container tests need from the machine: a Docker engine that answers, the images
 * scripts/build-images.sh makes, and a Compose (the `docker compose` plugin, else Debian's
 * docker-compose 1.29). Tests skip with the reason when there is no engine, unless
 * PROVFLOW_REQUIRE_ENGINE=1 (set by .ci/run once it has an engine) makes that a failure.
 */
import { spawn, spawnSync } from 'node:child_process';

export const BASE_IMAGE = process.env.PROVFLOW_BASE_IMAGE ?? 'provflow-base:local';
export const IMAGE = process.env.PROVFLOW_IMAGE ?? 'provflow:local';

/** null when the engine answers and the images are there; otherwise why the tests cannot run. */
function whyNoEngine(images: string[] = [BASE_IMAGE]): string | null {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 10_000 });
  if (info.error) return `no docker CLI (${info.error.message})`;
  if (info.status !== 0) return `no Docker engine answers: ${(info.stderr || info.stdout).trim().split('\n')[0]}`;
  for (const image of images) {
    const r = spawnSync('docker', ['image', 'inspect', image], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) return `image ${image} is missing (run scripts/build-images.sh)`;
  }
  return null;
}

/** Skip (printing why) or fail (PROVFLOW_REQUIRE_ENGINE=1) when the engine or images are missing. */
export function engineOrSkip(images?: string[]): boolean {
  const why = whyNoEngine(images);
  if (why === null) return true;
  if (process.env.PROVFLOW_REQUIRE_ENGINE === '1') throw new Error(`container tests required, but ${why}`);
  console.warn(`container tests skipped: ${why}`);
  return false;
}

/** The Compose command line: the plugin when installed, else the standalone docker-compose. */
export function composeCommand(): string[] {
  if (spawnSync('docker', ['compose', 'version'], { timeout: 10_000 }).status === 0) return ['docker', 'compose'];
  return ['docker-compose'];
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a command to completion (killed after timeoutMs), capturing its output. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    p.on('error', (err) => {
      clearTimeout(t);
      reject(err);
    });
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Like run, but throws with the command's output when it does not exit 0. */
export async function mustRun(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code === 0) return r.stdout;
  throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stderr}\n${r.stdout}`.slice(0, 4000));
}
