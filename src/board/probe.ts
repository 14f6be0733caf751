/**
 * Container health probes (docker-compose `healthcheck`), because the slim image has no curl
 * or redis-cli:
 *
 *   node --import tsx src/board/probe.ts http URL [--ca FILE]   2xx from URL (https trusts FILE)
 *   node --import tsx src/board/probe.ts workers QUEUE…         Redis answers and each QUEUE has a worker
 *
 * `workers` reads REDIS_URL and BULLMQ_PREFIX. It is a queue-level check (BullMQ registers
 * workers by connection name, not by container), so it says "this queue is being served".
 * Exit 0 healthy, 1 unhealthy (reason on stderr).
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { DEFAULT_PREFIX } from '../flow/queues.ts';

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

/** Worker count per queue; throws when Redis does not answer. */
export async function queueWorkerCounts(
  redisUrl: string,
  prefix: string,
  queues: string[],
): Promise<Record<string, number>> {
  const connection = new Redis(redisUrl, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: TIMEOUT_MS,
    retryStrategy: () => null,
  });
  connection.on('error', () => {});
  try {
    const entries = await Promise.all(
      queues.map(async (name) => {
        const q = new Queue(name, { connection, prefix });
        try {
          return [name, (await q.getWorkers()).length] as const;
        } finally {
          await q.close();
        }
      }),
    );
    return Object.fromEntries(entries);
  } finally {
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
    const redisUrl = process.env.REDIS_URL;
    if (!redisUrl) throw new Error('REDIS_URL is not set');
    if (rest.length === 0) throw new Error('usage: probe.ts workers QUEUE…');
    const counts = await queueWorkerCounts(redisUrl, process.env.BULLMQ_PREFIX || DEFAULT_PREFIX, rest);
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
