/**
 * The pacing windows' engines side by side, with nothing but the throttle running: several
 * "processes" (own connections, own throttle) ask for write grants on one tenant under a tight
 * quota, and every grant's time is checked against Graph's rule — a sliding window of W holding
 * at most L calls. What bench/README.md and ADR 0006 quote.
 *
 *   node --import tsx bench/throttle-engines.ts [--limit 60] [--window-ms 3000] [--seconds 20]
 *
 * Two demand shapes: `saturating` (every process asks again as soon as it is granted) and
 * `bursty` (bursts of 0.7·L grants every 0.8·W, in between nothing), which a fixed window lets
 * through twice inside one sliding window when a burst straddles a refresh.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { obtainRedis } from '../src/dev/redis-server.ts';
import { RateLimitedError } from '../src/graph/errors.ts';
import { createRedisThrottle, type Throttle, type ThrottleEngine } from '../src/graph/throttle/index.ts';

const { values } = parseArgs({
  options: {
    limit: { type: 'string', default: '60' },
    'window-ms': { type: 'string', default: '3000' },
    seconds: { type: 'string', default: '20' },
    processes: { type: 'string', default: '3' },
  },
});
const L = Number(values.limit);
const W = Number(values['window-ms']);
const RUN_MS = Number(values.seconds) * 1000;
const P = Number(values.processes);
const BIG = 1_000_000;
const limits = {
  writeLimit: L,
  writeWindowMs: W,
  ruLimit: BIG,
  ruWindowMs: W,
  reportsLimit: BIG,
  reportsWindowMs: W,
};

/** Grants Graph would refuse: each grant checked against the L before it in a sliding window W. */
function overQuota(times: number[]): { refused: number; busiest: number } {
  const t = [...times].sort((a, b) => a - b);
  let refused = 0;
  let busiest = 0;
  let lo = 0;
  for (let i = 0; i < t.length; i++) {
    while (t[lo]! <= t[i]! - W) lo++;
    const inWindow = i - lo + 1;
    busiest = Math.max(busiest, inWindow);
    if (inWindow > L) refused++;
  }
  return { refused, busiest };
}

async function run(engine: ThrottleEngine, shape: 'saturating' | 'bursty', url: string) {
  const prefix = `{tbench-${engine}-${shape}-${Date.now()}}`;
  const conns: Redis[] = [];
  const throttles: Throttle[] = [];
  for (let i = 0; i < P; i++) {
    const redis = new Redis(url, { maxRetriesPerRequest: null });
    conns.push(redis);
    throttles.push(createRedisThrottle({ redis, prefix, limits, engine, maxInlineWaitMs: 60_000 }));
  }
  const times: number[] = [];
  const start = Date.now();
  const until = start + RUN_MS;
  let n = 0;
  const grant = async (t: Throttle) => {
    const request = {
      method: 'POST',
      url: `/x/${n++}`,
      bodyText: '',
      route: '/x',
      cost: { writes: 1, ru: 0, reports: 0 },
    };
    try {
      await t.admit('t', request);
      if (Date.now() < until) times.push(Date.now());
    } catch (err) {
      if (!(err instanceof RateLimitedError)) throw err;
    }
  };
  if (shape === 'saturating') {
    await Promise.all(
      throttles.flatMap((t) =>
        Array.from({ length: 4 }, async () => {
          while (Date.now() < until) await grant(t);
        }),
      ),
    );
  } else {
    const burst = Math.round(0.7 * L);
    while (Date.now() < until) {
      const next = Date.now() + 0.8 * W;
      await Promise.all(Array.from({ length: burst }, (_, i) => grant(throttles[i % P]!)));
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
  }
  await Promise.all(throttles.map((t) => t.close()));
  for (const c of conns) c.disconnect();
  const elapsedS = RUN_MS / 1000;
  const { refused, busiest } = overQuota(times);
  return { engine, shape, grants: times.length, perS: times.length / elapsedS, busiest, refused };
}

const redis = await obtainRedis({ preferSpawn: true });
const rows = [];
for (const shape of ['saturating', 'bursty'] as const) {
  for (const engine of ['native', 'bottleneck'] as const) {
    process.stderr.write(`${engine}, ${shape}…\n`);
    rows.push(await run(engine, shape, redis.url));
  }
}
await redis.close();
const paced = (L / (W / 0.95)) * 1000;
process.stdout.write(
  `write quota ${L} per ${W} ms (paced at 95 %: ${paced.toFixed(1)}/s), ${P} processes, ${RUN_MS / 1000} s\n` +
    `shape       engine      grants  grants/s  busiest ${W} ms  grants over Graph's quota\n`,
);
for (const r of rows) {
  process.stdout.write(
    `${r.shape.padEnd(10)}  ${r.engine.padEnd(10)}  ${String(r.grants).padStart(6)}  ${r.perS.toFixed(1).padStart(8)}` +
      `  ${`${r.busiest} of ${L}`.padStart(13)}  ${String(r.refused).padStart(25)}\n`,
  );
}
process.exit(0);
