import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseLenientJson } from '../../src/dev/sim/lenient-json.ts';
import {
  addPage,
  compactSummary,
  emptySummary,
  entryError,
  entryStatus,
  formatTopErrors,
  isPageCounted,
  mergeSummaries,
  NO_ERROR_CODE,
  normalizeErrorCategory,
  sameErrorCategory,
  type LogEntryLike,
  type LogSummary,
} from '../../src/poller/log-summary.ts';

const fixtureText = (name: string) => readFileSync(new URL(`../fixtures/sync-jobs/${name}`, import.meta.url), 'utf8');

/**
 * The JSON documents embedded in a documentation page: balanced-brace blocks (string-aware),
 * each read with the simulator's lenient parser (Microsoft's example 1 has a trailing comma);
 * blocks that still do not parse (like `{token}` in the prose) are skipped.
 */
function extractJsonBlocks(text: string): unknown[] {
  const blocks: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"' && depth > 0) inString = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        try {
          blocks.push(parseLenientJson(text.slice(start, i + 1)));
        } catch {
          /* prose, not JSON */
        }
      }
    }
  }
  return blocks;
}
function seedPages(): LogEntryLike[][] {
  return extractJsonBlocks(fixtureText('provisioning-logs-seed-003.txt'))
    .filter(
      (b): b is { value: LogEntryLike[] } =>
        typeof b === 'object' && b !== null && Array.isArray((b as { value?: unknown }).value),
    )
    .map((b) => b.value);
}

describe('seed 003: Microsoft provisioning log examples (parsed leniently)', () => {
  it('finds both example responses despite the trailing comma', () => {
    const pages = seedPages();
    expect(pages).toHaveLength(2);
    expect(pages.map((p) => p.length)).toEqual([1, 1]);
  });

  it('summarises the success and the ContosoEntryConflict failure', () => {
    const s = seedPages().reduce((acc, page) => addPage(acc, page), emptySummary());
    expect(s).toMatchObject({ entries: 2, successes: 1, failures: 1, warnings: 0, skipped: 0, duplicatesIgnored: 0 });
    expect(s.newestActivity).toBe('2019-06-24T20:53:08Z');
    expect(Object.keys(s.byErrorCode)).toEqual(['ContosoEntryConflict']);
    const conflict = s.byErrorCode.ContosoEntryConflict!;
    expect(conflict.count).toBe(1);
    expect(conflict.errorCategory).toBe('nonServiceFailure');
    expect(conflict.recommendedAction).toBeNull();
    expect(conflict.exampleReason).toMatch(
      /^Message: Contoso returned an error response with the HTTP status code 409\./,
    );
    expect(formatTopErrors(s)).toBe('ContosoEntryConflict×1');
  });

  it('re-adding an already counted page (restart before the cursor was saved) is detected and changes no count', () => {
    const [p1, p2] = seedPages() as [LogEntryLike[], LogEntryLike[]];
    const once = addPage(addPage(emptySummary(), p1), p2);
    // the poller persisted the summary as JSON, crashed, and reads page 2 again
    const restored = JSON.parse(JSON.stringify(once)) as LogSummary;
    expect(isPageCounted(restored, p2)).toBe(true);
    const twice = addPage(restored, p2);
    expect(twice.duplicatesIgnored).toBe(1);
    expect({ ...twice, duplicatesIgnored: 0 }).toEqual(once);
  });
});

describe('statusInfo-only entry (Entra docs example)', () => {
  it('falls back to statusInfo and normalises NonServiceFailure', () => {
    const page = (JSON.parse(fixtureText('provisioning-logs-statusinfo-only.json')) as { value: LogEntryLike[] }).value;
    const s = addPage(emptySummary(), page);
    expect(s.failures).toBe(1);
    expect(s.byErrorCode.BoxEntryConflict).toMatchObject({ count: 1, errorCategory: 'nonServiceFailure' });
  });
});

// ---- synthetic entries --------------------------------------------------------------------

