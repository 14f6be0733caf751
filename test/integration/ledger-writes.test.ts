/**
 * The ledger's writes without MULTI (one HSET, or one script): the same fields as before, deletes
 * with sets in one command, a step's attempt and a wait never moving an instance back from a state
 * past the pipeline, set-if-absent answering what is stored — and the scripts still run after
 * Redis forgot them (SCRIPT FLUSH, as after a restart).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.ts';
import { INSTANCE } from '../helpers/fake-graph.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';

let redis: RedisHandle;
let client: Redis;
let ledger: Ledger;
const spec = { ...INSTANCE, batchId: 'lw', instanceKey: 'one' };
beforeAll(async () => {
  redis = await testRedis();
  client = new Redis(redis.url);
  ledger = new Ledger(client, testPrefix('ledger-writes'));
  await ledger.registerBatch({ batchId: 'lw', createdAt: 1, instances: 1, sourceFile: '(test)' }, [
    { instanceKey: 'one', index: 0, displayName: 'One', sealedCredentials: null, rootStep: 'start-job' },
  ]);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.close();
});

const hash = () => client.hgetall(ledger.keys.instance('lw', 'one'));

describe('ledger writes', () => {
  it('sets and deletes fields in one update, booleans as 1/0, updatedAt always', async () => {
    await ledger.update('lw', 'one', { jobId: 'j1', lastError: 'boom', detail: 'x', secretsSaved: true });
    await ledger.update('lw', 'one', { lastError: null, detail: null, jobCode: 'Active' });
    const h = await hash();
    expect(h).toMatchObject({ jobId: 'j1', secretsSaved: '1', jobCode: 'Active', rootStep: 'start-job' });
    expect(h.lastError).toBeUndefined();
    expect(h.detail).toBeUndefined();
    expect(Number(h.updatedAt)).toBeGreaterThan(0);
    expect((await ledger.getInstance('lw', 'one'))?.rootStep).toBe('start-job');
  });

  it('an attempt counts, shows its step and running state, but never undoes a state past the pipeline', async () => {
    await ledger.recordAttempt('lw', 'one', 'start-job', 'starting');
    await ledger.recordAttempt('lw', 'one', 'start-job', 'starting');
    expect(await hash()).toMatchObject({ attempts: '2', step: 'start-job', state: 'starting' });
    await ledger.update('lw', 'one', { state: 'steady' });
    await ledger.recordAttempt('lw', 'one', 'smoke-test', 'smoke-testing');
    await ledger.recordWait('lw', 'one', 'smoke-test', 'schema not yet readable', 'smoke-testing');
    expect(await hash()).toMatchObject({
      attempts: '3',
      step: 'smoke-test',
      detail: 'schema not yet readable',
      state: 'steady',
    });
    expect(await ledger.setPipelineState('lw', 'one', 'started')).toBe(false);
    // The root step's outcome and "started" in one command: the fields always, the state unless past.
    await ledger.updateWithState('lw', 'one', { startedAt: 5, lastError: null }, 'started');
    expect(await hash()).toMatchObject({ startedAt: '5', state: 'steady' });
    await ledger.update('lw', 'one', { state: 'starting', lastError: 'x' });
    await ledger.updateWithState('lw', 'one', { startedAt: 6, lastError: null }, 'started');
    const h = await hash();
    expect(h).toMatchObject({ startedAt: '6', state: 'started' });
    expect(h.lastError).toBeUndefined();
  });

  it('set-if-absent answers the value stored first', async () => {
    expect(await ledger.setIfAbsent(spec, 'intent', 'a')).toBe('a');
    expect(await ledger.setIfAbsent(spec, 'intent', 'b')).toBe('a');
  });

  it('the scripts run again after Redis forgot them', async () => {
    await client.script('FLUSH');
    await ledger.update('lw', 'one', { state: 'failed', detail: null });
    await ledger.recordWait('lw', 'one', 'start-job', 'again', 'starting');
    expect(await hash()).toMatchObject({ state: 'failed', detail: 'again' });
    expect(await ledger.setIfAbsent(spec, 'intent', 'c')).toBe('a');
  });
});
