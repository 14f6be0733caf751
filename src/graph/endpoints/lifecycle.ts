/**
 * Day-two calls: pausing and deleting a provisioning job,
 * deleting an application (soft: it goes to deleted items) and removing it from deleted items.
 * Deletes answer 404 when the object is already gone: that counts as done (null).
 */
import { job, READ, WRITE, type GraphTransport } from '../call-spec.ts';
import { segment } from '../odata.ts';
import { applicationSchema } from '../schemas.ts';
import type { GraphApi } from '../graph-api.ts';

export function lifecycleEndpoints(
  t: GraphTransport,
): Pick<
  GraphApi,
  | 'pauseSynchronizationJob'
  | 'deleteSynchronizationJob'
  | 'deleteApplication'
  | 'getDeletedApplication'
  | 'purgeDeletedApplication'
> {
  return {
    async pauseSynchronizationJob(spId, jobId) {
      await t.call({
        method: 'POST',
        path: `${job(spId, jobId)}/pause`,
        route: '/servicePrincipals/{id}/synchronization/jobs/{jobId}/pause',
        cost: WRITE,
        schema: null,
        ok: [200, 204],
        notFoundIsNull: true,
      });
    },
    async deleteSynchronizationJob(spId, jobId) {
      await t.call({
        method: 'DELETE',
        path: job(spId, jobId),
        route: '/servicePrincipals/{id}/synchronization/jobs/{jobId}',
        cost: WRITE,
        schema: null,
        ok: [200, 204],
        notFoundIsNull: true,
      });
    },
    async deleteApplication(objectId) {
      await t.call({
        method: 'DELETE',
        path: `/applications/${segment(objectId)}`,
        route: '/applications/{id}',
        cost: WRITE,
        schema: null,
        ok: [200, 204],
        notFoundIsNull: true,
      });
    },
    getDeletedApplication: (objectId) =>
      t.call({
        method: 'GET',
        path: `/directory/deletedItems/${segment(objectId)}`,
        route: '/directory/deletedItems/{id}',
        cost: READ,
        schema: applicationSchema,
        ok: [200],
        notFoundIsNull: true,
      }),
    async purgeDeletedApplication(objectId) {
      await t.call({
        method: 'DELETE',
        path: `/directory/deletedItems/${segment(objectId)}`,
        route: '/directory/deletedItems/{id}',
        cost: WRITE,
        schema: null,
        ok: [200, 204],
        notFoundIsNull: true,
      });
    },
  };
}
