/** Helpers of the day-two commands: the rotate file's validation and the patient Graph client. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patientGraph } from '../../src/ops/patient-graph.ts';
import { loadRotateFile, rotatesWholeBatch } from '../../src/ops/rotate-file.ts';
import { FakeGraph, graphError } from '../helpers/fake-graph.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pf-rotate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(doc: unknown): Promise<string> {
  const p = path.join(dir, `r${Math.random().toString(36).slice(2)}.json`);
  await writeFile(p, JSON.stringify(doc));
  return p;
}

describe('rotate file', () => {
  it('accepts credentials in defaults and per instance, no template needed', async () => {
    const res = await loadRotateFile(
      await file({
        defaults: { credentials: { ClientSecret: { value: 'cs' } } },
        instances: [{ displayName: 'A', credentials: { SecretToken: { env: 'ROT_TOKEN' } } }],
      }),
      { batchId: 'b', env: { ROT_TOKEN: 'tok' } },
    );
    expect(res.ok).toBe(true);
    if (res.ok)
      expect(res.instances[0]!.credentials).toEqual([
        { key: 'ClientSecret', value: 'cs' },
        { key: 'SecretToken', value: 'tok' },
      ]);
  });
  it('credentials in defaults only rotate the whole batch: every named instance gets them', async () => {
    const whole = await file({ defaults: { credentials: { SecretToken: { env: 'ROT_ALL' } } } });
    const named = await file({ instances: [{ displayName: 'A', credentials: { SecretToken: { value: 't' } } }] });
    expect(await rotatesWholeBatch(whole)).toBe(true);
    expect(await rotatesWholeBatch(named)).toBe(false);
    const res = await loadRotateFile(whole, { batchId: 'b', env: { ROT_ALL: 'new-token' }, fanOutTo: ['A', 'B'] });
    expect(res.ok).toBe(true);
    if (res.ok) {
      expect(res.instances.map((i) => i.displayName)).toEqual(['A', 'B']);
      for (const i of res.instances) expect(i.credentials).toEqual([{ key: 'SecretToken', value: 'new-token' }]);
    }
    // Without the batch's names such a file names no instance, and is refused.
    expect((await loadRotateFile(whole, { batchId: 'b', env: { ROT_ALL: 'x' } })).ok).toBe(false);
  });
  it('lists every problem: other fields, misspelt keys, unset variables (values never echoed)', async () => {
    const res = await loadRotateFile(
      await file({
        defaults: { applicationTemplate: 'AWS', credentials: { SecretToken: { value: 'hunter2-secret' } } },
        instances: [
          { displayName: 'A', synchronizationTemplateId: 'aws', credentials: { ClientSecrt: { value: 'x' } } },
          { displayName: 'B', credentials: { SecretToken: { env: 'NOT_SET_ANYWHERE' } } },
        ],
      }),
      { batchId: 'b', env: {} },
    );
    expect(res.ok).toBe(false);
    if (res.ok) return;
    const paths = res.problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'defaults.applicationTemplate',
        'instances[0].synchronizationTemplateId',
        'instances[0].credentials.ClientSecrt',
        'instances[1].credentials.SecretToken.env',
      ]),
    );
    expect(JSON.stringify(res.problems)).not.toContain('hunter2-secret');
  });
});

describe('patientGraph', () => {
  it('waits out a throttled answer and sends the call again; other errors pass through', async () => {
    const graph = new FakeGraph();
    let calls = 0;
    // graphError gives throttled errors a 3 s Retry-After; keep the test fast with a 0-ms one.
    const err = graphError(429, 'throttled', 'TooManyRequests');
    (err.details as { retryAfterMs: number | null }).retryAfterMs = 1;
    graph.getApplication = async () => {
      calls++;
      if (calls === 1) throw err;
      return null;
    };
    expect(await patientGraph(graph).getApplication('x')).toBeNull();
    expect(calls).toBe(2);
    graph.getApplication = async () => {
      throw graphError(400, 'permanent', 'BadRequest');
    };
    await expect(patientGraph(graph).getApplication('x')).rejects.toThrow();
  });
});
