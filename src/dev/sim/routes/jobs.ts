/**
 * A service principal's synchronization jobs: list, create, get, delete, and the actions
 * validateCredentials, start, restart (with its resetScope) and pause.
 */
import { sendGraph, sendGraphError, type SimContext } from '../http.ts';
import {
  credentialProblem,
  runBehaviour,
  syncTemplateFor,
  type SimJob,
  type SimRun,
  type SimSp,
} from '../directory.ts';
import { renderJob } from '../job-status.ts';
import type { SimulatorSettings } from '../settings.ts';
import type { SimState } from '../state.ts';
import { watchJob } from '../settle.ts';
import { deletesAtStart } from '../staged-deletes.ts';
import { noteRunStart } from '../sync-scope.ts';
import { jobOr404 } from './lookup.ts';

/** The members of synchronizationJobRestartScope (a flags enum: comma-separated). */
const RESET_SCOPES = new Set([
  'None',
  'ConnectorDataStore',
  'Escrows',
  'Watermark',
  'QuarantineState',
  'Full',
  'ForceDeletes',
]);

/** Why a restart body is refused, or null: `{criteria:{resetScope:"A, B"}}` with known flags only. */
function resetScopeProblem(body: unknown): string | null {
  const criteria = (body as { criteria?: unknown } | undefined)?.criteria;
  const scope = (criteria as { resetScope?: unknown } | undefined)?.resetScope;
  if (!criteria || typeof criteria !== 'object' || typeof scope !== 'string') {
    return (
      'The request body must be {criteria:{resetScope}}: resetScope is one or more of Escrows, Watermark, ' +
      'QuarantineState, Full, ForceDeletes (comma-separated).'
    );
  }
  const flags = scope.split(',').map((f) => f.trim());
  const bad = flags.find((f) => !RESET_SCOPES.has(f));
  if (bad !== undefined) return `Requested value '${bad}' was not found in enum 'synchronizationJobRestartScope'.`;
  return null;
}

/**
 * start/restart: a new run whose behaviour comes from the secrets saved now. A quarantine whose
 * cause is still there quarantines again, its series continuing; only fixed secrets end it.
 */
function startRun(st: SimState, job: SimJob, sp: SimSp, s: SimulatorSettings, now: number, force = false): void {
  type Shown = { code: string; quarantine?: { seriesCount?: number; seriesBegan?: string } | null };
  const before = job.startedAt === null ? null : (renderJob(job, s, now).status as Shown);
  const wasPaused = job.pausedAt !== null;
  const prev = job.runs[job.runs.length - 1];
  if (prev && prev.endedAt === null) prev.endedAt = now;
  const { cause, entryErrors } = runBehaviour(sp.applicationTemplateId, st.secrets.get(sp.id) ?? [], st.clock.now(now));
  const q = before?.code === 'Quarantine' ? before.quarantine : null;
  const continuing = cause !== null && q && typeof q.seriesCount === 'number';
  const run: SimRun = {
    startedAt: now,
    endedAt: null,
    cause,
    entryErrors,
    failures: 3 + st.random.int(0, 2, `${job.id}|failures`),
    seriesBase: continuing ? q!.seriesCount! : 0,
    seriesBegan: continuing && q!.seriesBegan ? Date.parse(q!.seriesBegan) : null,
    resumed: wasPaused && cause === null && job.frozenStatus?.code === 'Active',
  };
  deletesAtStart(job, run, force);
  job.runs.push(run);
  job.startedAt = now;
  job.pausedAt = null;
  watchJob(st, job.id);
  noteRunStart(st, job);
}

/**
 * Handles `…/synchronization/jobs[/{id}[/{action}]]` of a found service principal (`rest` starts
 * at `jobs`); false when no route matched.
 */
export function handleJobRoutes(
  st: SimState,
  ctx: SimContext,
  sp: SimSp,
  rest: string[],
  jobContext: string,
  now: number,
): boolean {
  const { method } = ctx;
  const s = st.settings();
  if (rest.length === 1 && method === 'GET') {
    const jobs = [...st.jobs.values()]
      .filter((j) => j.spId === sp.id && j.visibleAt <= now)
      .map((j) => renderJob(j, s, now));
    sendGraph(ctx, 200, { '@odata.context': jobContext, value: jobs });
    return true;
  }
  if (rest.length === 1 && method === 'POST') {
    const templateId = (ctx.body as { templateId?: unknown } | undefined)?.templateId;
    if (typeof templateId !== 'string' || !syncTemplateFor(sp).some((t) => t.id === templateId)) {
      sendGraphError(
        ctx,
        400,
        'BadRequest',
        `The synchronization template '${String(templateId)}' is not available for this application.`,
      );
      return true;
    }
    const job = st.createJob(sp, templateId, now);
    if (!job) {
      const why = `A job from template '${templateId}' already exists on service principal ${sp.id}.`;
      sendGraphError(ctx, 409, 'Conflict', why);
      return true;
    }
    // Docs say 201, the example shows 200: the simulator answers 201 (clients accept both).
    sendGraph(ctx, 201, { '@odata.context': `${jobContext}/$entity`, ...renderJob(job, s, now) });
    return true;
  }
  const job = jobOr404(st, ctx, sp, rest[1]!, now);
  if (!job) return true;
  if (rest.length === 2 && method === 'GET') {
    sendGraph(ctx, 200, { '@odata.context': `${jobContext}/$entity`, ...renderJob(job, s, now) });
    return true;
  }
  if (rest.length === 2 && method === 'DELETE') {
    st.deleteJob(job, now);
    sendGraph(ctx, 204);
    return true;
  }
  const action = rest[2];
  if (rest.length !== 3) return false;
  if (method === 'POST' && action === 'validateCredentials') {
    const body = (ctx.body ?? {}) as {
      useSavedCredentials?: boolean;
      credentials?: { key: string; value: string }[];
    };
    const creds = body.useSavedCredentials ? (st.secrets.get(sp.id) ?? []) : (body.credentials ?? []);
    const problem = credentialProblem(
      sp.applicationTemplateId,
      creds.map((c) => ({ key: String(c.key), value: String(c.value ?? '') })),
      st.clock.now(now),
    );
    if (problem) sendGraphError(ctx, 400, 'BadRequest', problem, { innerCode: 'CredentialValidationFailure' });
    else sendGraph(ctx, 204);
    return true;
  }
  if (method === 'POST' && action === 'restart') {
    const problem = resetScopeProblem(ctx.body);
    if (problem) {
      sendGraphError(ctx, 400, 'BadRequest', problem);
      return true;
    }
  }
  if (method === 'POST' && (action === 'start' || action === 'restart')) {
    const scope = (ctx.body as { criteria?: { resetScope?: unknown } } | undefined)?.criteria?.resetScope;
    const force = action === 'restart' && typeof scope === 'string' && /(^|,)\s*ForceDeletes\s*(,|$)/.test(scope);
    startRun(st, job, sp, s, now, force);
    sendGraph(ctx, 204);
    return true;
  }
  if (method === 'POST' && action === 'pause') {
    if (job.pausedAt === null && job.startedAt !== null) {
      job.frozenStatus = renderJob(job, s, now).status as Record<string, unknown>;
      const run = job.runs[job.runs.length - 1];
      if (run && run.endedAt === null) run.endedAt = now;
      job.pausedAt = now;
    }
    sendGraph(ctx, 204);
    return true;
  }
  return false;
}