let n = 0;
function entry(
  status: string | null,
  opts: Partial<{
    code: string;
    reason: string;
    category: string;
    action: string;
    at: string;
    id: string | null;
    legacyOnly: boolean;
  }> = {},
): LogEntryLike {
  const info =
    opts.code || opts.reason || opts.category || opts.action
      ? {
          errorCode: opts.code ?? null,
          reason: opts.reason ?? null,
          errorCategory: opts.category ?? null,
          recommendedAction: opts.action ?? null,
        }
      : null;
  const id = opts.id === undefined ? `id-${++n}` : opts.id;
  return opts.legacyOnly
    ? { id, activityDateTime: opts.at ?? '2026-03-01T10:00:00Z', statusInfo: { status, ...info } }
    : {
        id,
        activityDateTime: opts.at ?? '2026-03-01T10:00:00Z',
        provisioningStatusInfo: { status, errorInformation: info },
      };
}

describe('addPage', () => {
  it('counts every status and groups failures by error code', () => {
    const s = addPage(emptySummary(), [
      entry('success'),
      entry('warning'),
      entry('skipped'),
      entry('failure', {
        code: 'SystemForCrossDomainIdentityManagementBadResponse',
        reason: 'r1',
        action: 'Check the SCIM endpoint',
      }),
      entry('Failure', { code: 'SystemForCrossDomainIdentityManagementBadResponse', reason: 'r2' }),
      entry('failure', { code: 'SystemForCrossDomainIdentityManagementBadResponse' }),
      entry('failure', { code: 'EntrySynchronizationError', legacyOnly: true }),
      entry('failure'),
      entry(null),
    ]);
    expect(s).toMatchObject({ entries: 9, successes: 1, warnings: 1, skipped: 1, failures: 5 });
    expect(s.byErrorCode.SystemForCrossDomainIdentityManagementBadResponse).toEqual({
      count: 3,
      exampleReason: 'r1',
      recommendedAction: 'Check the SCIM endpoint',
      errorCategory: null,
    });
    expect(s.byErrorCode[NO_ERROR_CODE]?.count).toBe(1);
    expect(formatTopErrors(s)).toBe(
      'SystemForCrossDomainIdentityManagementBadResponse×3, (no error code)×1, EntrySynchronizationError×1',
    );
    expect(formatTopErrors(s, 1)).toBe('SystemForCrossDomainIdentityManagementBadResponse×3 (+2 more)');
    expect(formatTopErrors(emptySummary())).toBe('');
  });

  it('provisioningStatusInfo wins over statusInfo, field by field', () => {
    const e: LogEntryLike = {
      id: 'x',
      statusInfo: {
        status: 'success',
        errorCode: 'Legacy',
        reason: 'legacy reason',
        errorCategory: 'NonServiceFailure',
        recommendedAction: 'legacy action',
      },
      provisioningStatusInfo: {
        status: 'failure',
        errorInformation: { errorCode: 'New', reason: null, errorCategory: null },
      },
    };
    expect(entryStatus(e)).toBe('failure');
    expect(entryError(e)).toEqual({
      errorCode: 'New',
      exampleReason: 'legacy reason',
      recommendedAction: 'legacy action',
      errorCategory: 'nonServiceFailure',
    });
    expect(entryStatus({ statusInfo: { status: 'Skipped' } })).toBe('skipped');
    expect(entryStatus({})).toBeNull();
  });

  it.each([
    ['NonServiceFailure', 'nonServiceFailure'],
    ['nonServiceFailure', 'nonServiceFailure'],
    ['TransientServiceFailure', 'transientServiceFailure'],
    ['', null],
    [null, null],
  ])('normalizeErrorCategory(%j) → %j', (input, expected) => {
    expect(normalizeErrorCategory(input)).toBe(expected);
  });

  it('compares categories case-insensitively', () => {
    expect(sameErrorCategory('NonServiceFailure', 'nonServiceFailure')).toBe(true);
    expect(sameErrorCategory('NonServiceFailure', 'TransientServiceFailure')).toBe(false);
    const s = addPage(emptySummary(), [
      entry('failure', { code: 'E', category: 'NonServiceFailure' }),
      entry('failure', { code: 'E', category: 'nonServiceFailure' }),
    ]);
    expect(s.byErrorCode.E).toMatchObject({ count: 2, errorCategory: 'nonServiceFailure' });
  });

  it('skips the overlap of a re-queried boundary page, counting only new entries', () => {
    const p1 = [
      entry('failure', { code: 'A', at: '2026-03-01T10:00:00Z' }),
      entry('failure', { code: 'A', at: '2026-03-01T10:05:00Z' }),
    ];
    const p2 = [p1[1]!, entry('failure', { code: 'B', at: '2026-03-01T10:05:00Z' })];
    const s = addPage(addPage(emptySummary(), p1), p2);
    expect(isPageCounted(addPage(emptySummary(), p1), p2)).toBe(false);
    expect(s.failures).toBe(3);
    expect(s.duplicatesIgnored).toBe(1);
    expect(s.newestActivity).toBe('2026-03-01T10:05:00Z');
  });

  it('dedupes within one page too, and always counts entries without an id', () => {
    const a = entry('success', { id: 'same' });
    const s = addPage(emptySummary(), [a, a, entry('success', { id: null }), entry('success', { id: null })]);
    expect(s.entries).toBe(3);
    expect(s.duplicatesIgnored).toBe(1);
    expect(isPageCounted(s, [entry('success', { id: null })])).toBe(false);
    expect(isPageCounted(s, [])).toBe(false);
  });

  it('keeps a bounded id window of short hashes, and does not mutate its input', () => {
    const before = emptySummary();
    const page = Array.from({ length: 30 }, () => entry('success'));
    const s = addPage(before, page, { idWindow: 10 });
    expect(before).toEqual(emptySummary());
    expect(s.seenIds).toHaveLength(10);
    expect(s.seenIds!.every((h) => /^[0-9a-f]{12}$/.test(h))).toBe(true);
    // the newest ids are the ones kept
    expect(isPageCounted(s, page.slice(-10))).toBe(true);
    expect(isPageCounted(s, page.slice(0, 1))).toBe(false);
  });

  it('tracks the newest activity regardless of page order and ignores unparsable dates', () => {
    const s = addPage(emptySummary(), [
      entry('success', { at: '2026-03-01T12:00:00Z' }),
      entry('success', { at: '2026-03-01T09:00:00Z' }),
      entry('success', { at: 'garbage' }),
    ]);
    expect(s.newestActivity).toBe('2026-03-01T12:00:00Z');
  });

  it('accepts a summary persisted without seenIds (older shape)', () => {
    const { seenIds: _ignored, ...old } = emptySummary();
    const s = addPage(old as LogSummary, [entry('success')]);
    expect(s.entries).toBe(1);
    expect(s.seenIds).toHaveLength(1);
  });
});

