import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { createLiveArea, humanLogLine, liveLogDestination, progressFrame, RateMeter } from '../../src/ui/live.ts';
import { displayWidth } from '../../src/ui/table.ts';

/** A fake terminal that records what was written. */
function fakeTerm(columns = 0, rows = 0) {
  const writes: string[] = [];
  return { isTTY: true, columns, rows, writes, write: (s: string) => writes.push(s) };
}

const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

describe('live progress on a terminal', () => {
  it('the ETA comes from the measured rate', () => {
    const m = new RateMeter(20_000);
    expect(m.etaMs(100)).toBeNull();
    m.add(0, 0);
    m.add(10_000, 20); // 2 per second
    expect(m.rate()).toBeCloseTo(2);
    expect(m.etaMs(100)).toBeCloseTo(40_000);
    // The window slides: an old slow start does not drag the rate down.
    m.add(30_000, 80);
    m.add(40_000, 120);
    expect(m.rate()).toBeCloseTo(4); // only the last 20 s count
  });

  it.each([60, 80, 100, 160])('the progress frame fits width %i', (width) => {
    const m = new RateMeter();
    m.add(0, 0);
    m.add(5000, 10);
    const text = progressFrame(
      { total: 1200, started: 600, ended: 10, steady: 8, quarantined: 1, failed: 1 },
      m,
      width,
    );
    for (const line of text.split('\n')) expect(displayWidth(line)).toBeLessThanOrEqual(width);
    expect(text).toContain('ETA');
    expect(text).toContain('600/1200');
  });

  it('pino lines go whole to the log file and, from warn up, above the live area as text — never JSON', async () => {
    const term = fakeTerm(0, 0); // a pseudo-terminal reporting 0×0, as under `script`
    const saved = process.env.COLUMNS;
    process.env.COLUMNS = '100';
    const file = path.join(tmpdir(), `provflow-live-test-${process.pid}.log`);
    try {
      const live = createLiveArea(term);
      const dest = liveLogDestination(live, { file });
      const logger = createLogger({ level: 'info', name: 'demo', destination: dest });
      live.update('started ▕███░░░▏ 3/6\nsteady 1 · ETA 4 s');
      logger.info('quiet progress detail');
      logger.warn(
        { instance: 'AWS Demo 005', candidates: 2, clientSecret: 's3cr3t' },
        `ambiguous instantiate ${'x'.repeat(200)}`,
      );
      live.update('started ▕██████▏ 6/6\nsteady 6 · done');
      live.done();
      const before = term.writes.length;
      logger.warn('closing: worker stopped late');
      // After done(), a late line goes below the last frame: the frame is not drawn again.
      expect(stripAnsi(term.writes.slice(before).join(''))).toBe('warn  closing: worker stopped late\n');
      await dest.close();
      const screen = stripAnsi(term.writes.join(''));
      expect(screen).not.toContain('{"level"');
      expect(screen).toContain('warn  ambiguous instantiate');
      expect(screen).not.toContain('quiet progress detail');
      expect(screen).not.toContain('s3cr3t');
      for (const line of screen.split(/\r?\n/)) expect(displayWidth(line)).toBeLessThanOrEqual(100);
      const logged = readFileSync(file, 'utf8').trim().split('\n');
      expect(logged).toHaveLength(3);
      expect(JSON.parse(logged[1]!)).toMatchObject({ level: 40, instance: 'AWS Demo 005', clientSecret: '[REDACTED]' });
      expect(dest.lines).toBe(3);
    } finally {
      if (saved === undefined) delete process.env.COLUMNS;
      else process.env.COLUMNS = saved;
      rmSync(file, { force: true });
    }
  });

  it('a log line for people escapes control characters', () => {
    const line = humanLogLine(
      JSON.stringify({ level: 50, msg: 'bad \x1b[2J name', err: { message: 'boom' }, step: 'x' }),
    );
    expect(line).toBe('error bad \\x1B[2J name — boom (step=x)');
  });
});
