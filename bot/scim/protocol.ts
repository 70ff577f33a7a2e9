// The fixed parts of the protocol: schema URNs and the discovery resources (RFC 7644 §4:
// ServiceProviderConfig, ResourceTypes, Schemas). They say what this endpoint really supports, since
// IdPs read them to decide what to send (PATCH yes, bulk no, filter yes with a page size, ETags yes).
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SCIM_CONTENT_TYPE = 'application/scim+json';
/** Largest page a list answers (`count` above it is lowered, RFC 7644 §3.4.2.4). */
export const MAX_PAGE = 200;

const attr = (name: string, type: string, extra: Record<string, unknown> = {}) => ({
  name, type, multiValued: false, required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none', ...extra,
});

const USER_ATTRIBUTES = [
  attr('userName', 'string', { required: true, uniqueness: 'server' }),
  attr('externalId', 'string', { caseExact: true }),
  attr('name', 'complex', { subAttributes: ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map((n) => attr(n, 'string')) }),
  attr('displayName', 'string'),
  attr('emails', 'complex', { multiValued: true, subAttributes: [attr('value', 'string'), attr('type', 'string'), attr('primary', 'boolean')] }),
  attr('active', 'boolean'),
  attr('title', 'string'), attr('userType', 'string'), attr('locale', 'string'), attr('preferredLanguage', 'string'), attr('timezone', 'string'),
  attr('groups', 'complex', { multiValued: true, mutability: 'readOnly', subAttributes: [attr('value', 'string'), attr('display', 'string')] }),
];

const ENTERPRISE_ATTRIBUTES = [
  attr('employeeNumber', 'string', { mutability: 'immutable' }),
  attr('department', 'string'),
  attr('manager', 'complex', { subAttributes: [attr('value', 'string'), attr('displayName', 'string', { mutability: 'readOnly' })] }),
];

const GROUP_ATTRIBUTES = [
  attr('displayName', 'string', { required: true, uniqueness: 'server' }),
  attr('externalId', 'string', { caseExact: true }),
  attr('members', 'complex', { multiValued: true, subAttributes: [attr('value', 'string', { mutability: 'immutable' }), attr('display', 'string', { mutability: 'readOnly' })] }),
];

const meta = (resourceType: string, location: string) => ({ resourceType, location });

export function serviceProviderConfig(base: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: 'https://github.com/custos (README: SCIM)',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_PAGE },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [{ type: 'oauthbearertoken', name: 'Bearer token', description: 'A token from CUSTOS_SCIM_TOKENS in the Authorization header', primary: true }],
    meta: meta('ServiceProviderConfig', `${base}/ServiceProviderConfig`),
  };
}

export function resourceTypes(base: string) {
  return [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: 'User', name: 'User', endpoint: '/Users', schema: USER_SCHEMA,
      schemaExtensions: [{ schema: ENTERPRISE_SCHEMA, required: false }], meta: meta('ResourceType', `${base}/ResourceTypes/User`),
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: 'Group', name: 'Group', endpoint: '/Groups', schema: GROUP_SCHEMA,
      meta: meta('ResourceType', `${base}/ResourceTypes/Group`),
    },
  ];
}

export function schemas(base: string) {
  const schema = (id: string, name: string, attributes: unknown[]) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'], id, name, attributes, meta: meta('Schema', `${base}/Schemas/${id}`),
  });
  return [schema(USER_SCHEMA, 'User', USER_ATTRIBUTES), schema(ENTERPRISE_SCHEMA, 'EnterpriseUser', ENTERPRISE_ATTRIBUTES), schema(GROUP_SCHEMA, 'Group', GROUP_ATTRIBUTES)];
}

export function listResponse(resources: unknown[], total: number, startIndex: number) {
  return { schemas: [LIST_SCHEMA], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}
