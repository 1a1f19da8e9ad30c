/**
 * The component schemas of the admin API's OpenAPI document, and the helpers that build its parts.
 * @module
 */
import { INSIGHT_SCHEMAS } from './_openapi-insight.js'

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

export const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` })
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

export function op(
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

export const jsonBody = (schema: string, example: Json): Json => ({
  required: true,
  content: { 'application/json': { schema: ref(schema), example } },
})
export const jsonOk = (description: string, schema: Json, headers?: Record<string, Json>): Json => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema } },
})
export const keyId: Json = { name: 'keyId', in: 'path', required: true, schema: { type: 'string' } }
export const groupId: Json = { name: 'groupId', in: 'path', required: true, schema: { type: 'string' } }
export const noStore: Record<string, Json> = { 'Cache-Control': { description: 'Always `no-store`: the body holds a secret.', schema: { type: 'string', const: 'no-store' } } }
export const asset = (operationId: string, summary: string, type: string): Json => ({
  operationId,
  summary,
  tags: ['console'],
  security: [],
  responses: { 200: { description: summary, content: { [type]: { schema: { type: 'string' } } } }, 404: problemResponse('The console is disabled (`console: false`).') },
})

const NEXT: Json = { type: 'string', description: 'Present when more items follow: pass it as `cursor` for the next page. Opaque.' }
export const page = (max: number): Json[] => [
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

export const SCHEMAS: Record<string, Json> = {
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