describe('mergeSummaries / compactSummary', () => {
  it('sums counts, merges codes (first example wins), keeps the newest activity', () => {
    const a = addPage(emptySummary(), [
      entry('failure', { code: 'A', reason: 'from a', at: '2026-03-01T10:00:00Z' }),
      entry('success'),
    ]);
    const b = addPage(emptySummary(), [
      entry('failure', { code: 'A', reason: 'from b', at: '2026-03-02T10:00:00Z' }),
      entry('failure', { code: 'B' }),
      entry('skipped'),
    ]);
    const m = mergeSummaries(a, b);
    expect(m).toMatchObject({
      entries: 5,
      successes: 1,
      failures: 3,
      skipped: 1,
      newestActivity: '2026-03-02T10:00:00Z',
    });
    expect(m.byErrorCode.A).toMatchObject({ count: 2, exampleReason: 'from a' });
    expect(m.byErrorCode.B?.count).toBe(1);
    expect(formatTopErrors(m)).toBe('A×2, B×1');
    expect(mergeSummaries(a, emptySummary())).toEqual(a);
  });

  it('compactSummary drops the dedupe window only', () => {
    const s = addPage(emptySummary(), [entry('failure', { code: 'A' })]);
    const c = compactSummary(s);
    expect(c.seenIds).toBeUndefined();
    expect({ ...c, seenIds: s.seenIds }).toEqual(s);
  });
});
