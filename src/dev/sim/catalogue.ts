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
  /** The gallery application's id (a synchronization template's applicationId), shared by every instance. */
  galleryAppId: string;
  /** Synchronization template id offered by the service principal (null: no provisioning). */
  syncTemplateId: string | null;
  factoryTag: string | null;
  requiredCredentials: string[];
}

const NON_GALLERY_TEMPLATE_ID = '8adf8e6e-67b2-4cf2-a259-e3dc5476c621';
export const AWS_TEMPLATE_ID = '8b1025e4-1dd2-430b-a150-2ef79cd700f5';
/** The same gallery app under its former name, kept to show what a rename does to a batch naming it. */
export const AWS_LEGACY_TEMPLATE_ID = 'f0b3a5a1-6c3e-4a6b-9d43-2d8a3f6b1e07';
/** The AWS gallery app's name today (Microsoft's current tutorial), and before. */
const AWS_TEMPLATE_NAME = 'AWS Single-Account Access';
const AWS_LEGACY_TEMPLATE_NAME = 'Amazon Web Services (AWS)';
export const SCIM_TEMPLATE_ID = 'a6a5b2f6-3c1e-4f0e-9a3b-2f9a9d8c7e11';

/** The AWS gallery app under one of its names: a rename changes the name and ids, nothing else. */
function awsEntry(id: string, displayName: string, galleryAppId: string): CatalogueEntry {
  return {
    template: {
      id,
      displayName,
      homePageUrl: 'http://aws.amazon.com/',
      logoUrl: 'https://az495088.vo.msecnd.net/app-logo/aws_215.png',
      publisher: 'Amazon',
      description: null,
      categories: ['developerServices'],
      supportedSingleSignOnModes: ['password', 'saml', 'external'],
      supportedProvisioningTypes: ['sync'],
    },
    galleryAppId,
    syncTemplateId: 'aws',
    factoryTag: 'aws',
    requiredCredentials: ['ClientSecret', 'SecretToken'],
  };
}

export const CATALOGUE: readonly CatalogueEntry[] = [
  awsEntry(AWS_TEMPLATE_ID, AWS_TEMPLATE_NAME, '5f2b5f8a-93a1-4f3c-9a56-3c3e3b0f7c21'),
  awsEntry(AWS_LEGACY_TEMPLATE_ID, AWS_LEGACY_TEMPLATE_NAME, '2c9b4a2e-6f0d-4a3e-8b8e-0d6b1c9e1a11'),
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
    galleryAppId: '7d6e5c4b-3a29-4b18-8c07-f6e5d4c3b2a1',
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
    galleryAppId: '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
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
    galleryAppId: '9e8d7c6b-5a49-4382-b716-05f4e3d2c1b0',
    syncTemplateId: 'scim',
    factoryTag: 'CustomSCIM',
    requiredCredentials: ['BaseAddress', 'SecretToken'],
  },
];

export function catalogueEntry(templateId: string | null | undefined): CatalogueEntry | undefined {
  return CATALOGUE.find((c) => c.template.id === templateId);
}
