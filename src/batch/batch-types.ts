/**
 * What loading a batch file produces. `credentials` hold resolved secret values in memory only:
 * seal them (`sealSecretPairs` in src/secrets/seal.ts) before they go anywhere else, and never
 * log a `BatchInstance` as a whole (`redactInstance` gives a loggable copy).
 */
import type { SecretPair } from '../graph/graph-api.ts';
import type { OnboardingInput } from './onboarding-fields.ts';

/** Where a credential's value came from (the value itself is never recorded here). */
export type CredentialSourceKind = 'value' | 'env' | 'file';

/** Which credential keys an instance has and where each came from; safe to show. */
export interface CredentialSource {
  key: string;
  source: CredentialSourceKind;
}

/**
 * The end state a run against the simulator expects for an instance (`expect` in the file);
 * ignored against real Graph.
 */
export type ExpectedOutcome = 'steady' | 'started' | 'quarantined' | 'failed';

/** The gallery template an instance is created from: a GUID becomes `id`, anything else `displayName`. */
export interface TemplateRef {
  id?: string;
  displayName?: string;
}

/** One app instance to create, with defaults applied and credential references resolved. */
export interface BatchInstance {
  /** Position in the file (0-based): `instances[index]` or the CSV data row. */
  index: number;
  /** Deterministic, BullMQ-safe key (`instanceKeyOf(displayName)`). */
  instanceKey: string;
  displayName: string;
  applicationTemplate: TemplateRef;
  /** Synchronization template id (e.g. `aws`); null = the app's default template. */
  synchronizationTemplateId: string | null;
  /** Resolved values, in key order of the file (defaults first). Secret: seal before storing. */
  credentials: SecretPair[];
  /** Same keys as `credentials`, with their origin; carries no values. */
  credentialSources: CredentialSource[];
  /** Expected end state for simulator runs, when the file says so. */
  expect: ExpectedOutcome | null;
  /** settings / assignments / schema / smokeTest (defaults applied); null or absent when none. */
  onboarding?: OnboardingInput | null;
}

/** A validated batch, ready to enqueue. */
export interface Batch {
  batchId: string;
  /** Absolute path of the file it was read from. */
  sourceFile: string;
  /** SHA-256 (hex) of the file's bytes: tells a moved file from another one with the same batch id. */
  sourceSha256?: string;
  instances: BatchInstance[];
}

/**
 * One thing wrong with a batch file. `path` locates it (`instances[3].credentials.SecretToken.env`,
 * `line 7, column 12` for syntax, `line 5, column ClientSecret` for CSV cells); `message` says
 * what is wrong and how to fix it. Messages never contain credential values.
 */
export interface BatchProblem {
  path: string;
  message: string;
}

/** Either a batch or every problem found in the file (never just the first). */
// `total` is set when more problems were found than `problems` lists (its last row counts the rest).
export type LoadResult = { ok: true; batch: Batch } | { ok: false; problems: BatchProblem[]; total?: number };
