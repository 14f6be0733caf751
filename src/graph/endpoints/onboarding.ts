/**
 * The calls that finish an onboarding under one service principal: the saved secrets (read
 * back), the job schema with its filter operators and functions, and provisionOnDemand.
 */
import { job, READ, sp, WRITE, type GraphTransport } from '../call-spec.ts';
import type { CallCost } from '../throttle/index.ts';
import {
  filterOperatorSchema,
  mappingFunctionSchema,
  provisionOnDemandResponseSchema,
  secretsResponseSchema,
  synchronizationSchemaSchema,
} from '../onboarding-schemas.ts';
import type { GraphApi } from '../graph-api.ts';

/**
 * provisionOnDemand is a write that Microsoft also limits to 5 requests per 10 s per app: it
 * is charged to the reports bucket too, whose default quota is the same 5 per 10 s, so the
 * shared limiter paces it (sharing that bucket with the log reads errs on the slow side).
 */
const PROVISION_ON_DEMAND: CallCost = { writes: 1, ru: 1, reports: 1 };

const SCHEMA_ROUTE = '/servicePrincipals/{id}/synchronization/jobs/{jobId}/schema';

export function onboardingEndpoints(
  t: GraphTransport,
): Pick<
  GraphApi,
  | 'getSynchronizationSecrets'
  | 'getSynchronizationSchema'
  | 'putSynchronizationSchema'
  | 'listFilterOperators'
  | 'listMappingFunctions'
  | 'provisionOnDemand'
> {
  return {
    async getSynchronizationSecrets(spId) {
      const res = await t.call({
        method: 'GET',
        path: `${sp(spId)}/synchronization/secrets`,
        route: '/servicePrincipals/{id}/synchronization/secrets',
        cost: READ,
        schema: secretsResponseSchema,
        ok: [200],
      });
      return (res?.value ?? []).map((p) => ({ key: p.key, value: p.value ?? null }));
    },
    getSynchronizationSchema: (spId, jobId) =>
      t.call({
        method: 'GET',
        path: `${job(spId, jobId)}/schema`,
        route: SCHEMA_ROUTE,
        cost: READ,
        schema: synchronizationSchemaSchema,
        ok: [200],
        notFoundIsNull: true,
      }),
    async putSynchronizationSchema(spId, jobId, schema) {
      await t.call({
        method: 'PUT',
        path: `${job(spId, jobId)}/schema`,
        route: SCHEMA_ROUTE,
        cost: WRITE,
        body: schema,
        schema: null,
        ok: [200, 201, 204],
      });
    },
    async listFilterOperators(spId, jobId) {
      const ops = await t.listAll(
        `${job(spId, jobId)}/schema/filterOperators`,
        `${SCHEMA_ROUTE}/filterOperators`,
        filterOperatorSchema,
        READ,
      );
      return ops.map((o) => o.name);
    },
    listMappingFunctions: (spId, jobId) =>
      t.listAll(`${job(spId, jobId)}/schema/functions`, `${SCHEMA_ROUTE}/functions`, mappingFunctionSchema, READ),
    async provisionOnDemand(spId, jobId, request) {
      const res = await t.call({
        method: 'POST',
        path: `${job(spId, jobId)}/provisionOnDemand`,
        route: '/servicePrincipals/{id}/synchronization/jobs/{jobId}/provisionOnDemand',
        cost: PROVISION_ON_DEMAND,
        body: {
          parameters: [
            {
              ruleId: request.ruleId,
              subjects: [
                {
                  objectId: request.subject,
                  objectTypeName: request.type,
                  ...(request.members?.length
                    ? { links: { members: request.members.map((m) => ({ objectId: m, objectTypeName: 'User' })) } }
                    : {}),
                },
              ],
            },
          ],
        },
        schema: provisionOnDemandResponseSchema,
        ok: [200],
      });
      if (!res) throw new Error('unreachable: provisionOnDemand returned no body');
      return res;
    },
  };
}
