/**
 * Graph endpoints of the simulator (under /beta or /v1.0). Each handler gets the request
 * context and the tenant state; quotas, faults and latency are applied before it runs.
 */
import type { SimContext } from './http.ts';
import { iso, sendGraph, sendGraphError, sendNotFound } from './http.ts';
import { CATALOGUE, catalogueEntry } from './catalogue.ts';
import { compileFilter, FilterError } from './odata-filter.ts';
import { credentialProblem, logsForJob, modeFromSecrets, renderJob, syncTemplateFor, type SimApp, type SimJob, type SimSp } from './directory.ts';
import type { SimState } from './state.ts';

/** How a request is priced and whether it is a write, decided before it runs. */
export interface RouteCost {
  write: boolean;
  ru: number;
  reports: boolean;
  route: string;
}

const isWrite = (m: string) => m === 'POST' || m === 'PUT' || m === 'PATCH' || m === 'DELETE';

export function costOf(method: string, path: string): RouteCost {
  const route = path
    .replace(/^\/(applicationTemplates|applications|servicePrincipals)\/[^/]+/, '/$1/{id}')
    .replace(/\/jobs\/[^/]+/, '/jobs/{jobId}');
  const list = /^\/(applications|servicePrincipals)$/.test(path);
  const reports = path.startsWith('/auditLogs/provisioning');
  return { write: isWrite(method), ru: reports ? 0 : list ? 2 : 1, reports, route: `${method} ${route}` };
}

const appView = (a: SimApp) => ({
  id: a.id,
  appId: a.appId,
  applicationTemplateId: a.applicationTemplateId,
  displayName: a.displayName,
  createdDateTime: iso(a.createdAt),
  signInAudience: 'AzureADMyOrg',
  identifierUris: [],
  web: { redirectUris: [], homePageUrl: catalogueEntry(a.applicationTemplateId)?.template.homePageUrl ?? null },
});

const spView = (s: SimSp) => ({
  id: s.id,
  appId: s.appId,
  appDisplayName: s.displayName,
  displayName: s.displayName,
  applicationTemplateId: s.applicationTemplateId,
  appRoleAssignmentRequired: true,
  servicePrincipalNames: [s.appId],
  servicePrincipalType: 'Application',
  tags: ['WindowsAzureActiveDirectoryIntegratedApp', 'WindowsAzureActiveDirectoryGalleryApplicationNonPrimaryV1'],
});

function page<T>(ctx: SimContext, items: T[], pageSize: number, orderNote?: string) {
  const top = Math.max(1, Math.min(Number(ctx.url.searchParams.get('$top') ?? pageSize) || pageSize, 999));
  const skip = Number(Buffer.from(ctx.url.searchParams.get('$skiptoken') ?? '', 'base64url').toString() || '0') || 0;
  const slice = items.slice(skip, skip + top);
  const body: Record<string, unknown> = { '@odata.context': `${ctx.url.origin}/${ctx.apiVersion}/$metadata#${orderNote ?? 'collection'}`, value: slice };
  if (skip + top < items.length) {
    const next = new URL(ctx.url.toString());
    next.searchParams.set('$top', String(top));
    next.searchParams.set('$skiptoken', Buffer.from(String(skip + top)).toString('base64url'));
    body['@odata.nextLink'] = next.toString();
  }
  return body;
}

function filtered<T>(ctx: SimContext, items: T[], caseInsensitive = true): T[] | null {
  try {
    return items.filter(compileFilter(ctx.url.searchParams.get('$filter'), { caseInsensitiveEq: caseInsensitive }));
  } catch (e) {
    if (e instanceof FilterError) {
      sendGraphError(ctx, 400, 'BadRequest', `Invalid filter clause: ${e.message}`);
      return null;
    }
    throw e;
  }
}

function spOr404(st: SimState, ctx: SimContext, id: string, now: number, forWrite = false): SimSp | null {
  const sp = st.sps.get(id);
  if (!sp || sp.visibleAt > now) {
    if (forWrite && sp) {
      sendGraphError(ctx, 400, 'Request_BadRequest', `The service principal ${id} does not reference a valid application object.`);
    } else sendNotFound(ctx, id);
    return null;
  }
  return sp;
}

function jobOr404(st: SimState, ctx: SimContext, sp: SimSp, jobId: string, now: number): SimJob | null {
  const job = st.jobs.get(jobId);
  if (!job || job.spId !== sp.id || job.visibleAt > now) {
    sendGraphError(ctx, 404, 'NotFound', `The synchronization job '${jobId}' was not found on service principal ${sp.id}.`);
    return null;
  }
  return job;
}

