/** Application templates, instantiate, and the application / service principal lookups that reconcile it. */
import { LIST_DIRECTORY, READ, sp, WRITE, type GraphTransport } from '../call-spec.ts';
import { GraphError } from '../errors.ts';
import { and, buildQuery, eq, segment } from '../odata.ts';
import {
  applicationSchema,
  applicationTemplateSchema,
  instantiateResponseSchema,
  objectIdOf,
  servicePrincipalSchema,
} from '../schemas.ts';
import type { GraphApi, InstantiatedApp } from '../graph-api.ts';

export function applicationsEndpoints(
  t: GraphTransport,
): Pick<
  GraphApi,
  | 'findApplicationTemplatesByName'
  | 'getApplicationTemplate'
  | 'instantiateApplication'
  | 'findApplications'
  | 'findServicePrincipalsByAppId'
  | 'getApplication'
  | 'getServicePrincipal'
> {
  return {
    findApplicationTemplatesByName: (displayName) =>
      t.listAll(
        `/applicationTemplates${buildQuery({ $filter: eq('displayName', displayName) })}`,
        '/applicationTemplates',
        applicationTemplateSchema,
        READ,
      ),
    getApplicationTemplate: (id) =>
      t.call({
        method: 'GET',
        path: `/applicationTemplates/${segment(id)}`,
        route: '/applicationTemplates/{id}',
        cost: READ,
        schema: applicationTemplateSchema,
        ok: [200],
        notFoundIsNull: true,
      }),
    async instantiateApplication(templateId, displayName, o = {}): Promise<InstantiatedApp> {
      const res = await t.call({
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.onSent ? { onSent: o.onSent } : {}),
        ...(o.sendWithinMs !== undefined ? { sendBy: Date.now() + o.sendWithinMs } : {}),
        method: 'POST',
        path: `/applicationTemplates/${segment(templateId)}/instantiate`,
        route: '/applicationTemplates/{id}/instantiate',
        cost: WRITE,
        body: { displayName },
        schema: instantiateResponseSchema,
        ok: [200, 201],
        // Graph documents a 404 here while the app was in fact created: ambiguous, so transient;
        // the caller reconciles by query before any new POST.
        context: { replicationWindow: true },
      });
      if (!res) throw new Error('unreachable: instantiate returned no body');
      try {
        return {
          applicationObjectId: objectIdOf(res.application),
          appId: res.application.appId,
          servicePrincipalId: objectIdOf(res.servicePrincipal),
          displayName: res.application.displayName ?? displayName,
        };
      } catch (err) {
        throw new GraphError(`Graph instantiate response for "${displayName}" lacks ids: ${(err as Error).message}`, {
          errorClass: 'permanent',
          status: 201,
          code: 'SchemaMismatch',
          method: 'POST',
          path: '/applicationTemplates/{id}/instantiate',
          requestId: null,
          clientRequestId: null,
          retryAfterMs: null,
        });
      }
    },
    findApplications: ({ displayName, applicationTemplateId }) =>
      t.listAll(
        `/applications${buildQuery({
          $filter: and(
            eq('displayName', displayName),
            applicationTemplateId && eq('applicationTemplateId', applicationTemplateId),
          ),
        })}`,
        '/applications',
        applicationSchema,
        LIST_DIRECTORY,
      ),
    findServicePrincipalsByAppId: (appId) =>
      t.listAll(
        `/servicePrincipals${buildQuery({ $filter: eq('appId', appId) })}`,
        '/servicePrincipals',
        servicePrincipalSchema,
        LIST_DIRECTORY,
      ),
    getApplication: (id) =>
      t.call({
        method: 'GET',
        path: `/applications/${segment(id)}`,
        route: '/applications/{id}',
        cost: READ,
        schema: applicationSchema,
        ok: [200],
        notFoundIsNull: true,
      }),
    getServicePrincipal: (id) =>
      t.call({
        method: 'GET',
        path: sp(id),
        route: '/servicePrincipals/{id}',
        cost: READ,
        schema: servicePrincipalSchema,
        ok: [200],
        notFoundIsNull: true,
      }),
  };
}
