import { describe, expect, it } from 'vitest';
import { lineChart, startedSteadyChart } from '../../src/board/dashboard-charts.ts';
import { parseQuery, selectRows } from '../../src/board/dashboard-query.ts';
import { h } from '../../src/board/html.ts';
import { startGraphSampler } from '../../src/board/graph-sampler.ts';
import type { InstanceRecord } from '../../src/ledger/ledger.ts';
import type { MetricsSnapshot } from '../../src/metrics/redis-counters.ts';

const T0 = Date.parse('2026-12-01T12:00:00Z');

function rec(i: number, over: Partial<InstanceRecord>): InstanceRecord {
  return {
    instanceKey: `k${i}`,
    index: i,
    displayName: `AWS ${i}`,
    tenant: 'default',
    state: 'steady',
    step: null,
    templateId: null,
    applicationObjectId: null,
    appId: null,
    servicePrincipalId: null,
    jobId: null,
    adopted: null,
    attempts: 1,
    lastError: null,
    jobCode: 'Active',
    lastExecution: null,
    quarantineReason: null,
    quarantineNextAttempt: null,
    detail: null,
    logFailures: {},
    logEntries: 0,
    updatedAt: null,
    startedAt: T0 + i * 1000,
    endedAt: T0 + i * 2000,
    enqueuedAt: T0,
    warning: null,
    ...over,
  };
}

describe('batch dashboard pieces', () => {
  it('escapes markup and control characters from Redis before they reach the page', () => {
    expect(h(`<img src=x onerror="a('b')">&`)).toBe('&#60;img src=x onerror=&#34;a(&#39;b&#39;)&#34;&#62;&#38;');
    expect(h('a\x1b[31mb')).toBe('a\\x1B[31mb');
  });

  it('sorts and filters by the query, ignoring unknown sort keys', () => {
    const rows = [
      rec(0, { displayName: 'Zeta', state: 'failed', lastError: 'credentials rejected' }),
      rec(1, {
        displayName: 'alpha',
        state: 'quarantined',
        quarantineReason: 'EncounteredQuarantineException',
        logFailures: { X: 5 },
      }),
      rec(2, { displayName: 'Beta' }),
    ];
    expect(selectRows(rows, parseQuery({ sort: 'instance' })).map((r) => r.displayName)).toEqual([
      'alpha',
      'Beta',
      'Zeta',
    ]);
    expect(selectRows(rows, parseQuery({ sort: 'failures', dir: 'desc' }))[0]!.displayName).toBe('alpha');
    expect(selectRows(rows, parseQuery({ state: 'steady' })).map((r) => r.displayName)).toEqual(['Beta']);
    expect(selectRows(rows, parseQuery({ q: 'REJECTED' })).map((r) => r.displayName)).toEqual(['Zeta']);
    expect(selectRows(rows, parseQuery({ attention: '1' })).map((r) => r.displayName)).toEqual(['Zeta', 'alpha']);
    expect(parseQuery({ sort: 'constructor', dir: 'sideways' })).toMatchObject({ sort: 'index', dir: 'asc' });
  });

  it('filters by tenant when a batch spans tenants', () => {
    const rows = [rec(0, { displayName: 'A', tenant: 'contoso' }), rec(1, { displayName: 'B', tenant: 'fabrikam' })];
    expect(selectRows(rows, parseQuery({ tenant: 'fabrikam' })).map((r) => r.displayName)).toEqual(['B']);
    expect(selectRows(rows, parseQuery({})).map((r) => r.displayName)).toEqual(['A', 'B']);
  });

  it('the started/steady chart counts what happened, and says so when nothing has started', () => {
    const rows = [rec(0, {}), rec(1, {}), rec(2, { state: 'failed', startedAt: null })];
    const svg = startedSteadyChart(rows);
    expect(svg).toContain('started 2');
    expect(svg).toContain('steady 2');
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(startedSteadyChart([rec(0, { startedAt: null, enqueuedAt: null, endedAt: null })])).toContain(
      'No instance has started yet',
    );
    expect(lineChart('x', 'nothing', [{ name: 'a', colour: '#000', points: [] }])).toBe('');
  });

  it('the sampler keeps per-interval differences of the cumulative counters', async () => {
    let requests = 0;
    let duration = 0;
    let throttled = 0;
    const snapshot = (): MetricsSnapshot => ({
      graphRequests: [{ method: 'GET', route: '/x', status: '200', count: requests, totalDurationMs: duration }],
      throttledResponses: throttled,
      throttledWaitMs: 0,
      heldBack: { paused: 0, leaseYield: 0, lateGrant: 0 },
      steps: [],
      instances: [],
    });
    const sampler = startGraphSampler({ read: async () => snapshot() }, { everyMs: 40 });
    try {
      await new Promise((r) => setTimeout(r, 60));
      requests = 10;
      duration = 500;
      throttled = 2;
      await new Promise((r) => setTimeout(r, 60));
      const s = sampler.samples();
      const busy = s.find((x) => x.requests > 0)!;
      expect(busy).toMatchObject({ requests: 10, throttled: 2, meanLatencyMs: 50 });
      expect(s.every((x) => x.requests === 0 || x === busy)).toBe(true);
    } finally {
      sampler.close();
    }
  });
});
