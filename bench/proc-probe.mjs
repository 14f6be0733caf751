// Preloaded into the provflow worker and poller by the benchmark (NODE_OPTIONS=--import …),
// without changing their code: how busy their event loop is and how long their HTTP requests
// take as undici sees them (request created → response headers, so time spent waiting for a
// pooled connection counts). Plain JavaScript: it loads before tsx is registered.
// Writes `${BENCH_PROBE_DIR}/${BENCH_PROBE_NAME}.json` every 2 s and on exit; figures count
// from the process's first HTTP request.
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

const dir = process.env.BENCH_PROBE_DIR;
const name = process.env.BENCH_PROBE_NAME ?? `proc-${process.pid}`;
if (dir) {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  // Figures count from the first HTTP request (work starting), not from module loading.
  let elu0 = performance.eventLoopUtilization();
  let firstAt = 0;
  const started = new WeakMap();
  const http = [];
  let requests = 0;
  subscribe('undici:request:create', ({ request }) => {
    if (!firstAt) {
      firstAt = Date.now();
      loop.reset();
      elu0 = performance.eventLoopUtilization();
    }
    started.set(request, performance.now());
  });
  subscribe('undici:request:headers', ({ request }) => {
    const t = started.get(request);
    if (t !== undefined) {
      requests++;
      // Keep a bounded sample (every request up to 200,000).
      if (http.length < 200_000) http.push(performance.now() - t);
    }
  });
  // Server side (the simulator): request start → response finished, deliberate latency included.
  const served = [];
  let servedCount = 0;
  const serverStart = new WeakMap();
  subscribe('http.server.request.start', ({ request }) => {
    if (!firstAt) {
      firstAt = Date.now();
      loop.reset();
      elu0 = performance.eventLoopUtilization();
    }
    serverStart.set(request, performance.now());
  });
  subscribe('http.server.response.finish', ({ request }) => {
    const t = serverStart.get(request);
    if (t !== undefined) {
      servedCount++;
      if (served.length < 200_000) served.push(performance.now() - t);
    }
  });
  const pct = (a, p) => {
    if (!a.length) return 0;
    const s = [...a].sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  };
  const write = () => {
    const elu = performance.eventLoopUtilization(elu0);
    const cpu = process.cpuUsage();
    const out = {
      pid: process.pid,
      at: Date.now(),
      since: firstAt,
      eventLoopUtilization: elu.utilization,
      eventLoopDelayMs: {
        p50: loop.percentile(50) / 1e6,
        p99: loop.percentile(99) / 1e6,
        max: loop.max / 1e6,
        mean: loop.mean / 1e6,
      },
      httpRequests: requests,
      httpMs: { p50: pct(http, 50), p95: pct(http, 95), p99: pct(http, 99), max: pct(http, 100) },
      servedRequests: servedCount,
      servedMs: { p50: pct(served, 50), p95: pct(served, 95), p99: pct(served, 99), max: pct(served, 100) },
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    try {
      writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(out));
    } catch {
      /* diagnosis only */
    }
  };
  const timer = setInterval(write, 2000);
  timer.unref();
  process.on('exit', write);
}
