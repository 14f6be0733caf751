/** The create-once mechanism both creating steps share: markers, the ambiguity rule, the slow-POST race. */
import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../src/graph/errors.ts';
import {
  claimIntent,
  CREATE_JOB_AMBIGUITY,
  INSTANTIATE_AMBIGUITY,
  isAmbiguous,
  parseIntent,
  postWhileLooking,
  reconcileLeft,
  settleFailedCreate,
} from '../../src/steps/create-once.ts';
import { createSyncJob, JOB_INTENT_FIELD } from '../../src/steps/create-sync-job.ts';
import { INTENT_FIELD, instantiateApp } from '../../src/steps/instantiate-app.ts';
import { StepWait } from '../../src/steps/types.ts';
import { fakeDeps, graphError, INSTANCE } from '../helpers/fake-graph.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('intent markers', () => {
  it('reads the token format, with and without the time of an ambiguous answer', () => {
    expect(parseIntent('123-ab@123')).toEqual({ raw: '123-ab@123', token: '123-ab', at: 123, answeredAt: null });
    expect(parseIntent('123-ab@123@456')).toMatchObject({ token: '123-ab', at: 123, answeredAt: 456 });
  });
  it("still reads create-sync-job's markers from before the shared format (jobs outlive deploys)", () => {
    const at = 1_700_000_000_000;
    expect(parseIntent(`${at}`)).toEqual({ raw: `${at}`, token: null, at, answeredAt: null });
    expect(parseIntent(`${at}@${at + 1000}`)).toMatchObject({ token: null, at, answeredAt: at + 1000 });
  });
  it('takes an empty or unreadable marker for none', () => {
    for (const raw of [null, undefined, '', 'garbage', 'tok@', '@123']) expect(parseIntent(raw)).toBeNull();
  });
  it('a claim is atomic: a second attempt gets none while the first holds it', async () => {
    const { deps } = fakeDeps();
    const first = await claimIntent(deps, INSTANCE, 'f', false);
    expect(first).not.toBeNull();
    expect(await claimIntent(deps, INSTANCE, 'f', false)).toBeNull();
    // Replacing an expired marker: the new one wins.
    expect(await claimIntent(deps, INSTANCE, 'f', true)).not.toBeNull();
  });
  it('reconciles until the earlier request cannot be in flight, or the reconcile window after its answer', () => {
    const { deps } = fakeDeps();
    const now = deps.now();
    // 5 s send window + 30 s request timeout + 30 s reconcile window.
    expect(reconcileLeft(deps, { raw: '', token: 't', at: now, answeredAt: null })).toBe(65_000);
    expect(reconcileLeft(deps, { raw: '', token: 't', at: now - 60_000, answeredAt: now })).toBe(30_000);
  });
});

describe('ambiguity rule', () => {
  const rules = [INSTANTIATE_AMBIGUITY, CREATE_JOB_AMBIGUITY];
  it('throttled and refused answers are not ambiguous; no answer and 5xx are', () => {
    for (const rule of rules) {
      expect(isAmbiguous(graphError(429, 'throttled'), rule)).toBe(false);
      expect(isAmbiguous(new RateLimitedError('t', 1000, 'write'), rule)).toBe(false);
      expect(isAmbiguous(graphError(400, 'permanent'), rule)).toBe(false);
      expect(isAmbiguous(graphError(403, 'permanent'), rule)).toBe(false);
      expect(isAmbiguous(graphError(null, 'transient'), rule)).toBe(true);
      expect(isAmbiguous(graphError(502, 'transient'), rule)).toBe(true);
      expect(isAmbiguous(new Error('boom'), rule)).toBe(true);
    }
  });
  it('404 is ambiguous for instantiate only (Graph documents it after a created app)', () => {
    expect(isAmbiguous(graphError(404, 'transient'), INSTANTIATE_AMBIGUITY)).toBe(true);
    expect(isAmbiguous(graphError(404, 'permanent'), CREATE_JOB_AMBIGUITY)).toBe(false);
  });
  it('keeps the marker after an ambiguous failure (answered: with its time) and drops it after a refusal', async () => {
    const { deps, store } = fakeDeps();
    const mine = (await claimIntent(deps, INSTANCE, 'f', false))!;
    const settle = (err: unknown) => settleFailedCreate(deps, INSTANCE, 'f', mine, err, CREATE_JOB_AMBIGUITY);
    expect(await settle(graphError(null, 'transient'))).toBe(true);
    expect((await store.get(INSTANCE, ['f'])).f).toBe(mine.raw);
    deps.advance(700);
    expect(await settle(graphError(503, 'transient'))).toBe(true);
    expect(parseIntent((await store.get(INSTANCE, ['f'])).f)).toMatchObject({ at: mine.at, answeredAt: mine.at + 700 });
    expect(await settle(graphError(400, 'permanent'))).toBe(false);
    expect((await store.get(INSTANCE, ['f'])).f).toBeNull();
  });
});

