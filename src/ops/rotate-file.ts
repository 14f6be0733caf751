/**
 * A rotate file: batch-shaped (the same JSON or CSV, the same credential references and checks),
 * holding only credentials — in `defaults` and per `displayName`. Validated like a batch; every
 * problem is reported and nothing is enqueued when there is one.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { loadBatchFile } from '../batch/load-batch.ts';
import type { BatchInstance, BatchProblem } from '../batch/batch-types.ts';

const ROOT = new Set(['$schema', 'description', 'batchId', 'defaults', 'instances']);
const ALLOWED = new Set(['displayName', 'credentials']);

/** Fields a rotate file may not carry (it changes credentials, nothing else). */
async function extraFieldProblems(file: string): Promise<BatchProblem[]> {
  if (extname(file).toLowerCase() === '.csv') return [];
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return []; // the batch loader reports syntax with line and column
  }
  if (!doc || typeof doc !== 'object') return [];
  const d = doc as Record<string, unknown>;
  const problems: BatchProblem[] = [];
  const only = (path: string, obj: unknown, allowed: Set<string>) => {
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return;
    for (const k of Object.keys(obj))
      if (!allowed.has(k))
        problems.push({
          path: `${path}${k}`,
          message: `a rotate file holds only credentials; remove '${k}' (allowed here: ${[...allowed].join(', ')})`,
        });
  };
  only('', d, ROOT);
  only('defaults.', d.defaults, new Set(['credentials']));
  if (Array.isArray(d.instances)) d.instances.forEach((inst, i) => only(`instances[${i}].`, inst, ALLOWED));
  return problems;
}

/** Whether the file gives credentials in `defaults` only (no `instances`): it then rotates the whole batch. */
export async function rotatesWholeBatch(file: string): Promise<boolean> {
  if (extname(file).toLowerCase() === '.csv') return false;
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return !!doc && typeof doc === 'object' && !Array.isArray(doc) && !('instances' in doc);
  } catch {
    return false; // the batch loader reports the syntax error
  }
}

type RotateFileResult = { ok: true; instances: BatchInstance[] } | { ok: false; problems: BatchProblem[] };

export async function loadRotateFile(
  file: string,
  opts: { batchId: string; env?: NodeJS.ProcessEnv; maxInstances?: number; fanOutTo?: readonly string[] },
): Promise<RotateFileResult> {
  const extra = await extraFieldProblems(file);
  const res = await loadBatchFile(file, {
    env: opts.env ?? process.env,
    batchIdOverride: opts.batchId,
    credentialsOnly: true,
    ...(opts.fanOutTo ? { fanOutTo: opts.fanOutTo } : {}),
    ...(opts.maxInstances ? { maxInstances: opts.maxInstances } : {}),
  });
  const problems = [...extra, ...(res.ok ? [] : res.problems)];
  if (!res.ok || problems.length) return { ok: false, problems };
  return { ok: true, instances: res.batch.instances };
}
