/**
 * CPU a steps worker and a poller spend with nothing to do (BullMQ's blocking fetches, stalled
 * checks, the poller's fleet count), over `--seconds` (30) with `--tenants` (8) simulated tenants
 * as `npm run bench -- --tenants 8` runs them: the floor under every per-instance figure, paid for
 * as long as a run lasts. `node --import tsx bench/idle-cpu.ts [--tenants N] [--seconds S]`
 */
import { parseArgs } from 'node:util';
import { startLocalStack } from '../src/dev/local-stack.ts';
import { startSimProcess } from '../src/dev/sim/process.ts';
import { silentLogger } from '../src/logger.ts';
import { procUsage } from './proc.ts';
import { startBenchFleet } from './fleet.ts';

const { values } = parseArgs({
  options: { tenants: { type: 'string', default: '8' }, seconds: { type: 'string', default: '30' } },
});
const tenants = Number(values.tenants);
const seconds = Number(values.seconds);
const sim = await startSimProcess({ profile: 'realistic', seed: 1, timeScale: 1, tenants });
const stack = await startLocalStack({ sim: sim.handle, timeScale: 1, ownRedis: true, tenants });
const rt = await stack.runtime(silentLogger());
const fleet = await startBenchFleet(stack, rt);
const { poller } = fleet;
const worker = fleet.workers[0]!;
try {
  await new Promise((r) => setTimeout(r, 5000)); // start-up done
  const pids = { worker: worker.pid, poller: poller.pid, redis: stack.redis.child?.pid };
  const c0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procUsage(pid).cpuMs]));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const c1 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procUsage(pid).cpuMs]));
  const line = Object.keys(pids)
    .map((k) => `${k} ${(((c1[k] ?? 0) - (c0[k] ?? 0)) / seconds).toFixed(1)} ms/s`)
    .join(', ');
  process.stdout.write(`idle CPU over ${seconds} s (${tenants} tenants): ${line}\n`);
} finally {
  await fleet.stop();
  await rt.close();
  await stack.close();
  await sim.close();
}
