/**
 * The admin handler's route table: every method and path it answers, the fields each request
 * body may carry, and the query parameters each list accepts. The handler dispatches on this
 * table and enforces its field lists, and the OpenAPI sync test compares it with the published
 * document in both directions, so the document cannot drift from what the handler does.
 * @module
 */

import { GROUP_LIST_QUERY, KEY_LIST_QUERY } from './_list.js'

/** HTTP methods the admin handler answers. */
export type AdminMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE'

/** What a route's JSON body may hold. */
export interface BodySpec {
  /** Every field the body may carry; any other field is refused with 400. */
  readonly fields: readonly string[]
  /** Fields that must be present (the handler's validators refuse their absence, naming them). */
  readonly required: readonly string[]
}

/** One route, relative to the handler's base path. */
export interface AdminRoute {
  readonly method: AdminMethod
  /** OpenAPI path template relative to the base path, e.g. `/api/keys/{keyId}`. */
  readonly path: string
  /** OpenAPI `operationId`; also the operation name `admin:<operationId>` used for explicit grants. */
  readonly operationId: string
  /** `asset`: the console and the OpenAPI document, served without credentials. `api`: authorized. */
  readonly kind: 'asset' | 'api'
  readonly body?: BodySpec
  /** Query parameters accepted (list routes); any other is refused with 400. */
  readonly query?: readonly string[]
}

const KEY_CREATE_FIELDS = [
  'kind', 'tenant', 'group', 'owner', 'role', 'scopes', 'grants', 'allowedIps', 'active', 'expiresAt', 'rateLimit', 'credits', 'description', 'metadata',
] as const
const KEY_PATCH_FIELDS = [
  'group', 'owner', 'role', 'scopes', 'grants', 'allowedIps', 'active', 'expiresAt', 'rateLimit', 'credits', 'description', 'metadata',
] as const

/** Every route of the admin handler. Frozen: the handler and the OpenAPI test read the same table. */
export const ADMIN_ROUTES: readonly AdminRoute[] = Object.freeze([
  { method: 'GET', path: '/', operationId: 'getConsole', kind: 'asset' },
  { method: 'GET', path: '/console.js', operationId: 'getConsoleScript', kind: 'asset' },
  { method: 'GET', path: '/console.css', operationId: 'getConsoleStyles', kind: 'asset' },
  { method: 'GET', path: '/openapi.json', operationId: 'getOpenApi', kind: 'asset' },
  { method: 'GET', path: '/api/me', operationId: 'getSession', kind: 'api' },
  { method: 'GET', path: '/api/groups', operationId: 'listGroups', kind: 'api', query: GROUP_LIST_QUERY },
  { method: 'POST', path: '/api/groups', operationId: 'createGroup', kind: 'api', body: { fields: ['name', 'description', 'tenant', 'allowedIps', 'active'], required: ['name'] } },
  { method: 'GET', path: '/api/groups/{groupId}', operationId: 'getGroup', kind: 'api' },
  { method: 'PATCH', path: '/api/groups/{groupId}', operationId: 'updateGroup', kind: 'api', body: { fields: ['name', 'description', 'allowedIps', 'active'], required: [] } },
  { method: 'DELETE', path: '/api/groups/{groupId}', operationId: 'deleteGroup', kind: 'api' },
  { method: 'POST', path: '/api/groups/{groupId}/activate', operationId: 'activateGroup', kind: 'api' },
  { method: 'POST', path: '/api/groups/{groupId}/deactivate', operationId: 'deactivateGroup', kind: 'api' },
  { method: 'GET', path: '/api/keys', operationId: 'listKeys', kind: 'api', query: KEY_LIST_QUERY },
  { method: 'POST', path: '/api/keys', operationId: 'createKey', kind: 'api', body: { fields: KEY_CREATE_FIELDS, required: ['kind'] } },
  { method: 'GET', path: '/api/keys/{keyId}', operationId: 'getKey', kind: 'api' },
  { method: 'PATCH', path: '/api/keys/{keyId}', operationId: 'updateKey', kind: 'api', body: { fields: KEY_PATCH_FIELDS, required: [] } },
  { method: 'DELETE', path: '/api/keys/{keyId}', operationId: 'deleteKey', kind: 'api' },
  { method: 'POST', path: '/api/keys/{keyId}/activate', operationId: 'activateKey', kind: 'api' },
  { method: 'POST', path: '/api/keys/{keyId}/deactivate', operationId: 'deactivateKey', kind: 'api' },
  { method: 'POST', path: '/api/keys/{keyId}/rotate', operationId: 'rotateKey', kind: 'api', body: { fields: ['graceMs'], required: ['graceMs'] } },
  { method: 'POST', path: '/api/keys/{keyId}/grants/add', operationId: 'addGrants', kind: 'api', body: { fields: ['operations'], required: ['operations'] } },
  { method: 'POST', path: '/api/keys/{keyId}/grants/remove', operationId: 'removeGrants', kind: 'api', body: { fields: ['operations'], required: ['operations'] } },
  { method: 'POST', path: '/api/keys/{keyId}/allowed-ips/add', operationId: 'addAllowedIps', kind: 'api', body: { fields: ['entries'], required: ['entries'] } },
  { method: 'POST', path: '/api/keys/{keyId}/allowed-ips/remove', operationId: 'removeAllowedIps', kind: 'api', body: { fields: ['entries'], required: ['entries'] } },
  { method: 'GET', path: '/api/keys/{keyId}/usage', operationId: 'getKeyUsage', kind: 'api', query: ['window'] },
  { method: 'GET', path: '/api/audit', operationId: 'listAudit', kind: 'api', query: ['key', 'limit', 'cursor'] },
] satisfies AdminRoute[])

