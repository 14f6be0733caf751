/**
 * `provflow plan` against the simulator: a read that Graph refuses for one instance is an error
 * row for that instance (the others are still planned), never a stack trace; a display name
 * with a line separator, which used to reach Graph and crash plan, is refused at validation.
 * Between plan and the simulator sits a small HTTP relay that answers Graph's 400 "Invalid
 * filter clause" for one display name, as Graph does for a filter it cannot parse.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaledEnv } from '../../src/dev/local-stack.ts';
import { startSimulator, type SimulatorHandle } from '../../src/dev/sim/index.ts';
import { testRedis, type RedisHandle } from '../helpers/redis.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REFUSED = 'AWS Refused By Graph';

let sim: SimulatorHandle;
let redis: RedisHandle;
let relay: Server;
let relayUrl: string;

beforeAll(async () => {
  sim = await startSimulator({ profile: 'fast', seed: 11 });
  redis = await testRedis({ own: true });
  const dispatcher = new Agent({ connect: { ca: sim.caCertPem } });
  const target = new URL(sim.graphBaseUrl);
  relay = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      if (decodeURIComponent(url.replace(/\+/g, ' ')).includes(`'${REFUSED}'`)) {
        res.writeHead(400, { 'content-type': 'application/json' });
        const message = `Invalid filter clause: displayName eq '${REFUSED}'`;
        res.end(JSON.stringify({ error: { code: 'BadRequest', message } }));
        return;
      }
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'connection'),
      );
      request(`${target.origin}${url}`, {
        method: req.method as 'GET',
        headers: headers as Record<string, string>,
        body: chunks.length ? Buffer.concat(chunks) : undefined,
        dispatcher,
      }).then(
        async (up) => {
          const hopByHop = ['connection', 'transfer-encoding', 'keep-alive'];
          const outHeaders = Object.fromEntries(Object.entries(up.headers).filter(([k]) => !hopByHop.includes(k)));
          res.writeHead(up.statusCode, outHeaders as Record<string, string>);
          res.end(Buffer.from(await up.body.arrayBuffer()));
        },
        () => {
          res.writeHead(502);
          res.end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}${target.pathname}`;
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => relay?.close(resolve));
  await sim?.close();
  await redis?.close();
});

function plan(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    ...scaledEnv(sim, 1),
    GRAPH_BASE_URL: relayUrl,
    REDIS_URL: redis.url,
    BULLMQ_PREFIX: '{plan-errors}',
  };
  const args = [path.join(ROOT, 'bin/provflow.js'), 'plan', file];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, env, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function batchFile(names: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'provflow-plan-'));
  const file = path.join(dir, 'plan.json');
  writeFileSync(
    file,
    JSON.stringify({
      defaults: {
        applicationTemplate: 'Amazon Web Services (AWS)',
        credentials: { SecretToken: { value: 'not-a-real-token' } },
      },
      instances: names.map((displayName) => ({ displayName })),
    }),
  );
  return file;
}

describe('provflow plan', () => {
  it('one instance refused by Graph: an error row for it, the others planned, no stack trace', async () => {
    const r = await plan(batchFile(['AWS Plan One', REFUSED, 'AWS Plan Two']));
    expect(r.stderr).not.toMatch(/\n\s+at |GraphError/);
    expect(r.code, r.stderr).toBe(1); // errors in the plan: exit 1, as documented
    expect(r.stdout).toMatch(/AWS Plan One\s+create/);
    expect(r.stdout).toMatch(new RegExp(`${REFUSED}\\s+error\\s+.*400`));
    expect(r.stdout).toMatch(/AWS Plan Two\s+create/);
    expect(r.stdout).toMatch(/2 to create, 0 to adopt, 0 to skip, 1 with errors/);
  }, 150_000);

  it('a display name with U+2028 is refused at validation (exit 2), naming the character', async () => {
    const r = await plan(batchFile(['AWS Plan One', 'AWS\u2028Prod']));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('instances[1].displayName');
    expect(r.stderr).toContain('U+2028 LINE SEPARATOR');
    expect(r.stderr).not.toMatch(/\n\s+at |\u2028/);
  }, 150_000);
});
