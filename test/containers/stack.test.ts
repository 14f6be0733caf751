/**
 * The whole stack in containers, as docker-compose.yml deploys it (with docker-compose.ci.yml:
 * host networking on 127.0.0.1, local images): Redis (AOF, noeviction), the Graph simulator,
 * two steps workers, the poller and the board. A batch is enqueued from a container, one worker
 * container is SIGKILLed mid-batch, and every instance must end as its credentials configure it
 * (the simulator's conventions: `quarantine…` tokens end quarantined, the rest steady), with no
 * duplicate application, /healthz and /metrics answering, and `down -v` leaving nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, fetch } from 'undici';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, type InstanceRecord } from '../../src/ledger/ledger.ts';
import { END_STATES } from '../../src/ledger/instance-state.ts';
import { freePort } from '../../src/dev/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { composeCommand, engineOrSkip, IMAGE, mustRun, BASE_IMAGE } from './engine.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PROJECT = 'provflow-ci';
const PREFIX = '{provflow}';
const INSTANCES = 20;
const QUARANTINED = new Set([2, 12]);
const ENTRY_ERRORS = new Set([3, 13]);

const hasEngine = engineOrSkip([BASE_IMAGE, IMAGE]);
const [composeCmd, ...composeSub] = composeCommand();
const timings: [string, number][] = [];
const facts: Record<string, string | number> = {};
let env: NodeJS.ProcessEnv;
let ports: { redis: number; sim: number; board: number };
let tmp: string;

function compose(args: string[], timeoutMs = 300_000) {
  const files = ['-f', path.join(ROOT, 'docker-compose.yml'), '-f', path.join(ROOT, 'docker-compose.ci.yml')];
  return mustRun(composeCmd!, [...composeSub, '-p', PROJECT, ...files, ...args], { env, timeoutMs });
}
async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await f();
  } finally {
    timings.push([label, Date.now() - t0]);
  }
}
const ids = async (service?: string) =>
  (await compose(['ps', '-q', ...(service ? [service] : [])])).split('\n').filter(Boolean);
const leftovers = async () => {
  const label = `label=com.docker.compose.project=${PROJECT}`;
  const [c, v, n] = await Promise.all([
    mustRun('docker', ['ps', '-aq', '--filter', label]),
    mustRun('docker', ['volume', 'ls', '-q', '--filter', label]),
    mustRun('docker', ['network', 'ls', '-q', '--filter', label]),
  ]);
  const lines = (s: string) => s.split('\n').filter(Boolean);
  return { containers: lines(c), volumes: lines(v), networks: lines(n) };
};

/** Health (or state, for containers without a healthcheck) of every container of the project. */
async function healthOf(): Promise<Record<string, string>> {
  const all = await ids();
  if (all.length === 0) return {};
  const format = '{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}';
  const out = await mustRun('docker', ['inspect', '-f', format, ...all]);
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => l.replace(/^\//, '').split(' ') as [string, string]),
  );
}

