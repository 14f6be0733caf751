/**
 * `provflow demo`: the embedded default. Graph simulator + Redis + steps worker + poller (+ board)
 * in one process, a generated batch (a few instances configured to quarantine, some with
 * entry-level errors), live progress, a summary table, and exit 0 only if every instance ended
 * as the simulator's configuration implies.
 */
import { randomBytes } from 'node:crypto';
import type { Runtime } from '../app/runtime.ts';
import { startLocalStack } from '../dev/local-stack.ts';
import { enqueueBatch } from '../flow/enqueue-batch.ts';
import { startStepsWorker } from '../app/steps-worker.ts';
import { END_STATES } from '../ledger/instance-state.ts';
import type { InstanceRecord } from '../ledger/ledger.ts';
import { startPoller } from '../poller/start-poller.ts';
import type { SimProfile, SimulatorHandle } from '../dev/sim/index.ts';
import { createLogger } from '../logger.ts';
import { createLiveArea, liveLogDestination, progressFrame, RateMeter, type LiveArea } from '../ui/live.ts';
import { bar, fitLines, terminalWidth } from '../ui/table.ts';
import { renderStatusTable, summarise, summaryLine } from '../ui/status-view.ts';
import { cliLogger, err, EXIT, out } from './common.ts';
import { demoBatch, demoExpectation } from './demo-batch.ts';

export interface DemoOptions {
  instances: number;
  profile: SimProfile;
  timeScale: number;
  seed: number;
  json: boolean;
  timeoutMs?: number;
  quarantineEvery: number;
  badEvery: number;
  board: boolean;
  boardPort?: number;
  verbose: boolean;
  /** List every instance in the final table (over 50, only those needing attention are listed). */
  all?: boolean;
}

/** The JSON summary line (`--json`); scripts read these keys. */
export interface DemoSummary {
  instances: number;
  steady: number;
  started: number;
  quarantined: number;
  failed: number;
  lost: number;
  unexpected: number;
  duplicateApplications: number;
  retryAfterViolations: number;
  throttled: number;
  requests: number;
  durationMs: number;
  profile: string;
  timeScale: number;
  seed: number;
  /** App role assignments present at the end (created or found), over all instances. */
  assignments: number;
  /** Instances whose job schema edits were applied and read back. */
  schemaUpdated: number;
  smokeTestsPassed: number;
  smokeTestsFailed: number;
}

async function simStats(sim: SimulatorHandle) {
  return sim.stats();
}

