/**
 * `POST …/jobs/{jobId}/provisionOnDemand`: one user, or one group with up to five of its members,
 * provisioned now with a rule of the job's schema. Answers Microsoft's shape — a
 * stringKeyStringValuePair whose `key` is JSON `{result, details}` and whose `value` is the
 * JSON report, both inside strings — writes provisioning-log entries for the run, and keeps its
 * own rate limit (Microsoft: 5 requests per 10 s), refusing more with 429 and Retry-After.
 */
import type { SimContext } from '../http.ts';
import { iso, sendGraph, sendGraphError, sendNotFound } from '../http.ts';
import type { SimJob, SimSp } from '../directory.ts';
import type { SimState } from '../state.ts';
import { describe, logEntry, outcomeFor, type Outcome, type Subject } from '../provisioning-outcome.ts';
import { seedGroup } from '../seed-directory.ts';
import { syncsAll } from '../sync-scope.ts';
import { jobSchema } from './schema.ts';
import { jobOr404, spOr404 } from './lookup.ts';

type Json = Record<string, unknown>;

/** Microsoft: a group can be provisioned on demand with at most five of its members. */
const MAX_MEMBERS = 5;

/** The 5-per-10-s limit of one caller: false after answering 429. Counts requests sent inside a Retry-After. */
function admitOnDemand(st: SimState, ctx: SimContext, now: number): boolean {
  const s = st.settings();
  const caller = `${ctx.caller?.appId}/${ctx.caller?.tenantId}`;
  const o = st.onboarding;
  const told = o.onDemandTold.get(caller);
  if (told && now < told.until && now > told.sentAt + s.retryAfterGraceMs) st.stats.provisionOnDemand.violations++;
  const calls = (o.onDemandCalls.get(caller) ?? []).filter((t) => t > now - s.onDemandWindowMs);
  o.onDemandCalls.set(caller, calls);
  if (calls.length < s.onDemandLimit) {
    calls.push(now);
    return true;
  }
  const until = calls[0]! + s.onDemandWindowMs;
  const retryAfterSec = Math.max(1, Math.ceil((until - now) / 1000));
  o.onDemandTold.set(caller, { sentAt: now, until: now + retryAfterSec * 1000 });
  st.stats.provisionOnDemand.throttled++;
  sendGraphError(ctx, 429, 'TooManyRequests', 'Too many provision on demand requests. Retry later.', {
    innerCode: '429',
    headers: { 'Retry-After': String(retryAfterSec) },
  });
  return false;
}

interface Parsed {
  ruleId: string;
  subject: Subject;
  members: Subject[];
}

const typeOf = (v: unknown): 'User' | 'Group' | null =>
  typeof v === 'string' && /^(user|group)$/i.test(v) ? (v.toLowerCase() === 'user' ? 'User' : 'Group') : null;

/** The request's one subject (and members), or a reason it is refused. */
function parse(body: unknown): Parsed | string {
  const params = (body as { parameters?: unknown } | undefined)?.parameters;
  if (!Array.isArray(params) || params.length !== 1) {
    return 'The request body must be {parameters:[{ruleId, subjects:[{objectId, objectTypeName}]}]}, one parameter.';
  }
  const p = params[0] as { ruleId?: unknown; subjects?: unknown };
  if (typeof p.ruleId !== 'string' || !p.ruleId) return "Invalid value specified for property 'ruleId'.";
  if (!Array.isArray(p.subjects) || p.subjects.length !== 1) return 'Provision on demand takes exactly one subject.';
  const s = p.subjects[0] as { objectId?: unknown; objectTypeName?: unknown; links?: { members?: unknown } };
  const type = typeOf(s.objectTypeName);
  if (typeof s.objectId !== 'string' || !type) {
    return "Each subject needs an objectId and an objectTypeName of 'User' or 'Group'.";
  }
  const raw = s.links?.members ?? [];
  if (!Array.isArray(raw)) return 'links.members must be a list of {objectId, objectTypeName}.';
  if (raw.length && type !== 'Group') return 'Only a Group subject can name members.';
  if (raw.length > MAX_MEMBERS) return `A group can be provisioned on demand with at most ${MAX_MEMBERS} members.`;
  const members: Subject[] = [];
  for (const m of raw as { objectId?: unknown; objectTypeName?: unknown }[]) {
    if (typeof m.objectId !== 'string' || typeOf(m.objectTypeName) !== 'User') {
      return "Each member needs an objectId and objectTypeName 'User'.";
    }
    members.push({ id: m.objectId, type: 'User' });
  }
  return { ruleId: p.ruleId, subject: { id: s.objectId, type }, members };
}

/** The report Graph puts (as a JSON string) in the answer's `value`. */
function report(job: SimJob, subject: Subject, out: Outcome, entry: Json, started: number, now: number): Json {
  const d = describe(subject)!;
  const steps = (entry.provisioningSteps as Json[]).map((x) => ({
    name: x.name,
    type: String(x.provisioningStepType).replace(/^./, (c) => c.toUpperCase()),
    status: String(x.status).replace(/^./, (c) => c.toUpperCase()),
    description: x.description,
    timestamp: iso(now),
    details: x.details,
  }));
  return {
    action: out.action,
    changeId: entry.changeId,
    endTime: iso(now),
    modifiedProperties: entry.modifiedProperties,
    provisioningSteps: steps,
    reportableIdentifier: d.reportable,
    startTime: iso(started),
    statusInfo: {
      status: out.result,
      errorCode: out.errorCode,
      reason: out.reason,
      additionalDetails: null,
      errorCategory: out.result === 'Failure' ? 'NonServiceFailure' : null,
      recommendedAction: null,
    },
    sourceIdentity: { id: subject.id, type: subject.type, displayName: d.displayName, details: null },
    sourceSystem: { id: null, name: 'Azure Active Directory', details: null },
    targetIdentity: {
      id: (entry.targetIdentity as Json).id || null,
      type: subject.type,
      displayName: null,
      details: null,
    },
    targetSystem: { id: null, name: job.spDisplayName, details: null },
  };
}

