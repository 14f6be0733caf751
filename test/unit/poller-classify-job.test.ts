import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { synchronizationJobSchema, type SynchronizationJob } from '../../src/graph/schemas.ts';
import { classifyJob, readQuarantine, realDate, type ClassifyContext } from '../../src/poller/classify-job.ts';

/** Microsoft's published examples, parsed with the same schema the Graph client uses. */
function fixture(name: string): SynchronizationJob {
  const raw = readFileSync(new URL(`../fixtures/sync-jobs/${name}.json`, import.meta.url), 'utf8');
  return synchronizationJobSchema.parse(JSON.parse(raw));
}

const MIN = 60_000;
function ctxAt(startedAt: string, afterMs: number, deadlineAfterMs = 60 * MIN): ClassifyContext {
  const start = Date.parse(startedAt);
  return {
    startedAt,
    now: new Date(start + afterMs),
    deadlineAt: new Date(start + deadlineAfterMs).toISOString(),
  };
}

describe('classifyJob over Microsoft published examples', () => {
  it('Paused job with an empty-string quarantine: quarantine absent, job disabled → failed (after the start grace)', () => {
    const a = classifyJob(fixture('paused-empty-quarantine'), ctxAt('2026-03-01T10:00:00Z', 10 * MIN));
    expect(a.state).toBe('failed');
    expect(a.quarantine).toBeNull();
    expect(a.code).toBe('Paused');
    expect(a.steadySince).toBeNull();
    expect(a.lastExecutionState).toBeNull();
    // the leftover quarantine error is still the best hint for why the job is paused
    expect(a.error?.code).toBe('SalesforceInvalidCredentials');
    expect(a.terminal).toBe(true);
    expect(a.finalState).toBe('failed');
    expect(a.detail).toMatch(
      /paused.*SalesforceInvalidCredentials: Your Salesforce\.com credentials are invalid\. Please/,
    );
  });

  it('Paused job right after start is still starting (Graph may answer with the pre-start job)', () => {
    const a = classifyJob(fixture('paused-empty-quarantine'), ctxAt('2026-03-01T10:00:00Z', 20_000));
    expect(a.state).toBe('starting');
    expect(a.terminal).toBe(false);
    expect(a.finalState).toBeNull();
  });

  it('Quarantine with EncounteredQuarantineException: reason, since, next attempt, series, error', () => {
    const a = classifyJob(fixture('quarantine-encountered-exception'), ctxAt('2021-05-24T21:45:00Z', 90_000));
    expect(a.state).toBe('quarantined');
    expect(a.code).toBe('Quarantine');
    expect(a.quarantine).toEqual({
      reason: 'EncounteredQuarantineException',
      currentBegan: '2021-05-24T21:45:54.4981365Z',
      nextAttempt: '2021-05-24T21:50:54.4981365Z',
      seriesCount: 1,
      errorCode: 'SystemForCrossDomainIdentityManagementInvalidCredentials',
      errorMessage: 'Please provide a valid tenant URL for your application.',
    });
    expect(a.lastExecutionState).toBe('Failed');
    expect(a.steadySince).toBeNull();
    expect(a.terminal).toBe(false);
    expect(a.finalState).toBeNull();
    expect(a.detail).toContain(
      'Quarantine since 2021-05-24T21:45:54.4981365Z: EncounteredQuarantineException (next attempt 2021-05-24T21:50:54.4981365Z, series #1): SystemForCrossDomainIdentityManagementInvalidCredentials: Please provide a valid tenant URL for your application.',
    );
    expect(a.detail).toContain('--scope QuarantineState');
  });

  it('Quarantine whose nextAttempt is the never-date reports it as unknown', () => {
    const a = classifyJob(
      fixture('quarantine-next-attempt-never'),
      ctxAt('2017-07-19T06:00:00Z', 9 * 60 * MIN, 24 * 60 * MIN),
    );
    expect(a.state).toBe('quarantined');
    expect(a.quarantine?.nextAttempt).toBeNull();
    expect(a.quarantine?.seriesCount).toBe(6);
    // no error on the quarantine object: the last execution's error explains it
    expect(a.quarantine?.errorCode).toBe('BoxInsufficientPermissions');
    expect(a.detail).toContain('(next attempt unknown, series #6)');
  });

  it('deadline passing while quarantined ends the watch as quarantined, not timed-out', () => {
    const a = classifyJob(
      fixture('quarantine-encountered-exception'),
      ctxAt('2021-05-24T21:45:00Z', 2 * 60 * MIN, 60 * MIN),
    );
    expect(a.state).toBe('quarantined');
    expect(a.terminal).toBe(true);
    expect(a.finalState).toBe('quarantined');
    expect(a.deadlinePassed).toBe(true);
    expect(a.detail).toContain('deadline');
    expect(a.quarantine?.reason).toBe('EncounteredQuarantineException');
  });

  it('Active with real steady-state times and a Succeeded cycle → steady', () => {
    const a = classifyJob(fixture('active-steady'), ctxAt('2019-11-20T16:10:00Z', 10 * MIN));
    expect(a.state).toBe('steady');
    expect(a.steadySince).toBe('2019-11-20T16:17:24.7957721Z');
    expect(a.lastExecutionState).toBe('Succeeded');
    expect(a.lastExecutionEnded).toBe('2019-11-20T16:17:24.7488681Z');
    expect(a.error).toBeNull();
    expect(a.quarantine).toBeNull();
    expect(a.terminal).toBe(true);
    expect(a.finalState).toBe('steady');
    expect(a.detail).toBe('Steady since 2019-11-20T16:17:24.7957721Z (last cycle succeeded)');
  });

  it('a steady state older than this start (adopted or restarted job) waits for a new cycle', () => {
    const a = classifyJob(fixture('active-steady'), ctxAt('2019-11-21T09:00:00Z', 5 * MIN));
    expect(a.state).toBe('syncing');
    expect(a.terminal).toBe(false);
  });

  it('NotRun with a placeholder Failed execution is starting, not failed', () => {
    const a = classifyJob(fixture('not-run'), ctxAt('2026-03-01T10:00:00Z', 30 * MIN));
    expect(a.state).toBe('starting');
    expect(a.code).toBe('NotRun');
    expect(a.lastExecutionState).toBeNull();
    expect(a.lastExecutionEnded).toBeNull();
    expect(a.error).toBeNull();
    expect(a.quarantine).toBeNull();
    expect(a.terminal).toBe(false);
  });

  it('NotRun past the deadline → timed-out, keeping what was last seen', () => {
    const a = classifyJob(fixture('not-run'), ctxAt('2026-03-01T10:00:00Z', 61 * MIN, 60 * MIN));
    expect(a.state).toBe('timed-out');
    expect(a.terminal).toBe(true);
    expect(a.finalState).toBe('timed-out');
    expect(a.detail).toMatch(/^No steady state by the deadline .*; last seen: Waiting for the first cycle/);
  });

  it('freshly created job (Paused, Disabled, quarantine null): starting in the grace window, failed after', () => {
    const job = fixture('paused-not-started');
    expect(classifyJob(job, ctxAt('2026-03-01T10:00:00Z', 5_000)).state).toBe('starting');
    const late = classifyJob(job, ctxAt('2026-03-01T10:00:00Z', 5 * MIN));
    expect(late.state).toBe('failed');
    expect(late.detail).toContain('schedule Disabled');
  });

  it.each([
    'paused-empty-quarantine',
    'quarantine-encountered-exception',
    'quarantine-next-attempt-never',
    'active-steady',
    'not-run',
    'paused-not-started',
  ])('%s: detail is one line and terminal ⇔ finalState', (name) => {
    for (const after of [1_000, 10 * MIN, 2 * 60 * MIN]) {
      const a = classifyJob(fixture(name), ctxAt('2019-11-20T16:10:00Z', after));
      expect(a.detail).not.toMatch(/\n/);
      expect(a.detail.length).toBeGreaterThan(0);
      expect(a.terminal).toBe(a.finalState !== null);
      if (a.state === 'quarantined') expect(a.quarantine).not.toBeNull();
    }
  });
});