export async function runDemo(o: DemoOptions): Promise<number> {
  const t0 = Date.now();
  // On a terminal, progress redraws in place and log lines are shown above it (all of them kept in
  // a file); piped or with --json, logs stay JSON on stderr as scripts expect.
  const tty = !o.json && !!process.stderr.isTTY;
  const live: LiveArea | null = tty ? createLiveArea(process.stderr) : null;
  const fit = (s: string) => (tty ? fitLines(s, terminalWidth(process.stdout)) : s);
  const say = o.json ? () => {} : (s: string) => (live ? live.note(s) : err(s));
  const stack = await startLocalStack({
    profile: o.profile,
    timeScale: o.timeScale,
    seed: o.seed,
    env: { LOG_LEVEL: o.verbose ? 'info' : 'warn' },
  });
  const { sim, cfg, prefix } = stack;
  say(
    `simulator ${sim.graphBaseUrl} (profile ${o.profile}, time ×${o.timeScale}, seed ${o.seed}) · ` +
      `redis ${stack.redis.url}`,
  );
  const logFile = live ? liveLogDestination(live) : null;
  const logger = logFile
    ? createLogger({ level: cfg.LOG_LEVEL, name: 'demo', destination: logFile })
    : cliLogger(cfg, 'demo');
  let rt: Runtime | null = null;
  const closers: (() => Promise<unknown>)[] = [];
  try {
    rt = await stack.runtime(logger);
    const steps = startStepsWorker(rt);
    closers.push(() => steps.close());
    const poller = startPoller(rt);
    closers.push(() => poller.close());
    if (o.board) {
      const { runBoard } = await import('../board/run-board.ts');
      const board = await runBoard({
        port: o.boardPort ?? 0,
        host: '127.0.0.1',
        insecureNoAuth: true,
        allowRetries: false,
        redisUrl: cfg.REDIS_URL!,
        prefix,
      });
      say(`board: ${board.url} · batches: ${new URL('/batches', board.url).href} (loopback only, read-only)`);
      closers.push(() => board.close());
    }

    const batch = demoBatch(`demo-${randomBytes(3).toString('hex')}`, o.instances, o);
    const expectations = new Map(batch.instances.map((i) => [i.instanceKey, demoExpectation(i)]));
    const enq = await enqueueBatch(rt, batch);
    say(`batch ${batch.batchId}: ${enq.added} instances enqueued in ${enq.durationMs} ms`);

    const timeoutMs = o.timeoutMs ?? Math.max(180_000, o.instances * 600);
    let rows: InstanceRecord[] = [];
    let lastLine = 0;
    const meter = new RateMeter();
    for (;;) {
      rows = await rt.ledger.listInstances(batch.batchId);
      const sum = summarise(rows);
      const ended = rows.filter((r) => END_STATES.has(r.state)).length;
      meter.add(Date.now(), ended);
      if (live) {
        const started = sum.started + sum.failed;
        const { steady, quarantined, failed } = sum;
        const counts = { total: sum.instances, started, ended, steady, quarantined, failed };
        live.update(progressFrame(counts, meter, live.width));
      } else if (!o.json && Date.now() - lastLine > 5000) {
        err(
          `${bar('started', sum.started + sum.failed, sum.instances)}  ${bar('ended', ended, sum.instances)}  ` +
            `steady ${sum.steady} · quarantined ${sum.quarantined} · failed ${sum.failed}`,
        );
        lastLine = Date.now();
      }
      if (ended === rows.length || Date.now() - t0 > timeoutMs) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    live?.done();

    const stats = await simStats(sim);
    const sum = summarise(rows);
    const lost = rows.filter((r) => !END_STATES.has(r.state)).length;
    // As configured: the end state, and for a steady instance its assignments, schema and smoke test.
    const why = (r: InstanceRecord): string | null => {
      const e = expectations.get(r.instanceKey)!;
      if (e.state !== r.state) return `ended ${r.state}, expected ${e.state}`;
      if ((r.assignments ?? 0) < e.assignments) return `${r.assignments ?? 0} of ${e.assignments} assignments`;
      if (e.schema && !r.schemaUpdatedAt) return 'schema not updated';
      if (e.smokePass && r.smokeTestPassed !== true) return `smoke test ${r.smokeTest ?? 'not run'}`;
      return null;
    };
    const unexpected = rows.filter((r) => END_STATES.has(r.state) && why(r) !== null);
    const summary: DemoSummary = {
      instances: rows.length,
      steady: sum.steady,
      started: sum.started,
      quarantined: sum.quarantined,
      failed: sum.failed,
      lost,
      unexpected: unexpected.length,
      duplicateApplications: stats.duplicateApplications,
      retryAfterViolations: stats.retryAfterViolations,
      throttled: stats.throttled,
      requests: stats.requests,
      durationMs: Date.now() - t0,
      profile: o.profile,
      timeScale: o.timeScale,
      seed: o.seed,
      assignments: rows.reduce((n, r) => n + (r.assignments ?? 0), 0),
      schemaUpdated: rows.filter((r) => r.schemaUpdatedAt).length,
      smokeTestsPassed: rows.filter((r) => r.smokeTestPassed === true).length,
      smokeTestsFailed: rows.filter((r) => r.smokeTestPassed === false).length,
    };
    const okRun =
      lost === 0 &&
      unexpected.length === 0 &&
      summary.duplicateApplications === 0 &&
      summary.retryAfterViolations === 0;
    if (o.json) {
      out(JSON.stringify(summary));
    } else {
      out(renderStatusTable(rows, { all: o.all }));
      out(fit(summaryLine(batch.batchId, sum)));
      out(
        fit(
          `simulator: ${stats.requests} requests, ${stats.throttled} throttled (429), ` +
            `${stats.retryAfterViolations} Retry-After violations, ` +
            `${stats.duplicateApplications} duplicate applications · ${(summary.durationMs / 1000).toFixed(1)} s`,
        ),
      );
      for (const u of unexpected) {
        out(fit(`unexpected: ${u.displayName} ${why(u)}`));
      }
      if (lost) out(`${lost} instance(s) did not reach an end state within ${Math.round(timeoutMs / 1000)} s`);
      out(
        fit(
          `onboarding: ${summary.assignments} group assignments, ${summary.schemaUpdated} schemas updated, ` +
            `smoke tests ${summary.smokeTestsPassed} passed / ${summary.smokeTestsFailed} failed`,
        ),
      );
      out(okRun ? 'demo: every instance ended as expected' : 'demo: some instances did not end as expected');
    }
    return okRun ? EXIT.ok : EXIT.failed;
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {});
    if (rt) {
      // Leave a shared Redis as we found it.
      const stream = rt.redis.scanStream({ match: `${prefix}*`, count: 1000 });
      for await (const keys of stream as AsyncIterable<string[]>) if (keys.length) await rt.redis.unlink(...keys);
      await rt.close();
    }
    await stack.close();
    if (logFile) {
      await logFile.close();
      err(fit(`log: ${logFile.lines} line(s) in ${logFile.file}`));
    }
  }
}
