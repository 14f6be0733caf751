/**
 * Problem paths as people read them: `instances[3].credentials.SecretToken.env`.
 */

import { hidden, keyLooksLikeValue } from './echo-safe.ts';

/** One step of a path into the batch document. */
export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A key that looks like a pasted credential is shown by its length, never quoted. */
const keySegment = (segment: string): string =>
  keyLooksLikeValue(segment) ? `[${hidden(segment)}]` : `[${JSON.stringify(segment)}]`;

/** `['instances', 3, 'credentials', 'x y']` → `instances[3].credentials["x y"]`; `[]` → `(root)`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment) && !keyLooksLikeValue(segment)) out += out === '' ? segment : `.${segment}`;
    else out += keySegment(segment);
  }
  return out === '' ? '(root)' : out;
}