/** The operation name an admin route is authorized as (for `explicitGrants`): `admin:<operationId>`. */
export function operationName(route: AdminRoute): string {
  return `admin:${route.operationId}`
}

/** Result of matching a request path. */
export type RouteMatch =
  | { readonly type: 'route'; readonly route: AdminRoute; readonly params: ReadonlyMap<string, string> }
  /** The path exists but not with this method: answer 405 with these methods in `Allow`. */
  | { readonly type: 'method'; readonly allow: readonly string[] }
  | { readonly type: 'none' }

interface Compiled {
  readonly route: AdminRoute
  /** Literal segments, or `{ param }` for a template segment. */
  readonly segments: readonly (string | { readonly param: string })[]
}

const COMPILED: readonly Compiled[] = ADMIN_ROUTES.map((route) => ({
  route,
  segments: route.path === '/' ? [] : route.path.slice(1).split('/').map((s) => (s.startsWith('{') && s.endsWith('}') ? { param: s.slice(1, -1) } : s)),
}))

/**
 * Matches a method and a path relative to the base path (`/api/keys/abc`). Path parameters are
 * percent-decoded; a segment that does not decode, or an empty segment, matches nothing.
 */
export function matchRoute(method: string, relPath: string): RouteMatch {
  if (!relPath.startsWith('/')) return { type: 'none' }
  const parts = relPath === '/' ? [] : relPath.slice(1).split('/')
  const allow: string[] = []
  let found: { route: AdminRoute; params: Map<string, string> } | undefined
  for (const c of COMPILED) {
    if (c.segments.length !== parts.length) continue
    const params = new Map<string, string>()
    let ok = true
    for (let i = 0; i < parts.length && ok; i++) {
      const seg = c.segments[i]!
      const part = parts[i]!
      if (typeof seg === 'string') ok = seg === part
      else {
        let value: string | undefined
        try {
          value = decodeURIComponent(part)
        } catch {
          value = undefined
        }
        if (value === undefined || value.length === 0) ok = false
        else params.set(seg.param, value)
      }
    }
    if (!ok) continue
    if (c.route.method === method) found ??= { route: c.route, params }
    else if (!allow.includes(c.route.method)) allow.push(c.route.method)
  }
  if (found) return { type: 'route', route: found.route, params: found.params }
  return allow.length > 0 ? { type: 'method', allow } : { type: 'none' }
}
