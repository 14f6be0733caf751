/**
 * Partial parsing for complete problem reports. When a part of the batch (the defaults, one
 * instance) has a problem, its other fields may still hide problems of their own: an unset
 * environment variable, a missing file. `salvage` drops the offending fields and parses what
 * is left, so those references can be resolved and reported in the same run. The file is
 * rejected either way; salvaged data is only used to find more problems.
 */
import type { z } from 'zod';

type Plain = Record<string, unknown>;

/** Re-parses `raw` without the fields `issues` point at; null when nothing usable remains. */
export function salvage<T extends z.ZodType>(
  schema: T,
  raw: unknown,
  issues: readonly z.core.$ZodIssue[],
): z.infer<T> | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  // Only top-level fields and credential entries are ever deleted, so copying those two levels
  // is enough; a deep clone of an arbitrary value could overflow the stack.
  const copy: Plain = { ...(raw as Plain) };
  if (typeof copy.credentials === 'object' && copy.credentials !== null && !Array.isArray(copy.credentials)) {
    copy.credentials = { ...(copy.credentials as Plain) };
  }
  for (const issue of issues) {
    const path = issue.path.filter((p) => typeof p !== 'symbol') as (string | number)[];
    // Drop the field (or the credential under `credentials`) that holds the problem.
    const depth = path[0] === 'credentials' ? 2 : 1;
    const target = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...path, k]) : [path];
    for (const p of target) {
      const cut = p.slice(0, depth);
      if (cut.length === 0) return null;
      deleteAt(copy, cut);
    }
  }
  const again = schema.safeParse(copy);
  return again.success ? (again.data as z.infer<T>) : null;
}

function deleteAt(obj: Plain, path: (string | number)[]): void {
  let cursor: unknown = obj;
  for (let i = 0; i < path.length - 1; i++) {
    if (typeof cursor !== 'object' || cursor === null) return;
    cursor = (cursor as Plain)[String(path[i])];
  }
  if (typeof cursor === 'object' && cursor !== null) delete (cursor as Plain)[String(path[path.length - 1])];
}
