/** The batch-file API other modules use (CLI `enqueue`/`plan`, the demo, tests). */
export { loadBatchFile, MAX_BATCH_FILE_BYTES, type LoadBatchOptions } from './load-batch.ts';
export type { Batch, BatchInstance, BatchProblem, CredentialSource, CredentialSourceKind, ExpectedOutcome, LoadResult, TemplateRef } from './batch-types.ts';
export { DEFAULT_MAX_INSTANCES } from './batch-schema.ts';
export { instanceKeyOf, INSTANCE_KEY_PATTERN } from './instance-key.ts';
export { batchIdProblem, batchIdFromFileName, BATCH_ID_PATTERN } from './batch-id.ts';
export { MAX_DISPLAY_NAME_LENGTH } from './display-name.ts';
export { redactInstance } from './redact-instance.ts';
export {
  isSecretValuedKey,
  isSynchronizationSecretKey,
  SECRET_VALUED_KEYS,
  SYNCHRONIZATION_SECRET_KEYS,
  type SynchronizationSecretKey,
} from './secret-keys.ts';
