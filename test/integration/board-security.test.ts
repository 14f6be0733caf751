/**
 * The board's request-level defences over real HTTP (node:http with crafted headers, against
 * the board listening on 127.0.0.1) and a real Redis: loopback Host names only without
 * authentication (DNS rebinding), no cross-origin changes, throttled wrong passwords, no
 * X-Powered-By, loopback by default, and no short BOARD_PASSWORD.
 */
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import path from 'node:path';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoardStartError, runBoard, type RunningBoard } from '../../src/board/run-board.ts';
import { LoginThrottle } from '../../src/board/security.ts';
import { QUEUES } from '../../src/flow/queues.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';
import {
  BOARD_PASS,
  BOARD_USER,
  basic,
  plantFlow,
  serveBoard,
  type PlantedFlow,
  type TestBoard,
} from '../browser/board-fixtures.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One raw HTTP request: every header as given (Host included), from `localAddress` if set. */
interface RawOptions {
  method?: string;
  headers?: Record<string, string>;
  localAddress?: string;
}

function raw(url: string, o: RawOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const opts = { method: o.method ?? 'GET', headers: o.headers, localAddress: o.localAddress, agent: false };
    const req = request(url, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let redis: RedisHandle;
let prefix: string;
let planted: PlantedFlow;

beforeAll(async () => {
  redis = await testRedis();
  prefix = testPrefix('board-sec');
  planted = await plantFlow(redis.url, prefix);
});
afterAll(async () => {
  await redis?.close();
});

describe('--insecure-no-auth: loopback Host names only (DNS rebinding)', () => {
  let open: RunningBoard;
  beforeAll(async () => {
    open = await runBoard({ redisUrl: redis.url, prefix, port: 0, insecureNoAuth: true, handleSignals: false });
  });
  afterAll(async () => {
    await open?.close();
  });

  it('serves localhost, 127.0.0.0/8 and [::1], with or without the port', async () => {
    const url = `http://127.0.0.1:${open.port}/board/api/queues`;
    const p = open.port;
    for (const host of [`localhost:${p}`, 'localhost', `127.0.0.1:${p}`, '127.5.6.7', `[::1]:${p}`, 'LOCALHOST']) {
      expect((await raw(url, { headers: { host } })).status, host).toBe(200);
    }
  });

  it('answers 421 to any other name, even though the connection came to 127.0.0.1', async () => {
    const job = `/board/api/queues/${QUEUES.steps}/${planted.failedId}`;
    const targets = ['/board/api/queues', '/board/', '/healthz', '/metrics', job];
    const hosts = [
      'evil.example',
      `evil.example:${open.port}`,
      '127.0.0.1.evil.example',
      'localhost.evil.example',
      '127.0.0.256',
      '[::2]',
      '0.0.0.0',
      '192.168.1.10',
      'localhost:80:80',
    ];
    for (const host of hosts) {
      for (const p of targets) {
        const res = await raw(`http://127.0.0.1:${open.port}${p}`, { headers: { host } });
        expect(res.status, `${host} ${p}`).toBe(421);
        expect(res.body).not.toContain(QUEUES.steps);
      }
    }
  });
});

describe('mutations must be same-origin', () => {
  let rw: TestBoard;
  let steps: Queue;
  let conn: Redis;
  const auth = basic(BOARD_USER, BOARD_PASS);
  beforeAll(async () => {
    const credentials = { username: BOARD_USER, password: BOARD_PASS };
    rw = await serveBoard({ redis: redis.url, prefix, allowRetries: true, auth: credentials });
    conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    steps = new Queue(QUEUES.steps, { connection: conn, prefix });
  });
  afterAll(async () => {
    await rw?.stop();
    await steps?.close();
    await conn?.quit();
  });

  const put = (p: string, headers: Record<string, string> = {}) =>
    raw(`${rw.base}/board/api/queues/${QUEUES.steps}/${p}`, {
      method: 'PUT',
      headers: { authorization: auth, ...headers },
    });
  const retry = (headers: Record<string, string>) => put(`${planted.failedId}/retry`, headers);

  it('refuses a retry from another origin, and leaves the job failed', async () => {
    const host = new URL(rw.base).host;
    const crossSite: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { origin: `http://evil.example:${new URL(rw.base).port}` },
      { origin: 'null' },
      { origin: `http://${host}.evil.example` },
      { origin: `http://${host}`, 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of crossSite) {
      const res = await retry(headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.body).toMatch(/Cross-origin request refused/);
    }
    expect(await (await steps.getJob(planted.failedId))!.getState()).toBe('failed');
  });

  it("accepts the same change from the board's own origin, and from a client sending no Origin (curl)", async () => {
    const res = await retry({ origin: rw.base, 'sec-fetch-site': 'same-origin' });
    expect([200, 204]).toContain(res.status);
    expect(await (await steps.getJob(planted.failedId))!.getState()).toBe('waiting');
    // No Origin, no Sec-Fetch-Site: not a browser's cross-site request; the board's own rules apply.
    expect([200, 204]).toContain((await put('promote')).status);
  });
});

describe('failed logins', () => {
  let b: TestBoard;
  beforeAll(async () => {
    b = await serveBoard({ redis: redis.url, prefix, auth: { username: BOARD_USER, password: BOARD_PASS } });
  });
  afterAll(async () => {
    await b?.stop();
  });

  it('after 5 wrong passwords from an address: 429 with Retry-After, even to the right one; others go on', async () => {
    const url = `${b.base}/board/api/queues`;
    const from = '127.0.0.3';
    const login = (localAddress: string, password?: string) =>
      raw(url, { localAddress, headers: password === undefined ? {} : { authorization: basic(BOARD_USER, password) } });
    for (let i = 0; i < 5; i++) expect((await login(from, `guess-${i}`)).status).toBe(401);
    // The 6th wrong password is still checked (and answered 401); from then on the address waits.
    expect((await login(from, 'guess-5')).status).toBe(401);
    const blocked = await login(from, BOARD_PASS);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(blocked.body).not.toContain(QUEUES.steps);
    // Requests without credentials (a browser's first request) are not failures.
    for (let i = 0; i < 10; i++) expect((await login('127.0.0.4')).status).toBe(401);
    expect((await login('127.0.0.4', BOARD_PASS)).status).toBe(200);
    // Once the wait has passed, the right password is served again.
    await new Promise((r) => setTimeout(r, 1100));
    expect((await login(from, BOARD_PASS)).status).toBe(200);
  });

  it('the wait doubles with each further failure, up to its cap, and a success clears it', () => {
    let now = 0;
    const t = new LoginThrottle({ now: () => now, maxDelayMs: 8000 });
    const waits = Array.from({ length: 10 }, () => t.failed('a'));
    expect(waits).toEqual([0, 0, 0, 0, 0, 1000, 2000, 4000, 8000, 8000]);
    expect(t.waitMs('a')).toBe(8000);
    expect(t.waitMs('b')).toBe(0);
    now += 8000;
    t.succeeded('a');
    expect(t.failed('a')).toBe(0);
    // Forgotten after the quiet period; the table stays bounded.
    now += 16 * 60_000;
    expect(t.waitMs('a')).toBe(0);
    const small = new LoginThrottle({ maxClients: 3 });
    for (const c of ['1', '2', '3', '4']) for (let i = 0; i < 6; i++) small.failed(c);
    expect(small.waitMs('1')).toBe(0);
    expect(small.waitMs('4')).toBeGreaterThan(0);
  });
});

describe('headers and start-up', () => {
  it('never sends X-Powered-By: pages, API, static assets, probes, refusals', async () => {
    const b = await serveBoard({ redis: redis.url, prefix, auth: { username: BOARD_USER, password: BOARD_PASS } });
    try {
      const auth = { authorization: basic(BOARD_USER, BOARD_PASS) };
      for (const [p, headers] of [
        ['/board/', auth],
        ['/board/api/queues', auth],
        ['/board/static/favicon-32x32.png', auth],
        ['/healthz', {}],
        ['/metrics', {}],
        ['/board/', {}],
        ['/', auth],
        ['/nowhere', auth],
      ] as const) {
        const res = await raw(`${b.base}${p}`, { headers });
        expect(res.headers['x-powered-by'], p).toBeUndefined();
      }
    } finally {
      await b.stop();
    }
  });

  it('binds 127.0.0.1 unless a host is given, with authentication too', async () => {
    const creds = { username: 'ops', password: 'a-long-enough-pw' };
    const running = await runBoard({ redisUrl: redis.url, prefix, port: 0, ...creds, handleSignals: false });
    try {
      expect(running.host).toBe('127.0.0.1');
    } finally {
      await running.close();
    }
  });

  it('exposed beyond loopback on request only, with a warning that Basic auth needs TLS in front', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const creds = { username: 'ops', password: 'a-long-enough-pw' };
    const opts = { redisUrl: redis.url, prefix, port: 0, host: '0.0.0.0', ...creds, logger, handleSignals: false };
    const running = await runBoard(opts);
    try {
      expect(running.host).toBe('0.0.0.0');
      const warned = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40);
      expect(warned.map((l) => l.msg).join('\n')).toMatch(/plain HTTP.*TLS reverse proxy/);
      expect(lines.join('')).not.toContain(creds.password);
    } finally {
      await running.close();
    }
  });

  it('refuses a BOARD_PASSWORD shorter than 12 characters', async () => {
    const base = { redisUrl: 'redis://127.0.0.1:1', port: 0, handleSignals: false, username: 'ops' };
    await expect(runBoard({ ...base, password: 'elevenchars' })).rejects.toThrow(BoardStartError);
    const short = runBoard({ ...base, password: 'elevenchars' });
    await expect(short).rejects.toThrow(/BOARD_PASSWORD is shorter than 12 characters.*openssl rand/);
  });

  it('`provflow board` exits 2 with the message for a short password, without printing it', () => {
    const cli = path.resolve('bin/provflow.js');
    const res = spawnSync(process.execPath, [cli, 'board', '--port', '0'], {
      env: {
        PATH: process.env.PATH,
        REDIS_URL: 'redis://127.0.0.1:1',
        BOARD_USERNAME: 'ops',
        BOARD_PASSWORD: 'short-pw1',
      },
      cwd: path.resolve('/tmp'),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/BOARD_PASSWORD is shorter than 12 characters/);
    expect(res.stderr + res.stdout).not.toContain('short-pw1');
  });
});
