/**
 * Turns zod issues into path-qualified problems. Schemas already carry fix-it messages; this
 * adds the one thing zod cannot: unknown fields reported one by one at their own path, with a
 * "did you mean" from the fields valid at that place.
 */
import type { z } from 'zod';
import { didYouMean } from './edit-distance.ts';
import type { PathSegment } from './problem-path.ts';
import { suggestSecretKey } from './secret-keys.ts';
import { hidden, keyLooksLikeValue } from './echo-safe.ts';

/** A problem before its path is rendered for the file's format (JSON path or CSV line). */
export interface RawProblem {
  path: PathSegment[];
  /** A message, or a function of the renderer when it must mention another path. */
  message: string | ((render: (path: readonly PathSegment[]) => string) => string);
}

/** Which field names are valid inside the object at `path` (relative to the parsed part). */
export type KnownFields = (path: readonly PathSegment[]) => readonly string[];

/** Prefixes each issue's path with `prefix` and splits unknown-key issues per key. */
export function issuesToProblems(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PathSegment[],
  known: KnownFields,
): RawProblem[] {
  const problems: RawProblem[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is PathSegment => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const credentials = path[path.length - 1] === 'credentials';
      for (const key of issue.keys) {
        problems.push({
          path: [...prefix, ...path, key],
          // Lazy: the "did you mean" search runs only for problems that are listed (at most 500).
          message: () => (credentials ? unknownSecretKeyMessage(key) : unknownFieldMessage(key, known(path))),
        });
      }
      continue;
    }
    problems.push({ path: [...prefix, ...path], message: issue.message });
  }
  return problems;
}

/** A key that looks like a pasted value is described, never quoted back (see echo-safe.ts). */
const quoteKey = (key: string): string => (keyLooksLikeValue(key) ? `a key ${hidden(key)}` : `'${key}'`);

function unknownSecretKeyMessage(key: string): string {
  const suggestion = suggestSecretKey(key);
  const hint = suggestion !== null ? ` Did you mean '${suggestion}'?` : '';
  return (
    `${quoteKey(key)} is not a synchronizationSecret key Graph accepts.${hint} ` +
    'Fix the spelling (keys are case-sensitive) or remove it; docs/batch-format.md lists all 45 keys'
  );
}

function unknownFieldMessage(key: string, fields: readonly string[]): string {
  const named = keyLooksLikeValue(key) ? hidden(key) : `'${key}'`;
  return (
    `unknown field ${named}.${didYouMean(key, fields)} ` +
    `Fix the spelling (field names are case-sensitive) or remove it; allowed here: ${fields.join(', ')}`
  );
}
