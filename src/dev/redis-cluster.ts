/**
 * A real Redis Cluster on loopback for the tests and the chaos suite: 3 masters and 3 replicas,
 * each a `redis-server --cluster-enabled yes` in its own temp dir, joined by
 * `redis-cli --cluster create … --cluster-replicas 1`. A short node timeout makes a killed
 * master's replica take over within a few seconds.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { redisAnswers } from './redis-server.ts';

const run = promisify(execFile);

/** One node of the cluster. */
export interface ClusterNode {
  port: number;
  child: ChildProcess | null;
}

/** A running cluster: REDIS_URL of one seed node, every node, and ways to inspect and break it. */
export interface RedisClusterHandle {
  /** A seed node (set REDIS_CLUSTER=1 next to it). */
  url: string;
  nodes: ClusterNode[];
  /** `host:port` of every node, for REDIS_CLUSTER_NODES. */
  seeds: string;
  /** Ports of the nodes that are masters now, and the slot ranges each serves. */
  masters(): Promise<{ port: number; slots: [number, number][] }[]>;
  /** The master serving `slot` now. */
  masterOf(slot: number): Promise<number>;
  /** SIGKILL a node (its replica is promoted after the node timeout). */
  kill(port: number): Promise<void>;
  /** Resolves once every slot is served by a live master (cluster_state:ok on every live node). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** `redis-server` and `redis-cli --cluster` exist here (the suite skips cluster tests otherwise). */
export async function clusterToolsAvailable(): Promise<boolean> {
  try {
    await run('redis-server', ['--version']);
    const { stdout } = await run('redis-cli', ['--cluster', 'help']).catch((e: { stdout?: string }) => ({
      stdout: e.stdout ?? '',
    }));
    return /create/.test(stdout);
  } catch {
    return false;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port that is free and whose cluster bus port (port + 10000) is free too, not in `taken`. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if (taken.has(port) || taken.has(port + 10_000) || taken.has(port - 10_000)) continue;
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args]);
  return stdout;
}

/** Resolves once every replica among `ports` has finished its first sync with its master. */
async function waitReplicasSynced(ports: number[], timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const infos = await Promise.all(ports.map((p) => cli(p, 'info', 'replication').catch(() => '')));
    const replicas = infos.filter((i) => i.includes('role:slave'));
    if (replicas.length === 3 && replicas.every((i) => i.includes('master_link_status:up'))) return;
    if (Date.now() > end) throw new Error(`cluster replicas not in sync within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts 3 masters + 3 replicas on free loopback ports and waits for cluster_state:ok. */
export async function startRedisCluster(opts: { nodeTimeoutMs?: number } = {}): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'provflow-cluster-'));
  const nodes: ClusterNode[] = [];
  const nodeTimeout = String(opts.nodeTimeoutMs ?? 1500);
  const kill = (port: number) => {
    const n = nodes.find((x) => x.port === port);
    const c = n?.child;
    if (!n || !c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    n.child = null;
    return new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  const close = async () => {
    await Promise.all(nodes.map((n) => kill(n.port)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 6; i++) {
      const port = await freeClusterPort(new Set(nodes.map((n) => n.port)));
      const nodeDir = path.join(dir, String(port));
      mkdirSync(nodeDir, { recursive: true });
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          nodeDir,
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          nodeTimeout,
          '--save',
          '',
          '--appendonly',
          'no',
          // Replicas sync at once: a replica that never synced cannot take over a killed master.
          '--repl-diskless-sync-delay',
          '0',
          '--maxmemory-policy',
          'noeviction',
          '--logfile',
          path.join(nodeDir, 'redis.log'),
        ],
        { stdio: 'ignore' },
      );
      nodes.push({ port, child });
    }
    for (const n of nodes) {
      const url = `redis://127.0.0.1:${n.port}`;
      const end = Date.now() + 10_000;
      while (!(await redisAnswers(url, 500))) {
        if (Date.now() > end) throw new Error(`cluster node ${n.port} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ]);
  } catch (e) {
    await close();
    throw e;
  }

  const live = () => nodes.filter((n) => n.child);
  const masters = async () => {
    for (const n of live()) {
      const c = new Redis(n.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
      c.on('error', () => {});
      try {
        const slots = (await c.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
        const by = new Map<number, [number, number][]>();
        for (const [from, to, [, port]] of slots) by.set(port, [...(by.get(port) ?? []), [from, to]]);
        return [...by].map(([port, s]) => ({ port, slots: s })).sort((a, b) => a.port - b.port);
      } catch {
        continue;
      } finally {
        c.disconnect();
      }
    }
    throw new Error('no cluster node answers');
  };
  const handle: RedisClusterHandle = {
    url: `redis://127.0.0.1:${nodes[0]!.port}`,
    nodes,
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    masters,
    async masterOf(slot) {
      const m = (await masters()).find((x) => x.slots.some(([a, b]) => slot >= a && slot <= b));
      if (!m) throw new Error(`no master serves slot ${slot}`);
      return m.port;
    },
    kill,
    async waitHealthy(timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const states = await Promise.all(
          live().map((n) => cli(n.port, 'cluster', 'info').catch(() => 'cluster_state:unknown')),
        );
        if (states.every((s) => s.includes('cluster_state:ok'))) {
          // Every slot served, and by a live node: right after a kill the others still list the dead master.
          const alive = new Set(live().map((n) => n.port));
          const ms = (await masters()).filter((m) => alive.has(m.port));
          if (ms.flatMap((m) => m.slots).reduce((sum, [a, b]) => sum + b - a + 1, 0) === 16384) return;
        }
        if (Date.now() > end) throw new Error(`cluster not healthy within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    close,
  };
  try {
    await handle.waitHealthy();
    await waitReplicasSynced(nodes.map((n) => n.port));
  } catch (e) {
    await close();
    throw e;
  }
  return handle;
}