// ---- edge cases over a synthetic job ---------------------------------------------------------

const START = '2026-03-01T10:00:00Z';
const at = (minutes: number) => new Date(Date.parse(START) + minutes * MIN).toISOString();
const NEVER = '0001-01-01T00:00:00Z';

interface JobOpts {
  code?: string;
  schedule?: string;
  exec?: { state: string; began?: string; ended?: string; error?: { code: string; message: string } } | null;
  steady?: string;
  quarantine?: Record<string, unknown> | null;
  failures?: number;
  progress?: unknown[];
}
function job(o: JobOpts): SynchronizationJob {
  return synchronizationJobSchema.parse({
    id: 'scim.tenant.app',
    templateId: 'scim',
    schedule: { expiration: null, interval: 'PT40M', state: o.schedule ?? 'Active' },
    status: {
      code: o.code ?? 'Active',
      countSuccessiveCompleteFailures: o.failures ?? 0,
      lastExecution:
        o.exec === undefined || o.exec === null
          ? null
          : {
              state: o.exec.state,
              timeBegan: o.exec.began ?? NEVER,
              timeEnded: o.exec.ended ?? NEVER,
              error: o.exec.error ?? null,
            },
      steadyStateFirstAchievedTime: o.steady ?? NEVER,
      steadyStateLastAchievedTime: o.steady ?? NEVER,
      quarantine: o.quarantine ?? null,
      progress: o.progress ?? [],
    },
  });
}
const BAD_CREDS = { code: 'SystemForCrossDomainIdentityManagementInvalidCredentials', message: 'Bad token' };

