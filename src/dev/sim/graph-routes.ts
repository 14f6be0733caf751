/**
 * Graph endpoints of the simulator (under /beta or /v1.0). Each handler gets the request
 * context and the tenant state; quotas, faults and latency are applied before it runs.
 */
import type { SimContext } from './http.ts';
import { iso, sendGraph, sendGraphError, sendNotFound } from './http.ts';
import { CATALOGUE, catalogueEntry } from './catalogue.ts';
import { createHmac, randomBytes } from 'node:crypto';
import { compileFilter, FilterError, type FilterDialect } from './odata-filter.ts';
import {
  credentialProblem,
  logsForJob,
  renderJob,
  runBehaviour,
  syncTemplateFor,
  type SimApp,
  type SimJob,
  type SimRun,
  type SimSp,
} from './directory.ts';
import type { SimulatorSettings } from './settings.ts';
import type { SimState } from './state.ts';
import { settleWatched, watchJob, watchSp } from './settle.ts';
import { deletesAtStart } from './staged-deletes.ts';
import { earliestExpiry } from './expiry.ts';
import { handleLifecycle } from './routes/lifecycle.ts';
import { handleDeletedItems } from './routes/deleted-items.ts';
import { jobOr404, spOr404 } from './routes/lookup.ts';
import { appRolesOf, jobsBySp, type SimAppRole } from './app-roles.ts';
import { handleDirectoryObjectRoutes } from './routes/directory-objects.ts';
import { handleSchemaRoutes } from './routes/schema.ts';
import { handleAssignmentRoutes } from './routes/assignments.ts';
import { handleOnDemandRoutes } from './routes/on-demand.ts';
import { noteRunStart, readBackSecrets } from './sync-scope.ts';
import { onboardingLogs } from './onboarding-logs.ts';
import { onboardingShape } from './routes/route-shape.ts';

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
    .replace(/\/jobs\/[^/]+/, '/jobs/{jobId}')
    .replace(/^\/directory\/deletedItems\/(?!microsoft\.graph\.)[^/]+/i, '/directory/deletedItems/{id}');
  const list = /^\/(applications|servicePrincipals)$/.test(path);
  const reports = path.startsWith('/auditLogs/provisioning');
  const { shape, isList } = onboardingShape(route, path);
  return { write: isWrite(method), ru: reports ? 0 : list || isList ? 2 : 1, reports, route: `${method} ${shape}` };
}

export const appView = (a: SimApp) => ({
  id: a.id,
  appId: a.appId,
  applicationTemplateId: a.applicationTemplateId,
  displayName: a.displayName,
  createdDateTime: iso(a.createdAt),
  signInAudience: 'AzureADMyOrg',
  identifierUris: [],
  web: { redirectUris: [], homePageUrl: catalogueEntry(a.applicationTemplateId)?.template.homePageUrl ?? null },
});

export const spView = (s: SimSp, appRoles: SimAppRole[]) => ({
  id: s.id,
  appId: s.appId,
  appDisplayName: s.displayName,
  displayName: s.displayName,
  applicationTemplateId: s.applicationTemplateId,
  appRoleAssignmentRequired: true,
  appRoles,
  servicePrincipalNames: [s.appId],
  servicePrincipalType: 'Application',
  tags: ['WindowsAzureActiveDirectoryIntegratedApp', 'WindowsAzureActiveDirectoryGalleryApplicationNonPrimaryV1'],
});

/** Signs continuation tokens: a token is opaque to callers and cannot be forged or edited. */
const TOKEN_KEY = randomBytes(32);

