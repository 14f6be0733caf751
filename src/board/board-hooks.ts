/**
 * Bull Board handler hooks: the access policy (`before`) and response redaction (`after`).
 *
 * Bull Board's adapter options only know "read-only" or "everything": with `readOnlyMode` off,
 * an operator who should only retry could also obliterate a queue or rewrite job data. The
 * `before` hook narrows `retries` mode to exactly retry-failed and promote. The `after` hook
 * redacts every API response, because failure reasons, stack traces, logs and flow nodes reach
 * the browser without passing through the adapter's formatters.
 */
import type { BoardHooks, HookContext } from '@bull-board/api/typings/app';
import type { BoardMode } from './board-queues.ts';
import { redactResponse } from './redact.ts';

/** Mutating routes `retries` mode allows (Bull Board's route patterns). */
const RETRY_JOB = '/api/queues/:queueName/:jobId/retry';
const RETRY_ALL = '/api/queues/:queueName/retry/:queueStatus';
const PROMOTE_ROUTES = new Set(['/api/queues/:queueName/:jobId/promote', '/api/queues/:queueName/promote']);

type Verdict = {
  allow: boolean;
  status?: 403 | 405;
  message?: string;
  errorKey?: 'ERRORS.FORBIDDEN' | 'ERRORS.QUEUE_READ_ONLY';
};

async function decide(mode: BoardMode, ctx: HookContext): Promise<Verdict> {
  if (ctx.method === 'get' || mode === 'full') return { allow: true };
  if (mode === 'read-only') {
    return {
      allow: false,
      status: 405,
      errorKey: 'ERRORS.QUEUE_READ_ONLY',
      message: 'The board is read-only (start it with --allow-retries to retry or promote).',
    };
  }
  const onlyFailed = {
    allow: false,
    status: 403,
    errorKey: 'ERRORS.FORBIDDEN',
    message: 'Only failed jobs can be retried from the board.',
  } as const;
  if (PROMOTE_ROUTES.has(ctx.route)) return { allow: true };
  if (ctx.route === RETRY_ALL) return ctx.request.params.queueStatus === 'failed' ? { allow: true } : onlyFailed;
  if (ctx.route === RETRY_JOB) {
    const { queueName, jobId } = ctx.request.params as { queueName: string; jobId: string };
    const job = await ctx.request.queues.get(queueName)?.getJob(jobId);
    // A missing job falls through to Bull Board's own 404.
    if (!job) return { allow: true };
    return (await job.getState()) === 'failed' ? { allow: true } : onlyFailed;
  }
  return {
    allow: false,
    status: 403,
    errorKey: 'ERRORS.FORBIDDEN',
    message: 'This board allows only retrying failed jobs and promoting delayed ones.',
  };
}

/** The hooks for a board in `mode`. */
export function boardHooks(mode: BoardMode): BoardHooks {
  return {
    before: (ctx) => decide(mode, ctx),
    after: (_ctx, result) => ({ ...result, body: redactResponse(result.body) as typeof result.body }),
  };
}
