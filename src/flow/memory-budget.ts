/**
 * Keeping a short-lived bulk process (the 10,000-instance enqueue) inside a memory budget.
 *
 * Why: each chunk of flows is alive across Redis round trips, so V8's scavenger promotes it to
 * the old generation, and V8 lets that generation grow to several times the live set before a
 * full collection (figures: docs/adr/0004-measurements-lint.md). A full collection when the
 * heap passes a threshold keeps the process near its live set, at the cost of a few collections.
 *
 * `gc` is not exposed without `--expose-gc`; V8 allows turning the flag on at run time and a new
 * context then sees the function. Where that does not work, this is a no-op.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gcFn: (() => void) | null | undefined;

function collector(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  try {
    setFlagsFromString('--expose_gc');
    const fn = runInNewContext('gc') as unknown;
    gcFn = typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/** Runs a full garbage collection when the JS heap in use exceeds `bytes`; returns whether it did. */
export function collectGarbageAbove(bytes: number): boolean {
  if (process.memoryUsage().heapUsed <= bytes) return false;
  const gc = collector();
  if (!gc) return false;
  gc();
  return true;
}
