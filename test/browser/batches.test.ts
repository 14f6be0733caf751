/**
 * Headless Chromium on `/batches` after a real simulator run: 401 without credentials; the batch
 * listed with counts and progress; its page with the started/steady and Graph traffic charts and the instance
 * table, sorted and filtered through the page's own links and form; an instance's link opens its
 * flow in Bull Board. No credential value of the batch appears on any page.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../src/dev/local-stack.ts';
import type { Runtime } from '../../src/app/runtime.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { startStepsWorker } from '../../src/app/steps-worker.ts';
import { silentLogger } from '../../src/logger.ts';
import { startPoller } from '../../src/poller/start-poller.ts';
import { batchOf, instance } from '../helpers/batches.ts';
import { waitForStates } from '../helpers/wait.ts';
import { serveBoard, type TestBoard } from './board-fixtures.ts';
import { screenshotPath } from './screenshot-path.ts';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const AUTH = { username: 'operator', password: 'pw-batches' };

describe.skipIf(!haveChromium)('batch dashboard after a real simulator run', () => {
  let stack: LocalStack;
  let rt: Runtime;
  let board: TestBoard;
  let browser: Browser;
  const batch = batchOf('dash-run', [
    ...Array.from({ length: 6 }, (_, i) => instance(i, `AWS Dash ${i + 1}`, `tok-PLANTED-${i}`)),
    instance(6, 'AWS Dash <b>Bad</b>', 'bad-PLANTED-bad', 'failed'),
  ]);
  const secrets = batch.instances.flatMap((i) => i.credentials.map((c) => c.value));

  beforeAll(async () => {
    stack = await startLocalStack({ profile: 'fast', timeScale: 50 });
    rt = await stack.runtime(silentLogger());
    // The board runs during the batch, sampling Graph's counters for the traffic charts.
    board = await serveBoard({ redis: stack.redis.url, prefix: rt.prefix, auth: AUTH, dashboardSampleMs: 250 });
    const w = startStepsWorker(rt);
    const p = startPoller(rt);
    await enqueueBatch(rt, batch);
    await waitForStates(rt.ledger, 'dash-run', ['steady', 'failed'], 90_000);
    await w.close();
    await p.close();
    await new Promise((r) => setTimeout(r, 1000)); // the last counters flushed and sampled
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await board?.stop();
    await rt?.close();
    await stack?.close();
  });

  it('401 without credentials, for the list and a batch page', async () => {
    for (const p of ['/batches', '/batches/dash-run', '/batches/dashboard.css']) {
      const res = await fetch(`${board.base}${p}`);
      expect(res.status, p).toBe(401);
      expect(await res.text()).not.toContain('AWS Dash');
    }
  });

  it('lists the batch, draws the chart and table, sorts, filters, and links into Bull Board', async () => {
    const context = await browser.newContext({ httpCredentials: AUTH, viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const seen: string[] = [];
    page.on(
      'response',
      (res) =>
        void res.text().then(
          (t) => seen.push(t),
          () => {},
        ),
    );

    expect((await page.goto(`${board.base}/batches`))?.status()).toBe(200);
    const listRow = page.locator('#batches tbody tr', { hasText: 'dash-run' });
    await expect(listRow.innerText()).resolves.toMatch(/steady 6 · failed 1|failed 1 · steady 6/);
    expect(await listRow.locator('progress').getAttribute('value')).toBe('7');
    await page.screenshot({
      path: screenshotPath('batches.png'),
      clip: { x: 0, y: 0, width: 1400, height: 220 },
      animations: 'disabled',
    });

    await listRow.locator('a.batch').click();
    await page.waitForURL(/\/batches\/dash-run$/);
    // The chart: two series; the bad instance failed before its job started, so 6 started and 6 steady.
    const chart = page.locator('svg#started-steady-chart');
    await expect(chart.isVisible()).resolves.toBe(true);
    expect(await chart.locator('polyline').count()).toBe(2);
    await expect(chart.innerHTML()).resolves.toMatch(/started 6.*steady 6.*of 7/s);
    // Graph traffic while the batch ran: requests (and throttled) per second, and mean latency.
    expect(await page.locator('svg#graph-requests-chart polyline').count()).toBe(2);
    expect(await page.locator('svg#graph-latency-chart polyline').count()).toBe(1);
    const points = (await page
      .locator('svg#graph-requests-chart polyline[data-series="requests/s"]')
      .getAttribute('points'))!.split(' ');
    expect(points.length).toBeGreaterThan(1);
    const rows = page.locator('#instances tbody tr');
    expect(await rows.count()).toBe(7);
    // The display name with markup is shown as text, not rendered as HTML.
    expect(await page.locator('#instances b').count()).toBe(0);
    await expect(page.locator('#instances').innerText()).resolves.toContain('AWS Dash <b>Bad</b>');
    await page.screenshot({ path: screenshotPath('batch-page.png'), fullPage: true, animations: 'disabled' });

    // Sort by state, ascending then descending: failed first, then steady first.
    await page.locator('th a[data-sort="state"]').click();
    await page.waitForURL(/sort=state&dir=asc/);
    expect(await rows.first().getAttribute('data-state')).toBe('failed');
    await page.locator('th a[data-sort="state"]').click();
    await page.waitForURL(/sort=state&dir=desc/);
    expect(await rows.first().getAttribute('data-state')).toBe('steady');

    // Filter to the instances needing attention: only the failed one.
    await page.locator('input[name="attention"]').check();
    await page.locator('form button[type="submit"]').click();
    await page.waitForURL(/attention=1/);
    expect(await rows.count()).toBe(1);
    await expect(page.locator('#shown').innerText()).resolves.toBe('1 of 7 instances shown');
    await page.locator('input[name="attention"]').uncheck();
    await page.locator('select[name="state"]').selectOption('steady');
    await page.locator('input[name="q"]').fill('Dash 3');
    await page.locator('form button[type="submit"]').click();
    await page.waitForURL(/state=steady/);
    expect(await rows.count()).toBe(1);

    // The instance's link opens its flow in Bull Board.
    await rows.first().locator('a.flow').click();
    await page.waitForURL(/\/board\/queue\/provflow-steps\//);
    await page.getByText('Job flow').waitFor();
    await page.getByText('resolve-template').first().waitFor();

    const all = [await page.content(), ...seen].join('\n');
    expect(secrets.filter((s) => all.includes(s))).toEqual([]);
    await context.close();
  }, 90_000);
});
