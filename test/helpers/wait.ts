/** Polling helpers for tests (the code under test never sleeps; tests must wait for it). */
import type { Redis } from 'ioredis';
import type { Ledger, InstanceRecord } from '../../src/ledger/ledger.ts';
import { batchAcrossTenants, rowsInFileOrder } from '../../src/ledger/tenant-ledgers.ts';

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
  );
}

/** Waits until every instance of a batch is in one of `states`; returns the rows. */
export async function waitForStates(
  ledger: Ledger,
  batchId: string,
  states: string[],
  timeoutMs = 60_000,
): Promise<InstanceRecord[]> {
  return waitFor(
    `batch ${batchId} in ${states.join('/')}`,
    async () => {
      const rows = await ledger.listInstances(batchId);
      return rows.length > 0 && rows.every((r) => states.includes(r.state)) ? rows : null;
    },
    timeoutMs,
  );
}

/** `waitForStates` over every tenant's part of the batch (each tenant's part lives in its own lane). */
export async function waitForBatchStates(
  rt: { redis: Redis; basePrefix: string },
  batchId: string,
  states: string[],
  timeoutMs = 60_000,
): Promise<InstanceRecord[]> {
  return waitFor(
    `batch ${batchId} in ${states.join('/')} in every tenant`,
    async () => {
      const rows = rowsInFileOrder(await batchAcrossTenants(rt.redis, rt.basePrefix, batchId));
      return rows.length > 0 && rows.every((r) => states.includes(r.state)) ? rows : null;
    },
    timeoutMs,
  );
}
