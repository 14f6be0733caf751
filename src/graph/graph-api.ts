/**
 * The narrow Graph client every step and the poller depend on. It is built once in the
 * composition root (`createGraphClient`) and passed in; tests pass a fake or the simulator.
 * Methods throw `GraphError` (see errors.ts), already classified; "not found" on a GET by id
 * is returned as `null` because replication lag makes it an expected answer, not an error.
 */
import type {
  Application,
  ApplicationTemplate,
  ProvisioningObjectSummary,
  ServicePrincipal,
  SynchronizationJob,
  SynchronizationTemplate,
} from './schemas.ts';
import type {
  AppRoleAssignment,
  Group,
  MappingFunction,
  ProvisionOnDemandResponse,
  SynchronizationSchema,
} from './onboarding-schemas.ts';

/** Application + servicePrincipal ids after instantiate, normalised from `id`/`objectId`. */
export interface InstantiatedApp {
  applicationObjectId: string;
  appId: string;
  servicePrincipalId: string;
  displayName: string;
}

/** One synchronizationSecret key/value pair. */
export interface SecretPair {
  key: string;
  value: string;
}

/** A saved secret as read back: credential values come back masked ("*"), settings in clear. */
export interface SavedSecret {
  key: string;
  value: string | null;
}

/** What provisionOnDemand provisions: one user, or one group (optionally with chosen members). */
export interface OnDemandRequest {
  ruleId: string;
  subject: string;
  type: 'User' | 'Group';
  members?: string[];
}

/** A page of provisioning logs and the opaque link to the next page, if any. */
export interface ProvisioningLogPage {
  items: ProvisioningObjectSummary[];
  nextLink: string | null;
}

/** Options of the non-idempotent creates. */
export interface CreateOptions {
  /** Send within this many ms of the call, or not at all (see instantiateApplication). */
  sendWithinMs?: number;
}

