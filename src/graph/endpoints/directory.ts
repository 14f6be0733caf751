/** Groups (resolved by name or id) and app role assignments on a service principal. */
import { LIST_DIRECTORY, READ, sp, WRITE, type GraphTransport } from '../call-spec.ts';
import { buildQuery, eq, segment } from '../odata.ts';
import { appRoleAssignmentSchema, groupSchema } from '../onboarding-schemas.ts';
import type { GraphApi } from '../graph-api.ts';

export function directoryEndpoints(
  t: GraphTransport,
): Pick<GraphApi, 'findGroupsByName' | 'getGroup' | 'listAppRoleAssignedTo' | 'assignAppRole'> {
  return {
    findGroupsByName: (displayName) =>
      t.listAll(
        `/groups${buildQuery({ $filter: eq('displayName', displayName), $select: 'id,displayName' })}`,
        '/groups',
        groupSchema,
        LIST_DIRECTORY,
      ),
    getGroup: (id) =>
      t.call({
        method: 'GET',
        path: `/groups/${segment(id)}${buildQuery({ $select: 'id,displayName' })}`,
        route: '/groups/{id}',
        cost: READ,
        schema: groupSchema,
        ok: [200],
        notFoundIsNull: true,
      }),
    listAppRoleAssignedTo: (spId) =>
      t.listAll(
        `${sp(spId)}/appRoleAssignedTo`,
        '/servicePrincipals/{id}/appRoleAssignedTo',
        appRoleAssignmentSchema,
        READ,
      ),
    async assignAppRole(spId, a) {
      const res = await t.call({
        method: 'POST',
        path: `${sp(spId)}/appRoleAssignedTo`,
        route: '/servicePrincipals/{id}/appRoleAssignedTo',
        cost: WRITE,
        body: { principalId: a.principalId, resourceId: spId, appRoleId: a.appRoleId },
        schema: appRoleAssignmentSchema,
        ok: [200, 201],
      });
      if (!res) throw new Error('unreachable: appRoleAssignedTo returned no body');
      return res;
    },
  };
}
