/**
 * The OpenAPI 3.1 description of the admin API, served at `<basePath>/openapi.json`.
 *
 * Written out by hand rather than generated from the route table: a test compares the two
 * (paths, methods, body fields, required fields, examples accepted by the handler), so a route
 * or a field added to one and not the other fails the build.
 * @module
 */
import type { ConsoleAuth } from './_console.js'
import { INSIGHT_SCHEMAS, KEY_LIST_PARAMETERS } from './_openapi-insight.js'

/** Options of {@link adminOpenApi}. */
export interface AdminOpenApiOptions {
  /**
   * The handler's base path; becomes the document's server URL.
   * @default '/admin'
   * @example '/internal/keys'
   */
  basePath?: string
  /**
   * How the admin key is sent, for `securitySchemes`.
   * @default { header: 'x-api-key', format: 'raw' }
   * @example { header: 'authorization', format: 'bearer' }
   */
  auth?: ConsoleAuth
  /**
   * The `permission` option of the handler, mentioned in the description.
   * @default undefined
   * @example 'keys:administer'
   */
  permission?: string
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` })
const str = (description: string, extra: Record<string, Json> = {}): Json => ({ type: 'string', description, ...extra })
const strings = (description: string): Json => ({ type: 'array', items: { type: 'string' }, description })
const nullable = (schema: Record<string, Json>): Json => ({ ...schema, type: [schema.type as string, 'null'] })

const problemResponse = (description: string): Json => ({
  description,
  content: { 'application/problem+json': { schema: ref('Problem') } },
})
const RESPONSES = {
  '400': problemResponse('Invalid input: `detail` and `field` name the field. Nothing was written.'),
  '401': problemResponse('Missing or invalid credentials (the authorizer\'s deny, with `WWW-Authenticate`), or a token: only API keys looked up in the store administer.'),
  '403': problemResponse('A cross-site browser request (`cross_site_request`), not an administrator, insufficient permission, the caller\'s own key, beyond the caller\'s rights, or the secret of another owner\'s key (`not_key_owner`).'),
  '404': problemResponse('No such key or group in the caller\'s tenant (another tenant\'s ids answer exactly the same).'),
  '409': problemResponse('Conflicts with the current state, e.g. deleting a group that still has keys.'),
  '413': problemResponse('Request body too large.'),
  '415': problemResponse('The request carries a body or a Content-Type that is not application/json.'),
  '503': problemResponse('Authorization unavailable (the key store failed): fail closed.'),
} as const

type Code = keyof typeof RESPONSES

function op(
  operationId: string,
  summary: string,
  tag: string,
  ok: Record<string, Json>,
  errors: readonly Code[],
  extra: Record<string, Json> = {},
): Json {
  const responses: Record<string, Json> = { ...ok }
  for (const c of ['401', '403', '503', ...errors] as const) responses[c] = RESPONSES[c]
  return { operationId, summary, tags: [tag], ...extra, responses }
}

const jsonBody = (schema: string, example: Json): Json => ({
  required: true,
  content: { 'application/json': { schema: ref(schema), example } },
})
const jsonOk = (description: string, schema: Json, headers?: Record<string, Json>): Json => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema } },
})
const keyId: Json = { name: 'keyId', in: 'path', required: true, schema: { type: 'string' } }
const groupId: Json = { name: 'groupId', in: 'path', required: true, schema: { type: 'string' } }
const noStore: Record<string, Json> = { 'Cache-Control': { description: 'Always `no-store`: the body holds a secret.', schema: { type: 'string', const: 'no-store' } } }
const asset = (operationId: string, summary: string, type: string): Json => ({
  operationId,
  summary,
  tags: ['console'],
  security: [],
  responses: { 200: { description: summary, content: { [type]: { schema: { type: 'string' } } } }, 404: problemResponse('The console is disabled (`console: false`).') },
})

const NEXT: Json = { type: 'string', description: 'Present when more items follow: pass it as `cursor` for the next page. Opaque.' }
const page = (max: number): Json[] => [
  { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: max, default: 50 }, description: 'Page size.' },
  { name: 'cursor', in: 'query', required: false, schema: { type: 'string' }, description: 'The `nextCursor` of the previous page (same sort order).' },
]

const KEY_WRITE_PROPS: Record<string, Json> = {
  group: str('Key group id, of the caller\'s tenant.'),
  owner: str('On Behalf Of: the user the key acts for. Required for `user` keys.'),
  role: str('In Role: a role of the role matrix (`user` keys only).'),
  scopes: strings('Narrow the role\'s permissions to these (`resource:level`).'),
  grants: strings('Operations granted explicitly (for `explicitGrants`).'),
  allowedIps: strings('Allowed client addresses: canonical IPv4/IPv6, optionally with a CIDR suffix.'),
  active: { type: 'boolean', description: 'Activated.' },
  expiresAt: { type: 'integer', description: 'Expiry, epoch milliseconds; must be in the future.' },
  rateLimit: ref('RateLimit'),
  credits: ref('CreditsInput'),
  description: str('Free text, at most 1024 characters.'),
  metadata: { type: 'object', description: 'Free-form JSON copied to the principal (at most 8 KiB). Must not hold secrets.' },
}

const SCHEMAS: Record<string, Json> = {
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem document.',
    required: ['type', 'title', 'status', 'detail', 'code'],
    properties: {
      type: str('`urn:keyward:error:<code>`.'),
      title: str('Short summary.'),
      status: { type: 'integer' },
      detail: str('What went wrong, in words. Never holds a key.'),
      code: str('Stable machine-readable code.'),
      field: str('For validation errors: the field at fault.'),
    },
  },
  RateLimit: {
    type: 'object',
    required: ['capacity', 'refillPerSecond'],
    additionalProperties: false,
    properties: { capacity: { type: 'integer', minimum: 1 }, refillPerSecond: { type: 'number', exclusiveMinimum: 0 } },
  },
  CreditRefill: {
    type: 'object', required: ['amount', 'interval'], additionalProperties: false,
    description: 'A refill tops the balance up to `amount` each interval (a balance above it stays). `month` is exactly 30 days.',
    properties: { amount: { type: 'integer', minimum: 1, maximum: 1e15 }, interval: { oneOf: [{ type: 'string', enum: ['day', 'month'] }, { type: 'integer', minimum: 1000, description: 'Milliseconds.' }] } },
  },
  CreditsInput: {
    type: 'object', required: ['remaining'], additionalProperties: false,
    description: 'Usage limit: sets the balance to `remaining` now; the refill interval starts now.',
    properties: { remaining: { type: 'integer', minimum: 0, maximum: 1e15 }, refill: ref('CreditRefill') },
  },
  Credits: {
    type: 'object', required: ['remaining'], description: 'A usage-limited key\'s credits now. Absent on unlimited keys.',
    properties: { remaining: { type: 'integer', minimum: 0 }, refill: ref('CreditRefill'), nextRefillAt: { type: 'integer', description: 'Epoch milliseconds of the next refill.' } },
  },
  Key: {
    type: 'object',
    description: 'A key record. Never holds the key itself or its hash.',
    required: ['id', 'kind', 'active', 'createdAt'],
    properties: {
      id: str('Stable identifier; not secret.'),
      kind: { type: 'string', enum: ['user', 'org', 'tenant'] },
      tenant: str('The tenant the key belongs to.'),
      group: str('Key group id.'),
      owner: str('On Behalf Of.'),
      role: str('In Role.'),
      scopes: strings('Scopes narrowing the role.'),
      grants: strings('Explicitly granted operations.'),
      allowedIps: strings('Allowed client addresses; an empty list admits none.'),
      active: { type: 'boolean' },
      expiresAt: { type: 'integer', description: 'Epoch milliseconds.' },
      rateLimit: ref('RateLimit'),
      credits: ref('Credits'),
      description: { type: 'string' },
      metadata: { type: 'object' },
      createdAt: { type: 'integer' },
      updatedAt: { type: 'integer' },
      lastUsedAt: { type: 'integer' },
      previousExpiresAt: { type: 'integer', description: 'After a rotation: when the replaced key stops working.' },
      start: str('The short, non-secret start of the current key (prefix, environment, 4 random characters), e.g. `kw_live_3kTM`.'),
    },
  },
  IssuedKey: {
    type: 'object',
    description: 'A new key. `key` is the plaintext, in this response only: it is never shown again.',
    required: ['key', 'record'],
    properties: { key: str('The plaintext key. Store it now.'), record: ref('Key') },
  },
  KeyListItem: {
    description: 'A key as lists show it: the record, marked when the audit trail holds a leak report for it.',
    allOf: [ref('Key'), { type: 'object', properties: { leaked: { type: 'boolean', const: true } } }],
  },
  KeyList: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('KeyListItem') }, nextCursor: NEXT } },
  ...INSIGHT_SCHEMAS,
  Group: {
    type: 'object',
    required: ['id', 'name', 'active', 'createdAt'],
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      description: { type: 'string' },
      tenant: { type: 'string' },
      active: { type: 'boolean', description: 'A deactivated group disables every key in it.' },
      allowedIps: strings('Addresses allowed for every key of the group.'),
      createdAt: { type: 'integer' },
      updatedAt: { type: 'integer' },
    },
  },
  GroupList: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('Group') }, nextCursor: NEXT } },
  Session: {
    type: 'object',
    required: ['keyId', 'kind', 'permissions', 'grants', 'roles'],
    properties: {
      keyId: { type: 'string' },
      kind: { type: 'string', enum: ['user', 'org'] },
      tenant: { type: 'string' },
      owner: { type: 'string' },
      role: { type: 'string' },
      group: { type: 'string' },
      permissions: strings('Effective permissions of the admin key.'),
      grants: strings('Operations granted to the admin key.'),
      roles: strings('Role names of the role matrix.'),
    },
  },
  CreateKey: {
    type: 'object',
    required: ['kind'],
    additionalProperties: false,
    properties: {
      kind: { type: 'string', enum: ['user', 'org', 'tenant'] },
      tenant: str('Optional; must equal the caller\'s tenant (keys are always created in it).'),
      ...KEY_WRITE_PROPS,
    },
  },
  UpdateKey: {
    type: 'object',
    description: '`null` clears an optional field. Kind and tenant cannot change.',
    additionalProperties: false,
    properties: {
      group: nullable({ type: 'string', description: 'Key group id, of the caller\'s tenant.' }),
      owner: KEY_WRITE_PROPS.owner!,
      role: nullable({ type: 'string', description: 'In Role.' }),
      scopes: nullable({ type: 'array', items: { type: 'string' } }),
      grants: KEY_WRITE_PROPS.grants!,
      allowedIps: nullable({ type: 'array', items: { type: 'string' }, description: '`null` lifts the restriction.' }),
      active: { type: 'boolean' },
      expiresAt: nullable({ type: 'integer', description: 'Epoch milliseconds in the future.' }),
      rateLimit: { oneOf: [ref('RateLimit'), { type: 'null' }] },
      credits: { oneOf: [ref('CreditsInput'), { type: 'null' }] },
      description: nullable({ type: 'string' }),
      metadata: nullable({ type: 'object' }),
    },
  },
  CreateGroup: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: {
      name: str('1-128 printable characters.'),
      description: { type: 'string' },
      tenant: str('Optional; must equal the caller\'s tenant.'),
      allowedIps: strings('Addresses allowed for every key of the group.'),
      active: { type: 'boolean' },
    },
  },
  UpdateGroup: {
    type: 'object',
    additionalProperties: false,
    properties: {
      name: { type: 'string' },
      description: nullable({ type: 'string' }),
      allowedIps: nullable({ type: 'array', items: { type: 'string' } }),
      active: { type: 'boolean' },
    },
  },
  Rotate: {
    type: 'object',
    required: ['graceMs'],
    additionalProperties: false,
    properties: { graceMs: { type: 'integer', minimum: 0, maximum: 31536000000, description: 'How long the replaced key keeps working.' } },
  },
  Operations: { type: 'object', required: ['operations'], additionalProperties: false, properties: { operations: strings('Operation names.') } },
  Entries: { type: 'object', required: ['entries'], additionalProperties: false, properties: { entries: strings('Addresses or CIDRs.') } },
}

function securityScheme(auth: ConsoleAuth): Json {
  switch (auth.format) {
    case 'bearer':
      return { type: 'http', scheme: 'bearer' }
    case 'basic':
      return { type: 'http', scheme: 'basic', description: 'The key as the user name, empty password.' }
    case 'rest_api_key':
      return { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Authorization: rest_api_key=<key>' }
    default:
      return { type: 'apiKey', in: 'header', name: auth.header }
  }
}

/**
 * The OpenAPI 3.1 document of the admin API (what `GET <basePath>/openapi.json` serves).
 *
 * @example
 * ```ts
 * import { adminOpenApi } from 'keyward/admin'
 * writeFileSync('admin-openapi.json', JSON.stringify(adminOpenApi({ basePath: '/admin' }), null, 2))
 * ```
 */
export function adminOpenApi(options: AdminOpenApiOptions = {}): Record<string, unknown> {
  const basePath = options.basePath ?? '/admin'
  const auth = options.auth ?? { header: 'x-api-key', format: 'raw' }
  const who = options.permission === undefined
    ? 'an `org` key of the tenant (or a tenant-less `org` key in a single-tenant deployment)'
    : `an \`org\` key of the tenant, or a key holding \`${options.permission}\``
  const tenantQuery = (name: string, description: string): Json => ({ name, in: 'query', required: false, schema: { type: 'string' }, description })
  const doc: Record<string, Json> = {
    openapi: '3.1.0',
    info: {
      title: 'keyward admin API',
      version: '1',
      description:
        `Manage key groups and API keys. Every call is authorized as ${who}, and scoped to the caller's tenant. ` +
        'Each route is authorized as the operation `admin:<operationId>` (for `explicitGrants`). ' +
        'Errors are RFC 9457 problem documents. Plaintext keys appear only in the responses of createKey and rotateKey, ' +
        'and go only to an org administrator or to a key of the same owner. Only API keys administer, never tokens. ' +
        'Browser calls must be same-origin (Sec-Fetch-Site, Origin), and every body must be application/json.',
    },
    servers: [{ url: basePath === '' ? '/' : basePath }],
    security: [{ adminKey: [] }],
    tags: [
      { name: 'session' }, { name: 'groups' }, { name: 'keys' }, { name: 'audit' }, { name: 'console', description: 'The web console and this document; no credentials.' },
    ],
    paths: {
      '/': { get: asset('getConsole', 'The web console (HTML).', 'text/html') },
      '/console.js': { get: asset('getConsoleScript', 'The console\'s script.', 'text/javascript') },
      '/console.css': { get: asset('getConsoleStyles', 'The console\'s stylesheet.', 'text/css') },
      '/openapi.json': {
        get: { operationId: 'getOpenApi', summary: 'This document.', tags: ['console'], security: [], responses: { 200: jsonOk('OpenAPI 3.1 document.', { type: 'object' }) } },
      },
      '/api/me': { get: op('getSession', 'The calling admin key: id, kind, tenant, permissions; and the role names.', 'session', { 200: jsonOk('The session.', ref('Session')) }, []) },
      '/api/groups': {
        get: op('listGroups', 'Groups of the caller\'s tenant, one page.', 'groups', { 200: jsonOk('Groups, oldest first.', ref('GroupList')) }, ['400'], { parameters: page(200) }),
        post: op('createGroup', 'Create a group in the caller\'s tenant.', 'groups', { 201: jsonOk('The group.', ref('Group'), { Location: { schema: { type: 'string' } } }) }, ['400', '413', '415'], {
          requestBody: jsonBody('CreateGroup', { name: 'Integrations', description: 'CI and partner integrations' }),
        }),
      },
      '/api/groups/{groupId}': {
        parameters: [groupId],
        get: op('getGroup', 'One group.', 'groups', { 200: jsonOk('The group.', ref('Group')) }, ['404']),
        patch: op('updateGroup', 'Edit a group (org administrators only).', 'groups', { 200: jsonOk('The group.', ref('Group')) }, ['400', '404', '413', '415'], {
          requestBody: jsonBody('UpdateGroup', { name: 'Partners', allowedIps: ['198.51.100.0/24'] }),
        }),
        delete: op('deleteGroup', 'Delete an empty group.', 'groups', { 204: { description: 'Deleted.' } }, ['404', '409', '415']),
      },
      '/api/groups/{groupId}/activate': {
        parameters: [groupId],
        post: op('activateGroup', 'Activate a group (org administrators only).', 'groups', { 200: jsonOk('The group.', ref('Group')) }, ['404', '415']),
      },
      '/api/groups/{groupId}/deactivate': {
        parameters: [groupId],
        post: op('deactivateGroup', 'Deactivate a group: every key in it is refused (org administrators only).', 'groups', { 200: jsonOk('The group.', ref('Group')) }, ['404', '415']),
      },
      '/api/keys': {
        get: op('listKeys', 'Keys of the caller\'s tenant, filtered, sorted, one page.', 'keys', { 200: jsonOk('Keys in the `sort` order (then by id).', ref('KeyList')) }, ['400'], {
          parameters: [...KEY_LIST_PARAMETERS],
        }),
        post: op('createKey', 'Issue a key in the caller\'s tenant. The plaintext is in this response only.', 'keys', {
          201: jsonOk('The new key and its record.', ref('IssuedKey'), { ...noStore, Location: { schema: { type: 'string' } } }),
        }, ['400', '413', '415'], {
          requestBody: jsonBody('CreateKey', { kind: 'user', owner: 'ana@example.test', role: 'Read Only', description: 'CI pipeline', allowedIps: ['203.0.113.0/24'] }),
        }),
      },
      '/api/keys/{keyId}': {
        parameters: [keyId],
        get: op('getKey', 'One key (never its secret).', 'keys', { 200: jsonOk('The key.', ref('Key')) }, ['404']),
        patch: op('updateKey', 'Edit a key: description, role, scopes, expiry, group, grants, addresses…', 'keys', { 200: jsonOk('The key.', ref('Key')) }, ['400', '404', '413', '415'], {
          requestBody: jsonBody('UpdateKey', { description: 'CI pipeline (read only)', role: 'Read Write' }),
        }),
        delete: op('deleteKey', 'Delete a key; it is refused at once.', 'keys', { 204: { description: 'Deleted.' } }, ['404', '415']),
      },
      '/api/keys/{keyId}/activate': { parameters: [keyId], post: op('activateKey', 'Activate a key.', 'keys', { 200: jsonOk('The key.', ref('Key')) }, ['404', '415']) },
      '/api/keys/{keyId}/deactivate': { parameters: [keyId], post: op('deactivateKey', 'Deactivate a key.', 'keys', { 200: jsonOk('The key.', ref('Key')) }, ['404', '415']) },
      '/api/keys/{keyId}/rotate': {
        parameters: [keyId],
        post: op('rotateKey', 'Replace the key\'s secret; the old one keeps working for `graceMs`. The new plaintext is in this response only.', 'keys', {
          200: jsonOk('The new key and its record.', ref('IssuedKey'), noStore),
        }, ['400', '404', '413', '415'], { requestBody: jsonBody('Rotate', { graceMs: 3600000 }) }),
      },
      '/api/keys/{keyId}/grants/add': {
        parameters: [keyId],
        post: op('addGrants', 'Grant operations.', 'keys', { 200: jsonOk('The key.', ref('Key')) }, ['400', '404', '413', '415'], { requestBody: jsonBody('Operations', { operations: ['getProjects'] }) }),
      },
      '/api/keys/{keyId}/grants/remove': {
        parameters: [keyId],
        post: op('removeGrants', 'Revoke granted operations.', 'keys', { 200: jsonOk('The key.', ref('Key')) }, ['400', '404', '413', '415'], { requestBody: jsonBody('Operations', { operations: ['getProjects'] }) }),
      },
      '/api/keys/{keyId}/allowed-ips/add': {
        parameters: [keyId],
        post: op('addAllowedIps', 'Add allowed client addresses.', 'keys', { 200: jsonOk('The key.', ref('Key')) }, ['400', '404', '413', '415'], { requestBody: jsonBody('Entries', { entries: ['198.51.100.7'] }) }),
      },
      '/api/keys/{keyId}/allowed-ips/remove': {
        parameters: [keyId],
        post: op('removeAllowedIps', 'Remove allowed client addresses (removing the last leaves an empty list, which admits none).', 'keys', {
          200: jsonOk('The key.', ref('Key')),
        }, ['400', '404', '413', '415'], { requestBody: jsonBody('Entries', { entries: ['198.51.100.7'] }) }),
      },
      '/api/keys/{keyId}/usage': {
        parameters: [keyId],
        get: op('getKeyUsage', 'Decisions about the key per hour (24h) or UTC day (30d), by outcome.', 'keys', { 200: jsonOk('The series.', ref('Usage')) }, ['400', '404'], {
          parameters: [{ name: 'window', in: 'query', required: false, schema: { type: 'string', enum: ['24h', '30d'], default: '24h' } }],
        }),
      },
      '/api/audit': {
        get: op('listAudit', 'The audit trail of the caller\'s tenant, newest first: changes, refused and failed calls, leak reports.', 'audit', { 200: jsonOk('One page.', ref('AuditList')) }, ['400'], {
          parameters: [tenantQuery('key', 'Only entries about this key or group id.'), ...page(200)],
        }),
      },
    },
    components: { schemas: SCHEMAS, securitySchemes: { adminKey: securityScheme(auth) } },
  }
  // A fresh deep copy every call: callers may edit what they get without touching shared state.
  return JSON.parse(JSON.stringify(doc)) as Record<string, unknown>
}
