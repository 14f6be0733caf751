/** How applications and service principals are shown: v1.0's shape, and beta's (instantiate only). */
import { iso } from '../http.ts';
import { catalogueEntry } from '../catalogue.ts';
import type { SimApp, SimSp } from '../directory.ts';
import type { SimAppRole } from '../app-roles.ts';

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

/** The application as beta's instantiate example shows it (`objectId`, homepage, replyUrls…). */
export function betaAppView(a: SimApp) {
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
export function betaSpView(s: SimSp, tenantId: string) {
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
