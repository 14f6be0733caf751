/**
 * The day-two commands' view of a batch (src/commands/batch-parts.ts) on a real Redis: the rows of
 * every tenant's part in the file's order, each with the lane that holds it — by where its row
 * is, not by its `tenant` field, so a row written before lanes existed (a tenant's instance in
 * `default`'s ledger) keeps being handled where it lives — and one Graph client per tenant.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLanes } from '../../src/app/lanes.ts';
import type { Runtime } from '../../src/app/runtime.ts';
import { graphsOf, readBatch } from '../../src/commands/batch-parts.ts';
import { CliExit } from '../../src/commands/common.ts';
import type { GraphApi } from '../../src/graph/graph-api.ts';
import { registerTenants } from '../../src/ledger/tenant-ledgers.ts';
import { silentLogger } from '../../src/logger.ts';
import { testPrefix, testRedis, type RedisHandle } from '../helpers/redis.ts';

let handle: RedisHandle;
let redis: Redis;
let lanes: ReturnType<typeof createLanes>;
let rt: Runtime;
const base = testPrefix('batch-parts');

beforeAll(async () => {
  handle = await testRedis();
  redis = new Redis(handle.url);
  lanes = createLanes(redis, base, silentLogger());
  const graphs = { t1: { who: 't1' }, t2: { who: 't2' } } as unknown as Record<string, GraphApi>;
  rt = {
    redis,
    basePrefix: base,
    tenant: 'default',
    lane: lanes.lane,
    graph: null,
    tenants: { graphFor: (name: string) => graphs[name]! },
  } as unknown as Runtime;
  const meta = { batchId: 'mixed', createdAt: 1000, instances: 3, sourceFile: 'mixed.json' };
  const row = (index: number, displayName: string, tenant: string) => ({
    instanceKey: `k${index}`,
    index,
    displayName,
    sealedCredentials: null,
    tenant,
  });
  // Written before lanes: a t1 instance in default's ledger. The others in their own lanes.
  await lanes.lane('default').ledger.registerBatch(meta, [row(1, 'Legacy One', 't1')]);
  await lanes.lane('t1').ledger.registerBatch({ ...meta, createdAt: 1001 }, [row(0, 'One', 't1')]);
  await lanes.lane('t2').ledger.registerBatch({ ...meta, createdAt: 1002 }, [row(2, 'Two', 't2')]);
  await registerTenants(redis, base, ['t1', 't2']);
}, 60_000);

afterAll(async () => {
  await lanes?.close();
  redis?.disconnect();
  await handle?.close();
});

describe('readBatch and graphsOf', () => {
  it('reads every part in file order, each row with the lane holding it', async () => {
    const batch = await readBatch(rt, 'mixed');
    expect(batch.rows.map((r) => [r.displayName, r.tenant])).toEqual([
      ['One', 't1'],
      ['Legacy One', 't1'],
      ['Two', 't2'],
    ]);
    expect(batch.rows.map((r) => batch.laneOf(r).tenant)).toEqual(['t1', 'default', 't2']);
    expect(batch.lanes.map((l) => l.tenant)).toEqual(['default', 't1', 't2']);
  });

  it('an unknown batch: exit 2, listing the batches of every tenant', async () => {
    const err = await readBatch(rt, 'nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliExit);
    expect((err as CliExit).code).toBe(2);
    expect((err as CliExit).message).toBe(`No batch 'nope' in this Redis (prefix ${base}). Known batches: mixed.`);
  });

  it("gives each instance its own tenant's client, wrapped once per tenant", async () => {
    const wrapped: string[] = [];
    const graphOf = graphsOf(rt, (g) => {
      wrapped.push((g as unknown as { who: string }).who);
      return g;
    });
    const rows = (await readBatch(rt, 'mixed')).rows;
    expect(rows.map((r) => (graphOf(r) as unknown as { who: string }).who)).toEqual(['t1', 't1', 't2']);
    expect(wrapped).toEqual(['t1', 't2']);
  });
});
