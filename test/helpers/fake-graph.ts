/**
 * A small in-memory GraphApi for step unit tests: plain objects, scripted failures, call log.
 * (The faithful stand-in is the simulator; this fake exists so each step's branches can be
 * driven one at a time.)
 */
import { GraphError, type ErrorClass } from '../../src/graph/errors.ts';
import type { GraphApi, InstantiatedApp, SecretPair } from '../../src/graph/graph-api.ts';
import type { OnDemandRequest } from '../../src/graph/graph-api.ts';
import type {
  AppRoleAssignment,
  Group,
  MappingFunction,
  ProvisionOnDemandResponse,
  SynchronizationSchema,
} from '../../src/graph/onboarding-schemas.ts';
import type {
  Application,
  ProvisioningObjectSummary,
  ServicePrincipal,
  SynchronizationJob,
  SynchronizationTemplate,
} from '../../src/graph/schemas.ts';
import type { InstanceSpec, InstanceStore, StepDeps } from '../../src/steps/types.ts';

export function graphError(
  status: number | null,
  errorClass: ErrorClass,
  code = 'Error',
  message = 'failed',
): GraphError {
  return new GraphError(message, {
    errorClass,
    status,
    code,
    method: 'POST',
    path: '/x',
    requestId: 'r',
    clientRequestId: 'c',
    retryAfterMs: errorClass === 'throttled' ? 3000 : null,
  });
}

export class FakeGraph implements GraphApi {
  readonly tenantId = 'tenant-1';
  calls: string[] = [];
  templates = [{ id: 'tpl-aws', displayName: 'Amazon Web Services (AWS)' }];
  apps: (Application & { id: string })[] = [];
  sps: (ServicePrincipal & { id: string })[] = [];
  jobs = new Map<string, SynchronizationJob[]>();
  syncTemplates: SynchronizationTemplate[] = [{ id: 'aws', default: true }];
  secrets = new Map<string, SecretPair[]>();
  /** Objects invisible to reads (replication lag). */
  hidden = new Set<string>();
  /** Next failure per method name (consumed once). */
  failNext = new Map<string, { err: GraphError; afterEffect: boolean }>();
  private seq = 0;

  private maybeFail(method: string, phase: 'before' | 'after'): void {
    const f = this.failNext.get(method);
    if (!f || (phase === 'after') !== f.afterEffect) return;
    this.failNext.delete(method);
    throw f.err;
  }

  async findApplicationTemplatesByName(displayName: string) {
    this.calls.push('findApplicationTemplatesByName');
    return this.templates.filter((t) => t.displayName.toLowerCase() === displayName.toLowerCase());
  }
  async getApplicationTemplate(id: string) {
    this.calls.push('getApplicationTemplate');
    return this.templates.find((t) => t.id === id) ?? null;
  }
  /**
   * When set, instantiate creates the app (invisible to queries for `visibleAfterMs`) and then
   * does not answer for `answerAfterMs` (Infinity: only an abort ends it) — Graph hanging.
   */
  hangInstantiate: { visibleAfterMs: number; answerAfterMs: number } | null = null;
  /** Whether the last instantiate was abandoned by its caller. */
  instantiateAborted = false;
  /** How long instantiate waits before it is "sent" (our limiter holding it). */
  heldBeforeSendMs = 0;

