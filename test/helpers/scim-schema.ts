/** A SCIM-style job schema shaped like Microsoft's examples (one rule: User and Group object mappings). */
import type { SynchronizationSchema } from '../../src/graph/onboarding-schemas.ts';

const attr = (source: string, target: string, matchingPriority = 0) => ({
  source: { expression: `[${source}]`, name: source, type: 'Attribute', parameters: [] },
  targetAttributeName: target,
  flowType: 'Always',
  flowBehavior: 'FlowWhenChanged',
  matchingPriority,
  defaultValue: null,
  exportMissingReferences: false,
});

export function scimSchema(): SynchronizationSchema {
  return {
    id: 'customappsso',
    version: 'Date:2026-11-30T10:00:00Z~Version:1',
    synchronizationRules: [
      {
        id: '03f7d90d-bf71-41b1-bda6-aaf0ddbee5d8',
        name: 'USER_INBOUND_USER',
        sourceDirectoryName: 'Azure Active Directory',
        targetDirectoryName: 'customappsso',
        editable: true,
        objectMappings: [
          {
            name: 'Provision Azure Active Directory Users',
            enabled: true,
            flowTypes: 'Add, Update, Delete',
            sourceObjectName: 'User',
            targetObjectName: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
            attributeMappings: [attr('userPrincipalName', 'userName', 1), attr('mail', 'emails[type eq "work"].value')],
            scope: null,
          },
          {
            name: 'Provision Azure Active Directory Groups',
            enabled: true,
            flowTypes: 'Add, Update, Delete',
            sourceObjectName: 'Group',
            targetObjectName: 'urn:ietf:params:scim:schemas:core:2.0:Group',
            attributeMappings: [attr('displayName', 'displayName', 1)],
            scope: null,
          },
        ],
      },
    ],
    directories: [],
  };
}
