/**
 * The synchronization schema each catalogue template ships: directories (objects and their
 * attributes), rules and object mappings (attribute mappings, matching priorities, scoping
 * filters), plus Graph's lists of scoping-filter operators and mapping functions. A job's schema
 * starts as its template's with rule ids of its own (they differ per instance, as in Graph).
 */
import { guid } from './directory.ts';

type Json = Record<string, unknown>;

/** `GET …/schema/filterOperators`: Microsoft's full list (the published example, unredacted). */
export const FILTER_OPERATORS = [
  { name: 'EQUALS', arity: 'Binary', multivaluedComparisonType: 'All', supportedAttributeTypes: ['Integer', 'String'] },
  { name: 'IS FALSE', arity: 'Unary', multivaluedComparisonType: 'All', supportedAttributeTypes: ['Boolean'] },
  {
    name: 'IS NOT NULL',
    arity: 'Unary',
    multivaluedComparisonType: 'All',
    supportedAttributeTypes: ['Integer', 'String', 'Binary', 'Boolean'],
  },
  {
    name: 'IS NULL',
    arity: 'Unary',
    multivaluedComparisonType: 'All',
    supportedAttributeTypes: ['Integer', 'String', 'Binary', 'Boolean'],
  },
  { name: 'IS TRUE', arity: 'Unary', multivaluedComparisonType: 'All', supportedAttributeTypes: ['Boolean'] },
  {
    name: 'NOT EQUALS',
    arity: 'Binary',
    multivaluedComparisonType: 'All',
    supportedAttributeTypes: ['Integer', 'String'],
  },
  {
    name: 'NOT REGEX MATCH',
    arity: 'Binary',
    multivaluedComparisonType: 'All',
    supportedAttributeTypes: ['Integer', 'String'],
  },
  {
    name: 'REGEX MATCH',
    arity: 'Binary',
    multivaluedComparisonType: 'All',
    supportedAttributeTypes: ['Integer', 'String'],
  },
] as const;

const param = (name: string, type: string, required = true, allowMultipleOccurrences = false) => ({
  allowMultipleOccurrences,
  name,
  required,
  type,
});

/** `GET …/schema/functions`: Microsoft's published list (the example, unredacted). */
export const MAPPING_FUNCTIONS = [
  { name: 'Append', parameters: [param('source', 'String'), param('suffix', 'String')] },
  { name: 'DefaultDomain', parameters: [] },
  { name: 'AppRoleAssignments', parameters: [param('source', 'String')] },
  {
    name: 'FormatDateTime',
    parameters: [param('source', 'String'), param('inputFormat', 'String'), param('outputFormat', 'String')],
  },
  { name: 'IsNothing', parameters: [param('source', 'Boolean')] },
  { name: 'Join', parameters: [param('separator', 'String'), param('source', 'String', true, true)] },
  { name: 'Prepend', parameters: [param('prefix', 'String'), param('source', 'String')] },
  { name: 'Mid', parameters: [param('source', 'String'), param('start', 'Integer'), param('length', 'Integer')] },
  { name: 'Not', parameters: [param('source', 'Boolean')] },
  {
    name: 'Replace',
    parameters: [
      param('source', 'String'),
      ...['Find', 'RegularExpression', 'RegularExpressionGroupName', 'Replacement', 'ReplacementPropertyName'].map(
        (n) => param(n, 'String', false),
      ),
      param('Template', 'String', false),
    ],
  },
  { name: 'SingleAppRoleAssignment', parameters: [param('source', 'String')] },
  { name: 'Split', parameters: [param('source', 'String'), param('delimiter', 'String', false)] },
  { name: 'StripSpaces', parameters: [param('source', 'String')] },
  {
    name: 'Switch',
    parameters: [
      param('source', 'String'),
      param('defaultValue', 'String', false),
      param('switchValue', 'String', false, true),
    ],
  },
] as const;

