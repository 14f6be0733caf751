/** Looking up the service principal and job a route names: Graph's 404s (and replication-lag 400s). */
import type { SimContext } from '../http.ts';
import { sendGraphError, sendNotFound } from '../http.ts';
import type { SimJob, SimSp } from '../directory.ts';
import type { SimState } from '../state.ts';

/** The service principal, or null after answering 404 (or 400 for a write during replication lag). */
export function spOr404(st: SimState, ctx: SimContext, id: string, now: number, forWrite = false): SimSp | null {
  const sp = st.sps.get(id);
  if (!sp || sp.visibleAt > now) {
    if (forWrite && sp) {
      sendGraphError(
        ctx,
        400,
        'Request_BadRequest',
        `The service principal ${id} does not reference a valid application object.`,
      );
    } else sendNotFound(ctx, id);
    return null;
  }
  return sp;
}

/** The job of that service principal, or null after answering 404. */
export function jobOr404(st: SimState, ctx: SimContext, sp: SimSp, jobId: string, now: number): SimJob | null {
  const job = st.jobs.get(jobId);
  if (!job || job.spId !== sp.id || job.visibleAt > now) {
    sendGraphError(
      ctx,
      404,
      'NotFound',
      `The synchronization job '${jobId}' was not found on service principal ${sp.id}.`,
    );
    return null;
  }
  return job;
}
