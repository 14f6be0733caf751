/**
 * The board's JSON API never returns planted secrets: job data, return values, progress, logs,
 * failure reasons, stack traces and flow trees, for every job of a planted flow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../src/flow/queues.ts';
import { REDACTED } from '../../src/board/redact.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';
import {
  BOARD_PASS,
  BOARD_USER,
  basic,
  plantFlow,
  plantedIn,
  serveBoard,
  type PlantedFlow,
  type TestBoard,
} from '../browser/board-fixtures.ts';

let redis: RedisHandle;
let board: TestBoard;
let planted: PlantedFlow;

beforeAll(async () => {
  redis = await testRedis();
  const prefix = testPrefix('mask');
  planted = await plantFlow(redis.url, prefix);
  board = await serveBoard({ redis: redis.url, prefix, auth: { username: BOARD_USER, password: BOARD_PASS } });
});

afterAll(async () => {
  await board?.stop();
  await redis?.close();
});

async function api(path: string): Promise<{ status: number; text: string; json: any }> {
  const res = await fetch(`${board.base}/board/api${path}`, {
    headers: { authorization: basic(BOARD_USER, BOARD_PASS) },
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : null };
}

describe('board API masking', () => {
  it('lists the planted jobs in every status without their secrets', async () => {
    const texts: string[] = [];
    for (const queue of [QUEUES.steps, QUEUES.poll]) {
      for (const status of ['latest', 'completed', 'failed']) {
        const r = await api(`/queues?activeQueue=${encodeURIComponent(queue)}&status=${status}&page=1&jobsPerPage=50`);
        expect(r.status).toBe(200);
        texts.push(r.text);
      }
    }
    const all = texts.join('\n');
    // The jobs are really there (so the absence of secrets means something)…
    expect(all).toContain(planted.saveSecretsId);
    expect(all).toContain(planted.failedId);
    expect(all).toContain('acct-001'); // identifiers stay readable (instanceKey is not a secret)
    // …and nothing planted is.
    expect(plantedIn(all)).toEqual([]);
  });

  it('masks one job: data, return value, progress, failure reason and stack trace', async () => {
    const save = await api(`/queues/${QUEUES.steps}/${planted.saveSecretsId}`);
    expect(save.status).toBe(200);
    expect(save.json.job.data.credentials).toBe(REDACTED);
    expect(save.json.job.data.sealed).toBe(REDACTED);
    expect(save.json.job.returnValue.accessToken).toBe(REDACTED);
    expect(save.json.job.returnValue.secretsSaved).toBe(true); // status booleans survive
    expect(save.json.job.returnValue.servicePrincipalId).toBe('sp-1');
    expect(plantedIn(save.text)).toEqual([]);

    const failed = await api(`/queues/${QUEUES.steps}/${planted.failedId}`);
    expect(failed.status).toBe(200);
    expect(failed.json.status).toBe('failed');
    expect(failed.json.job.failedReason).toContain(`Bearer ${REDACTED}`);
    expect(failed.json.job.stacktrace.length).toBeGreaterThan(0);
    expect(plantedIn(failed.text)).toEqual([]);
  });

  it('masks logs and flow trees', async () => {
    for (const id of [planted.saveSecretsId, planted.startJobId, planted.failedId]) {
      const logs = await api(`/queues/${QUEUES.steps}/${id}/logs`);
      expect(logs.status).toBe(200);
      expect(logs.text).toContain('Authorization: Bearer');
      expect(plantedIn(logs.text)).toEqual([]);
    }
    const flow = await api(`/queues/${QUEUES.steps}/${planted.saveSecretsId}/flow?depth=5&maxChildren=20`);
    expect(flow.status).toBe(200);
    expect(flow.json.flowRoot.id).toBe(planted.rootId);
    expect(flow.json.flowRoot.queueName).toBe(QUEUES.poll);
    expect(flow.json.flowRoot.children[0].queueName).toBe(QUEUES.steps);
    expect(plantedIn(flow.text)).toEqual([]);
  });
});