/** Handles `…/jobs/{jobId}/provisionOnDemand`; false: not it. */
export function handleOnDemandRoutes(st: SimState, ctx: SimContext): boolean {
  const seg = ctx.path.split('/').filter(Boolean).map(decodeURIComponent);
  if (seg.length !== 6 || seg[0] !== 'servicePrincipals' || seg[2] !== 'synchronization') return false;
  if (seg[3] !== 'jobs' || seg[5] !== 'provisionOnDemand' || ctx.method !== 'POST') return false;
  const now = Date.now();
  if (!admitOnDemand(st, ctx, now)) return true;
  const sp = spOr404(st, ctx, seg[1]!, now, true);
  const job = sp && jobOr404(st, ctx, sp, seg[4]!, now);
  if (!sp || !job) return true;
  const parsed = parse(ctx.body);
  if (typeof parsed === 'string') {
    sendGraphError(ctx, 400, 'BadRequest', parsed);
    return true;
  }
  const rule = (jobSchema(st, job).body.synchronizationRules as Json[]).find((r) => r.id === parsed.ruleId);
  if (!rule) {
    sendGraphError(ctx, 400, 'BadRequest', `The rule '${parsed.ruleId}' is not in the schema of job '${job.id}'.`);
    return true;
  }
  if (rule.sourceDirectoryName !== 'Azure Active Directory') {
    const from = String(rule.sourceDirectoryName);
    const why = `Provision on demand is not supported by rule '${String(rule.name)}': it imports from ${from}.`;
    sendGraphError(ctx, 400, 'BadRequest', why);
    return true;
  }
  for (const x of [parsed.subject, ...parsed.members]) {
    if (!describe(x)) {
      sendNotFound(ctx, x.id);
      return true;
    }
  }
  const group = parsed.subject.type === 'Group' ? seedGroup(parsed.subject.id) : undefined;
  const stranger = parsed.members.find((m) => !group?.members.includes(m.id));
  if (stranger) {
    sendGraphError(
      ctx,
      400,
      'BadRequest',
      `The user '${stranger.id}' is not a member of group '${parsed.subject.id}'.`,
    );
    return true;
  }
  respond(st, ctx, sp, job, rule, parsed, now);
  return true;
}

function respond(st: SimState, ctx: SimContext, sp: SimSp, job: SimJob, rule: Json, p: Parsed, now: number): void {
  const mappings = Array.isArray(rule.objectMappings) ? (rule.objectMappings as Json[]) : [];
  const mappingOf = (t: string) => mappings.find((m) => m.sourceObjectName === t);
  let provisioned = st.onboarding.provisioned.get(job.id);
  if (!provisioned) st.onboarding.provisioned.set(job.id, (provisioned = new Set()));
  const syncAll = syncsAll(st, job);
  const logs = st.onboarding.onDemandLogs.get(job.id) ?? [];
  st.onboarding.onDemandLogs.set(job.id, logs);
  const initiatedBy = {
    id: ctx.caller?.appId ?? '',
    displayName: 'Provision on demand',
    initiatingType: 'application',
  };
  const run = (subject: Subject) => {
    const out = outcomeFor(st, sp, job, mappingOf(subject.type), subject, { syncAll, provisioned });
    const entry = logEntry(
      st,
      job,
      subject,
      out,
      now,
      `${job.id}|pod|${logs.length}|${subject.id}|${now}`,
      initiatedBy,
    );
    logs.push(entry);
    if (out.result === 'Success') provisioned.add(subject.id);
    return { out, entry };
  };
  const main = run(p.subject);
  // Members follow a group that is (or already was) provisioned; otherwise none of them is.
  const groupThere = main.out.result === 'Success' || main.out.errorCode === 'RedundantExport';
  const members = groupThere ? p.members : [];
  const failed = members.map((m) => ({ m, ...run(m) })).find((r) => r.out.result === 'Failure');
  const result = failed ? 'Failure' : main.out.result;
  const details = failed
    ? { errorCode: failed.out.errorCode, errorMessage: `Member ${failed.m.id}: ${failed.out.reason}` }
    : main.out.errorCode
      ? { errorCode: main.out.errorCode, errorMessage: main.out.reason }
      : {};
  st.stats.provisionOnDemand[result]++;
  const base = `${ctx.url.origin}/${ctx.apiVersion}/$metadata`;
  sendGraph(ctx, 200, {
    '@odata.context': `${base}#microsoft.graph.stringKeyStringValuePair`,
    key: JSON.stringify({ result, details }),
    value: JSON.stringify(report(job, p.subject, main.out, main.entry, ctx.arrivedAt, Date.now())),
  });
}