/** Handles one Graph request (after quota/fault/latency). Returns false when no route matched. */
export async function handleGraph(st: SimState, ctx: SimContext): Promise<boolean> {
  const { method, path } = ctx;
  const now = Date.now();
  const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
  const s = st.settings();

  // /applicationTemplates
  if (seg[0] === 'applicationTemplates') {
    if (seg.length === 1 && method === 'GET') {
      const items = filtered(ctx, CATALOGUE.map((c) => c.template));
      if (items) sendGraph(ctx, 200, page(ctx, items, s.listPageSize, 'applicationTemplates'));
      return true;
    }
    const entry = catalogueEntry(seg[1]);
    if (seg.length === 2 && method === 'GET') {
      if (!entry) sendGraphError(ctx, 404, 'ResourceNotFound', `Application template ${seg[1]} not found.`);
      else sendGraph(ctx, 200, entry.template);
      return true;
    }
    if (seg.length === 3 && seg[2] === 'instantiate' && method === 'POST') {
      if (!entry) {
        sendGraphError(ctx, 404, 'ResourceNotFound', `Application template ${seg[1]} not found.`);
        return true;
      }
      const displayName = (ctx.body as { displayName?: unknown } | undefined)?.displayName;
      if (typeof displayName !== 'string' || !displayName.trim()) {
        sendGraphError(ctx, 400, 'Request_BadRequest', "Invalid value specified for property 'displayName' of resource 'Application'.");
        return true;
      }
      const { app, sp } = st.createApp(entry.template.id, displayName, now);
      const fault = st.ambiguousInstantiate(displayName);
      if (fault) {
        st.stats.faultsInjected[`instantiate-${fault}`] = (st.stats.faultsInjected[`instantiate-${fault}`] ?? 0) + 1;
        if (fault === 'hang') {
          await st.sleep(s.instantiateHangMs);
          sendGraphError(ctx, 504, 'GatewayTimeout', 'The operation timed out.');
        } else if (fault === '404') sendGraphError(ctx, 404, 'Request_ResourceNotFound', `Resource '${seg[1]}' does not exist or one of its queried reference-property objects are not present.`);
        else if (fault === '500') sendGraphError(ctx, 500, 'InternalServerError', 'An internal server error occurred.');
        else sendGraphError(ctx, 504, 'GatewayTimeout', 'The operation timed out.');
        return true;
      }
      // The beta example returns ids as objectId (v1.0 uses id): clients must accept both.
      const { id: appObjectId, ...a } = appView(app);
      const { id: spObjectId, ...p } = spView(sp);
      sendGraph(ctx, 201, {
        '@odata.context': `${ctx.url.origin}/${ctx.apiVersion}/$metadata#microsoft.graph.applicationServicePrincipal`,
        application: { objectId: appObjectId, ...a },
        servicePrincipal: { objectId: spObjectId, ...p },
      });
      return true;
    }
  }

  // /applications, /servicePrincipals
  if ((seg[0] === 'applications' || seg[0] === 'servicePrincipals') && seg.length <= 2 && method === 'GET') {
    const isApp = seg[0] === 'applications';
    if (seg.length === 1) {
      const all: unknown[] = isApp ? [...st.apps.values()].filter((a) => a.visibleAt <= now).map(appView) : [...st.sps.values()].filter((x) => x.visibleAt <= now).map(spView);
      const items = filtered(ctx, all);
      if (items) sendGraph(ctx, 200, page(ctx, items as unknown[], s.listPageSize, seg[0]));
      return true;
    }
    const obj = isApp ? st.apps.get(seg[1]!) : st.sps.get(seg[1]!);
    if (!obj || obj.visibleAt > now) sendNotFound(ctx, seg[1]!);
    else sendGraph(ctx, 200, isApp ? appView(obj as SimApp) : spView(obj as SimSp));
    return true;
  }

  // /servicePrincipals/{id}/synchronization/...
  if (seg[0] === 'servicePrincipals' && seg[2] === 'synchronization') {
    const write = method !== 'GET';
    const sp = spOr404(st, ctx, seg[1]!, now, write);
    if (!sp) return true;
    const rest = seg.slice(3);
    if (rest[0] === 'templates' && rest.length === 1 && method === 'GET') {
      sendGraph(ctx, 200, { value: syncTemplateFor(sp) });
      return true;
    }
    if (rest[0] === 'secrets' && rest.length === 1) {
      if (method === 'PUT') {
        const value = (ctx.body as { value?: { key: string; value: string }[] } | undefined)?.value;
        if (!Array.isArray(value)) {
          sendGraphError(ctx, 400, 'BadRequest', "The request body must be {value:[{key,value}]}.");
          return true;
        }
        st.secrets.set(sp.id, value.map((v) => ({ key: String(v.key), value: String(v.value ?? '') })));
        sendGraph(ctx, 204);
        return true;
      }
      if (method === 'GET') {
        sendGraph(ctx, 200, { value: (st.secrets.get(sp.id) ?? []).map((v) => ({ key: v.key, value: '*' })) });
        return true;
      }
    }
    if (rest[0] === 'jobs') {
      if (rest.length === 1 && method === 'GET') {
        const jobs = [...st.jobs.values()].filter((j) => j.spId === sp.id && j.visibleAt <= now).map((j) => renderJob(j, s, now));
        sendGraph(ctx, 200, { value: jobs });
        return true;
      }
      if (rest.length === 1 && method === 'POST') {
        const templateId = (ctx.body as { templateId?: unknown } | undefined)?.templateId;
        if (typeof templateId !== 'string' || !syncTemplateFor(sp).some((t) => t.id === templateId)) {
          sendGraphError(ctx, 400, 'BadRequest', `The synchronization template '${String(templateId)}' is not available for this application.`);
          return true;
        }
        const job = st.createJob(sp, templateId, now);
        // Docs say 201, the example shows 200: the simulator answers 201 (clients accept both).
        sendGraph(ctx, 201, renderJob(job, s, now));
        return true;
      }
      const job = jobOr404(st, ctx, sp, rest[1]!, now);
      if (!job) return true;
      if (rest.length === 2 && method === 'GET') {
        sendGraph(ctx, 200, renderJob(job, s, now));
        return true;
      }
      if (rest.length === 2 && method === 'DELETE') {
        st.jobs.delete(job.id);
        sendGraph(ctx, 204);
        return true;
      }
      const action = rest[2];
      if (method === 'POST' && action === 'validateCredentials') {
        const body = (ctx.body ?? {}) as { useSavedCredentials?: boolean; credentials?: { key: string; value: string }[] };
        const creds = body.useSavedCredentials ? (st.secrets.get(sp.id) ?? []) : (body.credentials ?? []);
        const problem = credentialProblem(sp.applicationTemplateId, creds.map((c) => ({ key: String(c.key), value: String(c.value ?? '') })));
        if (problem) sendGraphError(ctx, 400, 'BadRequest', problem, { innerCode: 'CredentialValidationFailure' });
        else sendGraph(ctx, 204);
        return true;
      }
      if (method === 'POST' && (action === 'start' || action === 'restart')) {
        const saved = (st.secrets.get(sp.id) ?? []).map((v) => v.value);
        // The first start decides how this job behaves (from its saved secrets); any later start or
        // restart models the operator having fixed the cause, and clears a quarantine.
        if (job.startedAt === null) job.mode = saved.length ? modeFromSecrets(saved) : 'quarantine';
        else if (job.mode === 'quarantine') job.quarantineCleared = true;
        job.startedAt = now;
        job.pausedAt = null;
        job.cycle++;
        sendGraph(ctx, 204);
        return true;
      }
      if (method === 'POST' && action === 'pause') {
        job.pausedAt = now;
        sendGraph(ctx, 204);
        return true;
      }
      if (method === 'POST' && action === 'provisionOnDemand') {
        sendGraph(ctx, 200, { '@odata.type': '#microsoft.graph.stringKeyStringValuePair', key: 'Status', value: 'Succeeded' });
        return true;
      }
    }
  }

  // /auditLogs/provisioning
  if (seg[0] === 'auditLogs' && seg[1] === 'provisioning' && seg.length === 2 && method === 'GET') {
    const filter = ctx.url.searchParams.get('$filter') ?? '';
    const byJob = /jobId eq '((?:[^']|'')*)'/.exec(filter);
    const jobs = byJob ? [st.jobs.get(byJob[1]!.replace(/''/g, "'"))].filter((j): j is SimJob => !!j) : [...st.jobs.values()];
    let entries = jobs.flatMap((j) => logsForJob(j, s, st.tenantId, now, st.random));
    const f = filtered(ctx, entries, false);
    if (!f) return true;
    entries = f;
    const order = ctx.url.searchParams.get('$orderby') ?? 'activityDateTime desc';
    const [field, dir] = order.split(/\s+/);
    entries.sort((a, b) => {
      const x = String((a as Record<string, unknown>)[field!] ?? '');
      const y = String((b as Record<string, unknown>)[field!] ?? '');
      return (x < y ? -1 : x > y ? 1 : 0) * (dir === 'asc' ? 1 : -1);
    });
    sendGraph(ctx, 200, page(ctx, entries, s.logsPageSize, 'auditLogs/provisioning'));
    return true;
  }
  return false;
}
