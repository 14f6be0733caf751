/**
 * Test knobs for day-two scenarios, under the token-less `/_sim/*` door (loopback only):
 * `GET|POST /_sim/clock` reads or moves the simulated calendar, `POST /_sim/deletes` stages
 * deletions on an instance's job for its next cycle.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '../http.ts';
import { DEFAULT_DELETE_THRESHOLD, pendingDeletesProblem } from '../staged-deletes.ts';
import type { SimJob } from '../directory.ts';
import type { SimState } from '../state.ts';
import { watchJob } from '../settle.ts';

const DAY = 24 * 60 * 60 * 1000;

/** Move the calendar as a body asks: `{advanceMs}`, `{advanceDays}` or `{set: ISO date}`. */
function moveClock(st: SimState, body: Record<string, unknown>): void {
  if (typeof body.set === 'string') {
    const at = Date.parse(body.set);
    if (!Number.isFinite(at)) throw new Error(`set must be an ISO date, got ${body.set}`);
    st.clock.set(at);
  } else if (body.advanceMs !== undefined || body.advanceDays !== undefined) {
    const ms = Number(body.advanceMs ?? 0) + Number(body.advanceDays ?? 0) * DAY;
    st.clock.advance(ms);
  } else throw new Error('give advanceMs, advanceDays or set (an ISO date)');
}

/** The job a knob names: by `jobId`, or the only job of the service principal named by id or displayName. */
function jobNamed(st: SimState, body: Record<string, unknown>): SimJob {
  if (typeof body.jobId === 'string') {
    const job = st.jobs.get(body.jobId);
    if (!job) throw new Error(`no job ${body.jobId}`);
    return job;
  }
  const sps = [...st.sps.values()].filter(
    (sp) =>
      sp.id === body.servicePrincipalId || (body.displayName !== undefined && sp.displayName === body.displayName),
  );
  if (sps.length !== 1)
    throw new Error(`jobId, servicePrincipalId or displayName must name one instance (${sps.length} match)`);
  const jobs = [...st.jobs.values()].filter((j) => j.spId === sps[0]!.id);
  if (jobs.length !== 1) throw new Error(`the instance has ${jobs.length} jobs: name one by jobId`);
  return jobs[0]!;
}

/**
 * Stage `count` deletions (0 clears) on a job for its next cycle; `threshold` sets the job's
 * threshold (shown as `QuarantineTooManyDeletesThreshold`; default 500) for this and later counts.
 */
export function stageDeletes(st: SimState, body: Record<string, unknown>, now = Date.now()) {
  const problem = pendingDeletesProblem(body.count, body.threshold);
  if (problem) throw new Error(problem);
  const job = jobNamed(st, body);
  const count = body.count as number;
  if (typeof body.threshold === 'number') job.deleteThreshold = body.threshold;
  const threshold = job.deleteThreshold ?? DEFAULT_DELETE_THRESHOLD;
  job.pendingDeletes = count > 0 ? { count, threshold, since: now, staged: false } : null;
  watchJob(st, job.id);
  return { jobId: job.id, pendingDeletes: job.pendingDeletes };
}

/** Serves `/_sim/clock` and `/_sim/deletes`; false for any other control path. */
export async function handleDayTwoControl(
  st: SimState,
  req: IncomingMessage,
  res: ServerResponse,
  sub: string,
): Promise<boolean> {
  if (sub !== 'clock' && sub !== 'deletes') return false;
  if (sub === 'clock' && req.method === 'GET') {
    sendJson(res, 200, st.clock.view());
    return true;
  }
  if (req.method !== 'POST') {
    sendJson(res, 405, { error: `/_sim/${sub} takes ${sub === 'clock' ? 'GET or POST' : 'POST'}` });
    return true;
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>;
  } catch {
    sendJson(res, 400, { error: 'the body must be JSON' });
    return true;
  }
  try {
    if (sub === 'clock') {
      moveClock(st, body);
      sendJson(res, 200, st.clock.view());
    } else sendJson(res, 200, stageDeletes(st, body));
  } catch (e) {
    sendJson(res, 400, { error: (e as Error).message });
  }
  return true;
}