export interface GraphApi {
  /** The tenant this client talks to (limiter key). */
  readonly tenantId: string;
  /** `GET /applicationTemplates?$filter=displayName eq '…'` (escaped). */
  findApplicationTemplatesByName(displayName: string): Promise<ApplicationTemplate[]>;
  /** `GET /applicationTemplates/{id}`; null on 404. */
  getApplicationTemplate(id: string): Promise<ApplicationTemplate | null>;
  /** `POST /applicationTemplates/{id}/instantiate` — not idempotent: callers must reconcile. */
  /**
   * `signal` abandons the request (its outcome then unknown: the caller must reconcile);
   * `onSent` is called when it goes on the wire (after any wait for the limiter);
   * `sendWithinMs`: if it cannot go on the wire that soon (limiter, pause, a stalled process),
   * it is not sent at all (a throttled error): the caller then knows when it can last have been
   * in flight.
   */
  instantiateApplication(
    templateId: string,
    displayName: string,
    opts?: CreateOptions & { signal?: AbortSignal; onSent?: () => void },
  ): Promise<InstantiatedApp>;
  /** `GET /applications?$filter=displayName eq '…' and applicationTemplateId eq '…'`. */
  findApplications(query: { displayName: string; applicationTemplateId?: string }): Promise<Application[]>;
  /** `GET /servicePrincipals?$filter=appId eq '…'`. */
  findServicePrincipalsByAppId(appId: string): Promise<ServicePrincipal[]>;
  /** `GET /applications/{id}`; null on 404 (replication lag). */
  getApplication(objectId: string): Promise<Application | null>;
  /** `GET /servicePrincipals/{id}`; null on 404 (replication lag). */
  getServicePrincipal(id: string): Promise<ServicePrincipal | null>;
  /** `GET /servicePrincipals/{id}/synchronization/templates`. */
  listSynchronizationTemplates(servicePrincipalId: string): Promise<SynchronizationTemplate[]>;
  /** `GET /servicePrincipals/{id}/synchronization/jobs`. */
  listSynchronizationJobs(servicePrincipalId: string): Promise<SynchronizationJob[]>;
  /** `GET …/jobs/{jobId}`; null on 404. */
  getSynchronizationJob(servicePrincipalId: string, jobId: string): Promise<SynchronizationJob | null>;
  /** `POST …/jobs` with `{templateId}` (200 or 201). */
  createSynchronizationJob(
    servicePrincipalId: string,
    templateId: string,
    opts?: CreateOptions,
  ): Promise<SynchronizationJob>;
  /** `POST …/jobs/{jobId}/validateCredentials`; resolves on 204, throws a permanent GraphError on 400. */
  validateCredentials(
    servicePrincipalId: string,
    jobId: string,
    credentials: SecretPair[],
    templateId?: string,
  ): Promise<void>;
  /** `PUT …/synchronization/secrets`. */
  saveSecrets(servicePrincipalId: string, secrets: SecretPair[]): Promise<void>;
  /** `POST …/jobs/{jobId}/start`. */
  startSynchronizationJob(servicePrincipalId: string, jobId: string): Promise<void>;
  /** `POST …/jobs/{jobId}/restart` with `{criteria:{resetScope}}`. */
  restartSynchronizationJob(servicePrincipalId: string, jobId: string, resetScope: string): Promise<void>;
  /** `POST …/jobs/{jobId}/pause`; a 404 (job gone) counts as done. */
  pauseSynchronizationJob(servicePrincipalId: string, jobId: string): Promise<void>;
  /** `DELETE …/jobs/{jobId}`; a 404 counts as done. */
  deleteSynchronizationJob(servicePrincipalId: string, jobId: string): Promise<void>;
  /** `DELETE /applications/{id}` (soft delete: to deleted items, its service principal with it); 404 = done. */
  deleteApplication(objectId: string): Promise<void>;
  /** `GET /directory/deletedItems/{id}`; null when it is not (or no longer) in deleted items. */
  getDeletedApplication(objectId: string): Promise<Application | null>;
  /** `DELETE /directory/deletedItems/{id}`: permanent; 404 = done. */
  purgeDeletedApplication(objectId: string): Promise<void>;
  /** `GET …/synchronization/secrets`: what is saved (credential values masked). */
  getSynchronizationSecrets(servicePrincipalId: string): Promise<SavedSecret[]>;
  /** `GET …/jobs/{jobId}/schema`; null on 404. */
  getSynchronizationSchema(servicePrincipalId: string, jobId: string): Promise<SynchronizationSchema | null>;
  /** `PUT …/jobs/{jobId}/schema`: replaces the whole schema. */
  putSynchronizationSchema(servicePrincipalId: string, jobId: string, schema: SynchronizationSchema): Promise<void>;
  /** `GET …/jobs/{jobId}/schema/filterOperators`: the operator names scoping filters may use. */
  listFilterOperators(servicePrincipalId: string, jobId: string): Promise<string[]>;
  /** `GET …/jobs/{jobId}/schema/functions`: the functions expressions may use. */
  listMappingFunctions(servicePrincipalId: string, jobId: string): Promise<MappingFunction[]>;
  /** `POST …/jobs/{jobId}/provisionOnDemand` (5 per 10 s per app: paced by the limiter). */
  provisionOnDemand(
    servicePrincipalId: string,
    jobId: string,
    request: OnDemandRequest,
  ): Promise<ProvisionOnDemandResponse>;
  /** `GET /groups?$filter=displayName eq '…'`. */
  findGroupsByName(displayName: string): Promise<Group[]>;
  /** `GET /groups/{id}`; null on 404. */
  getGroup(id: string): Promise<Group | null>;
  /** `GET /servicePrincipals/{id}/appRoleAssignedTo`. */
  listAppRoleAssignedTo(servicePrincipalId: string): Promise<AppRoleAssignment[]>;
  /** `POST /servicePrincipals/{id}/appRoleAssignedTo` — not idempotent: look first (a duplicate is refused). */
  assignAppRole(servicePrincipalId: string, a: { principalId: string; appRoleId: string }): Promise<AppRoleAssignment>;
  /**
   * One page of `GET /auditLogs/provisioning`. With `nextLink` the link is followed as an
   * opaque URL; otherwise `$filter=jobId eq '…'` (and `activityDateTime gt …` when `since`).
   * Paced by the reports limiter (5 requests / 10 s / app / tenant by default).
   */
  listProvisioningLogs(args: {
    jobId: string;
    since?: string;
    top?: number;
    nextLink?: string | null;
    /** e.g. `stagedDelete`: only entries of that provisioningAction. */
    provisioningAction?: string;
  }): Promise<ProvisioningLogPage>;
}

/** One finished HTTP exchange with Graph (or a failure without response), for metrics. */
export interface GraphResponseEvent {
  method: string;
  /** The route template, e.g. `/servicePrincipals/{id}/synchronization/jobs`. */
  route: string;
  /** HTTP status, or null when no response arrived (network error, timeout). */
  status: number | null;
  durationMs: number;
  /** True for the answers classified throttled (429, 503 with `Retry-After`, throttling codes). */
  throttled: boolean;
  requestId: string | null;
}
