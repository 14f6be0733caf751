/** `GET /auditLogs/provisioning`: every retained entry, deleted jobs' included (audit records). */
import { sendGraph, sendGraphError, type SimContext } from '../http.ts';
import type { SimState } from '../state.ts';
import { logsForJob } from '../provisioning-logs.ts';
import { onboardingLogs } from '../onboarding-logs.ts';
import { filtered, page } from './paging.ts';

/** Handles the provisioning-logs list ($filter, $orderby on activityDateTime, paging); false: not it. */
export function handleAuditLogRoutes(st: SimState, ctx: SimContext, seg: string[], now: number): boolean {
  const { method } = ctx;
  if (!(seg[0] === 'auditLogs' && seg[1] === 'provisioning' && seg.length === 2 && method === 'GET')) return false;
  const s = st.settings();
  const order = (ctx.url.searchParams.get('$orderby') ?? 'activityDateTime desc').trim();
  const om = /^activityDateTime(?:\s+(asc|desc))?$/.exec(order);
  if (!om) {
    const why = `Invalid $orderby '${order}': only activityDateTime (asc or desc) is supported.`;
    sendGraphError(ctx, 400, 'BadRequest', why);
    return true;
  }
  const filter = ctx.url.searchParams.get('$filter') ?? '';
  // A jobId eq clause narrows the jobs to generate before the (strict) filter runs on entries.
  const byJob = /(?:^|\s)jobId eq '((?:[^']|'')*)'/.exec(filter);
  const named = byJob ? st.logJobs.get(byJob[1]!.replace(/''/g, "'")) : undefined;
  const jobs = byJob ? (named ? [named] : []) : [...st.logJobs.values()];
  const retainFrom = now - s.logRetentionMs;
  type Entry = { id: string; activityDateTime: string };
  const all = jobs.flatMap((j) => [
    ...logsForJob(j, s, st.tenantId, now, retainFrom),
    ...onboardingLogs(st, j, s, now, retainFrom),
  ]) as Entry[];
  const entries = filtered(ctx, all, 'reports');
  if (!entries) return true;
  const desc = om[1] !== 'asc';
  const keyOf = (e: { id: string; activityDateTime: string }) => `${e.activityDateTime}|${e.id}`;
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0) * (desc ? -1 : 1);
  entries.sort((a, b) => cmp(keyOf(a), keyOf(b)));
  const body = page(ctx, entries, s.logsPageSize, 999, 'auditLogs/provisioning', keyOf, cmp);
  if (body) sendGraph(ctx, 200, body);
  return true;
}