  async instantiateApplication(
    templateId: string,
    displayName: string,
    opts: { signal?: AbortSignal; onSent?: () => void } = {},
  ): Promise<InstantiatedApp> {
    this.calls.push('instantiateApplication');
    this.maybeFail('instantiateApplication', 'before');
    if (this.heldBeforeSendMs > 0) await new Promise((r) => setTimeout(r, this.heldBeforeSendMs));
    opts.onSent?.();
    const n = ++this.seq;
    const app = { id: `app-${n}`, appId: `appid-${n}`, applicationTemplateId: templateId, displayName };
    const sp = { id: `sp-${n}`, appId: app.appId, displayName };
    this.apps.push(app);
    this.sps.push(sp);
    const result = { applicationObjectId: app.id, appId: app.appId, servicePrincipalId: sp.id, displayName };
    const hang = this.hangInstantiate;
    if (hang) {
      this.hidden.add(app.id);
      this.hidden.add(sp.id);
      setTimeout(() => {
        this.hidden.delete(app.id);
        this.hidden.delete(sp.id);
      }, hang.visibleAfterMs);
      return new Promise<InstantiatedApp>((resolve, reject) => {
        const timer = Number.isFinite(hang.answerAfterMs)
          ? setTimeout(() => resolve(result), hang.answerAfterMs)
          : undefined;
        opts.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          this.instantiateAborted = true;
          reject(graphError(null, 'transient', 'AbortError', 'aborted'));
        });
      });
    }
    this.maybeFail('instantiateApplication', 'after');
    return result;
  }
  async findApplications(q: { displayName: string; applicationTemplateId?: string }) {
    this.calls.push('findApplications');
    return this.apps.filter(
      (a) =>
        !this.hidden.has(a.id) &&
        a.displayName === q.displayName &&
        (!q.applicationTemplateId || a.applicationTemplateId === q.applicationTemplateId),
    );
  }
  async findServicePrincipalsByAppId(appId: string) {
    this.calls.push('findServicePrincipalsByAppId');
    return this.sps.filter((s) => !this.hidden.has(s.id) && s.appId === appId);
  }
  async getApplication(id: string) {
    this.calls.push('getApplication');
    return this.hidden.has(id) ? null : (this.apps.find((a) => a.id === id) ?? null);
  }
  async getServicePrincipal(id: string) {
    this.calls.push('getServicePrincipal');
    return this.hidden.has(id) ? null : (this.sps.find((s) => s.id === id) ?? null);
  }
  async listSynchronizationTemplates(_sp: string) {
    this.calls.push('listSynchronizationTemplates');
    return this.syncTemplates;
  }
  async listSynchronizationJobs(sp: string) {
    this.calls.push('listSynchronizationJobs');
    this.maybeFail('listSynchronizationJobs', 'before');
    return (this.jobs.get(sp) ?? []).filter((j) => !this.hidden.has(j.id));
  }
  async getSynchronizationJob(sp: string, jobId: string) {
    this.calls.push('getSynchronizationJob');
    return (this.jobs.get(sp) ?? []).find((j) => j.id === jobId && !this.hidden.has(j.id)) ?? null;
  }
  async createSynchronizationJob(sp: string, templateId: string) {
    this.calls.push('createSynchronizationJob');
    this.maybeFail('createSynchronizationJob', 'before');
    const job: SynchronizationJob = {
      id: `${templateId}.job.${++this.seq}`,
      templateId,
      status: { code: 'NotConfigured' },
      schedule: { state: 'Disabled' },
    };
    this.jobs.set(sp, [...(this.jobs.get(sp) ?? []), job]);
    this.maybeFail('createSynchronizationJob', 'after');
    return job;
  }
  async validateCredentials(_sp: string, _job: string, creds: SecretPair[]) {
    this.calls.push('validateCredentials');
    this.maybeFail('validateCredentials', 'before');
    if (creds.some((c) => c.value.startsWith('bad')))
      throw graphError(400, 'permanent', 'BadRequest', 'Failed to validate credentials: invalid SecretToken');
  }
  async saveSecrets(sp: string, secrets: SecretPair[]) {
    this.calls.push('saveSecrets');
    this.secrets.set(sp, secrets);
  }
  async startSynchronizationJob(sp: string, jobId: string) {
    this.calls.push('startSynchronizationJob');
    const j = (this.jobs.get(sp) ?? []).find((x) => x.id === jobId);
    if (j) {
      j.status = { code: 'NotRun' };
      j.schedule = { state: 'Active' };
    }
  }
  /** resetScope of each restart. */
  restarts: string[] = [];
  async restartSynchronizationJob(_sp: string, _jobId: string, resetScope: string) {
    this.calls.push('restartSynchronizationJob');
    this.restarts.push(resetScope);
  }
  /** Provisioning log entries returned by listProvisioningLogs (one page). */
  logs: ProvisioningObjectSummary[] = [];
  async listProvisioningLogs() {
    this.calls.push('listProvisioningLogs');
    return { items: this.logs, nextLink: null };
  }
  /** Soft-deleted applications (deleted items). */
  deletedApps: (Application & { id: string })[] = [];
  async pauseSynchronizationJob(sp: string, jobId: string) {
    this.calls.push('pauseSynchronizationJob');
    const j = (this.jobs.get(sp) ?? []).find((x) => x.id === jobId);
    if (j) {
      j.status = { ...j.status, code: 'Paused' };
      j.schedule = { ...j.schedule, state: 'Paused' };
    }
  }
  async deleteSynchronizationJob(sp: string, jobId: string) {
    this.calls.push('deleteSynchronizationJob');
    this.maybeFail('deleteSynchronizationJob', 'before');
    this.jobs.set(
      sp,
      (this.jobs.get(sp) ?? []).filter((x) => x.id !== jobId),
    );
  }
  async deleteApplication(id: string) {
    this.calls.push('deleteApplication');
    const app = this.apps.find((a) => a.id === id);
    if (!app) return;
    this.apps = this.apps.filter((a) => a !== app);
    this.sps = this.sps.filter((s) => s.appId !== app.appId);
    this.deletedApps.push(app);
  }
  async getDeletedApplication(id: string) {
    this.calls.push('getDeletedApplication');
    return this.deletedApps.find((a) => a.id === id) ?? null;
  }
  async purgeDeletedApplication(id: string) {
    this.calls.push('purgeDeletedApplication');
    this.deletedApps = this.deletedApps.filter((a) => a.id !== id);
  }

  // --- onboarding: secrets read-back, job schema, groups, app role assignments, provisionOnDemand

  /** Keys read back in clear (everything else comes back "*", as Graph masks credentials). */
  static readonly CLEAR_KEYS = new Set(['SyncAll', 'SyncNotificationSettings', 'SkipOutOfScopeDeletions']);
  /** When set, the read-back of this key differs from what was saved (Graph not keeping it). */
  secretsReadBackOverride = new Map<string, string>();
  /** Job schema per job id (GET returns a copy; PUT replaces). */
  schemas = new Map<string, SynchronizationSchema>();
  filterOperators = ['EQUALS', 'NOT EQUALS', 'IsNull', 'IsNotNull', 'Includes', 'REGEX MATCH'];
  functions: MappingFunction[] = [
    { name: 'ToUpper', parameters: [{ name: 'source' }] },
    { name: 'Join', parameters: [{ name: 'separator' }, { name: 'source', allowMultipleOccurrences: true }] },
  ];
  groups: Group[] = [];
  assignments = new Map<string, AppRoleAssignment[]>();
  /** The next provisionOnDemand answer (Microsoft's shape: JSON inside strings). */
  onDemandAnswer: ProvisionOnDemandResponse = {
    key: JSON.stringify({ result: 'Success', details: {} }),
    value: JSON.stringify({ statusInfo: { status: 'Success' } }),
  };
  onDemandRequests: OnDemandRequest[] = [];

  async getSynchronizationSecrets(sp: string) {
    this.calls.push('getSynchronizationSecrets');
    return (this.secrets.get(sp) ?? []).map((p) => ({
      key: p.key,
      value: this.secretsReadBackOverride.get(p.key) ?? (FakeGraph.CLEAR_KEYS.has(p.key) ? p.value : '*'),
    }));
  }
  async getSynchronizationSchema(_sp: string, jobId: string) {
    this.calls.push('getSynchronizationSchema');
    const s = this.schemas.get(jobId);
    return s ? structuredClone(s) : null;
  }
  async putSynchronizationSchema(_sp: string, jobId: string, schema: SynchronizationSchema) {
    this.calls.push('putSynchronizationSchema');
    this.maybeFail('putSynchronizationSchema', 'before');
    this.schemas.set(jobId, structuredClone(schema));
  }
  async listFilterOperators() {
    this.calls.push('listFilterOperators');
    return this.filterOperators;
  }
  async listMappingFunctions() {
    this.calls.push('listMappingFunctions');
    return this.functions;
  }
  async provisionOnDemand(_sp: string, _job: string, request: OnDemandRequest) {
    this.calls.push('provisionOnDemand');
    this.maybeFail('provisionOnDemand', 'before');
    this.onDemandRequests.push(request);
    return this.onDemandAnswer;
  }
  async findGroupsByName(name: string) {
    this.calls.push('findGroupsByName');
    return this.groups.filter((g) => g.displayName === name);
  }
  async getGroup(id: string) {
    this.calls.push('getGroup');
    return this.groups.find((g) => g.id === id) ?? null;
  }
  async listAppRoleAssignedTo(sp: string) {
    this.calls.push('listAppRoleAssignedTo');
    return [...(this.assignments.get(sp) ?? [])];
  }
  async assignAppRole(sp: string, a: { principalId: string; appRoleId: string }) {
    this.calls.push('assignAppRole');
    this.maybeFail('assignAppRole', 'before');
    const list = this.assignments.get(sp) ?? [];
    if (list.some((x) => x.principalId === a.principalId && x.appRoleId === a.appRoleId))
      throw graphError(
        400,
        'permanent',
        'Request_BadRequest',
        'Permission being assigned already exists on the object',
      );
    const created = { id: `ara-${++this.seq}`, ...a, resourceId: sp, principalType: 'Group' };
    this.assignments.set(sp, [...list, created]);
    this.maybeFail('assignAppRole', 'after');
    return created;
  }
  count(method: string): number {
    return this.calls.filter((c) => c === method).length;
  }
}

