/** Provisioning logs (the reports quota). */
import { REPORTS, type GraphTransport } from '../call-spec.ts';
import { and, buildQuery, eq, gtDateTime } from '../odata.ts';
import { collectionSchema, provisioningObjectSummarySchema } from '../schemas.ts';
import type { GraphApi, ProvisioningLogPage } from '../graph-api.ts';

export function reportsEndpoints(t: GraphTransport): Pick<GraphApi, 'listProvisioningLogs'> {
  return {
    async listProvisioningLogs({ jobId, since, top, nextLink, provisioningAction }): Promise<ProvisioningLogPage> {
      const path = nextLink
        ? nextLink
        : `/auditLogs/provisioning${buildQuery({
            $filter: and(
              eq('jobId', jobId),
              since && gtDateTime('activityDateTime', since),
              provisioningAction && eq('provisioningAction', provisioningAction),
            ),
            $top: top,
          })}`;
      const res = await t.call({
        method: 'GET',
        path,
        route: '/auditLogs/provisioning',
        cost: REPORTS,
        schema: collectionSchema(provisioningObjectSummarySchema),
        ok: [200],
      });
      if (!res) throw new Error('unreachable: provisioning logs returned no body');
      return { items: res.value, nextLink: res['@odata.nextLink'] ?? null };
    },
  };
}
