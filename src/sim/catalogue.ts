/**
 * The simulator's gallery: application templates and the synchronization templates their
 * service principals offer, with the credentials each provisioning connector requires.
 */

/** A gallery template plus what the simulator needs to act like its connector. */
export interface CatalogueEntry {
  template: {
    id: string;
    displayName: string;
    homePageUrl: string | null;
    logoUrl: string | null;
    publisher: string;
    description: string | null;
    categories: string[];
    supportedSingleSignOnModes: string[];
    supportedProvisioningTypes: string[];
  };
  /** Synchronization template id offered by the service principal (null: no provisioning). */
  syncTemplateId: string | null;
  factoryTag: string | null;
  requiredCredentials: string[];
}

export const NON_GALLERY_TEMPLATE_ID = '8adf8e6e-67b2-4cf2-a259-e3dc5476c621';
export const AWS_TEMPLATE_ID = '8b1025e4-1dd2-430b-a150-2ef79cd700f5';
export const SCIM_TEMPLATE_ID = 'a6a5b2f6-3c1e-4f0e-9a3b-2f9a9d8c7e11';

export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    template: {
      id: AWS_TEMPLATE_ID,
      displayName: 'Amazon Web Services (AWS)',
      homePageUrl: 'http://aws.amazon.com/',
      logoUrl: 'https://az495088.vo.msecnd.net/app-logo/aws_215.png',
      publisher: 'Amazon',
      description: null,
      categories: ['developerServices'],
      supportedSingleSignOnModes: ['password', 'saml', 'external'],
      supportedProvisioningTypes: ['sync'],
    },
    syncTemplateId: 'aws',
    factoryTag: 'aws',
    requiredCredentials: ['ClientSecret', 'SecretToken'],
  },
  {
    template: {
      id: SCIM_TEMPLATE_ID,
      displayName: 'SCIM Example App',
      homePageUrl: 'https://scim.example.com/',
      logoUrl: null,
      publisher: 'Example Corp',
      description: 'A SCIM 2.0 service provider',
      categories: ['productivity'],
      supportedSingleSignOnModes: ['saml'],
      supportedProvisioningTypes: ['sync'],
    },
    syncTemplateId: 'scim',
    factoryTag: 'CustomSCIM',
    requiredCredentials: ['BaseAddress', 'SecretToken'],
  },
  {
    template: {
      id: '3f2a4a1e-8f2b-4c55-9f4e-1c2d3e4f5a6b',
      displayName: 'Contoso Wiki',
      homePageUrl: 'https://wiki.contoso.example/',
      logoUrl: null,
      publisher: 'Contoso',
      description: 'Single sign-on only',
      categories: ['collaboration'],
      supportedSingleSignOnModes: ['saml'],
      supportedProvisioningTypes: [],
    },
    syncTemplateId: null,
    factoryTag: null,
    requiredCredentials: [],
  },
  {
    template: {
      id: NON_GALLERY_TEMPLATE_ID,
      displayName: 'Custom',
      homePageUrl: null,
      logoUrl: null,
      publisher: 'Microsoft Corporation',
      description: 'Non-gallery application',
      categories: [],
      supportedSingleSignOnModes: ['password', 'saml', 'external'],
      supportedProvisioningTypes: ['sync'],
    },
    syncTemplateId: 'scim',
    factoryTag: 'CustomSCIM',
    requiredCredentials: ['BaseAddress', 'SecretToken'],
  },
];

export function catalogueEntry(templateId: string | null | undefined): CatalogueEntry | undefined {
  return CATALOGUE.find((c) => c.template.id === templateId);
}
