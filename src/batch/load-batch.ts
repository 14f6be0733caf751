/**
 * `loadBatchFile`: reads a JSON or CSV batch file, validates it, resolves every credential
 * reference and returns either the batch or every problem found (path + fix), so `provflow
 * enqueue` can exit 2 having enqueued nothing. Memory stays proportional to the file: a
 * 10,000-instance file (a few MB) is read whole, and each instance keeps only small fields.
 */
import { createHash } from 'node:crypto';
import { dirname, extname, resolve } from 'node:path';
import { batchIdFromFileName, batchIdProblem } from './batch-id.ts';
import { DEFAULT_MAX_INSTANCES } from './batch-schema.ts';
import type { Batch, BatchInstance, BatchProblem, CredentialSource, LoadResult } from './batch-types.ts';
import { csvPathRenderer, csvToDocument } from './csv-batch.ts';
import { type JsonStructure, structureProblems } from './json-structure.ts';
import { parseJson } from './json-syntax.ts';
import { formatPath, type PathSegment } from './problem-path.ts';
import { readBounded } from './read-bounded.ts';
import { CredentialResolver } from './resolve-credentials.ts';
import { decodeUtf8 } from './utf8.ts';
import { validateBatchDocument } from './validate-batch.ts';
import { DEFAULT_TENANT } from '../redis-keys.ts';
import type { RawProblem } from './zod-problems.ts';
import type { SecretPair } from '../graph/graph-api.ts';

export type { Batch, BatchInstance, BatchProblem, CredentialSource, LoadResult } from './batch-types.ts';

/** Batch files above this size are refused before reading (≈ 50× a 10,000-instance file). */
const MAX_BATCH_FILE_BYTES = 256 * 1024 * 1024;

/** Problems listed at most; the rest are counted in one last row (a table people can read). */
export const MAX_REPORTED_PROBLEMS = 500;

/** Options of `loadBatchFile`. */
export interface LoadBatchOptions {
  /** Where `{env}` references are looked up (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Most instances one batch may hold (default 10,000). */
  maxInstances?: number;
  /** Batch id chosen by the caller (e.g. a CLI flag); wins over the file's `batchId` and name. */
  batchIdOverride?: string;
  /** Tenant names instances may name (the tenants file's); default `default` only. */
  tenants?: readonly string[];
  /** A rotate file (credentials only): no application template is required. */
  credentialsOnly?: boolean;
  /**
   * A JSON file without `instances` stands for these display names (a rotate file whose
   * `defaults` hold the credentials of the whole batch).
   */
  fanOutTo?: readonly string[];
}