/** The InstanceStore contract over a Map (the Redis ledger is tested in integration tests). */
class MemoryStore implements InstanceStore {
  data = new Map<string, Map<string, string>>();
  cache = new Map<string, string>();
  sealed = new Map<string, string>();
  private h(i: InstanceSpec) {
    const k = `${i.batchId}/${i.instanceKey}`;
    if (!this.data.has(k)) this.data.set(k, new Map());
    return this.data.get(k)!;
  }
  async get(i: InstanceSpec, fields: string[]) {
    const h = this.h(i);
    return Object.fromEntries(fields.map((f) => [f, h.get(f) ?? null]));
  }
  async set(i: InstanceSpec, fields: Record<string, string | number | boolean>) {
    for (const [k, v] of Object.entries(fields)) this.h(i).set(k, String(v));
  }
  async setIfAbsent(i: InstanceSpec, field: string, value: string) {
    const h = this.h(i);
    if (!h.has(field)) h.set(field, value);
    return h.get(field)!;
  }
  async del(i: InstanceSpec, fields: string[]) {
    for (const f of fields) this.h(i).delete(f);
  }
  async getBatchCache(b: string, k: string) {
    return this.cache.get(`${b}/${k}`) ?? null;
  }
  async setBatchCache(b: string, k: string, v: string) {
    this.cache.set(`${b}/${k}`, v);
  }
  async getSealedCredentials(i: InstanceSpec) {
    return this.sealed.get(`${i.batchId}/${i.instanceKey}`) ?? null;
  }
  async deleteSealedCredentials(i: InstanceSpec) {
    this.sealed.delete(`${i.batchId}/${i.instanceKey}`);
  }
}

export const INSTANCE: InstanceSpec = {
  batchId: 'b1',
  instanceKey: 'aws-contoso-0123456789',
  displayName: 'AWS Contoso',
  applicationTemplate: { displayName: 'Amazon Web Services (AWS)' },
  synchronizationTemplateId: 'aws',
};

/** Deps over the fakes, with a controllable clock; the "vault" stores JSON (sealing is tested elsewhere). */
export function fakeDeps(graph = new FakeGraph(), store = new MemoryStore()) {
  let t = 1_000_000;
  const silent = {
    debug() {},
    info() {},
    warn() {},
    error() {},
    child() {
      return silent;
    },
  };
  const deps: StepDeps & { advance(ms: number): void } = {
    graph,
    store,
    vault: { open: async (sealed) => JSON.parse(sealed) as SecretPair[] },
    settings: {
      replicationReadsInARow: 2,
      replicationPollMs: 1000,
      replicationTimeoutMs: 60_000,
      reconcileWindowMs: 30_000,
    },
    logger: silent as unknown as StepDeps['logger'],
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
  return { deps, graph, store };
}
