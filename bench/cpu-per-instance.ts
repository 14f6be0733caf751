/**
 * A smaller harness than `npm run bench -- --tenants 8` for comparing CPU per onboarded instance
 * before and after a change: the same fleet (one steps worker, one poller, one Redis, `--tenants`
 * simulated tenants at ×1) without the 429 storm, so a run lasts about as long as its slowest
 * tenant's quota and not a storm's tail. Prints the CPU of each process per instance (/proc utime
 * + stime, from the enqueue to the last instance's end) and the Graph requests per instance by
 * route (where the poller's reads go).
 *
 *   node --import tsx bench/cpu-per-instance.ts [--tenants 8] [--instances 200] [--env KEY=VALUE]
 */
import { parseArgs } from 'node:util';
import { startLocalStack } from '../src/dev/local-stack.ts';
import { startSimProcess } from '../src/dev/sim/process.ts';
import { enqueueBatch } from '../src/flow/enqueue-batch.ts';
import { END_STATES } from '../src/ledger/instance-state.ts';
import { silentLogger } from '../src/logger.ts';
import { simpleBatch } from '../test/helpers/batches.ts';
import { procUsage } from './proc.ts';
import { startBenchFleet, statesOf } from './fleet.ts';

const { values } = parseArgs({
  options: {
    tenants: { type: 'string', default: '8' },
    instances: { type: 'string', default: '200' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const tenants = Number(values.tenants);
const perTenant = Math.ceil(Number(values.instances) / tenants);
const total = perTenant * tenants;
const extraEnv = Object.fromEntries(values.env.map((kv) => [kv.split('=')[0]!, kv.split('=').slice(1).join('=')]));
const sim = await startSimProcess({ profile: 'realistic', seed: 1, timeScale: 1, tenants });
const stack = await startLocalStack({ sim: sim.handle, timeScale: 1, ownRedis: true, tenants });
const rt = await stack.runtime(silentLogger());
const fleet = await startBenchFleet(stack, rt, { env: extraEnv });
const { poller, exited } = fleet;
const worker = fleet.workers[0]!;
try {
  await sim.reset();
  const batch = simpleBatch('cpu', total, (i) => `AWS CPU ${String(i).padStart(5, '0')}`);
  batch.instances.forEach((inst, i) => (inst.tenant = stack.tenantNames[Math.floor(i / perTenant)]!));
  const pids = { worker: worker.pid, poller: poller.pid, redis: stack.redis.child?.pid };
  const cpu = () => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procUsage(pid).cpuMs]));
  const c0 = cpu();
  const t0 = Date.now();
  await enqueueBatch(rt, batch);
  // Each tenant's part lives in its own lane (its queues and ledger).
  const keys = batch.instances.map((i) => rt.lane(i.tenant ?? 'default').ledger.keys.instance('cpu', i.instanceKey));
  for (;;) {
    const why = exited();
    if (why) throw new Error(`a provflow process exited:\n${why}`);
    const states = await statesOf(rt.redis, keys);
    if (states.every((s) => s !== null && END_STATES.has(s))) break;
    if (Date.now() - t0 > 900_000) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 500));
  }
  const c1 = cpu();
  const seconds = (Date.now() - t0) / 1000;
  const per = (k: string) => ((c1[k] ?? 0) - (c0[k] ?? 0)) / total;
  const routes: Record<string, number> = {};
  for (const t of sim.handle.tenants) {
    const s = await sim.statsOf(t.tenantId);
    for (const [r, n] of Object.entries(s.byRoute)) routes[r] = (routes[r] ?? 0) + n;
  }
  const rows = await rt.ledger.listInstances('cpu');
  const states: Record<string, number> = {};
  for (const r of rows) states[r.state] = (states[r.state] ?? 0) + 1;
  const out = [
    `${total} instances, ${tenants} tenants, ${seconds.toFixed(1)} s; ${JSON.stringify(states)}`,
    `CPU ms / instance: worker ${per('worker').toFixed(1)}, poller ${per('poller').toFixed(1)}, ` +
      `redis ${per('redis').toFixed(1)} = ${(per('worker') + per('poller') + per('redis')).toFixed(1)}`,
    'Graph requests / instance by route:',
    ...Object.entries(routes)
      .sort((a, b) => b[1] - a[1])
      .map(([r, n]) => `  ${(n / total).toFixed(2).padStart(6)}  ${r}`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  await fleet.stop();
  await rt.close();
  await stack.close();
  await sim.close();
}
