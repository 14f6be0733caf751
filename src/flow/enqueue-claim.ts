/**
 * One enqueue of a batch at a time. Two enqueues of the same batch at once (two terminals, a CI
 * job run twice) would each decide per instance from the same ledger state, and a retry in one
 * could remove the flow the other has just added. An enqueue therefore claims the batch first: a
 * key in the deployment's slot with a short time to live that it keeps extending, so a killed
 * enqueue's claim lapses by itself within CLAIM_TTL_MS; one killed on this host (Ctrl-C, SIGKILL)
 * is taken over at once, its process being gone, so "just run it again" stays true.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Redis } from 'ioredis';

const CLAIM_TTL_MS = 30_000;
const script = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
const KEEP = script('claim-keep');
const RELEASE = script('claim-release');
const TAKE = script('claim-take');

interface Holder {
  host?: string;
  pid?: number;
  at?: number;
}

function holderOf(token: string | null): Holder | null {
  try {
    return JSON.parse(token ?? '') as Holder;
  } catch {
    return null;
  }
}

/** The holder ran on this host and its process is gone (a killed enqueue). */
function deadHere(h: Holder | null): boolean {
  if (!h || h.host !== os.hostname() || typeof h.pid !== 'number' || h.pid === process.pid) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export const enqueueClaimKey = (base: string, batchId: string): string => `${base}:pf:enqueue:${batchId}`;

/** Another enqueue of the batch holds it now: nothing was written. */
export class BatchBusyError extends Error {
  override readonly name = 'BatchBusyError';
}

function busyMessage(batchId: string, h: Holder | null): string {
  const ago = h?.at ? `, started ${Math.max(0, Math.round((Date.now() - h.at) / 1000))} s ago` : '';
  const who = h ? `another enqueue (host ${h.host ?? '?'}, pid ${h.pid ?? '?'}${ago})` : 'another enqueue';
  return (
    `batch '${batchId}' is being enqueued by ${who}; nothing was enqueued. Wait for it to finish and ` +
    `enqueue again if needed (the claim of an enqueue that was killed lapses within ${CLAIM_TTL_MS / 1000} s).`
  );
}

/** Claims the batch (throws BatchBusyError), runs `work`, and releases the claim however `work` ends. */
export async function withEnqueueClaim<T>(
  redis: Redis,
  base: string,
  batchId: string,
  work: () => Promise<T>,
): Promise<T> {
  const key = enqueueClaimKey(base, batchId);
  const token = JSON.stringify({
    host: os.hostname(),
    pid: process.pid,
    at: Date.now(),
    id: randomBytes(8).toString('hex'),
  });
  for (let attempt = 1; (await redis.set(key, token, 'PX', CLAIM_TTL_MS, 'NX')) !== 'OK'; attempt++) {
    const held = await redis.get(key);
    if (held === null && attempt < 3) continue; // released between the two reads: claim it now
    const holder = holderOf(held);
    if (held !== null && deadHere(holder) && (await redis.eval(TAKE, 1, key, held, token, String(CLAIM_TTL_MS)))) break;
    throw new BatchBusyError(busyMessage(batchId, holder));
  }
  const keep = setInterval(
    () => void redis.eval(KEEP, 1, key, token, String(CLAIM_TTL_MS)).catch(() => 0),
    CLAIM_TTL_MS / 3,
  );
  keep.unref();
  try {
    return await work();
  } finally {
    clearInterval(keep);
    await redis.eval(RELEASE, 1, key, token).catch(() => 0);
  }
}
