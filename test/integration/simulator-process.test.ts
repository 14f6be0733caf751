/**
 * The simulator in its own process, as benchmarks and cross-process tests run it:
 * `node --import tsx src/dev/sim/main.ts …` prints one JSON line of connection details, answers
 * `/_sim/stats`, `/_sim/configure` and `/_sim/reset` without a token when started with
 * `--control` (and never otherwise), and exits 0 on SIGTERM.
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
  it('without --control, /_sim/* is not served: no token-less door on a trial simulator', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'src/dev/sim/main.ts', '--port', '0', '--profile', 'fast'], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const conn = JSON.parse(await firstLine(child)) as Connection & { control: boolean };
    expect(conn.control).toBe(false);
    const agent = new Agent({ connect: { ca: readFileSync(conn.caCertPath, 'utf8') } });
    try {
      for (const url of [`${conn.graphBaseUrl}/_sim/stats`, `${conn.authorityHost}/_sim/stats`]) {
        const res = await fetch(url, { dispatcher: agent });
        const text = await res.text();
        expect([401, 404]).toContain(res.status);
        expect(text).not.toContain('retryAfterViolations');
      }
      const reset = await fetch(`${conn.graphBaseUrl}/_sim/reset`, { method: 'POST', dispatcher: agent });
      await reset.text();
      expect(reset.status).toBe(401);
    } finally {
      await agent.close();
    }
  });

  it('prints its connection line, serves /_sim/*, and exits cleanly on SIGTERM', async () => {
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/dev/sim/main.ts',
        '--port',
        '0',
        '--profile',
        'realistic',
        '--seed',
        '9',
        '--time-scale',
        '10',
        '--control',
      ],
      {
        cwd: process.cwd(),
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const conn = JSON.parse(await firstLine(child)) as Connection;
    expect(conn).toMatchObject({ profile: 'realistic', seed: 9, timeScale: 10 });
    expect(conn.graphBaseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/beta$/);
    // Time-scaled: Microsoft's 150 s write window becomes 15 s, the quota itself is unchanged.
    expect(conn.settings).toMatchObject({ writeLimit: 3000, writeWindowMs: 15_000, reportsLimit: 5 });
    const caPem = readFileSync(conn.caCertPath, 'utf8');
    expect(caPem).toContain('BEGIN CERTIFICATE');

    const agent = new Agent({ connect: { ca: caPem } });
    try {
      const stats = async () =>
        (await (await fetch(`${conn.graphBaseUrl}/_sim/stats`, { dispatcher: agent })).json()) as Record<
          string,
          unknown
        >;
      expect(await stats()).toMatchObject({
        requests: 0,
        throttled: 0,
        retryAfterViolations: 0,
        duplicateApplications: 0,
      });

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

describe('Retry-After judged on when a request can have arrived', () => {
  it('a request the stopped simulator reads late is in flight, not a violation; the same request sent late is one', async () => {
    const { startSimProcess } = await import('../../src/dev/sim/process.ts');
    const sim = await startSimProcess({
      profile: 'fast',
      seed: 3,
      timeScale: 1,
      overrides: {
        throttleStormRate: 1,
        throttleStormRetryAfterSec: 3,
        retryAfterGraceMs: 250,
        latencyMs: { min: 0, max: 0 },
      },
    });
    const agent = new Agent({ connect: { ca: sim.handle.caCertPem }, connections: 1 });
    try {
      const form = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: sim.handle.clientId,
        client_secret: sim.handle.clientSecret,
        scope: 'https://graph.microsoft.com/.default',
      });
      const tok = await fetch(`${sim.handle.authorityHost}/${sim.handle.tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        body: form,
        dispatcher: agent,
      });
      const { access_token } = (await tok.json()) as { access_token: string };
      const get = async (ua: string, dispatcher: Agent = agent) => {
        const res = await fetch(`${sim.handle.graphBaseUrl}/applicationTemplates`, {
          dispatcher,
          headers: { authorization: `Bearer ${access_token}`, 'user-agent': ua },
        });
        await res.text();
        return res.status;
      };
      // A second connection, opened (TLS done) before the storm: its request can really be in flight.
      const other = new Agent({ connect: { ca: sim.handle.caCertPem }, connections: 1 });
      await (
        await fetch(`${sim.handle.authorityHost}/${sim.handle.tenantId}/oauth2/v2.0/token`, {
          method: 'POST',
          body: form,
          dispatcher: other,
        })
      ).text();
      expect(await get('told')).toBe(429); // a storm: the app+tenant must wait 3 s
      await sim.configure({ throttleStormRate: 0 });
      // Sent at once (within the grace) on another connection, but the simulator is stopped and
      // reads it 600 ms later: refused (it is inside Retry-After) and not counted.
      sim.child.kill('SIGSTOP');
      const inFlight = get('in flight', other);
      await new Promise((r) => setTimeout(r, 600));
      sim.child.kill('SIGCONT');
      expect(await inFlight).toBe(429);
      await other.close();
      let st = await sim.stats();
      expect(st).toMatchObject({ retryAfterViolations: 0, lateReadsExcused: 1, inFlightRefused: 1 });
      expect(st.maxSimStallMs).toBeGreaterThan(400);
      // Sent 600 ms after the answer by a caller that could have known: a violation.
      expect(await get('early')).toBe(429);
      st = await sim.stats();
      expect(st.retryAfterViolations).toBe(1);
      expect(st.violations[0]).toMatchObject({ kind: 'tenant', who: 'early', toldWho: 'told' });
      expect(st.violations[0]!.simStallMs).toBeLessThan(50);
    } finally {
      await agent.close();
      await sim.close();
    }
  }, 60_000);
});