describe('the steps over create-once', () => {
  it('create-sync-job keeps reconciling after a marker written by the previous deploy', async () => {
    const { deps, graph, store } = fakeDeps();
    await store.set(INSTANCE, { [JOB_INTENT_FIELD]: String(deps.now() - 1000) });
    const input = { instance: INSTANCE, prev: { servicePrincipalId: 'sp-1' }, state: {} };
    const err = await createSyncJob(deps, input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepWait);
    expect((err as StepWait).reason).toMatch(/reconciling an earlier job creation/);
    expect(graph.count('createSynchronizationJob')).toBe(0);
  });
  it('an unreadable marker does not hold the instance for ever: the step claims a new one and creates', async () => {
    const { deps, graph, store } = fakeDeps();
    await store.set(INSTANCE, { [INTENT_FIELD]: 'garbage' });
    const out = await instantiateApp(deps, { instance: INSTANCE, prev: { templateId: 'tpl-aws' }, state: {} });
    expect(out.adopted).toBe('created');
    expect(graph.count('instantiateApplication')).toBe(1);
  });
});

describe('postWhileLooking', () => {
  it('a prompt answer wins: nothing is looked for', async () => {
    let looks = 0;
    const r = await postWhileLooking({
      post: async ({ onSent }) => (onSent(), 'made'),
      look: async () => (looks++, ['x']),
      slowMs: 20,
      pollMs: 5,
    });
    expect(r).toEqual({ created: 'made' });
    expect(looks).toBe(0);
  });
  it('a slow POST is abandoned once the object is found', async () => {
    let signal: AbortSignal | undefined;
    let looks = 0;
    const r = await postWhileLooking<string, string>({
      post: ({ signal: s, onSent }) => {
        signal = s;
        onSent();
        return new Promise((_, reject) => s.addEventListener('abort', () => reject(s.reason)));
      },
      look: async () => (++looks >= 2 ? ['found'] : []),
      slowMs: 10,
      pollMs: 5,
    });
    expect(r).toEqual({ found: ['found'] });
    expect(signal!.aborted).toBe(true);
  });
  it('slow counts from when the POST went on the wire, not while it was held before sending', async () => {
    let looks = 0;
    const r = await postWhileLooking({
      post: async ({ onSent }) => {
        await sleep(60); // held by the limiter: not sent yet
        onSent();
        await sleep(10);
        return 'made';
      },
      look: async () => (looks++, ['x']),
      slowMs: 30,
      pollMs: 5,
    });
    expect(r).toEqual({ created: 'made' });
    expect(looks).toBe(0);
  });
  it("a failed POST rejects with Graph's error, and the look stops", async () => {
    let looks = 0;
    const failure = graphError(502, 'transient');
    const p = postWhileLooking({
      post: async ({ onSent }) => {
        onSent();
        await sleep(40);
        throw failure;
      },
      look: async () => (looks++, []),
      slowMs: 5,
      pollMs: 5,
    });
    await expect(p).rejects.toBe(failure);
    const after = looks;
    await sleep(30);
    expect(looks).toBe(after);
    expect(after).toBeGreaterThan(0);
  });
});
