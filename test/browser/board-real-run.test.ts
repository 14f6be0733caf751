/**
 * Headless Chromium on the board after a real simulator run (not planted jobs): the provflow
 * queues are listed, a completed instance flow (resolve-template … smoke-test) opens with its tree,
 * and no credential value of the batch appears anywhere on the pages or in what they fetched.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../src/dev/local-stack.ts';
import type { Runtime } from '../../src/app/runtime.ts';
import { stepJobId } from '../../src/flow/build-flow.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { QUEUES } from '../../src/flow/queues.ts';
import { startStepsWorker } from '../../src/app/steps-worker.ts';
import { silentLogger } from '../../src/logger.ts';
import { startPoller } from '../../src/poller/start-poller.ts';
import { batchOf, instance } from '../helpers/batches.ts';
import { waitForStates } from '../helpers/wait.ts';
import { serveBoard, type TestBoard } from './board-fixtures.ts';
import { screenshotPath } from './screenshot-path.ts';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = screenshotPath('board-real-run.png');
const haveChromium = existsSync(CHROMIUM);

describe.skipIf(!haveChromium)('board after a real simulator run', () => {
  let stack: LocalStack;
  let rt: Runtime;
  let board: TestBoard;
  let browser: Browser;
  const batch = batchOf('board-run', [
    instance(0, 'AWS Board One', 'tok-PLANTED-one'),
    instance(1, "AWS O'Board Two", 'tok-PLANTED-two'),
    instance(2, 'AWS Board Bad', 'bad-PLANTED-three'),
  ]);
  const secrets = batch.instances.flatMap((i) => i.credentials.map((c) => c.value));

  beforeAll(async () => {
    stack = await startLocalStack({ profile: 'fast', timeScale: 50 });
    rt = await stack.runtime(silentLogger());
    const w = startStepsWorker(rt);
    const p = startPoller(rt);
    await enqueueBatch(rt, batch);
    await waitForStates(rt.ledger, 'board-run', ['steady', 'failed'], 60_000);
    await w.close();
    await p.close();
    board = await serveBoard({
      redis: stack.redis.url,
      prefix: rt.prefix,
      auth: { username: 'operator', password: 'pw-board' },
    });
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
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await board?.stop();
    await rt?.close();
    await stack?.close();
  });

  it('shows the queues and a completed instance flow, and no secret of the batch', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'operator', password: 'pw-board' },
      viewport: { width: 1400, height: 1100 },
    });
    const page = await context.newPage();
    const responses: string[] = [];
    page.on(
      'response',
      (res) =>
        void res.text().then(
          (t) => responses.push(t),
          () => {},
        ),
    );
    expect((await page.goto(`${board.base}/board/`))?.status()).toBe(200);
    for (const name of [QUEUES.steps, QUEUES.poll]) await page.getByText(name, { exact: true }).first().waitFor();

    const key = batch.instances[0]!.instanceKey;
    // The flow's root as the ledger recorded it: without onboarding fields, start-job.
    const root = (await rt.ledger.getInstance('board-run', key))?.rootStep;
    expect(root).toBe('start-job');
    await page.goto(
      `${board.base}/board/queue/${QUEUES.steps}/${encodeURIComponent(stepJobId('board-run', key, root!))}`,
    );
    await page.getByText('Job flow').waitFor();
    await page.getByText('resolve-template').first().waitFor();
    const text = await page.innerText('body');
    expect(text).toContain('start-job');
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: SCREENSHOT, animations: 'disabled' });

    await page.goto(`${board.base}/board/queue/${QUEUES.steps}?status=failed`);
    await page.waitForLoadState('networkidle');
    const all = [text, await page.innerText('body'), await page.content(), ...responses].join('\n');
    expect(secrets.filter((s) => all.includes(s))).toEqual([]);
    await context.close();
  }, 60_000);
});