describe('classifyJob edge cases', () => {
  const cases: Array<{
    name: string;
    job: SynchronizationJob | null;
    now?: number;
    state: string;
    terminal: boolean;
    detail?: RegExp;
  }> = [
    {
      name: 'EntryLevelErrors with a steady state is steady',
      job: job({ exec: { state: 'EntryLevelErrors', began: at(1), ended: at(3) }, steady: at(3) }),
      state: 'steady',
      terminal: true,
      detail: /entry-level errors/,
    },
    {
      name: 'Succeeded but steady never → syncing',
      job: job({ exec: { state: 'Succeeded', began: at(1), ended: at(3) } }),
      state: 'syncing',
      terminal: false,
    },
    {
      name: 'cycle began, not ended → syncing',
      job: job({ exec: { state: 'Succeeded', began: at(1) } }),
      state: 'syncing',
      terminal: false,
    },
    {
      name: 'NotRun with progress reported → syncing',
      job: job({ code: 'NotRun', progress: [{ completedUnits: 1, totalUnits: 10 }] }),
      state: 'syncing',
      terminal: false,
    },
    { name: 'Active, no execution yet → starting', job: job({}), state: 'starting', terminal: false },
    {
      name: 'failed cycle after start, no steady → failed with its error',
      job: job({ exec: { state: 'Failed', began: at(1), ended: at(2), error: BAD_CREDS } }),
      state: 'failed',
      terminal: true,
      detail: /Last cycle failed.*InvalidCredentials: Bad token/,
    },
    {
      name: 'failed cycle followed by a steady state → steady',
      job: job({ exec: { state: 'Succeeded', began: at(4), ended: at(5) }, steady: at(5) }),
      state: 'steady',
      terminal: true,
    },
    {
      name: 'failed cycle from before a restart does not fail the new watch',
      job: job({ exec: { state: 'Failed', began: at(-3), ended: at(-2), error: BAD_CREDS } }),
      state: 'syncing',
      terminal: false,
    },
    {
      name: 'quarantine cleared by restart (began before start, code Active) is history',
      job: job({
        quarantine: {
          reason: 'EncounteredQuarantineException',
          currentBegan: at(-30),
          nextAttempt: at(30),
          seriesCount: 1,
        },
      }),
      state: 'starting',
      terminal: false,
    },
    {
      name: 'real quarantine reason with code Active → quarantined',
      job: job({ quarantine: { reason: 'TooManyDeletes', currentBegan: at(2), nextAttempt: at(60), seriesCount: 1 } }),
      state: 'quarantined',
      terminal: false,
      detail: /TooManyDeletes.*ForceDeletes/,
    },
    {
      name: 'code Quarantine with an empty quarantine object → quarantined, error from the last cycle',
      job: job({
        code: 'Quarantine',
        exec: { state: 'Failed', began: at(1), ended: at(2), error: BAD_CREDS },
        quarantine: { reason: '', currentBegan: '', nextAttempt: '', seriesBegan: '', seriesCount: 0 },
      }),
      state: 'quarantined',
      terminal: false,
      detail:
        /^Quarantine: reason not given \(next attempt unknown\): SystemForCrossDomainIdentityManagementInvalidCredentials: Bad token/,
    },
    {
      name: 'schedule Disabled while code Active, after grace → failed',
      job: job({ schedule: 'Disabled' }),
      state: 'failed',
      terminal: true,
      detail: /disabled/,
    },
    {
      name: 'Paused with a real quarantine (disabled after weeks) → failed, says it was quarantined',
      job: job({
        code: 'Paused',
        schedule: 'Disabled',
        quarantine: {
          reason: 'EncounteredQuarantineException',
          currentBegan: at(2),
          seriesCount: 20,
          error: BAD_CREDS,
        },
      }),
      state: 'failed',
      terminal: true,
      detail: /was quarantined: EncounteredQuarantineException.*Bad token/,
    },
    {
      name: 'NotConfigured after grace → failed',
      job: job({ code: 'NotConfigured' }),
      state: 'failed',
      terminal: true,
      detail: /NotConfigured/,
    },
    {
      name: 'countSuccessiveCompleteFailures high → failed',
      job: job({ exec: { state: 'EntryLevelErrors', began: at(1), ended: at(2) }, failures: 3 }),
      state: 'failed',
      terminal: true,
      detail: /3 successive complete failures/,
    },
    { name: '404 within grace → starting', job: null, now: 30_000, state: 'starting', terminal: false },
    { name: '404 after grace → failed', job: null, state: 'failed', terminal: true, detail: /not found/ },
    {
      name: 'steady wins over a passed deadline',
      job: job({ exec: { state: 'Succeeded', began: at(1), ended: at(3) }, steady: at(3) }),
      now: 120 * MIN,
      state: 'steady',
      terminal: true,
    },
    {
      name: 'syncing past the deadline → timed-out',
      job: job({ exec: { state: 'Succeeded', began: at(1) } }),
      now: 120 * MIN,
      state: 'timed-out',
      terminal: true,
      detail: /last seen: Cycle in progress/,
    },
  ];

  it.each(cases)('$name', ({ job: j, now, state, terminal, detail }) => {
    const a = classifyJob(j, {
      startedAt: START,
      now: new Date(Date.parse(START) + (now ?? 10 * MIN)),
      deadlineAt: at(60),
    });
    expect(a.state).toBe(state);
    expect(a.terminal).toBe(terminal);
    expect(a.terminal).toBe(a.finalState !== null);
    if (detail) expect(a.detail).toMatch(detail);
    expect(a.detail).not.toMatch(/\n/);
  });

  it('a steady state slightly before startedAt (clock skew) still counts; a large gap does not', () => {
    const j = job({ exec: { state: 'Succeeded', began: at(-3), ended: at(-1) }, steady: at(-1) });
    expect(classifyJob(j, { startedAt: START, now: new Date(at(5)), deadlineAt: at(60) }).state).toBe('steady');
    expect(classifyJob(j, { startedAt: START, now: new Date(at(5)), deadlineAt: at(60), clockSkewMs: 0 }).state).toBe(
      'syncing',
    );
  });

  it('long Graph messages are collapsed to one clipped line', () => {
    const longMsg = `line one\n\nline two ${'x'.repeat(1000)}`;
    const a = classifyJob(
      job({ exec: { state: 'Failed', began: at(1), ended: at(2), error: { code: 'E', message: longMsg } } }),
      {
        startedAt: START,
        now: new Date(at(5)),
        deadlineAt: at(60),
      },
    );
    expect(a.detail).not.toMatch(/\n/);
    expect(a.detail.length).toBeLessThan(400);
    expect(a.detail).toContain('line one line two');
  });
});

describe('never-dates and empty quarantines', () => {
  it.each([
    [NEVER, null],
    ['0001-01-01T00:00:00.0000000+00:00', null],
    ['0001-01-01T00:00:00', null],
    ['', null],
    [null, null],
    [undefined, null],
    ['not a date', null],
    ['2021-05-24T21:45:53.6330529Z', '2021-05-24T21:45:53.6330529Z'],
    ['2016-12-31T23:59:23.3145158+03:00', '2016-12-31T23:59:23.3145158+03:00'],
  ])('realDate(%j) → %j', (input, expected) => {
    expect(realDate(input)).toBe(expected);
  });

  it.each([
    [
      {
        currentBegan: '',
        nextAttempt: '',
        reason: '',
        seriesBegan: '',
        seriesCount: 2,
        error: { code: 'X', message: 'y' },
      },
    ],
    [{ currentBegan: null, nextAttempt: null, reason: null, seriesBegan: null, seriesCount: null }],
    [{ currentBegan: NEVER, nextAttempt: NEVER, reason: '  ', seriesBegan: NEVER, seriesCount: 0 }],
    [{}],
  ])('quarantine %j is absent', (q) => {
    expect(readQuarantine(q)).toBeNull();
  });
});
