/** The synchronization job and its secrets under one service principal. */
import { job, READ, sp, WRITE, type GraphTransport } from '../call-spec.ts';
import { synchronizationJobSchema, synchronizationTemplateSchema } from '../schemas.ts';
import type { GraphApi, SecretPair } from '../graph-api.ts';

export function synchronizationEndpoints(
  t: GraphTransport,
): Pick<
  GraphApi,
  | 'listSynchronizationTemplates'
  | 'listSynchronizationJobs'
  | 'getSynchronizationJob'
  | 'createSynchronizationJob'
  | 'validateCredentials'
  | 'saveSecrets'
  | 'startSynchronizationJob'
  | 'restartSynchronizationJob'
> {
  return {
    listSynchronizationTemplates: (spId) =>
      t.listAll(
        `${sp(spId)}/synchronization/templates`,
        '/servicePrincipals/{id}/synchronization/templates',
        synchronizationTemplateSchema,
        READ,
      ),
    listSynchronizationJobs: (spId) =>
      t.listAll(
        `${sp(spId)}/synchronization/jobs`,
        '/servicePrincipals/{id}/synchronization/jobs',
        synchronizationJobSchema,
        READ,
      ),
    getSynchronizationJob: (spId, jobId) =>
      t.call({
        method: 'GET',
        path: job(spId, jobId),
        route: '/servicePrincipals/{id}/synchronization/jobs/{jobId}',
        cost: READ,
        schema: synchronizationJobSchema,
        ok: [200],
        notFoundIsNull: true,
      }),
    async createSynchronizationJob(spId, templateId, o = {}) {
      const res = await t.call({
        ...(o.sendWithinMs !== undefined ? { sendBy: Date.now() + o.sendWithinMs } : {}),
        method: 'POST',
        path: `${sp(spId)}/synchronization/jobs`,
        route: '/servicePrincipals/{id}/synchronization/jobs',
        cost: WRITE,
        body: { templateId },
        schema: synchronizationJobSchema,
        ok: [200, 201],
      });
      if (!res) throw new Error('unreachable: createSynchronizationJob returned no body');
      return res;
    },
    async validateCredentials(spId, jobId, credentials: SecretPair[], templateId?: string) {
      await t.call({
        method: 'POST',
        path: `${job(spId, jobId)}/validateCredentials`,
        route: '/servicePrincipals/{id}/synchronization/jobs/{jobId}/validateCredentials',
        cost: WRITE,
        body: { useSavedCredentials: credentials.length === 0, credentials, ...(templateId ? { templateId } : {}) },
        schema: null,
        ok: [200, 204],
        secrets: credentials.map((c) => c.value),
      });
    },
    async saveSecrets(spId, secrets: SecretPair[]) {
      await t.call({
        method: 'PUT',
        path: `${sp(spId)}/synchronization/secrets`,
        route: '/servicePrincipals/{id}/synchronization/secrets',
        cost: WRITE,
        body: { value: secrets },
        schema: null,
        ok: [200, 204],
        secrets: secrets.map((c) => c.value),
      });
    },
    async startSynchronizationJob(spId, jobId) {
      await t.call({
        method: 'POST',
        path: `${job(spId, jobId)}/start`,
        route: '/servicePrincipals/{id}/synchronization/jobs/{jobId}/start',
        cost: WRITE,
        schema: null,
        ok: [200, 204],
      });
    },
    async restartSynchronizationJob(spId, jobId, resetScope) {
      await t.call({
        method: 'POST',
        path: `${job(spId, jobId)}/restart`,
        route: '/servicePrincipals/{id}/synchronization/jobs/{jobId}/restart',
        cost: WRITE,
        body: { criteria: { resetScope } },
        schema: null,
        ok: [200, 204],
      });
    },
  };
}