function sign(payload: unknown): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${createHmac('sha256', TOKEN_KEY).update(body).digest('base64url').slice(0, 22)}`;
}

function unsign(token: string): unknown {
  const [body, mac] = token.split('.');
  if (!body || !mac) return undefined;
  if (createHmac('sha256', TOKEN_KEY).update(body).digest('base64url').slice(0, 22) !== mac) return undefined;
  try {
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** `$top` as given: a whole number ≥ 1 (capped at `max`), the default when absent, null (400 sent) when bad. */
function topOf(ctx: SimContext, dflt: number, max: number): number | null {
  const raw = ctx.url.searchParams.get('$top');
  if (raw === null) return dflt;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) {
    const why = `Invalid value '${raw}' for $top: a whole number of at least 1 is required.`;
    sendGraphError(ctx, 400, 'BadRequest', why);
    return null;
  }
  return Math.min(Number(raw), max);
}

/**
 * One page of `items` (already filtered and in their final order). The continuation names the
 * last item sent (`keyOf`), not an offset: entries arriving between pages never shift a page.
 * The token is bound to the query's $filter and $orderby; a bad one is a 400.
 */
/** The application as beta's instantiate example shows it (`objectId`, homepage, replyUrls…). */
function betaAppView(a: SimApp) {
  const homepage = catalogueEntry(a.applicationTemplateId)?.template.homePageUrl ?? null;
  return {
    objectId: a.id,
    appId: a.appId,
    applicationTemplateId: a.applicationTemplateId,
    displayName: a.displayName,
    homepage,
    identifierUris: [],
    replyUrls: [],
    logoutUrl: null,
    samlMetadataUrl: null,
    errorUrl: null,
    publicClient: null,
    groupMembershipClaims: null,
    availableToOtherTenants: false,
    requiredResourceAccess: [],
  };
}

/** The service principal as beta's instantiate example shows it. */
function betaSpView(s: SimSp, tenantId: string) {
  return {
    objectId: s.id,
    deletionTimestamp: null,
    accountEnabled: true,
    appId: s.appId,
    appDisplayName: s.displayName,
    applicationTemplateId: s.applicationTemplateId,
    appOwnerTenantId: tenantId,
    appRoleAssignmentRequired: true,
    displayName: s.displayName,
    errorUrl: null,
    homepage: catalogueEntry(s.applicationTemplateId)?.template.homePageUrl ?? null,
    loginUrl: null,
    logoutUrl: null,
    preferredSingleSignOnMode: null,
    preferredTokenSigningKeyThumbprint: null,
    publisherName: 'Simulated tenant',
    replyUrls: [],
    samlMetadataUrl: null,
    samlSingleSignOnSettings: null,
    servicePrincipalNames: [s.appId],
    tags: ['WindowsAzureActiveDirectoryIntegratedApp'],
    keyCredentials: [],
    passwordCredentials: [],
  };
}

export function page<T>(
  ctx: SimContext,
  items: T[],
  pageSize: number,
  maxTop: number,
  context: string,
  keyOf: (t: T) => string,
  /** Order of keys in `items` (to resume after a key that has gone); none: such a token ends the list. */
  cmp?: (a: string, b: string) => number,
): Record<string, unknown> | null {
  const top = topOf(ctx, pageSize, maxTop);
  if (top === null) return null;
  const query = `${ctx.url.searchParams.get('$filter') ?? ''}|${ctx.url.searchParams.get('$orderby') ?? ''}`;
  const token = ctx.url.searchParams.get('$skiptoken');
  let start = 0;
  if (token !== null) {
    const t = unsign(token) as { after?: unknown; q?: unknown } | undefined;
    if (!t || typeof t.after !== 'string' || t.q !== query) {
      const why = 'Invalid $skiptoken: follow @odata.nextLink as returned, with the same query.';
      sendGraphError(ctx, 400, 'BadRequest', why);
      return null;
    }
    const i = items.findIndex((x) => keyOf(x) === t.after);
    // The last item sent has gone (retention, a delete): resume after where it sorted.
    const after = t.after;
    start = i >= 0 ? i + 1 : cmp ? items.findIndex((x) => cmp(keyOf(x), after) > 0) : -1;
    if (start < 0) start = items.length;
  }
  const slice = items.slice(start, start + top);
  const odataContext = `${ctx.url.origin}/${ctx.apiVersion}/$metadata#${context}`;
  const body: Record<string, unknown> = { '@odata.context': odataContext, value: slice };
  if (start + top < items.length && slice.length) {
    const next = new URL(ctx.url.toString());
    next.searchParams.set('$top', String(top));
    next.searchParams.set('$skiptoken', sign({ after: keyOf(slice[slice.length - 1]!), q: query }));
    body['@odata.nextLink'] = next.toString();
  }
  return body;
}

