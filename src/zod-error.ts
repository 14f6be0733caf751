/** One line from a zod failure, for job failedReasons and Graph schema mismatches. */
import type { z } from 'zod';

/** How many issues are spelled out; the rest are counted. */
const LISTED = 3;

/** `path.to[0].field: message; …` for the first few issues, then `(+N more)`. */
export function describeZodError(err: z.ZodError): string {
  if (err.issues.length === 0) return 'unknown mismatch';
  const listed = err.issues.slice(0, LISTED).map((issue) => {
    const segments = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`));
    const path = segments.join('').replace(/^\./, '');
    return `${path || '(root)'}: ${issue.message}`;
  });
  const more = err.issues.length > LISTED ? ` (+${err.issues.length - LISTED} more)` : '';
  return `${listed.join('; ')}${more}`;
}
