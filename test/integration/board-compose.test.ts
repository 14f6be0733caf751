/**
 * docker-compose.yml, its CI override and the Dockerfile, checked without a Docker engine (the
 * stack itself runs in test/containers/stack.test.ts, under `npm run test:containers`).
 *
 * No YAML package is installed, so the compose file is written in a small YAML subset that the
 * parser below reads (block maps and lists, flow lists of quoted strings, quoted and plain
 * scalars; anything else is rejected, which keeps the file inside the subset). When PyYAML is
 * on the machine the same file is also parsed by it and both results must agree; when the
 * `docker compose` plugin is installed, `docker compose config` validates it against the
 * Compose schema too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PREFIX, QUEUES } from '../../src/flow/queues.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const COMPOSE = path.join(ROOT, 'docker-compose.yml');
const COMPOSE_CI = path.join(ROOT, 'docker-compose.ci.yml');
const COMPOSE_OVERRIDE = path.join(ROOT, 'docker-compose.override.yml');

type Yaml = string | Yaml[] | { [k: string]: Yaml };

/** Parses the YAML subset the compose file is written in; throws on anything outside it. */
function parseYamlSubset(text: string): Yaml {
  const lines = text
    .split('\n')
    .map((raw, i) => ({ n: i + 1, raw: raw.replace(/\s+#(?=[^"']*$).*$/, '').replace(/\s+$/, '') }))
    .filter((l) => l.raw.trim() !== '' && !l.raw.trimStart().startsWith('#'))
    .map((l) => {
      if (/\t/.test(l.raw)) throw new Error(`line ${l.n}: tab`);
      if (/(^|\s)[&*!]\S|<<:|:\s*[|>][-+]?$/.test(l.raw)) throw new Error(`line ${l.n}: outside the subset: ${l.raw}`);
      return { n: l.n, indent: l.raw.length - l.raw.trimStart().length, text: l.raw.trim() };
    });
  let i = 0;
  const scalar = (s: string, n: number): Yaml => {
    if (s.startsWith('[')) {
      if (s === '[]') return [];
      try {
        const arr = JSON.parse(s) as unknown[];
        if (arr.every((x) => typeof x === 'string')) return arr as string[];
      } catch {
        // Not JSON: fall through to the error below.
      }
      throw new Error(`line ${n}: flow lists must hold double-quoted strings only`);
    }
    if (s.startsWith('"')) return JSON.parse(s) as string;
    if (s.startsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
    if (s.startsWith('{')) throw new Error(`line ${n}: flow maps are outside the subset (quote "{…}" strings)`);
    return s;
  };
  const block = (indent: number): Yaml => {
    const first = lines[i];
    if (!first || first.indent !== indent) throw new Error(`line ${first?.n}: expected indent ${indent}`);
    if (first.text.startsWith('- ') || first.text === '-') {
      const list: Yaml[] = [];
      while (lines[i] && lines[i]!.indent === indent && lines[i]!.text.startsWith('- ')) {
        const l = lines[i++]!;
        const item = l.text.slice(2).trim();
        if (/^[\w.-]+:(\s|$)/.test(item)) throw new Error(`line ${l.n}: maps inside lists are outside the subset`);
        list.push(scalar(item, l.n));
      }
      return list;
    }
    const map: { [k: string]: Yaml } = {};
    while (lines[i] && lines[i]!.indent === indent) {
      const l = lines[i++]!;
      const m = /^("[^"]+"|[\w.-]+):(?:\s+(.*))?$/.exec(l.text);
      if (!m) throw new Error(`line ${l.n}: expected "key: value": ${l.text}`);
      const key = m[1]!.startsWith('"') ? (JSON.parse(m[1]!) as string) : m[1]!;
      if (key in map) throw new Error(`line ${l.n}: duplicate key ${key}`);
      if (m[2] !== undefined) map[key] = scalar(m[2], l.n);
      else if (lines[i] && lines[i]!.indent > indent) map[key] = block(lines[i]!.indent);
      else map[key] = ''; // `key:` with nothing under it (e.g. a named volume)
    }
    return map;
  };
  const doc = block(0);
  if (i !== lines.length) throw new Error(`line ${lines[i]!.n}: unexpected indentation`);
  return doc;
}

/** PyYAML's reading of the file (leaves as strings), or null when PyYAML is not installed. */
function parseWithPyYaml(file: string): unknown {
  const script = 'import json,sys,yaml\nprint(json.dumps(yaml.safe_load(open(sys.argv[1]))))';
  const r = spawnSync('python3', ['-c', script, file], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return null;
  const stringify = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(stringify)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, stringify(x)]))
        : v === null
          ? ''
          : String(v);
  return stringify(JSON.parse(r.stdout));
}

const compose = parseYamlSubset(readFileSync(COMPOSE, 'utf8')) as any;
const services = compose.services as Record<string, any>;
const APP_SERVICES = ['worker', 'poller', 'board', 'simulator'];

describe('docker-compose.yml', () => {
  it('parses, and PyYAML (when installed) reads the same document', () => {
    expect(Object.keys(services).sort()).toEqual(['board', 'poller', 'redis', 'simulator', 'worker']);
    const py = parseWithPyYaml(COMPOSE);
    if (py === null) console.warn('PyYAML not installed: checked with the subset parser only');
    else expect(py).toEqual(compose);
  });

  it('runs Redis (REDIS_IMAGE, default redis:7) with AOF everysec, noeviction and a volume', () => {
    const redis = services.redis;
    expect(redis.image).toBe('${REDIS_IMAGE:-redis:7}');
    expect(redis.command.join(' ')).toContain(
      '--dir /data --appendonly yes --appendfsync everysec --maxmemory-policy noeviction',
    );
    expect(redis.volumes).toContain('redis-data:/data');
    expect(Object.keys(compose.volumes)).toContain('redis-data');
  });

  it('builds every provflow service from the one Dockerfile and runs the documented commands', () => {
    for (const name of APP_SERVICES) {
      expect(services[name].build, name).toBe('.');
      expect(services[name].image, name).toBe(services.worker.image);
    }
    expect(services.worker.command).toEqual(['node', 'bin/provflow.js', 'worker']);
    expect(services.poller.command).toEqual(['node', 'bin/provflow.js', 'poller']);
    expect(services.board.command.slice(0, 3)).toEqual(['node', 'bin/provflow.js', 'board']);
    expect(services.simulator.command).toEqual([
      'node',
      '--import',
      'tsx',
      'src/dev/sim/main.ts',
      '--port',
      '8443',
      '--profile',
      'realistic',
      '--control',
    ]);
    expect(existsSync(path.join(ROOT, 'bin/provflow.js'))).toBe(true);
  });

  it('keeps the worker scalable and the board on port 3000', () => {
    expect(services.worker.container_name).toBeUndefined();
    expect(services.worker.ports).toBeUndefined();
    // Published ports only in the override `docker compose up` reads by itself (CI's
    // host-network override must start from a file without them: Compose 1.29 refuses both).
    for (const svc of Object.values(services)) expect(svc.ports).toBeUndefined();
    const override = parseYamlSubset(readFileSync(COMPOSE_OVERRIDE, 'utf8')) as any;
    expect(override.services.board.ports).toEqual(['127.0.0.1:3000:3000']);
    expect(override.services.simulator.ports).toEqual(['127.0.0.1:8443:8443']);
  });

  it('wires Redis, the prefix, the simulator CA and each secret only where it is needed', () => {
    for (const name of ['worker', 'poller', 'board']) {
      const env = services[name].environment;
      expect(env.REDIS_URL, name).toBe('redis://redis:6379');
      expect(env.BULLMQ_PREFIX, name).toBe(DEFAULT_PREFIX);
    }
    for (const name of ['worker', 'poller']) {
      const env = services[name].environment;
      expect(env.PROVFLOW_SECRET_KEY, name).toMatch(/^\$\{PROVFLOW_SECRET_KEY:\?/);
      expect(env.NODE_EXTRA_CA_CERTS, name).toBe(services.simulator.environment.PROVFLOW_SIM_CA_PATH);
      expect(
        services[name].volumes.some((v: string) => v.startsWith('sim-ca:/sim-ca')),
        name,
      ).toBe(true);
      expect(env.BOARD_PASSWORD, name).toBeUndefined();
      expect(env.GRAPH_BASE_URL, name).toMatch(/^https:\/\/simulator:8443\//);
      expect(services[name].depends_on.simulator.condition).toBe('service_healthy');
      expect(services[name].depends_on.redis.condition).toBe('service_healthy');
    }
    const board = services.board.environment;
    expect(board.BOARD_USERNAME).toMatch(/^\$\{BOARD_USERNAME:\?/);
    expect(board.BOARD_PASSWORD).toMatch(/^\$\{BOARD_PASSWORD:\?/);
    expect(board.PROVFLOW_SECRET_KEY).toBeUndefined();
  });

  it('has a healthcheck on every service, probing the right queue or endpoint', () => {
    for (const [name, svc] of Object.entries(services)) {
      expect(svc.healthcheck?.test?.[0], name).toBe('CMD');
    }
    expect(services.worker.healthcheck.test.slice(-2)).toEqual(['workers', QUEUES.steps]);
    expect(services.poller.healthcheck.test.slice(-2)).toEqual(['workers', QUEUES.poll]);
    expect(services.board.healthcheck.test).toContain('http://127.0.0.1:3000/healthz');
    for (const name of APP_SERVICES) {
      const probe = services[name].healthcheck.test.find((a: string) => a.endsWith('.ts'));
      expect(existsSync(path.join(ROOT, probe)), `${name}: ${probe}`).toBe(true);
    }
  });

  it("passes `config` of every Compose installed (the plugin, and Debian's docker-compose 1.29)", () => {
    const env = { ...process.env, PROVFLOW_SECRET_KEY: 'k', BOARD_USERNAME: 'u', BOARD_PASSWORD: 'p' };
    const composes = [['docker', 'compose'], ['docker-compose']].filter(
      ([cmd, ...sub]) => spawnSync(cmd!, [...sub, 'version'], { encoding: 'utf8', timeout: 10_000 }).status === 0,
    );
    if (composes.length === 0) console.warn('no Compose installed: schema validation skipped (the subset checks ran)');
    for (const [cmd, ...sub] of composes) {
      for (const files of [[COMPOSE], [COMPOSE, COMPOSE_OVERRIDE], [COMPOSE, COMPOSE_CI]]) {
        const args = [...sub, ...files.flatMap((f) => ['-f', f]), 'config', '--quiet'];
        const r = spawnSync(cmd!, args, { encoding: 'utf8', env, timeout: 30_000 });
        expect(r.stderr, `${cmd} ${args.join(' ')}`).toBe('');
        expect(r.status).toBe(0);
      }
    }
  });

  it('rejects YAML outside the subset (so the file stays checkable)', () => {
    expect(() => parseYamlSubset('a: &x 1\nb: *x\n')).toThrow(/outside the subset/);
    expect(() => parseYamlSubset('a: {b: 1}\n')).toThrow(/flow maps/);
    expect(() => parseYamlSubset('a:\n  - b: 1\n')).toThrow(/maps inside lists/);
    expect(() => parseYamlSubset('a: |\n  x\n')).toThrow(/outside the subset/);
  });
});

describe('docker-compose.ci.yml', () => {
  const ci = parseYamlSubset(readFileSync(COMPOSE_CI, 'utf8')) as any;
  it('overrides every service with host networking, the local images and loopback binds', () => {
    expect(Object.keys(ci.services).sort()).toEqual(Object.keys(services).sort());
    for (const [name, svc] of Object.entries<any>(ci.services)) {
      expect(svc.network_mode, name).toBe('host');
      expect(svc.image, name).toMatch(/^\$\{PROVFLOW_(BASE_)?IMAGE:-provflow(-base)?:local\}$/);
    }
    expect(ci.services.redis.command.join(' ')).toContain('--bind 127.0.0.1');
    expect(ci.services.redis.command.join(' ')).toContain(
      '--appendonly yes --appendfsync everysec --maxmemory-policy noeviction',
    );
    expect(ci.services.simulator.environment.PROVFLOW_SIM_HOST).toBe('127.0.0.1');
    expect(ci.services.board.command.join(' ')).toContain('--host 127.0.0.1');
    for (const name of ['worker', 'poller', 'board']) {
      expect(ci.services[name].environment.REDIS_URL, name).toMatch(/^redis:\/\/127\.0\.0\.1:/);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  it('builds on a BASE build argument (default node:20-slim) with npm ci and ships what the commands run', () => {
    expect(dockerfile).toMatch(/^ARG BASE=node:20-slim$/m);
    expect(dockerfile).toMatch(/^FROM \$\{BASE\}$/m);
    expect(dockerfile).toMatch(/\$npm ci --omit=dev\b/);
    // The sources go in with one `COPY . .` through the .dockerignore allowlist.
    expect(dockerfile).toMatch(/^COPY \. \.$/m);
    const allow = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['bin', 'src', 'workers', 'tsconfig.json', 'package-lock.json'])
      expect(allow).toContain(`!${entry}`);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it('keeps secrets and local state out of the build context (an allowlist)', () => {
    const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignore.find((l) => l && !l.startsWith('#'))).toBe('*');
    for (const entry of ['.env', 'node_modules', '.git']) expect(ignore).toContain(entry);
  });
});
