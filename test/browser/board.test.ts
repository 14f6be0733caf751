/**
 * Headless Chromium against the real board: refused without credentials, logs in with HTTP
 * credentials, sees every provflow queue, opens a completed job of a flow that spans
 * provflow-steps → provflow-poll and a failed job, and never sees a planted secret — not in
 * the rendered text, the HTML, or any response the page fetched. Saves a screenshot for the docs.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../src/flow/queues.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';
import {
  BOARD_PASS,
  BOARD_USER,
  plantFlow,
  plantedIn,
  serveBoard,
  type PlantedFlow,
  type TestBoard,
} from './board-fixtures.ts';
import { screenshotPath } from './screenshot-path.ts';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = screenshotPath('board.png');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`board browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium)`);

describe.skipIf(!haveChromium)('board in a browser', () => {
  let redis: RedisHandle;
  let board: TestBoard;
  let planted: PlantedFlow;
  let browser: Browser;

  beforeAll(async () => {
    redis = await testRedis();
    const prefix = testPrefix('browser');
    [planted, browser] = await Promise.all([
      plantFlow(redis.url, prefix),
      chromium.launch({
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
      }),
    ]);
    board = await serveBoard({ redis: redis.url, prefix, auth: { username: BOARD_USER, password: BOARD_PASS } });
  });

  afterAll(async () => {
    await browser?.close();
    await board?.stop();
    await redis?.close();
  });

  /** A logged-in page that records the text of every response it receives. */
  async function loggedIn(): Promise<{ page: Page; responses: string[] }> {
    const context = await browser.newContext({
      httpCredentials: { username: BOARD_USER, password: BOARD_PASS },
      viewport: { width: 1400, height: 1320 },
    });
    const page = await context.newPage();
    const responses: string[] = [];
    page.on('response', (res) => {
      const type = res.headers()['content-type'] ?? '';
      if (/json|html|text/.test(type))
        void res.text().then(
          (t) => responses.push(t),
          () => {},
        );
    });
    return { page, responses };
  }

  it('is refused without credentials, and with wrong ones', async () => {
    for (const httpCredentials of [undefined, { username: BOARD_USER, password: 'wrong' }]) {
      const context = await browser.newContext(httpCredentials ? { httpCredentials } : {});
      const page = await context.newPage();
      const answered = page.waitForResponse((r) => r.url() === `${board.base}/board/`);
      // Headless Chromium gives up on the Basic challenge (net::ERR_INVALID_AUTH_CREDENTIALS)
      // or shows the 401 body, depending on version; either way the server said 401.
      const nav = await page.goto(`${board.base}/board/`).catch((err: Error) => err);
      const res = await answered;
      expect(res.status()).toBe(401);
      expect(res.headers()['www-authenticate']).toMatch(/^Basic realm=/);
      if (!(nav instanceof Error)) expect(await page.content()).not.toContain(QUEUES.steps);
      await context.close();
    }
  });

  it('logs in, shows the queues and a completed flow, and never shows a secret', async () => {
    const { page, responses } = await loggedIn();
    const home = await page.goto(`${board.base}/board/`);
    expect(home?.status()).toBe(200);
    for (const name of [QUEUES.steps, QUEUES.poll, QUEUES.events])
      await page.getByText(name, { exact: true }).first().waitFor();
    expect(await page.title()).toBe('provflow');

    // Into the steps queue through the UI, then its completed jobs.
    await page.getByRole('link', { name: QUEUES.steps, exact: true }).first().click();
    await page.waitForURL(/\/board\/queue\/provflow-steps/);
    await page.goto(`${board.base}/board/queue/${QUEUES.steps}?status=completed`);
    await page.getByText('save-secrets').first().waitFor();

    // The completed job with planted credentials, and the flow tree across both queues.
    await page.goto(`${board.base}/board/queue/${QUEUES.steps}/${encodeURIComponent(planted.saveSecretsId)}`);
    await page.getByText('Job flow').waitFor();
    await page.getByText('[REDACTED]').first().waitFor();
    await page.getByText('watch', { exact: true }).first().waitFor(); // the flow root, in provflow-poll
    await page.getByText('accessToken').first().waitFor();
    const jobText = await page.innerText('body');
    expect(jobText).toContain('instanceKey');
    expect(jobText).toContain('acct-001');
    expect(plantedIn(jobText)).toEqual([]);
    expect(plantedIn(await page.content())).toEqual([]);
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: SCREENSHOT, animations: 'disabled' });

    // The failed job: its error tab shows the reason with the bearer token masked.
    await page.goto(`${board.base}/board/queue/${QUEUES.steps}/${encodeURIComponent(planted.failedId)}`);
    await page
      .getByRole('tab', { name: 'Error' })
      .or(page.getByText('Error', { exact: true }))
      .first()
      .click();
    await page
      .getByText(/Graph answered 400/)
      .first()
      .waitFor();
    const failedText = await page.innerText('body');
    expect(failedText).toContain('Bearer [REDACTED]');
    expect(plantedIn(failedText)).toEqual([]);
    await page.getByText('Logs', { exact: true }).first().click();
    await page
      .getByText(/Authorization: Bearer/)
      .first()
      .waitFor();
    expect(plantedIn(await page.innerText('body'))).toEqual([]);

    // Nothing the page fetched (HTML, API JSON) carried a planted value either.
    await page.waitForLoadState('networkidle');
    expect(responses.length).toBeGreaterThan(3);
    expect(plantedIn(responses.join('\n'))).toEqual([]);
    await page.context().close();
  });
});
