/**
 * Graph traffic over time for the batch dashboard. The counters in Redis are cumulative (for
 * Prometheus); the board samples them while it runs and keeps the differences in memory: requests,
 * throttled answers and mean latency per interval. Tenant-wide: every process's Graph calls count.
 */
import type { MetricsSource } from '../metrics/redis-counters.ts';

export interface GraphSample {
  /** End of the interval (epoch ms). */
  t: number;
  requests: number;
  throttled: number;
  /** Mean duration of the interval's requests (ms), null when there were none. */
  meanLatencyMs: number | null;
}

export interface GraphSampler {
  samples(from?: number, to?: number): GraphSample[];
  readonly everyMs: number;
  close(): void;
}

export function startGraphSampler(
  metrics: MetricsSource,
  opts: { everyMs?: number; keep?: number } = {},
): GraphSampler {
  const everyMs = opts.everyMs ?? 10_000;
  const keep = opts.keep ?? 2160; // six hours at 10 s
  const samples: GraphSample[] = [];
  let last: { requests: number; durationMs: number; throttled: number } | null = null;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const snap = await metrics.read();
      const now = {
        requests: snap.graphRequests.reduce((a, r) => a + r.count, 0),
        durationMs: snap.graphRequests.reduce((a, r) => a + r.totalDurationMs, 0),
        throttled: snap.throttledResponses,
      };
      // Counters only grow; a drop means they were reset: start over from there.
      if (last && now.requests >= last.requests) {
        const requests = now.requests - last.requests;
        samples.push({
          t: Date.now(),
          requests,
          throttled: Math.max(0, now.throttled - last.throttled),
          meanLatencyMs: requests ? (now.durationMs - last.durationMs) / requests : null,
        });
        if (samples.length > keep) samples.shift();
      }
      last = now;
    } catch {
      // Redis unavailable: a gap in the chart, /healthz reports the outage.
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  return {
    everyMs,
    samples: (from = 0, to = Infinity) => samples.filter((s) => s.t >= from && s.t <= to),
    close: () => clearInterval(timer),
  };
}
