/**
 * The simulator in its own process, as benchmarks and cross-process tests run it:
 * `node --import tsx src/sim/main.ts …` prints one JSON line of connection details, answers
 * `/_sim/stats`, `/_sim/configure` and `/_sim/reset` without a token, and exits 0 on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, fetch } from 'undici';

let child: ChildProcess | null = null;
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = null;
});

interface Connection {
  graphBaseUrl: string;
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  caCertPath: string;
  profile: string;
  seed: number;
  timeScale: number;
  settings: Record<string, unknown>;
}

async function firstLine(p: ChildProcess): Promise<string> {
  const rl = createInterface({ input: p.stdout! });
  return new Promise((resolve, reject) => {
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
    p.once('exit', (code) => reject(new Error(`simulator exited early (${code})`)));
  });
}

describe('simulator as a process', () => {
  it('prints its connection line, serves /_sim/*, and exits cleanly on SIGTERM', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'src/sim/main.ts', '--port', '0', '--profile', 'realistic', '--seed', '9', '--time-scale', '10'], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const conn = JSON.parse(await firstLine(child)) as Connection;
    expect(conn).toMatchObject({ profile: 'realistic', seed: 9, timeScale: 10 });
    expect(conn.graphBaseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/beta$/);
    // Time-scaled: Microsoft's 150 s write window becomes 15 s, the quota itself is unchanged.
    expect(conn.settings).toMatchObject({ writeLimit: 3000, writeWindowMs: 15_000, reportsLimit: 5 });
    const caPem = readFileSync(conn.caCertPath, 'utf8');
    expect(caPem).toContain('BEGIN CERTIFICATE');

    const agent = new Agent({ connect: { ca: caPem } });
    try {
      const stats = async () => (await (await fetch(`${conn.graphBaseUrl}/_sim/stats`, { dispatcher: agent })).json()) as Record<string, unknown>;
      expect(await stats()).toMatchObject({ requests: 0, throttled: 0, retryAfterViolations: 0, duplicateApplications: 0 });

      // Unauthenticated Graph call: counted, 401.
      expect((await fetch(`${conn.graphBaseUrl}/applicationTemplates`, { dispatcher: agent })).status).toBe(401);
      const configured = await fetch(`${conn.graphBaseUrl}/_sim/configure`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ transientFaultRate: 0, latencyMs: { min: 0, max: 0 } }),
      });
      expect(configured.status).toBe(200);
      await configured.text();
      expect((await stats()).requests).toBeGreaterThanOrEqual(1);
      const reset = await fetch(`${conn.graphBaseUrl}/_sim/reset`, { method: 'POST', dispatcher: agent });
      expect(reset.status).toBe(200);
      await reset.text();
      expect((await stats()).requests).toBe(0);
    } finally {
      await agent.close();
    }

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
