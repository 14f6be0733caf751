/**
 * After a real batch (success, rejected credentials, quarantine), no credential value and no
 * bearer token appears anywhere: not in any Redis key or value, not in any log line (at trace
 * level), not in any Bull Board API response.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../src/dev/local-stack.ts';
import type { Runtime } from '../../src/app/runtime.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { ALL_QUEUE_NAMES } from '../../src/flow/queues.ts';
import { startStepsWorker } from '../../src/app/steps-worker.ts';
import { createLogger } from '../../src/logger.ts';
import { startPoller } from '../../src/poller/start-poller.ts';
import { batchOf, instance } from '../helpers/batches.ts';
import { waitForStates } from '../helpers/wait.ts';
import { basic, serveBoard, type TestBoard } from '../browser/board-fixtures.ts';

let stack: LocalStack;
let rt: Runtime;
let board: TestBoard;
const logLines: string[] = [];
const batch = batchOf('scan', [
  instance(0, 'AWS Scan Good', 'good-token-PLANTED-1'),
  instance(1, 'AWS Scan Bad', 'bad-token-PLANTED-2'),
  instance(2, 'AWS Scan Quarantine', 'quarantine-PLANTED-3'),
  instance(3, 'AWS Scan Entry', 'entry-errors-PLANTED-4'),
]);
const secretValues = batch.instances.flatMap((i) => i.credentials.map((c) => c.value));

beforeAll(async () => {
  stack = await startLocalStack({ profile: 'fast', timeScale: 50 });
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  rt = await stack.runtime(createLogger({ level: 'trace', name: 'scan', destination: sink }));
  const worker = startStepsWorker(rt, { concurrency: 4 });
  const poller = startPoller(rt);
  await enqueueBatch(rt, batch);
  await waitForStates(rt.ledger, 'scan', ['steady', 'failed', 'quarantined'], 60_000);
  await new Promise((r) => setTimeout(r, 500)); // let log summaries and metrics flush
  await worker.close();
  await poller.close();
  board = await serveBoard({ redis: stack.redis.url, prefix: rt.prefix, auth: { username: 'op', password: 'pw' } });
}, 90_000);

afterAll(async () => {
  await board?.stop();
  await rt?.close();
  await stack?.close();
});

function leaks(text: string): string[] {
  const tokens = stack.sim.issuedTokens();
  return [...secretValues, ...tokens].filter((v) => text.includes(v));
}

describe('no secret anywhere after a batch', () => {
  it('the batch really ran through every path (so absence means something)', async () => {
    const rows = await rt.ledger.listInstances('scan');
    expect(rows.map((r) => r.state).sort()).toEqual(['failed', 'quarantined', 'steady', 'steady']);
    expect(stack.sim.issuedTokens().length).toBeGreaterThan(0);
    expect(logLines.length).toBeGreaterThan(20);
  });

  it('Redis: every key and value, read by type', async () => {
    const r = rt.redis;
    let scanned = 0;
    const found: string[] = [];
    for await (const keys of r.scanStream({ count: 500 }) as AsyncIterable<string[]>) {
      for (const key of keys) {
        scanned++;
        const type = await r.type(key);
        let content = key;
        if (type === 'string') content += (await r.getBuffer(key))?.toString('latin1') ?? '';
        else if (type === 'hash') content += JSON.stringify(await r.hgetall(key));
        else if (type === 'list') content += JSON.stringify(await r.lrange(key, 0, -1));
        else if (type === 'set') content += JSON.stringify(await r.smembers(key));
        else if (type === 'zset') content += JSON.stringify(await r.zrange(key, 0, -1));
        else if (type === 'stream') content += JSON.stringify(await r.xrange(key, '-', '+'));
        found.push(...leaks(content).map((v) => `${key}: ${v.slice(0, 6)}…`));
      }
    }
    expect(scanned).toBeGreaterThan(20);
    expect(found).toEqual([]);
  });

  it('logs, at trace level', () => {
    expect(leaks(logLines.join(''))).toEqual([]);
  });

  it('the board API, every job of every queue', async () => {
    const auth = { authorization: basic('op', 'pw') };
    const texts: string[] = [];
    let jobs = 0;
    for (const q of ALL_QUEUE_NAMES) {
      for (const status of ['latest', 'completed', 'failed', 'delayed', 'waiting-children']) {
        const res = await fetch(
          `${board.base}/board/api/queues?activeQueue=${encodeURIComponent(q)}&status=${status}&page=1&jobsPerPage=100`,
          { headers: auth },
        );
        const text = await res.text();
        texts.push(text);
        const body = JSON.parse(text) as { queues: { name: string; jobs: { id: string }[] }[] };
        for (const job of body.queues.find((x) => x.name === q)?.jobs ?? []) {
          jobs++;
          texts.push(
            await (
              await fetch(`${board.base}/board/api/queues/${encodeURIComponent(q)}/${encodeURIComponent(job.id)}`, {
                headers: auth,
              })
            ).text(),
          );
        }
      }
    }
    expect(jobs).toBeGreaterThan(0);
    expect(leaks(texts.join('\n'))).toEqual([]);
  });
});
