/** The `--tenants N` run of `npm run bench`: prints its table and merges `multiTenant` into results.json. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { renderTable } from '../src/ui/table.ts';
import { runMultiTenantBench, type MultiTenantOptions } from './multi-tenant.ts';

export async function runMultiTenantCli(o: Omit<MultiTenantOptions, 'say'> & { results: string }): Promise<void> {
  const t00 = Date.now();
  const say = (s: string) => process.stderr.write(`[${((Date.now() - t00) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
  const r = await runMultiTenantBench({ ...o, say });
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  process.stdout.write(
    `${renderTable(r.perTenant, [
      { header: 'tenant', get: (f) => `${f.tenant}${f.storm ? ' (429 storm)' : ''}` },
      { header: 'instances', get: (f) => f.instances, align: 'right' },
      { header: 'steady', get: (f) => f.steady, align: 'right' },
      { header: 'ideal s', get: (f) => f.idealSeconds.toFixed(1), align: 'right' },
      { header: 'took s', get: (f) => f.seconds.toFixed(1), align: 'right' },
      { header: 'efficiency', get: (f) => pct(f.efficiency), align: 'right' },
      {
        header: 'job starts s: first/p50/p95/last',
        get: (f) =>
          [f.firstStartSeconds, f.medianStartSeconds, f.p95StartSeconds, f.lastStartSeconds]
            .map((x) => x.toFixed(0))
            .join('/'),
        align: 'right',
      },
      { header: 'start→end s', get: (f) => f.medianStartToEndSeconds.toFixed(1), align: 'right' },
      { header: '429s', get: (f) => f.throttled, align: 'right' },
    ])}\n`,
  );
  const c = r.cpuMsPerInstance;
  process.stdout.write(
    `aggregate: ${r.instances} instances in ${r.wallSeconds.toFixed(1)} s = ${r.instancesPerMinute.toFixed(0)} /min, ` +
      `${pct(r.efficiency)} of the sum of the tenants' ideals; lowest efficiency outside the storm ${pct(r.minTenantEfficiency)} ` +
      `(isolated: ${r.stormTenantIsolated})\n` +
      `CPU per instance: worker ${c.worker.toFixed(1)} ms, poller ${c.poller.toFixed(1)} ms, Redis ${c.redis.toFixed(1)} ms ` +
      `= ${c.total.toFixed(1)} ms (simulator ${c.simulator.toFixed(1)} ms, not counted) → ` +
      `${r.coresPer1000PerMinute.toFixed(2)} cores per 1,000 instances/min; load average ${r.loadAverage.join(' ')}\n`,
  );
  const results = existsSync(o.results) ? (JSON.parse(readFileSync(o.results, 'utf8')) as Record<string, unknown>) : {};
  results.multiTenant = r;
  writeFileSync(o.results, `${JSON.stringify(results, null, 2)}\n`);
  say(`merged multiTenant into ${o.results}`);
}
