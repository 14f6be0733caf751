/**
 * The batch page's charts as inline SVG drawn here (a handful of polylines does not justify shipping a
 * charting library): started/steady over time, and Graph traffic while the batch ran.
 */
import type { InstanceRecord } from '../ledger/ledger.ts';
import { END_STATES } from '../ledger/instance-state.ts';
import type { GraphSampler } from './graph-sampler.ts';
import { h } from './html.ts';

/** Cumulative step series (time, count) from event times. */
function cumulative(times: number[]): [number, number][] {
  return times.sort((a, b) => a - b).map((t, i) => [t, i + 1]);
}

/** Started and steady instances over time, as inline SVG. */
export function startedSteadyChart(
  rows: readonly InstanceRecord[],
  opts: { width?: number; height?: number } = {},
): string {
  const W = opts.width ?? 720;
  const H = opts.height ?? 220;
  const pad = { l: 44, r: 12, t: 24, b: 30 };
  const started = cumulative(rows.flatMap((r) => (r.startedAt ? [r.startedAt] : [])));
  const steady = cumulative(rows.flatMap((r) => (r.state === 'steady' && r.endedAt ? [r.endedAt] : [])));
  const t0 = Math.min(...rows.flatMap((r) => (r.enqueuedAt ? [r.enqueuedAt] : [])), ...started.map((p) => p[0]));
  const t1 = Math.max(...started.map((p) => p[0]), ...steady.map((p) => p[0]), t0 + 1000);
  if (!Number.isFinite(t0)) return '<p class="muted" id="chart-empty">No instance has started yet.</p>';
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0)) * (W - pad.l - pad.r);
  const y = (n: number) => H - pad.b - (n / Math.max(1, rows.length)) * (H - pad.t - pad.b);
  const line = (pts: [number, number][], cls: string, name: string) => {
    const d = [[t0, 0] as [number, number], ...pts].flatMap(([t, n], i, a) =>
      i
        ? [`${x(t).toFixed(1)},${y(a[i - 1]![1]).toFixed(1)}`, `${x(t).toFixed(1)},${y(n).toFixed(1)}`]
        : [`${x(t).toFixed(1)},${y(n).toFixed(1)}`],
    );
    const colour = cls === 'started' ? '#2563eb' : '#16a34a';
    return `<polyline data-series="${name}" points="${d.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`;
  };
  const secs = (t1 - t0) / 1000;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const tx = pad.l + f * (W - pad.l - pad.r);
    const label = secs >= 120 ? `${((f * secs) / 60).toFixed(1)} min` : `${(f * secs).toFixed(secs < 10 ? 1 : 0)} s`;
    return `<line x1="${tx}" y1="${H - pad.b}" x2="${tx}" y2="${H - pad.b + 4}" stroke="#6b7280"/>
<text x="${tx}" y="${H - 10}" font-size="11" text-anchor="middle">${label}</text>`;
  });
  return `<svg class="chart" id="started-steady-chart" role="img" aria-label="instances started and steady over time"
 width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg">
<text x="${pad.l}" y="15" font-size="12">
<tspan class="legend-started">■ started ${started.length}</tspan>
<tspan class="legend-steady" dx="12">■ steady ${steady.length}</tspan>
<tspan dx="12" fill="#6b7280">of ${rows.length} · since enqueue</tspan>
</text>
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#6b7280"/>
<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="#6b7280"/>
<text x="${pad.l - 6}" y="${pad.t + 4}" font-size="11" text-anchor="end">${rows.length}</text>
<text x="${pad.l - 6}" y="${H - pad.b}" font-size="11" text-anchor="end">0</text>
${ticks.join('')}${line(started, 'started', 'started')}${line(steady, 'steady', 'steady')}</svg>`;
}

interface Series {
  name: string;
  colour: string;
  points: [number, number][];
}

