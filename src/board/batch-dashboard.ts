/**
 * `/batches` in the board process: operators think in batches and instances, Bull Board shows
 * queues and jobs. Every batch with counts per state and a progress bar; a page per batch with a
 * sortable, filterable instance table (links into Bull Board), a chart of started/steady over
 * time, and Graph requests, throttling and latency while the batch ran (sampled by the board).
 * Server-rendered HTML with no script: sorting and filtering are links and a GET form, so the page
 * works under a strict Content-Security-Policy and needs nothing from a CDN. Charts: dashboard-charts.ts;
 * the table's query: dashboard-query.ts.
 */
import express from 'express';
import type { Redis } from 'ioredis';
import { stepJobId } from '../flow/build-flow.ts';
import { QUEUES } from '../flow/queues.ts';
import { ROOT_STEP } from '../steps/index.ts';
import type { MetricsSource } from '../metrics/redis-counters.ts';
import type { BatchMeta, InstanceRecord } from '../ledger/ledger.ts';
import { batchAcrossTenants, batchIdsAcrossTenants, rowsInFileOrder } from '../ledger/tenant-ledgers.ts';
import { DEFAULT_TENANT } from '../redis-keys.ts';
import { boardQueueName } from './board-lanes.ts';
import { END_STATES } from '../ledger/instance-state.ts';
import { dayTwoNote, hasTenants, summarise } from '../ui/status-view.ts';
import { startGraphSampler, type GraphSampler } from './graph-sampler.ts';
import { graphCharts, startedSteadyChart } from './dashboard-charts.ts';
import {
  failuresText,
  parseQuery,
  quarantineText,
  selectRows,
  type SortKey,
  type TableQuery,
} from './dashboard-query.ts';
import { h } from './html.ts';

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

function batchPage({ meta, rows, laneOf }: BatchView, q: TableQuery, sampler: GraphSampler | null): string {
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
      ...(p.tenant ? { tenant: p.tenant } : {}),
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
  // Many tenants: a tenant column and filter (a single-tenant batch keeps its table).
  const tenants = hasTenants(rows) ? [...new Set(rows.map((r) => r.tenant))].sort() : [];
  const tenantCell = (r: InstanceRecord) => (tenants.length ? `<td class="tenant">${h(r.tenant)}</td>` : '');
  const tenantOptions = tenants.map((t) => `<option${t === q.tenant ? ' selected' : ''}>${h(t)}</option>`).join('');
  const tenantFilter = tenants.length
    ? `<label>tenant <select name="tenant"><option value="">all</option>${tenantOptions}</select></label>`
    : '';
  const body = selected
    .map((r) => {
      // The root of the instance's flow (its steps vary); flows enqueued before it was recorded had every step.
      const jobId = stepJobId(meta.batchId, r.instanceKey, r.rootStep ?? ROOT_STEP);
      // The failure, else a day-two finding, else a warning, else the smoke test's outcome.
      const reasonText = (x: InstanceRecord) =>
        x.state === 'failed'
          ? x.lastError
          : (dayTwoNote(x) ?? x.warning ?? (x.smokeTest ? `smoke test: ${x.smokeTest}` : null));
      // The steps queue of the lane holding the instance, under its name on the board.
      const stepsQueue = boardQueueName(laneOf(r), QUEUES.steps);
      const flow = `/board/queue/${encodeURIComponent(stepsQueue)}/${encodeURIComponent(jobId)}`;
      return `<tr data-state="${h(r.state)}"><td>
<a class="flow" href="${h(flow)}" title="this instance's flow in Bull Board">${h(r.displayName)}</a>
</td>${tenantCell(r)}
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
</label>${tenantFilter}
<label>text <input name="q" value="${h(q.q)}" placeholder="name, error, code"></label>
<label><input type="checkbox" name="attention" value="1"${q.attention ? ' checked' : ''}> needing attention only</label>
<button type="submit">Filter</button></form>
<p class="muted" id="shown">${selected.length} of ${rows.length} instances shown</p>
<table id="instances"><thead>
<tr>${th('instance', 'instance')}${tenants.length ? '<th>tenant</th>' : ''}
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

function listPage(batches: readonly BatchView[]): string {
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

/** A batch as the pages show it: every tenant's part, the rows in the file's order. */
interface BatchView {
  meta: BatchMeta;
  rows: InstanceRecord[];
  /** The tenant whose lane holds the row (its queues): where its flow is. */
  laneOf(r: InstanceRecord): string;
}

async function readBatchView(redis: Redis, base: string, batchId: string): Promise<BatchView | null> {
  const parts = await batchAcrossTenants(redis, base, batchId);
  if (!parts.length) return null;
  const lane = new Map(parts.flatMap((p) => p.rows.map((r) => [r.instanceKey, p.tenant] as const)));
  const meta = {
    ...parts[0]!.meta,
    // Each tenant's part was written when its lane was enqueued: the batch began with the first.
    createdAt: Math.min(...parts.map((p) => p.meta.createdAt)),
  };
  return { meta, rows: rowsInFileOrder(parts), laneOf: (r) => lane.get(r.instanceKey) ?? DEFAULT_TENANT };
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
      // The newest batches: each one costs a read of all its instances, in every tenant.
      const ids = (await batchIdsAcrossTenants(opts.redis, opts.prefix)).reverse().slice(0, LIST_LIMIT);
      const batches = await Promise.all(ids.map((id) => readBatchView(opts.redis, opts.prefix, id)));
      res.type('html').send(listPage(batches.filter((b): b is BatchView => b !== null)));
    } catch (err) {
      next(err);
    }
  });
  router.get('/:batchId', async (req, res, next) => {
    try {
      const view = await readBatchView(opts.redis, opts.prefix, req.params.batchId);
      if (!view) {
        res
          .status(404)
          .type('html')
          .send(page('not found', `<p>No batch ${h(req.params.batchId)}. <a href="/batches">All batches</a></p>`));
        return;
      }
      res.type('html').send(batchPage(view, parseQuery(req.query as Record<string, unknown>), sampler));
    } catch (err) {
      next(err);
    }
  });
  return { router, close: () => sampler?.close() };
}