/**
 * `$orderby` (a property, asc|desc) and `$select` (properties kept; `id` always) on a list.
 * Returns null after answering 400 for an unknown property.
 */
export function selectAndOrder(
  ctx: SimContext,
  items: object[],
  type = 'microsoft.graph.applicationTemplate',
): object[] | null {
  const known = new Set(items.length ? Object.keys(items[0]!) : []);
  let out = items;
  const order = ctx.url.searchParams.get('$orderby');
  if (order !== null) {
    const m = /^(\w+)(?:\s+(asc|desc))?$/.exec(order.trim());
    if (!m || (items.length && !known.has(m[1]!))) {
      sendGraphError(ctx, 400, 'BadRequest', `Invalid $orderby '${order}'.`);
      return null;
    }
    const dir = m[2] === 'desc' ? -1 : 1;
    const k = m[1]!;
    out = [...out].sort((a, b) => {
      const x = String((a as Record<string, unknown>)[k] ?? '').toLowerCase();
      const y = String((b as Record<string, unknown>)[k] ?? '').toLowerCase();
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
  }
  const select = ctx.url.searchParams.get('$select');
  if (select !== null) {
    const fields = select
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
    const unknown = fields.find((f) => items.length && !known.has(f));
    if (!fields.length || unknown !== undefined) {
      const why = `Could not find a property named '${unknown ?? ''}' on type '${type}'.`;
      sendGraphError(ctx, 400, 'BadRequest', why);
      return null;
    }
    out = out.map((o) => Object.fromEntries(Object.entries(o).filter(([k]) => k === 'id' || fields.includes(k))));
  }
  return out;
}

export function filtered<T>(ctx: SimContext, items: T[], dialect: FilterDialect = 'directory'): T[] | null {
  try {
    return items.filter(compileFilter(ctx.url.searchParams.get('$filter'), dialect));
  } catch (e) {
    if (e instanceof FilterError) {
      sendGraphError(ctx, 400, 'BadRequest', `Invalid filter clause: ${e.message}`);
      return null;
    }
    throw e;
  }
}

/** Graph's synchronizationSecret enum: PUT secrets refuses any other key. */
const SYNCHRONIZATION_SECRETS: ReadonlySet<string> = new Set([
  'None',
  'UserName',
  'Password',
  'SecretToken',
  'AppKey',
  'BaseAddress',
  'ClientIdentifier',
  'ClientSecret',
  'SingleSignOnType',
  'Sandbox',
  'Url',
  'Domain',
  'ConsumerKey',
  'ConsumerSecret',
  'TokenKey',
  'TokenExpiration',
  'Oauth2AccessToken',
  'Oauth2AccessTokenCreationTime',
  'Oauth2RefreshToken',
  'SyncAll',
  'InstanceName',
  'Oauth2ClientId',
  'Oauth2ClientSecret',
  'CompanyId',
  'UpdateKeyOnSoftDelete',
  'SynchronizationSchedule',
  'SystemOfRecord',
  'SandboxName',
  'EnforceDomain',
  'SyncNotificationSettings',
  'SkipOutOfScopeDeletions',
  'Oauth2AuthorizationCode',
  'Oauth2RedirectUri',
  'ApplicationTemplateIdentifier',
  'Oauth2TokenExchangeUri',
  'Oauth2AuthorizationUri',
  'AuthenticationType',
  'Server',
  'PerformInboundEntitlementGrants',
  'HardDeletesEnabled',
  'SyncAgentCompatibilityKey',
  'SyncAgentADContainer',
  'ValidateDomain',
  'TestReferences',
  'ConnectionString',
]);

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

/** Handles one Graph request (after quota/fault/latency). Returns false when no route matched. */
export async function handleGraph(st: SimState, ctx: SimContext): Promise<boolean> {
  const { method, path } = ctx;
  const now = Date.now();
  const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
  const s = st.settings();
  settleWatched(st, now);
  if (handleLifecycle(st, ctx, seg, now) || handleDeletedItems(st, ctx, seg, now)) return true;
  if (handleDirectoryObjectRoutes(ctx)) return true;
  if (handleSchemaRoutes(st, ctx)) return true;
  if (handleAssignmentRoutes(st, ctx)) return true;
  if (handleOnDemandRoutes(st, ctx)) return true;

  // /applicationTemplates
  if (seg[0] === 'applicationTemplates') {
    if (seg.length === 1 && method === 'GET') {
      const items = filtered(
        ctx,
        CATALOGUE.map((c) => c.template),
      );
      const shaped = items && selectAndOrder(ctx, items);
      if (!shaped) return true;
      const idOf = (t: object) => String((t as { id?: unknown }).id);
      const body = page(ctx, shaped, s.listPageSize, 999, 'applicationTemplates', idOf);
      if (body) sendGraph(ctx, 200, body);
      return true;
    }
    const entry = catalogueEntry(seg[1]);
    if (seg.length === 2 && method === 'GET') {
      if (!entry) sendGraphError(ctx, 404, 'ResourceNotFound', `Application template ${seg[1]} not found.`);
      else {
        const odataContext = `${ctx.url.origin}/${ctx.apiVersion}/$metadata#applicationTemplates/$entity`;
        sendGraph(ctx, 200, { '@odata.context': odataContext, ...entry.template });
      }
      return true;
    }
    if (seg.length === 3 && seg[2] === 'instantiate' && method === 'POST') {
      if (!entry) {
        sendGraphError(ctx, 404, 'ResourceNotFound', `Application template ${seg[1]} not found.`);
        return true;
      }
      const displayName = (ctx.body as { displayName?: unknown } | undefined)?.displayName;
      if (typeof displayName !== 'string' || !displayName.trim()) {
        sendGraphError(
          ctx,
          400,
          'Request_BadRequest',
          "Invalid value specified for property 'displayName' of resource 'Application'.",
        );
        return true;
      }
      const { app, sp } = st.createApp(entry.template.id, displayName, now);
      const fault = st.ambiguousInstantiate(displayName);
      if (fault) {
        st.stats.faultsInjected[`instantiate-${fault}`] = (st.stats.faultsInjected[`instantiate-${fault}`] ?? 0) + 1;
        if (fault === 'hang') {
          await st.sleep(s.instantiateHangMs);
          sendGraphError(ctx, 504, 'GatewayTimeout', 'The operation timed out.');
        } else if (fault === '404')
          sendGraphError(
            ctx,
            404,
            'Request_ResourceNotFound',
            `Resource '${seg[1]}' does not exist or one of its queried reference-property objects are not present.`,
          );
        else if (fault === '500') sendGraphError(ctx, 500, 'InternalServerError', 'An internal server error occurred.');
        else sendGraphError(ctx, 504, 'GatewayTimeout', 'The operation timed out.');
        return true;
      }
      // Each version's shape: v1.0 returns `id`, beta `objectId` and the older AAD Graph-style keys.
      const context = `${ctx.url.origin}/${ctx.apiVersion}/$metadata#microsoft.graph.applicationServicePrincipal`;
      if (ctx.apiVersion === 'v1.0') {
        const servicePrincipal = spView(sp, appRolesOf(sp, [], s, now));
        sendGraph(ctx, 201, { '@odata.context': context, application: appView(app), servicePrincipal });
        return true;
      }
      const servicePrincipal = betaSpView(sp, st.tenantId);
      sendGraph(ctx, 201, { '@odata.context': context, application: betaAppView(app), servicePrincipal });
      return true;
    }
  }

  // /applications, /servicePrincipals
  if ((seg[0] === 'applications' || seg[0] === 'servicePrincipals') && seg.length <= 2 && method === 'GET') {
    const isApp = seg[0] === 'applications';
    if (seg.length === 1) {
      const all: unknown[] = isApp
        ? [...st.apps.values()].filter((a) => a.visibleAt <= now).map(appView)
        : ((bySp) =>
            [...st.sps.values()]
              .filter((x) => x.visibleAt <= now)
              .map((x) => spView(x, appRolesOf(x, bySp.get(x.id) ?? [], s, now))))(jobsBySp(st.logJobs.values()));
      const items = filtered(ctx, all);
      if (!items) return true;
      const body = page(ctx, items as { id: string }[], s.listPageSize, 999, seg[0], (x) => x.id);
      if (body) sendGraph(ctx, 200, body);
      return true;
    }
    const obj = isApp ? st.apps.get(seg[1]!) : st.sps.get(seg[1]!);
    if (!obj || obj.visibleAt > now) sendNotFound(ctx, seg[1]!);
    else {
      const odataContext = `${ctx.url.origin}/${ctx.apiVersion}/$metadata#${seg[0]}/$entity`;
      const roles = () => appRolesOf(obj as SimSp, jobsBySp(st.logJobs.values()).get(obj.id) ?? [], s, now);
      const view = isApp ? appView(obj as SimApp) : spView(obj as SimSp, roles());
      sendGraph(ctx, 200, { '@odata.context': odataContext, ...view });
    }
    return true;
  }

  // /servicePrincipals/{id}/synchronization/...
  if (seg[0] === 'servicePrincipals' && seg[2] === 'synchronization') {
    const write = method !== 'GET';
    const sp = spOr404(st, ctx, seg[1]!, now, write);
    if (!sp) return true;
    const rest = seg.slice(3);
    const ctxUrl = `${ctx.url.origin}/${ctx.apiVersion}/$metadata#servicePrincipals('${sp.id}')/synchronization`;
    if (rest[0] === 'templates' && rest.length === 1 && method === 'GET') {
      sendGraph(ctx, 200, { '@odata.context': `${ctxUrl}/templates`, value: syncTemplateFor(sp) });
      return true;
    }
    if (rest[0] === 'secrets' && rest.length === 1) {
      if (method === 'PUT') {
        const value = (ctx.body as { value?: unknown } | undefined)?.value;
        const pair = (v: unknown) => !!v && typeof v === 'object' && typeof (v as { key?: unknown }).key === 'string';
        if (!Array.isArray(value) || !value.every(pair)) {
          sendGraphError(ctx, 400, 'BadRequest', 'The request body must be {value:[{key,value}]}.');
          return true;
        }
        // Graph rejects a key outside the synchronizationSecret enum.
        const unknown = (value as { key: string }[]).find((v) => !SYNCHRONIZATION_SECRETS.has(v.key));
        if (unknown) {
          const why = `Requested value '${unknown.key}' was not found in enum 'synchronizationSecret'.`;
          sendGraphError(ctx, 400, 'BadRequest', why);
          return true;
        }
        const pairs = value as { key: string; value?: unknown }[];
        st.secrets.set(
          sp.id,
          pairs.map((v) => ({ key: v.key, value: String(v.value ?? '') })),
        );
        // Only a saved expiry can change a running job at a later cycle.
        if (earliestExpiry(st.secrets.get(sp.id)!)) watchSp(st, sp.id);
        sendGraph(ctx, 204);
        return true;
      }
      if (method === 'GET') {
        const masked = readBackSecrets(st.secrets.get(sp.id) ?? []);
        sendGraph(ctx, 200, { '@odata.context': `${ctxUrl}/secrets`, value: masked });
        return true;
      }
    }
    if (rest[0] === 'jobs') {
      const jobContext = `${ctxUrl}/jobs`;
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
    }
  }

  // /auditLogs/provisioning: every retained entry, deleted jobs' included (audit records).
  if (seg[0] === 'auditLogs' && seg[1] === 'provisioning' && seg.length === 2 && method === 'GET') {
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
  return false;
}
