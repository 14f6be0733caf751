/**
 * Scale run 1: `provflow enqueue FILE` of a 10,000-instance batch file, the real CLI in its own
 * process, into a fresh Redis with no workers. Measures the process's wall time (including
 * Node + tsx start-up), the enqueue's own duration (what the CLI reports), its peak RSS
 * (getrusage at exit, via the preloaded bench/proc-probe.mjs) and the Redis memory the queued
 * batch holds.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { spawnRedisServer } from '../src/dev/redis-server.ts';
import { procUsage } from './proc.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface EnqueueScaleResult {
  instances: number;
  added: number;
  /** The CLI's own measure: first ledger read to last flow added. */
  enqueueSeconds: number;
  /** The whole process: start-up, reading and validating the file, sealing, enqueueing, exit. */
  processSeconds: number;
  peakRssMb: number;
  cpuMs: number;
  batchFileMb: number;
  redisUsedMemoryMb: number;
  redisBytesPerQueuedInstance: number;
  exitCode: number | null;
}

function usedMemory(info: string): number {
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

export async function runEnqueueScale(n: number, say: (s: string) => void): Promise<EnqueueScaleResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'provflow-bench-enqueue-'));
  const redis = await spawnRedisServer();
  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  try {
    const file = path.join(dir, 'scale10k.json');
    const batch = {
      batchId: 'scale10k',
      description: `benchmark: ${n} instances`,
      defaults: {
        applicationTemplate: 'Amazon Web Services (AWS)',
        synchronizationTemplateId: 'aws',
        credentials: { ClientSecret: { value: `cs-${randomBytes(8).toString('hex')}` } },
      },
      instances: Array.from({ length: n }, (_, i) => ({
        displayName: `AWS Scale ${String(i).padStart(5, '0')}`,
        credentials: { SecretToken: { value: `tok-${randomBytes(12).toString('hex')}` } },
      })),
    };
    writeFileSync(file, JSON.stringify(batch, null, 1));
    const batchFileMb = Number((Buffer.byteLength(readFileSync(file)) / 1048576).toFixed(2));
    const before = usedMemory(await client.info('memory'));
    const probeOut = path.join(dir, 'enqueue.json');
    say(
      `  enqueue: ${n} instances (${batchFileMb} MB file) with \`provflow enqueue\` in its own process, fresh Redis, no workers…`,
    );
    const t0 = Date.now();
    // bin/provflow.js registers tsx itself; the probe is plain JavaScript.
    const child = spawn(
      process.execPath,
      [
        '--import',
        path.join(ROOT, 'bench/proc-probe.mjs'),
        path.join(ROOT, 'bin/provflow.js'),
        'enqueue',
        file,
        '--json',
      ],
      {
        cwd: dir, // no .env from the repository
        env: {
          ...process.env,
          REDIS_URL: redis.url,
          BULLMQ_PREFIX: '{pf-scale}',
          PROVFLOW_SECRET_KEY: randomBytes(32).toString('base64'),
          LOG_LEVEL: 'warn',
          BENCH_PROBE_DIR: dir,
          BENCH_PROBE_NAME: 'enqueue',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    let peakSampled = 0;
    let cpuSampled = 0;
    const sampler = setInterval(() => {
      const u = procUsage(child.pid);
      peakSampled = Math.max(peakSampled, u.peakRssMb);
      cpuSampled = Math.max(cpuSampled, u.cpuMs);
    }, 100);
    const progress = setInterval(
      () => say(`    enqueueing… ${((Date.now() - t0) / 1000).toFixed(0)} s, RSS ${procUsage(child.pid).rssMb} MB`),
      5000,
    );
    const exitCode = await new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    clearInterval(sampler);
    clearInterval(progress);
    const processSeconds = (Date.now() - t0) / 1000;
    if (exitCode !== 0) throw new Error(`provflow enqueue exited ${exitCode}: ${stderr.slice(-2000)}`);
    const res = JSON.parse(stdout.trim().split('\n').pop()!) as { added: number; durationMs: number };
    let probe: { maxRssMb: number; cpuMs: number } | null = null;
    try {
      probe = JSON.parse(readFileSync(probeOut, 'utf8')) as { maxRssMb: number; cpuMs: number };
    } catch {
      probe = null;
    }
    const after = usedMemory(await client.info('memory'));
    return {
      instances: n,
      added: res.added,
      enqueueSeconds: res.durationMs / 1000,
      processSeconds,
      peakRssMb: probe ? Math.max(probe.maxRssMb, peakSampled) : peakSampled,
      cpuMs: probe?.cpuMs ?? cpuSampled,
      batchFileMb,
      redisUsedMemoryMb: Number((after / 1048576).toFixed(1)),
      redisBytesPerQueuedInstance: Math.round((after - before) / n),
      exitCode,
    };
  } finally {
    client.disconnect();
    await redis.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