describe.skipIf(!hasEngine)('the stack in containers (docker-compose.yml + docker-compose.ci.yml)', () => {
  beforeAll(async () => {
    ports = { redis: await freePort(), sim: await freePort(), board: await freePort() };
    env = {
      ...process.env,
      PROVFLOW_CI_REDIS_PORT: String(ports.redis),
      PROVFLOW_CI_SIM_PORT: String(ports.sim),
      PROVFLOW_CI_BOARD_PORT: String(ports.board),
      PROVFLOW_BASE_IMAGE: BASE_IMAGE,
      PROVFLOW_IMAGE: IMAGE,
      PROVFLOW_SECRET_KEY: randomBytes(32).toString('base64'),
      BOARD_USERNAME: 'operator',
      BOARD_PASSWORD: randomBytes(12).toString('hex'),
    };
    tmp = mkdtempSync(path.join(os.tmpdir(), 'provflow-stack-'));
    await compose(['down', '-v', '--remove-orphans'], 120_000); // a run killed earlier
  });

  afterAll(async () => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if ((await leftovers()).containers.length > 0) {
      await compose(['down', '-v', '--remove-orphans'], 180_000).catch(() => {});
    }
    const rows = timings.map(([k, ms]) => `  ${k.padEnd(44)} ${(ms / 1000).toFixed(1).padStart(7)} s`);
    const fx = Object.entries(facts).map(([k, v]) => `  ${k.padEnd(44)} ${String(v).padStart(7)}`);
    const title = `stack in containers (${[composeCmd, ...composeSub].join(' ')})`;
    console.log(['', title, ...rows, ...fx, ''].join('\n'));
  });

  it('comes up: Redis, the simulator, two workers, the poller and the board, all healthy', async () => {
    await timed('up -d --scale worker=2', () => compose(['up', '-d', '--no-build', '--scale', 'worker=2'], 420_000));
    const health = await timed('until every container is healthy', () =>
      waitFor(
        'every container healthy',
        async () => {
          const h = await healthOf();
          return Object.keys(h).length === 6 && Object.values(h).every((s) => s === 'healthy') ? h : null;
        },
        240_000,
        2000,
      ),
    );
    expect(Object.keys(health).filter((n) => n.includes('worker'))).toHaveLength(2);
    facts['containers healthy'] = Object.keys(health).length;
  });

  it('runs a batch enqueued from a container to its configured end states through a worker kill', async () => {
    const batchId = `stack-${randomBytes(3).toString('hex')}`;
    const expected = new Map<string, string>();
    const instances = Array.from({ length: INSTANCES }, (_, i) => {
      const displayName = i === 5 ? `AWS O'Brien's ${i}` : `AWS Stack ${String(i).padStart(2, '0')}`;
      const token = QUARANTINED.has(i) ? 'quarantine-' : ENTRY_ERRORS.has(i) ? 'entry-errors-' : 'ok-';
      expected.set(displayName, QUARANTINED.has(i) ? 'quarantined' : 'steady');
      return {
        displayName,
        credentials: {
          ClientSecret: { value: `stack-secret-${randomBytes(6).toString('hex')}` },
          SecretToken: { value: `${token}${randomBytes(6).toString('hex')}` },
        },
      };
    });
    const file = path.join(tmp, 'batch.json');
    const defaults = { applicationTemplate: 'Amazon Web Services (AWS)', synchronizationTemplateId: 'aws' };
    const batch = { batchId, defaults, instances };
    writeFileSync(file, JSON.stringify(batch, null, 2));
    chmodSync(file, 0o644); // read in the container by uid 1000

    // In the poller's container, with the environment Compose gave it. (`compose run` would be
    // a new container, but Compose 1.29 adds links to it, which host networking refuses.)
    const [poller] = await ids('poller');
    await mustRun('docker', ['cp', file, `${poller}:/tmp/batch.json`]);
    const enq = await timed('enqueue (compose exec in the poller container)', () =>
      compose(['exec', '-T', 'poller', 'node', 'bin/provflow.js', 'enqueue', '/tmp/batch.json', '--json']),
    );
    expect(JSON.parse(enq.trim().split('\n').pop()!)).toMatchObject({ batchId, added: INSTANCES });

    const redis = new Redis(`redis://127.0.0.1:${ports.redis}`, { maxRetriesPerRequest: 3 });
    const ledger = new Ledger(redis, PREFIX);
    try {
      // Mid-batch: some instance has moved past its first step, and not every one has ended.
      const atKill = await waitFor(
        'an instance in progress',
        async () => {
          const rows = await ledger.listInstances(batchId);
          const moving = rows.filter((r) => r.state !== 'queued' && r.state !== 'pending');
          return moving.length > 0 && rows.some((r) => !END_STATES.has(r.state)) ? rows : null;
        },
        120_000,
        250,
      );
      const [victim] = await ids('worker');
      await mustRun('docker', ['kill', '--signal', 'KILL', victim!]);
      facts['instances ended when a worker was killed'] = atKill.filter((r) => END_STATES.has(r.state)).length;

      const rows = await timed('enqueue to every instance ended', () =>
        waitFor(
          'every instance ended',
          async () => {
            const r: InstanceRecord[] = await ledger.listInstances(batchId);
            return r.length === INSTANCES && r.every((x) => END_STATES.has(x.state)) ? r : null;
          },
          300_000,
          1000,
        ),
      );
      const got = Object.fromEntries(rows.map((r) => [r.displayName, r.state]));
      expect(got).toEqual(Object.fromEntries(expected));
      facts['steady'] = rows.filter((r) => r.state === 'steady').length;
      facts['quarantined (configured: 2)'] = rows.filter((r) => r.state === 'quarantined').length;
      const after = await mustRun('docker', ['inspect', '-f', '{{.State.Status}} restarts={{.RestartCount}}', victim!]);
      facts['killed worker afterwards'] = after.trim();
    } finally {
      redis.disconnect();
    }

    const [sim] = await ids('simulator');
    const ca = await mustRun('docker', ['exec', sim!, 'cat', '/sim-ca/ca.pem']);
    const dispatcher = new Agent({ connect: { ca } });
    try {
      const res = await fetch(`https://127.0.0.1:${ports.sim}/_sim/stats`, { dispatcher });
      type Stats = { duplicateApplications: number; retryAfterViolations: number; applications: number };
      const stats = (await res.json()) as Stats;
      expect(stats.duplicateApplications).toBe(0);
      expect(stats.retryAfterViolations).toBe(0);
      expect(stats.applications).toBe(INSTANCES);
      facts['applications (simulator)'] = stats.applications;
      facts['duplicate applications (simulator)'] = stats.duplicateApplications;
    } finally {
      await dispatcher.close();
    }
  });

  it('answers /healthz and /metrics on the board', async () => {
    const health = await fetch(`http://127.0.0.1:${ports.board}/healthz`);
    expect(health.status).toBe(200);
    type Health = { status: string; redis: { ok: boolean }; queues: Record<string, { workers: number | null }> };
    const h = (await health.json()) as Health;
    expect(h.redis.ok).toBe(true);
    expect(h.queues['provflow-steps']!.workers).toBeGreaterThanOrEqual(1);
    expect(h.queues['provflow-poll']!.workers).toBeGreaterThanOrEqual(1);
    facts['/healthz'] = `${health.status} ${h.status}`;
    const metrics = await fetch(`http://127.0.0.1:${ports.board}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/^provflow_redis_up 1$/m);
    const ended = (state: string, n: number) =>
      new RegExp(`^provflow_instances_ended_total\\{state="${state}"\\} ${n}$`, 'm');
    expect(text).toMatch(ended('steady', INSTANCES - QUARANTINED.size));
    // Not asserted: a quarantined job's watch goes on (quarantine can clear), so the poller has
    // not counted it as ended although the ledger (and `provflow status`) shows it quarantined.
    facts['ended_total{quarantined} (metrics)'] = /quarantined"\} (\d+)/.exec(text)?.[1] ?? 'absent';
    facts['/metrics'] = metrics.status;
    const board = await fetch(`http://127.0.0.1:${ports.board}/board/`);
    expect(board.status).toBe(401); // the board itself stays behind its login
  });

  it('`down -v` leaves no container, volume or network of the project behind', async () => {
    await timed('down -v', () => compose(['down', '-v', '--remove-orphans'], 180_000));
    expect(await leftovers()).toEqual({ containers: [], volumes: [], networks: [] });
    facts['left after down -v'] = 0;
  });
});