/** A small line chart over time (inline SVG); x from the first to the last point. */
export function lineChart(
  id: string,
  title: string,
  series: Series[],
  opts: { width?: number; height?: number; unit?: string } = {},
): string {
  const W = opts.width ?? 720;
  const H = opts.height ?? 180;
  const pad = { l: 52, r: 12, t: 24, b: 30 };
  const all = series.flatMap((s) => s.points);
  if (!all.length) return '';
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]), t0 + 1000);
  const vmax = Math.max(1, ...all.map((p) => p[1]));
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0)) * (W - pad.l - pad.r);
  const y = (v: number) => H - pad.b - (v / vmax) * (H - pad.t - pad.b);
  const secs = (t1 - t0) / 1000;
  const ticks = [0, 0.5, 1].map((f) => {
    const tx = pad.l + f * (W - pad.l - pad.r);
    const label = secs >= 120 ? `${((f * secs) / 60).toFixed(1)} min` : `${(f * secs).toFixed(secs < 10 ? 1 : 0)} s`;
    return `<text x="${tx}" y="${H - 10}" font-size="11" text-anchor="middle">${label}</text>`;
  });
  const legend = series
    .map((s, i) => `<tspan fill="${s.colour}"${i ? ' dx="12"' : ''}>■ ${h(s.name)}</tspan>`)
    .join(' ');
  const pointsOf = (s: Series) => s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const lines = series.map(
    (s) =>
      `<polyline data-series="${h(s.name)}" points="${pointsOf(s)}"
 fill="none" stroke="${s.colour}" stroke-width="2"/>`,
  );
  const top = Number.isInteger(vmax) ? vmax : vmax.toFixed(1);
  return `<svg class="chart" id="${h(id)}" role="img" aria-label="${h(title)}" width="${W}" height="${H}"
 viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg">
<text x="${pad.l}" y="15" font-size="12">${h(title)}: ${legend}</text>
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#6b7280"/>
<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="#6b7280"/>
<text x="${pad.l - 6}" y="${pad.t + 4}" font-size="11" text-anchor="end">${top}${h(opts.unit ?? '')}</text>
<text x="${pad.l - 6}" y="${H - pad.b}" font-size="11" text-anchor="end">0</text>
${ticks.join('')}${lines.join('')}</svg>`;
}

/** Graph requests, throttled answers and latency while the batch ran, from the board's samples. */
export function graphCharts(rows: readonly InstanceRecord[], sampler: GraphSampler | null): string {
  if (!sampler) return '';
  const from = Math.min(...rows.flatMap((r) => (r.enqueuedAt ? [r.enqueuedAt] : [])));
  const ended = rows.every((r) => END_STATES.has(r.state));
  const to = ended
    ? Math.max(...rows.flatMap((r) => (r.endedAt ? [r.endedAt] : [])), from) + sampler.everyMs
    : Date.now();
  const samples = Number.isFinite(from) ? sampler.samples(from, to) : [];
  if (!samples.length) {
    return (
      '<p class="muted" id="graph-none">Graph traffic over time: the board was not sampling while this batch ran ' +
      '(it keeps samples from its own start).</p>'
    );
  }
  const per = (n: number) => (n * 1000) / sampler.everyMs;
  const latency = samples.flatMap((s): [number, number][] =>
    s.meanLatencyMs === null ? [] : [[s.t, s.meanLatencyMs]],
  );
  return `<h2>Graph while this batch ran <span class="muted">(tenant-wide, every ${sampler.everyMs / 1000} s)</span>
</h2>
${lineChart('graph-requests-chart', 'requests/s and throttled/s', [
  { name: 'requests/s', colour: '#2563eb', points: samples.map((s) => [s.t, per(s.requests)]) },
  { name: 'throttled (429/503)/s', colour: '#dc2626', points: samples.map((s) => [s.t, per(s.throttled)]) },
])}
${lineChart('graph-latency-chart', 'mean latency', [{ name: 'ms', colour: '#7c3aed', points: latency }], {
  unit: ' ms',
})}`;
}
