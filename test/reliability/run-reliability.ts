/**
 * `npm run chaos`: every reliability scenario in its long form, a table of figures, exit 1 if
 * any scenario lost, duplicated, violated a Retry-After or ended an instance unexpectedly.
 * Flags: --short (the CI sizes), --seed N, --only NAME.
 */
import { parseArgs } from 'node:util';
import { SCENARIOS, type ScenarioResult } from './scenarios.ts';
import { clusterFailoverScenario } from './cluster-failover.ts';
import { clusterToolsAvailable } from '../../src/dev/redis-cluster.ts';
import { longNotes, passed, reliabilityTable } from './table.ts';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    seed: { type: 'string', default: '7' },
    only: { type: 'string' },
  },
});
const seed = Number(values.seed);
const LONG: Record<string, { instances: number; disruptions: number }> = {
  'kill-worker': { instances: 200, disruptions: 12 },
  'kill-poller': { instances: 100, disruptions: 8 },
  'restart-redis': { instances: 150, disruptions: 4 },
  'chaos-profile': { instances: 150, disruptions: 0 },
  'tight-quota': { instances: 60, disruptions: 0 },
  'sigterm-busy': { instances: 120, disruptions: 4 },
  poison: { instances: 40, disruptions: 0 },
  'cluster-failover': { instances: 90, disruptions: 1 },
};
const ALL: Record<string, (o: Parameters<(typeof SCENARIOS)[string]>[0]) => Promise<ScenarioResult>> = {
  ...SCENARIOS,
  'cluster-failover': clusterFailoverScenario,
};
const haveCluster = await clusterToolsAvailable();
const rows: ScenarioResult[] = [];
for (const [name, size] of Object.entries(LONG)) {
  if (values.only && values.only !== name) continue;
  if (name === 'cluster-failover' && !haveCluster) {
    process.stderr.write(`${name}: skipped, needs redis-server and redis-cli --cluster on PATH\n`);
    continue;
  }
  const s = values.short
    ? { instances: Math.min(30, size.instances), disruptions: Math.min(3, size.disruptions) }
    : size;
  process.stderr.write(`${name}: ${s.instances} instances, ${s.disruptions} disruptions, seed ${seed}…\n`);
  const r = await ALL[name]!({ ...s, seed, log: (l) => process.stderr.write(`${l}\n`) });
  process.stderr.write(`${name}: ${passed(r) ? 'ok' : 'FAILED'} in ${(r.wallMs / 1000).toFixed(1)} s\n`);
  rows.push(r);
}
process.stdout.write(`${reliabilityTable(rows)}\n`);
const more = longNotes(rows);
if (more) process.stdout.write(`\nnotes in full:\n${more}\n`);
process.exit(rows.every(passed) ? 0 : 1);
