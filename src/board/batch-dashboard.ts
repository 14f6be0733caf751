/**
 * `/batches` in the board process: operators think in batches and instances, Bull Board shows
 * queues and jobs. Every batch with counts per state and a progress bar; a page per batch with a
 * sortable, filterable instance table (links into Bull Board), a chart of started/steady over
 * time, and Graph requests, throttling and latency while the batch ran (sampled by the board).
 * Server-rendered HTML with no script: sorting and filtering are links and a GET form, so the page
 * works under a strict Content-Security-Policy and needs nothing from a CDN. The charts are inline
 * SVG drawn here (a handful of polylines does not justify shipping a charting library).
 */
import express from 'express';
import type { Redis } from 'ioredis';
import { stepJobId } from '../flow/build-flow.ts';
import { QUEUES } from '../flow/queues.ts';
import { ROOT_STEP } from '../steps/index.ts';
import type { MetricsSource } from '../metrics/redis-counters.ts';
import { Ledger, type BatchMeta, type InstanceRecord } from '../ledger/ledger.ts';
import { END_STATES } from '../ledger/instance-state.ts';
import { terminalSafe } from '../ui/terminal-safe.ts';
import { attentionReason, dayTwoNote, runningLongAfterMs, summarise } from '../ui/status-view.ts';
import { startGraphSampler, type GraphSampler } from './graph-sampler.ts';