/** Loads and validates a batch file. Resolves with problems rather than throwing on bad input. */
export async function loadBatchFile(filePath: string, options: LoadBatchOptions = {}): Promise<LoadResult> {
  const env = options.env ?? process.env;
  const maxInstances = options.maxInstances ?? DEFAULT_MAX_INSTANCES;
  if (!Number.isInteger(maxInstances) || maxInstances < 1)
    throw new TypeError('maxInstances must be a positive integer');
  const sourceFile = resolve(filePath);
  const fail = (path: string, message: string): LoadResult => ({ ok: false, problems: [{ path, message }] });

  const read = await readBounded(sourceFile, MAX_BATCH_FILE_BYTES);
  if (!read.ok) {
    const why = {
      missing: 'does not exist; check the path',
      denied: 'cannot be read (permission denied)',
      directory: 'is a directory; give the path of a .json or .csv batch file',
      'too-large': `is larger than ${MAX_BATCH_FILE_BYTES / 1024 / 1024} MiB; split it into several batches`,
      'not-regular': `is ${read.why === 'not-regular' ? read.kind : ''}, not a regular file; give a batch file's path`,
      error: `cannot be read (${read.why === 'error' ? read.code : ''})`,
    }[read.why];
    return fail('(file)', `${sourceFile} ${why}`);
  }
  const decoded = decodeUtf8(read.bytes);
  if (!decoded.ok) return fail(`line ${decoded.line}`, decoded.message);
  const text = decoded.text;

  const csv = extname(sourceFile).toLowerCase() === '.csv';
  let document: unknown;
  let render: (path: readonly PathSegment[]) => string = formatPath;
  let structure: JsonStructure | undefined;
  const problems: BatchProblem[] = [];
  if (csv) {
    const parsed = csvToDocument(read.bytes); // checked as UTF-8 above
    for (const p of parsed.problems) problems.push(p);
    if (parsed.document === null) return capped(problems);
    document = parsed.document;
    render = csvPathRenderer(parsed.rowLines);
  } else {
    const parsed = parseJson(text);
    if (!parsed.ok) {
      const { line, column, message } = parsed.error;
      return fail(`line ${line}, column ${column}`, `invalid JSON: ${message}`);
    }
    document = parsed.value;
    structure = parsed.structure;
    const doc = document as Record<string, unknown> | null;
    if (options.fanOutTo && doc && typeof doc === 'object' && !Array.isArray(doc) && doc.instances === undefined)
      document = { ...doc, instances: options.fanOutTo.map((displayName) => ({ displayName })) };
  }

  const raw: RawProblem[] = [];
  if (structure) for (const p of structureProblems(structure)) raw.push(p);
  const validation = validateBatchDocument(document, {
    maxInstances,
    format: csv ? 'csv' : 'json',
    tenants: options.tenants,
    credentialsOnly: options.credentialsOnly === true,
  });
  // A loop, not push(...spread): a spread of 100,000+ problems overflows the stack.
  for (const p of validation.problems) raw.push(p);

  let batchId = validation.batchId ?? batchIdFromFileName(sourceFile);
  if (options.batchIdOverride !== undefined) {
    const why = batchIdProblem(options.batchIdOverride);
    if (why !== null) raw.push({ path: ['batchId'], message: `the batch id given on the command line ${why}` });
    batchId = options.batchIdOverride;
  }

  // Resolve references even when other problems exist, so a single run lists them all.
  const resolver = new CredentialResolver(dirname(sourceFile), env);
  const instances: BatchInstance[] = [];
  for (const planned of validation.instances) {
    const credentials: SecretPair[] = [];
    const credentialSources: CredentialSource[] = [];
    for (const credential of planned.credentials) {
      const result = await resolver.resolve(credential);
      if (result.ok) {
        credentials.push({ key: credential.key, value: result.value });
        credentialSources.push({ key: credential.key, source: result.source });
      } else if (result.problem) raw.push(result.problem);
    }
    instances.push({
      index: planned.index,
      instanceKey: planned.instanceKey,
      displayName: planned.displayName,
      applicationTemplate: planned.applicationTemplate,
      synchronizationTemplateId: planned.synchronizationTemplateId,
      credentials,
      credentialSources,
      expect: planned.expect,
      ...(planned.onboarding ? { onboarding: planned.onboarding } : {}),
      // Only when the file names a tenant: a single-tenant batch is what it was before tenants.
      ...(planned.tenant !== DEFAULT_TENANT ? { tenant: planned.tenant } : {}),
    });
  }

  const total = problems.length + raw.length;
  for (const p of sortProblems(raw)) {
    if (problems.length >= MAX_REPORTED_PROBLEMS) break;
    problems.push({ path: render(p.path), message: typeof p.message === 'string' ? p.message : p.message(render) });
  }
  if (problems.length > 0) return capped(problems, total);
  const sourceSha256 = createHash('sha256').update(text, 'utf8').digest('hex');
  const batch: Batch = { batchId, sourceFile, sourceSha256, instances };
  return { ok: true, batch };
}

/** At most MAX_REPORTED_PROBLEMS rows, then one row saying how many more there are. */
function capped(problems: BatchProblem[], total = problems.length): LoadResult {
  const shown = problems.slice(0, MAX_REPORTED_PROBLEMS);
  if (total <= shown.length) return { ok: false, problems: shown };
  const more = total - shown.length;
  shown.push({
    path: '(more)',
    message:
      `and ${more} more problem${more === 1 ? '' : 's'} not listed; ` +
      'fix the ones above (often one mistake repeated) and run again',
  });
  return { ok: false, problems: shown, total };
}

const SECTION_ORDER: Record<string, number> = { batchId: 1, defaults: 2, instances: 3 };

/** Document order: top level, batchId, defaults, then instances by index (stable otherwise). */
function sortProblems(problems: RawProblem[]): RawProblem[] {
  const rank = (p: RawProblem): [number, number] => {
    const first = p.path[0];
    // hasOwn: an unknown field named `constructor` must not rank as a function (NaN breaks the sort).
    const section = typeof first === 'string' && Object.hasOwn(SECTION_ORDER, first) ? SECTION_ORDER[first]! : 0;
    const index = section === 3 && typeof p.path[1] === 'number' ? p.path[1] : -1;
    return [section, index];
  };
  return problems
    .map((p, order) => ({ p, order, r: rank(p) }))
    .sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || a.order - b.order)
    .map((x) => x.p);
}
