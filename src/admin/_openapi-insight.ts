/**
 * OpenAPI schemas of the operator's read side of the admin API: usage series and the audit
 * trail. Part of the document `adminOpenApi` builds.
 * @module
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` })
const str = (description: string): Json => ({ type: 'string', description })
const strings = (description: string): Json => ({ type: 'array', items: { type: 'string' }, description })
const NEXT: Json = { type: 'string', description: 'Present when more items follow: pass it as `cursor` for the next page. Opaque.' }

/** `Usage`, `AuditEntry` and `AuditList`. */
export const INSIGHT_SCHEMAS: Record<string, Json> = {
  Usage: {
    type: 'object',
    description: 'Decisions about one key per bucket and outcome (`allowed`, or the deny code). Every bucket of the window is present.',
    required: ['keyId', 'window', 'bucketMs', 'from', 'to', 'outcomes', 'points', 'recording'],
    properties: {
      keyId: { type: 'string' },
      window: { type: 'string', enum: ['24h', '30d'] },
      bucketMs: { type: 'integer', description: 'One hour (24h) or one UTC day (30d).' },
      from: { type: 'integer' },
      to: { type: 'integer', description: 'Exclusive.' },
      outcomes: strings('Outcomes present in the window, `allowed` first.'),
      points: {
        type: 'array',
        items: { type: 'object', required: ['start', 'total', 'counts'], properties: { start: { type: 'integer' }, total: { type: 'integer' }, counts: { type: 'object', additionalProperties: { type: 'integer' } } } },
      },
      recording: { type: 'boolean', description: '`false`: the handler has no `usage` recorder, so every count is 0.' },
    },
  },
  AuditEntry: {
    type: 'object',
    description: 'One admin call or leak report. Never holds a key, a hash or a request body.',
    required: ['seq', 'at', 'action', 'outcome', 'status'],
    properties: {
      seq: { type: 'integer' },
      at: { type: 'integer' },
      action: str('The operationId, or `reportLeak`.'),
      outcome: { type: 'string', enum: ['success', 'denied', 'invalid', 'not_found', 'conflict', 'error'] },
      status: { type: 'integer' },
      actor: str('The key that made the call.'),
      actorKind: { type: 'string', enum: ['user', 'org'] },
      tenant: { type: 'string' },
      target: str('The key or group acted on.'),
      code: str('The problem or deny code of a failed call; `key_leaked` for a leak report.'),
      url: str('Leak report: where the key was found.'),
      source: str('Leak report: the scanner\'s source.'),
      leakAction: str('Leak report: what was done to the key.'),
    },
  },
  AuditList: {
    type: 'object',
    required: ['items', 'recording'],
    properties: { items: { type: 'array', items: ref('AuditEntry') }, nextCursor: NEXT, recording: { type: 'boolean', description: '`false`: the handler has no `auditStore`.' } },
  },
}

const tenantQuery = (name: string, description: string): Json => ({ name, in: 'query', required: false, schema: { type: 'string' }, description })
const PAGE: Json[] = [
  { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 }, description: 'Page size.' },
  { name: 'cursor', in: 'query', required: false, schema: { type: 'string' }, description: 'The `nextCursor` of the previous page (same sort order).' },
]

/** The query parameters of `listKeys`: filters, sort and page. */
export const KEY_LIST_PARAMETERS: readonly Json[] = [
            tenantQuery('tenant', 'Only the caller\'s own tenant matches; any other gives an empty list.'),
            tenantQuery('group', 'Group id.'),
            tenantQuery('owner', 'On Behalf Of.'),
            { name: 'kind', in: 'query', required: false, schema: { type: 'string', enum: ['user', 'org', 'tenant'] } },
            { name: 'active', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'] } },
            tenantQuery('role', 'In Role (exact).'),
            { name: 'status', in: 'query', required: false, schema: { type: 'string', enum: ['active', 'inactive', 'expired', 'leaked'] } },
            tenantQuery('q', 'Text the description contains (case-insensitive), at most 128 characters.'),
            tenantQuery('prefix', 'The start of a key (e.g. pasted from a leaked key): at most 38 letters, digits or `_`. Send only the start, never a whole key.'),
            { name: 'expiresAfter', in: 'query', required: false, schema: { type: 'integer' }, description: 'Only keys expiring at or after (epoch ms).' },
            { name: 'expiresBefore', in: 'query', required: false, schema: { type: 'integer' }, description: 'Only keys expiring before (epoch ms).' },
            { name: 'sort', in: 'query', required: false, schema: { type: 'string', enum: ['createdAt', '-createdAt', 'lastUsedAt', '-lastUsedAt', 'expiresAt', '-expiresAt', 'owner', '-owner'], default: 'createdAt' }, description: '`-` for descending; keys without the field come last.' },
            ...PAGE,
]