/** HTML-escaped, control characters shown escaped too. */
export const h = (v: unknown): string =>
  terminalSafe(v === null || v === undefined ? '' : String(v)).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STATE_ORDER = [
  'failed',
  'timed-out',
  'quarantined',
  'steady',
  'syncing',
  'starting-cycle',
  'started',
  'starting',
];
const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1f2937;background:#f8fafc}
header{background:#1e3a8a;color:#fff;padding:10px 20px}header a{color:#fff;margin-right:16px}
main{padding:16px 20px}table{border-collapse:collapse;background:#fff;width:100%}
th,td{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}
th{white-space:nowrap}td.t{white-space:nowrap}td.reason{min-width:28em;max-width:40em;overflow-wrap:anywhere}
th a{color:inherit}td.n{text-align:right}progress{width:220px;height:14px}
.state{font-weight:600}.s-failed,.s-timed-out{color:#b91c1c}.s-quarantined{color:#b45309}.s-steady{color:#15803d}
form{margin:12px 0}form *{margin-right:8px}.chart{background:#fff;border:1px solid #e5e7eb;margin:12px 0}
.legend-started{fill:#2563eb}.legend-steady{fill:#16a34a}.muted{color:#6b7280}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${h(title)}</title>
<link rel="stylesheet" href="/batches/dashboard.css"></head><body>
<header><a href="/batches">Batches</a><a href="/board/">Bull Board</a><a href="/healthz">Health</a></header>
<main>${body}</main></body></html>`;
}

const fmtTime = (ms: number | null) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '');
const failuresText = (r: InstanceRecord) =>
  Object.entries(r.logFailures)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code}×${n}`)
    .join(', ');
const quarantineText = (r: InstanceRecord) =>
  r.quarantineReason
    ? `${r.quarantineReason}${r.quarantineNextAttempt ? ` (next attempt ${r.quarantineNextAttempt})` : ''}`
    : '';

function countsLine(rows: readonly InstanceRecord[]): string {
  const s = summarise(rows);
  const entries = Object.entries(s.byState).sort((a, b) => {
    const ia = STATE_ORDER.indexOf(a[0]);
    const ib = STATE_ORDER.indexOf(b[0]);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  return entries.map(([state, n]) => `<span class="state s-${h(state)}">${h(state)} ${n}</span>`).join(' · ');
}

function progress(rows: readonly InstanceRecord[]): string {
  const ended = rows.filter((r) => END_STATES.has(r.state)).length;
  const bar = `<progress value="${ended}" max="${rows.length || 1}" aria-label="ended"></progress>`;
  return `${bar} ${ended}/${rows.length} ended`;
}

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
function graphCharts(rows: readonly InstanceRecord[], sampler: GraphSampler | null): string {
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

type SortKey = 'instance' | 'state' | 'jobCode' | 'lastExecution' | 'quarantine' | 'failures' | 'started' | 'index';
const SORTS: Record<SortKey, (r: InstanceRecord) => string | number> = {
  index: (r) => r.index,
  instance: (r) => r.displayName.toLowerCase(),
  state: (r) => r.state,
  jobCode: (r) => r.jobCode ?? '',
  lastExecution: (r) => r.lastExecution ?? '',
  quarantine: (r) => quarantineText(r),
  failures: (r) => Object.values(r.logFailures).reduce((a, b) => a + b, 0),
  started: (r) => r.startedAt ?? 0,
};

export interface TableQuery {
  sort: SortKey;
  dir: 'asc' | 'desc';
  state: string;
  q: string;
  attention: boolean;
}

export function parseQuery(qs: Record<string, unknown>): TableQuery {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const sort = Object.hasOwn(SORTS, str(qs.sort)) ? (str(qs.sort) as SortKey) : 'index'; // not 'constructor' &c.
  return {
    sort,
    dir: str(qs.dir) === 'desc' ? 'desc' : 'asc',
    state: str(qs.state),
    q: str(qs.q).slice(0, 200),
    attention: str(qs.attention) === '1',
  };
}

/** The rows a query selects, in its order. */
export function selectRows(rows: readonly InstanceRecord[], q: TableQuery, now = Date.now()): InstanceRecord[] {
  const needle = q.q.toLowerCase();
  const longMs = runningLongAfterMs(rows);
  const picked = rows.filter(
    (r) =>
      (!q.state || r.state === q.state) &&
      (!q.attention || attentionReason(r, now, longMs) !== null) &&
      (!needle ||
        [r.displayName, r.lastError, r.warning, r.quarantineReason, r.jobCode, failuresText(r)].some((v) =>
          v?.toLowerCase().includes(needle),
        )),
  );
  const key = SORTS[q.sort];
  const sign = q.dir === 'desc' ? -1 : 1;
  return picked.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return (ka < kb ? -1 : ka > kb ? 1 : a.index - b.index) * sign;
  });
}

function batchPage(
  meta: BatchMeta,
  rows: readonly InstanceRecord[],
  q: TableQuery,
  sampler: GraphSampler | null,
): string {
  const selected = selectRows(rows, q);
  const base = `/batches/${encodeURIComponent(meta.batchId)}`;
  const link = (over: Partial<TableQuery>) => {
    const p = { ...q, ...over };
    const params = new URLSearchParams({
      sort: p.sort,
      dir: p.dir,
      ...(p.state ? { state: p.state } : {}),
      ...(p.q ? { q: p.q } : {}),
      ...(p.attention ? { attention: '1' } : {}),
    });
    return `${base}?${params.toString()}`;
  };
  const th = (key: SortKey, label: string) => {
    const active = q.sort === key;
    const dir = active && q.dir === 'asc' ? 'desc' : 'asc';
    const arrow = active ? (q.dir === 'asc' ? ' ▲' : ' ▼') : '';
    return `<th>
<a data-sort="${key}" href="${h(link({ sort: key, dir }))}">${h(label)}${arrow}</a>
</th>`;
  };
  const states = Object.keys(summarise(rows).byState).sort();
  const stateOptions = states.map((s) => `<option${s === q.state ? ' selected' : ''}>${h(s)}</option>`).join('');
  const body = selected
    .map((r) => {
      const jobId = stepJobId(meta.batchId, r.instanceKey, ROOT_STEP);
      // The failure, else a day-two finding, else a warning, else the smoke test's outcome.
      const reasonText = (x: InstanceRecord) =>
        x.state === 'failed'
          ? x.lastError
          : (dayTwoNote(x) ?? x.warning ?? (x.smokeTest ? `smoke test: ${x.smokeTest}` : null));
      const flow = `/board/queue/${encodeURIComponent(QUEUES.steps)}/${encodeURIComponent(jobId)}`;
      return `<tr data-state="${h(r.state)}"><td>
<a class="flow" href="${h(flow)}" title="this instance's flow in Bull Board">${h(r.displayName)}</a></td>
<td class="state s-${h(r.state)}">${h(r.state)}</td><td>${h(r.jobCode)}</td><td class="t">${h(r.lastExecution)}</td>
<td>${h(quarantineText(r))}</td>
<td>${h(failuresText(r))}</td><td class="reason">${h(reasonText(r))}</td>
<td class="t">${h(fmtTime(r.startedAt))}</td></tr>`;
    })
    .join('\n');
  return page(
    `batch ${meta.batchId}`,
    `<h1>Batch ${h(meta.batchId)}</h1>
<p>${h(meta.sourceFile)} · created ${h(fmtTime(meta.createdAt))} · ${rows.length} instances</p>
<p>${progress(rows)}</p><p>${countsLine(rows)}</p>
${startedSteadyChart(rows)}
${graphCharts(rows, sampler)}
<form method="get" action="${h(base)}"><input type="hidden" name="sort" value="${h(q.sort)}">
<input type="hidden" name="dir" value="${h(q.dir)}">
<label>state <select name="state">
<option value="">all</option>${stateOptions}</select>
</label>
<label>text <input name="q" value="${h(q.q)}" placeholder="name, error, code"></label>
<label><input type="checkbox" name="attention" value="1"${q.attention ? ' checked' : ''}> needing attention only</label>
<button type="submit">Filter</button></form>
<p class="muted" id="shown">${selected.length} of ${rows.length} instances shown</p>
<table id="instances"><thead>
<tr>${th('instance', 'instance')}
${th('state', 'state')}
${th('jobCode', 'job code')}
${th('lastExecution', 'last execution')}
${th('quarantine', 'quarantine (next attempt)')}
${th('failures', 'log failures by code')}
<th>reason</th>${th('started', 'started')}</tr>
</thead>
<tbody>${body}</tbody></table>`,
  );
}

function listPage(batches: { meta: BatchMeta; rows: InstanceRecord[] }[]): string {
  const rows = batches
    .map(
      ({
        meta,
        rows: r,
      }) => `<tr><td><a class="batch" href="/batches/${h(encodeURIComponent(meta.batchId))}">${h(meta.batchId)}</a></td>
<td>${h(fmtTime(meta.createdAt))}</td><td class="n">${r.length}</td><td>${progress(r)}</td><td>${countsLine(r)}</td>
</tr>`,
    )
    .join('\n');
  return page(
    'batches',
    `<h1>Batches</h1>${
      batches.length
        ? `<table id="batches"><thead><tr><th>batch</th><th>created</th>
<th>instances</th><th>progress</th><th>by state</th></tr></thead><tbody>${rows}</tbody>
</table>`
        : '<p>No batches in this Redis yet.</p>'
    }`,
  );
}

export interface BatchDashboard {
  router: express.Router;
  close(): void;
}

/** Batches on the list page, newest first (older ones stay reachable at /batches/ID). */
const LIST_LIMIT = 50;

/** The `/batches` router; mount it behind the board's authentication. */
export function batchDashboard(opts: {
  redis: Redis;
  prefix: string;
  metrics?: MetricsSource;
  sampleMs?: number;
}): BatchDashboard {
  const ledger = new Ledger(opts.redis, opts.prefix);
  const sampler = opts.metrics ? startGraphSampler(opts.metrics, { everyMs: opts.sampleMs }) : null;
  const router = express.Router();
  router.use(async (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    // The board's connection has no offline queue: give a fresh connection a moment to be ready.
    if (opts.redis.status === 'connecting' || opts.redis.status === 'wait') {
      await new Promise((resolve) => {
        const t = setTimeout(resolve, 3000);
        opts.redis.once('ready', () => resolve(clearTimeout(t)));
      });
    }
    next();
  });
  router.get('/dashboard.css', (_req, res) => void res.type('text/css').send(CSS));
  router.get('/', async (_req, res, next) => {
    try {
      // The newest batches: each one costs a read of all its instances.
      const metas = (await ledger.listBatches()).sort((a, b) => b.createdAt - a.createdAt).slice(0, LIST_LIMIT);
      const batches = await Promise.all(
        metas.map(async (meta) => ({ meta, rows: await ledger.listInstances(meta.batchId) })),
      );
      res.type('html').send(listPage(batches));
    } catch (err) {
      next(err);
    }
  });
  router.get('/:batchId', async (req, res, next) => {
    try {
      const meta = await ledger.getBatch(req.params.batchId);
      if (!meta) {
        res
          .status(404)
          .type('html')
          .send(page('not found', `<p>No batch ${h(req.params.batchId)}. <a href="/batches">All batches</a></p>`));
        return;
      }
      const rows = await ledger.listInstances(meta.batchId);
      res.type('html').send(batchPage(meta, rows, parseQuery(req.query as Record<string, unknown>), sampler));
    } catch (err) {
      next(err);
    }
  });
  return { router, close: () => sampler?.close() };
}