function attr(name: string, type = 'String', o: { anchor?: boolean; multivalued?: boolean; required?: boolean } = {}) {
  return {
    name,
    type,
    anchor: o.anchor ?? false,
    apiExpressions: [],
    caseExact: false,
    defaultValue: null,
    flowNullValues: false,
    metadata: [],
    multivalued: o.multivalued ?? false,
    mutability: 'ReadWrite',
    referencedObjects: [],
    required: o.required ?? false,
  };
}

function object(name: string, attributes: Json[]) {
  return { name, attributes, metadata: [], supportedApis: [] };
}

function directory(id: string, name: string, objects: Json[]) {
  return { id, name, discoverabilities: 'None', discoveryDateTime: null, objects, readOnly: false, version: null };
}

/** Entra ID's user and group attributes the templates map from (what a filter or mapping may name). */
const AAD_USER = [
  attr('objectId', 'String', { anchor: true }),
  attr('accountEnabled', 'Boolean'),
  attr('displayName'),
  attr('givenName'),
  attr('surname'),
  attr('mail'),
  attr('mailNickname'),
  attr('userPrincipalName'),
  attr('department'),
  attr('jobTitle'),
  attr('employeeId'),
  attr('companyName'),
  attr('country'),
  attr('manager', 'Reference'),
  attr('IsSoftDeleted', 'Boolean'),
  attr('appRoleAssignments', 'String', { multivalued: true }),
];
const AAD_GROUP = [
  attr('objectId', 'String', { anchor: true }),
  attr('displayName'),
  attr('description'),
  attr('mailNickname'),
  attr('members', 'Reference', { multivalued: true }),
];

const src = (name: string) => ({ expression: `[${name}]`, name, parameters: [], type: 'Attribute' });

function mapping(target: string, source: Json, matchingPriority = 0): Json {
  return {
    defaultValue: '',
    exportMissingReferences: false,
    flowBehavior: 'FlowWhenChanged',
    flowType: 'Always',
    matchingPriority,
    source,
    targetAttributeName: target,
  };
}

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** The SCIM connector's schema (gallery "customappsso"): User and Group, one rule. */
function scimSchema(): Json {
  const scimUser = [
    attr('userName', 'String', { anchor: true, required: true }),
    attr('active', 'Boolean'),
    attr('displayName'),
    attr('title'),
    attr('emails[type eq "work"].value'),
    attr('name.givenName'),
    attr('name.familyName'),
    attr('externalId'),
    attr(`${ENTERPRISE}:department`),
    attr(`${ENTERPRISE}:employeeNumber`),
    attr(`${ENTERPRISE}:manager`, 'Reference'),
  ];
  const scimGroup = [
    attr('displayName', 'String', { anchor: true, required: true }),
    attr('externalId'),
    attr('members', 'Reference', { multivalued: true }),
  ];
  const notSoftDeleted = {
    expression: 'Not([IsSoftDeleted])',
    name: 'Not',
    parameters: [{ key: 'source', value: src('IsSoftDeleted') }],
    type: 'Function',
  };
  return {
    directories: [
      directory('AzureActiveDirectory', 'Azure Active Directory', [
        object('User', AAD_USER),
        object('Group', AAD_GROUP),
      ]),
      directory('customappsso', 'customappsso', [object('User', scimUser), object('Group', scimGroup)]),
    ],
    synchronizationRules: [
      {
        id: 'template',
        name: 'USER_TO_USER',
        editable: true,
        priority: 1,
        containerFilter: { includedContainers: [] },
        groupFilter: { includedGroups: [] },
        metadata: [],
        sourceDirectoryName: 'Azure Active Directory',
        targetDirectoryName: 'customappsso',
        objectMappings: [
          {
            name: 'Provision Azure Active Directory Users',
            enabled: true,
            flowTypes: 'Add, Update, Delete',
            metadata: [],
            sourceObjectName: 'User',
            targetObjectName: 'User',
            // Only enabled accounts, as many gallery SCIM apps ship it: a disabled user is out of scope.
            scope: {
              categoryFilterGroups: [],
              groups: [
                {
                  name: 'Enabled accounts',
                  clauses: [{ operatorName: 'IS TRUE', sourceOperandName: 'accountEnabled', targetOperand: null }],
                },
              ],
              inputFilterGroups: [],
            },
            attributeMappings: [
              mapping('userName', src('userPrincipalName'), 1),
              mapping('active', notSoftDeleted),
              mapping('displayName', src('displayName')),
              mapping('title', src('jobTitle')),
              mapping('emails[type eq "work"].value', src('mail')),
              mapping('name.givenName', src('givenName')),
              mapping('name.familyName', src('surname')),
              mapping('externalId', src('mailNickname')),
              mapping(`${ENTERPRISE}:department`, src('department')),
            ],
          },
          {
            name: 'Provision Azure Active Directory Groups',
            enabled: true,
            flowTypes: 'Add, Update, Delete',
            metadata: [],
            sourceObjectName: 'Group',
            targetObjectName: 'Group',
            scope: null,
            attributeMappings: [
              mapping('displayName', src('displayName'), 1),
              mapping('externalId', src('objectId')),
              mapping('members', src('members')),
            ],
          },
        ],
      },
    ],
  };
}

