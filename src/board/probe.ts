/**
 * Container health probes (docker-compose `healthcheck`), because the slim image has no curl
 * or redis-cli:
 *
 *   node --import tsx src/board/probe.ts http URL [--ca FILE]   2xx from URL (https trusts FILE)
 *   node --import tsx src/board/probe.ts workers QUEUE…         Redis answers and each QUEUE has a worker
 *
 * `workers` reads REDIS_URL (REDIS_CLUSTER…), BULLMQ_PREFIX and the tenants this process serves
 * (PROVFLOW_TENANT, else `default` and the tenants file's): each QUEUE of each of those tenants'
 * lanes must have a worker. It is a queue-level check (BullMQ registers workers by connection
 * name, not by container), so it says "this queue is being served".
 * Exit 0 healthy, 1 unhealthy (reason on stderr).
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { servedTenants } from '../app/lanes.ts';
import { connectRedis } from '../app/redis-connection.ts';
import { loadConfig, type Config } from '../config.ts';
import { tenantPrefix } from '../redis-keys.ts';
import { tenantNames, tenantsOf } from '../tenants/tenants-config.ts';
import { boardQueueName } from './board-lanes.ts';

const TIMEOUT_MS = 4000;

/** Resolves with the HTTP status of a GET to `url`. */
export function httpStatus(url: string, caFile?: string): Promise<number> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  const ca = caFile ? readFileSync(caFile) : undefined;
  return new Promise((resolve, reject) => {
    const req = request(u, { method: 'GET', timeout: TIMEOUT_MS, ...(ca ? { ca } : {}) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Worker count per queue of each tenant's lane (named as on the board); throws when Redis does not answer. */
export async function queueWorkerCounts(
  cfg: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER' | 'REDIS_CLUSTER_NODES' | 'BULLMQ_PREFIX'>,
  tenants: readonly string[],
  queues: readonly string[],
): Promise<Record<string, number>> {
  const connection = connectRedis(cfg, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: TIMEOUT_MS,
    retryStrategy: () => null,
  });
  connection.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  // A cluster retries its slot map for ever: the probe answers within its own deadline instead.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${2 * TIMEOUT_MS} ms`)), 2 * TIMEOUT_MS);
  });
  const count = async (tenant: string, name: string) => {
    const q = new Queue(name, { connection, prefix: tenantPrefix(cfg.BULLMQ_PREFIX, tenant) });
    q.on('error', () => {}); // the failed read says it once, below
    try {
      return [boardQueueName(tenant, name), (await q.getWorkers()).length] as const;
    } finally {
      await q.close();
    }
  };
  try {
    const all = Promise.all(tenants.flatMap((t) => queues.map((name) => count(t, name))));
    all.catch(() => {}); // once the deadline has answered, a late failure is nobody's
    return Object.fromEntries(await Promise.race([all, deadline]));
  } finally {
    clearTimeout(timer);
    connection.disconnect();
  }
}

async function main(argv: string[]): Promise<string> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ca: { type: 'string' } },
  });
  const [mode, ...rest] = positionals;
  if (mode === 'http') {
    const url = rest[0];
    if (!url) throw new Error('usage: probe.ts http URL [--ca FILE]');
    const status = await httpStatus(url, values.ca);
    if (status < 200 || status >= 300) throw new Error(`${url} answered ${status}`);
    return `${url} answered ${status}`;
  }
  if (mode === 'workers') {
    if (rest.length === 0) throw new Error('usage: probe.ts workers QUEUE…');
    const cfg = loadConfig(process.env, ['redis']);
    // The lanes this process serves, as the worker or poller beside it computes them (names only).
    const fromFile = await tenantsOf(cfg, process.env, { resolveSecrets: false });
    const tenants = servedTenants(cfg.PROVFLOW_TENANT, fromFile ? tenantNames(fromFile) : []);
    const counts = await queueWorkerCounts(cfg, tenants, rest);
    const idle = Object.entries(counts)
      .filter(([, n]) => n === 0)
      .map(([q]) => q);
    if (idle.length > 0) throw new Error(`no worker on ${idle.join(', ')}`);
    return JSON.stringify(counts);
  }
  throw new Error('usage: probe.ts http URL [--ca FILE] | probe.ts workers QUEUE…');
}

// Run only as a script (the functions above are importable).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (msg) => {
      process.stdout.write(`${msg}\n`);
      process.exit(0);
    },
    (err: Error) => {
      process.stderr.write(`unhealthy: ${err.message}\n`);
      process.exit(1);
    },
  );
}
