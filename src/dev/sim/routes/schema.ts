/**
 * A job's synchronization schema: GET, PUT (validated, replaces the whole schema), DELETE (back
 * to the template's), and the scoping-filter operators and mapping functions it may use; the
 * same GETs on a synchronization template.
 */
import type { SimContext } from '../http.ts';
import { iso, sendGraph, sendGraphError } from '../http.ts';
import type { SimJob } from '../directory.ts';
import type { SimState } from '../state.ts';
import { FILTER_OPERATORS, MAPPING_FUNCTIONS, initialJobSchema, templateSchema } from '../sync-schema.ts';
import { schemaProblem } from '../sync-schema-check.ts';
import { syncTemplateFor } from '../directory.ts';
import { jobOr404, spOr404 } from './lookup.ts';

type Json = Record<string, unknown>;

/** The job's current schema (edited, or its template's with the job's own rule ids) and version. */
export function jobSchema(st: SimState, job: SimJob): { body: Json; version: number; updatedAt: number } {
  const stored = st.onboarding.schemas.get(job.id);
  if (stored) return stored;
  return { body: initialJobSchema(job.id, job.templateId), version: 1, updatedAt: job.createdAt };
}

/** Handles `…/synchronization/{jobs/{id}|templates/{id}}/schema[/filterOperators|/functions]`; false: not one. */
export function handleSchemaRoutes(st: SimState, ctx: SimContext): boolean {
  const seg = ctx.path.split('/').filter(Boolean).map(decodeURIComponent);
  if (seg[0] !== 'servicePrincipals' || seg[2] !== 'synchronization' || seg[5] !== 'schema') return false;
  if (seg[3] !== 'jobs' && seg[3] !== 'templates') return false;
  if (seg.length > 7) return false;
  const { method } = ctx;
  const sub = seg[6];
  if (sub !== undefined && sub !== 'filterOperators' && sub !== 'functions') return false;
  if (sub !== undefined && method !== 'GET') return false;
  const now = Date.now();
  const sp = spOr404(st, ctx, seg[1]!, now, method !== 'GET');
  if (!sp) return true;
  const base = `${ctx.url.origin}/${ctx.apiVersion}/$metadata`;
  if (sub === 'filterOperators') {
    sendGraph(ctx, 200, { '@odata.context': `${base}#filterOperators`, value: FILTER_OPERATORS });
    return true;
  }
  if (sub === 'functions') {
    sendGraph(ctx, 200, { '@odata.context': `${base}#functions`, value: MAPPING_FUNCTIONS });
    return true;
  }
  const entity = `${base}#servicePrincipals('${sp.id}')/synchronization/${seg[3]}('${seg[4]}')/schema/$entity`;
  if (seg[3] === 'templates') {
    if (method !== 'GET') return false;
    if (!syncTemplateFor(sp).some((t) => t.id === seg[4])) {
      sendGraphError(ctx, 404, 'NotFound', `The synchronization template '${seg[4]}' was not found.`);
      return true;
    }
    sendGraph(ctx, 200, { '@odata.context': entity, id: seg[4], version: null, ...templateSchema(seg[4]!) });
    return true;
  }
  const job = jobOr404(st, ctx, sp, seg[4]!, now);
  if (!job) return true;
  if (method === 'GET') {
    const s = jobSchema(st, job);
    const version = `date:${iso(s.updatedAt)}~v${s.version}`;
    sendGraph(ctx, 200, { '@odata.context': entity, id: job.id, version, ...s.body });
    return true;
  }
  if (method === 'PUT') {
    const problem = schemaProblem(ctx.body, templateSchema(job.templateId));
    if (problem) {
      sendGraphError(ctx, 400, 'BadRequest', `The synchronization schema is not valid: ${problem}`);
      return true;
    }
    // Graph keeps what was sent, but owns the id and the version.
    const body = structuredClone(ctx.body as Json);
    for (const k of ['@odata.context', 'id', 'version']) delete body[k];
    const version = jobSchema(st, job).version + 1;
    st.onboarding.schemas.set(job.id, { body, version, updatedAt: now });
    st.stats.schemaUpdates++;
    sendGraph(ctx, 204);
    return true;
  }
  if (method === 'DELETE') {
    // Deleting a job's schema restores its template's (customizations are lost).
    const version = jobSchema(st, job).version + 1;
    st.onboarding.schemas.set(job.id, { body: initialJobSchema(job.id, job.templateId), version, updatedAt: now });
    st.stats.schemaUpdates++;
    sendGraph(ctx, 204);
    return true;
  }
  return false;
}
