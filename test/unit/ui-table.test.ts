import { describe, expect, it } from 'vitest';
import type { InstanceRecord } from '../../src/ledger/ledger.ts';
import { terminalSafe } from '../../src/ui/terminal-safe.ts';
import { renderStatusTable } from '../../src/ui/status-view.ts';
import { displayWidth, renderTable, terminalWidth } from '../../src/ui/table.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const MIN = 60_000;

function record(i: number, over: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    instanceKey: `k${i}`,
    index: i,
    displayName: i % 17 === 8 ? `AWS Zürich Süd ${i}` : `AWS Demo ${String(i).padStart(3, '0')}`,
    tenant: 'default',
    state: 'steady',
    step: null,
    templateId: 'aws',
    applicationObjectId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    appId: `11111111-0000-4000-8000-${String(i).padStart(12, '0')}`,
    servicePrincipalId: `22222222-0000-4000-8000-${String(i).padStart(12, '0')}`,
    jobId: `aws.6c2c4d1e1b2a4f0a9c1d.${i}`,
    adopted: null,
    attempts: 1,
    lastError: null,
    jobCode: 'Active',
    lastExecution: 'Succeeded 2026-12-01T11:58:00Z',
    quarantineReason: null,
    quarantineNextAttempt: null,
    detail: null,
    logFailures: {},
    logEntries: 10,
    updatedAt: NOW - MIN,
    startedAt: NOW - 9 * MIN,
    endedAt: NOW - 5 * MIN,
    enqueuedAt: NOW - 10 * MIN,
    warning: null,
    ...over,
  };
}

/** 200 instances: mostly steady, with every kind of trouble and long free-text reasons. */
function batchOf200(): { rows: InstanceRecord[]; needing: string[] } {
  const rows: InstanceRecord[] = [];
  const needing: string[] = [];
  for (let i = 1; i <= 200; i++) {
    let r = record(i);
    if (i % 23 === 0) {
      r = record(i, {
        state: 'quarantined',
        jobCode: 'Quarantine',
        quarantineReason: 'EncounteredQuarantineException: the credentials the app was given are not valid',
        quarantineNextAttempt: '2026-12-01T13:00:00Z',
        logFailures: { InvalidCredentials: 12, EntryExportErrorReferenceAttributeResolutionFailure: 3 },
      });
    } else if (i % 31 === 0) {
      r = record(i, { state: 'failed', lastError: `Graph 400 BadRequest: ${'a very long explanation '.repeat(10)}` });
    } else if (i === 77) {
      r = record(i, { state: 'timed-out', jobCode: 'Active' });
    } else if (i === 150) {
      // Still syncing two hours after it was started: running long.
      r = record(i, { state: 'syncing', startedAt: NOW - 120 * MIN, endedAt: null });
    } else if (i > 190) {
      r = record(i, { state: 'queued', startedAt: null, endedAt: null, enqueuedAt: NOW - 20 * MIN }); // waiting is fine
    } else if (i % 10 === 3) {
      r = record(i, { warning: 'ambiguous: two applications share this display name; adopted the older one' });
    }
    if (['quarantined', 'failed', 'timed-out'].includes(r.state) || i === 150) needing.push(r.displayName);
    rows.push(r);
  }
  return { rows, needing };
}

describe('tables fit the terminal', () => {
  it.each([80, 100, 160])(
    'a 200-instance batch status at width %i: no line too long, every instance needing attention listed',
    (width) => {
      const { rows, needing } = batchOf200();
      const text = renderStatusTable(rows, { width, now: NOW });
      const lines = text.split('\n');
      for (const line of lines) expect(displayWidth(line), line).toBeLessThanOrEqual(width);
      for (const name of needing) expect(text).toContain(name);
      expect(needing.length).toBeGreaterThan(10);
      // Condensed: counts by state, not 200 rows; the steady majority is counted, not listed.
      expect(text).toMatch(/steady\s+\d+/);
      expect(text).not.toContain('AWS Demo 001');
      expect(text).toContain('running long (syncing)');
      expect(text).toContain(`${needing.length} of 200 instances need attention`);
      expect(text).toContain('--all');
      expect(lines.length).toBeLessThan(needing.length + 25);
    },
  );

  it.each([80, 100, 160])('--all at width %i lists all 200 rows, none longer than the width', (width) => {
    const { rows } = batchOf200();
    const text = renderStatusTable(rows, { width, all: true, now: NOW });
    for (const line of text.split('\n')) expect(displayWidth(line)).toBeLessThanOrEqual(width);
    for (const r of rows) expect(text).toContain(r.displayName);
    expect(text.split('\n')).toHaveLength(202);
  });

  it('--wide at 80 drops id columns before the instance, state and reason', () => {
    const rows = [record(1, { state: 'failed', lastError: 'Graph 403 Forbidden: Application.ReadWrite.All missing' })];
    const text = renderStatusTable(rows, { width: 80, wide: true });
    expect(text.split('\n')[0]).toMatch(/^instance\s+state/);
    expect(text).toContain('Graph 403');
    for (const line of text.split('\n')) expect(displayWidth(line)).toBeLessThanOrEqual(80);
    expect(renderStatusTable(rows, { width: 250, wide: true })).toContain(rows[0]!.appId!);
  });

  it('columns shrink with … before they drop, and wide letters count double', () => {
    const rows = [{ a: '東京都の設定アプリケーション一覧', b: 'x'.repeat(50) }];
    const text = renderTable(
      rows,
      [
        { header: 'a', get: (r) => r.a, priority: 0 },
        { header: 'b', get: (r) => r.b, min: 10 },
      ],
      { width: 40 },
    );
    for (const line of text.split('\n')) expect(displayWidth(line)).toBeLessThanOrEqual(40);
    expect(text).toContain('…');
    expect(text).toContain('東京都');
  });

  it('a wrapping column continues on following lines, each inside the width', () => {
    const msg = 'instances[3].credentials[0].value: must not be empty; fix: give the client secret or use source env';
    const text = renderTable(
      [{ m: msg }],
      [
        { header: 'where', get: () => 'instances[3]' },
        { header: 'problem and fix', get: (r) => r.m, wrap: true },
      ],
      { width: 50 },
    );
    const lines = text.split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(50);
    expect(
      lines
        .slice(2)
        .map((l) => l.slice(14).trim())
        .join(' '),
    ).toBe(msg);
  });

  it('control characters in cells are shown escaped, never sent to the terminal', () => {
    const rows = [{ n: 'evil\x1b[2J\x1b[31mred\rover\u009bC\x07' }];
    const text = renderTable(rows, [{ header: 'name', get: (r) => r.n }], { width: 100 });
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(text).toContain('evil\\x1B[2J\\x1B[31mred\\x0Dover\\x9BC\\x07');
    expect(terminalSafe('a\nb\tc')).toBe('a\\x0Ab\\x09c');
  });

  it('the width comes from the terminal, else COLUMNS, else 100', () => {
    const saved = process.env.COLUMNS;
    try {
      expect(terminalWidth({ columns: 132 })).toBe(132);
      process.env.COLUMNS = '90';
      expect(terminalWidth({})).toBe(90);
      delete process.env.COLUMNS;
      expect(terminalWidth({})).toBe(100);
    } finally {
      if (saved === undefined) delete process.env.COLUMNS;
      else process.env.COLUMNS = saved;
    }
  });
});