/** AWS Single-Account Access: no users are exported; the job imports IAM roles as app roles. */
function awsSchema(): Json {
  const role = [
    attr('RoleArn', 'String', { anchor: true }),
    attr('RoleName'),
    attr('SamlProviderArn'),
    attr('Description'),
  ];
  const appRole = [
    attr('id', 'String', { anchor: true }),
    attr('value'),
    attr('displayName'),
    attr('description'),
    attr('isEnabled', 'Boolean'),
  ];
  const joined = {
    expression: 'Join(",", [RoleArn], [SamlProviderArn])',
    name: 'Join',
    parameters: [
      { key: 'separator', value: { expression: '","', name: ',', parameters: [], type: 'Constant' } },
      { key: 'source', value: src('RoleArn') },
      { key: 'source', value: src('SamlProviderArn') },
    ],
    type: 'Function',
  };
  return {
    directories: [
      directory('AWS', 'AWS', [object('Role', role)]),
      directory('AzureActiveDirectory', 'Azure Active Directory', [object('AppRole', appRole)]),
    ],
    synchronizationRules: [
      {
        id: 'template',
        name: 'AWS_ROLE_IMPORT',
        editable: false,
        priority: 1,
        containerFilter: { includedContainers: [] },
        groupFilter: { includedGroups: [] },
        metadata: [],
        sourceDirectoryName: 'AWS',
        targetDirectoryName: 'Azure Active Directory',
        objectMappings: [
          {
            name: 'Import AWS IAM roles',
            enabled: true,
            flowTypes: 'Add, Update',
            metadata: [],
            sourceObjectName: 'Role',
            targetObjectName: 'AppRole',
            scope: null,
            attributeMappings: [
              mapping('value', joined, 1),
              mapping('displayName', src('RoleName')),
              mapping('description', src('Description')),
            ],
          },
        ],
      },
    ],
  };
}

/** The template's schema (a fresh copy), by synchronization template id ('aws' | 'scim'). */
export function templateSchema(syncTemplateId: string | null): Json {
  const schema =
    syncTemplateId === 'aws'
      ? awsSchema()
      : syncTemplateId === 'scim'
        ? scimSchema()
        : { directories: [], synchronizationRules: [] };
  for (const rule of schema.synchronizationRules as Json[])
    rule.id = guid(`${syncTemplateId}|rule|${String(rule.name)}`);
  // A deep copy: the attribute lists are module constants shared by every schema built here.
  return structuredClone(schema);
}

/** A job's schema as first read: the template's, with rule ids of its own. */
export function initialJobSchema(jobId: string, syncTemplateId: string | null): Json {
  const schema = templateSchema(syncTemplateId);
  for (const rule of schema.synchronizationRules as Json[]) rule.id = guid(`${jobId}|rule|${String(rule.name)}`);
  return schema;
}
