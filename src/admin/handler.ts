/**
 * `createAdminHandler`: the admin REST API and web console as one Fetch-API handler.
 * @module
 */
import { comparesTenants, type Authorizer, type CompiledNeed } from '../authorize.js'
import { typeError } from '../errors.js'
import type { KeyManager } from '../stores/manager.js'
import { consolePage } from './_console.js'
import { apiCall, lockById, serveAsset, type ApiEnv } from './_handler-api.js'
import { adminSettings } from './_handler-options.js'
import { reporter } from './_handler-report.js'
import { NOT_FOUND, Problem, problem } from './_http.js'
import type { OpDeps } from './_ops.js'
import { ADMIN_ROUTES, matchRoute, operationName, type AdminRoute } from './_routes.js'
import { adminOpenApi } from './openapi.js'
import type { AuditStore } from './audit.js'
import type { UsageRecorder } from './usage.js'

/** What the mount knows about the connection, which a bare Fetch `Request` does not carry. */
export interface ClientInfo {
  /** The socket's peer address (`req.socket.remoteAddress`). Without it, keys with an IP allowlist are refused. */
  remoteAddress?: string
  /** `true` if the connection itself is TLS. Without it, an authorizer with `requireTls` refuses every call. */
  secure?: boolean
}

/** Outcome of an admin call, as reported to `onAudit`. */
export type AdminAuditOutcome = 'success' | 'denied' | 'invalid' | 'not_found' | 'conflict' | 'error'

/** One admin API call, for the audit log. Never holds a key, a hash or a request body. */
export interface AdminAuditEvent {
  /** `now()` when the call was received. */
  readonly at: number
  /** The route's `operationId`, e.g. `createKey`, `rotateKey`, `deactivateGroup`. */
  readonly action: string
  readonly outcome: AdminAuditOutcome
  /** HTTP status answered. */
  readonly status: number
  /** Id of the key that made the call, once it is authenticated. */
  readonly actor?: string
  /** Kind of that key. */
  readonly actorKind?: 'user' | 'org'
  /** The caller's tenant (the scope of the call). */
  readonly tenant?: string
  /** The key or group acted on (from the path, or the id created). */
  readonly target?: string
  /** The problem or deny code when the call failed, e.g. `not_found`, `invalid_credentials`. */
  readonly code?: string
}

/** Options of {@link createAdminHandler}. Validated when the handler is created; never mutated. */
export interface AdminHandlerOptions {
  /**
   * Performs every change. Must write to the store the authorizer reads, with the same pepper.
   * @example new KeyManager(store, { pepper })
   */
  manager: KeyManager
  /**
   * Authorizes every admin call, with the same schemes, pepper, tenants and allowlists as the API.
   * Only API keys looked up in the store administer: a principal authenticated by a token scheme
   * (`schemes.jwt`) is refused with 401, since a token outlives the revocation of its key; an
   * authorizer with token schemes only is refused here with a `RangeError`.
   * @example createAuthorizer({ store, pepper })
   */
  authorizer: Authorizer
  /**
   * A permission (`resource:level`) that, besides `org` keys, lets `user` keys administer their
   * own tenant. It must be a permission of the authorizer's role matrix. Such administrators
   * manage only `user` keys within their own rights, and cannot edit or (de)activate groups.
   * @default undefined (only `org` keys administer)
   * @example 'keys:administer'
   */
  permission?: string
  /**
   * Path the handler is mounted at: the console is at `<basePath>/`, the API under
   * `<basePath>/api/`. Other paths answer 404. `''` mounts at the root.
   * @default '/admin'
   * @example '/internal/keys'
   */
  basePath?: string
  /**
   * Connection facts for the authorizer when the mount does not pass them as the handler's
   * second argument (which wins). Without a remote address, admin keys with an allowlist are
   * refused; without `secure`, an authorizer with `requireTls` refuses every call.
   * @default undefined
   * @example (req) => ({ remoteAddress: socketOf(req).remoteAddress, secure: false })
   */
  clientInfo?: (request: Request) => ClientInfo | undefined
  /**
   * Origins (`scheme://host[:port]`) whose browser pages may call the API besides the admin's
   * own. Every API call whose `Sec-Fetch-Site` is not `same-origin` (or `none`), or whose
   * `Origin` is not the request URL's own (or its `https` twin, for TLS ended at a proxy), is
   * refused with 403 `cross_site_request` unless its `Origin` is listed here. List the public
   * origin when a proxy changes the host the handler sees.
   * @default [] (only the admin's own origin)
   * @example ['https://admin.example.com']
   */
  trustedOrigins?: readonly string[]
  /**
   * Largest request body accepted, in bytes (larger: 413, read no further).
   * @default 65536
   * @example 16384
   */
  maxBodyBytes?: number
  /**
   * Self-service key management: a user key (with an owner) that lacks the admin `permission`
   * is served too, for the user keys of its own owner in its own tenant only: it may list, view,
   * create, rotate, edit (role, scopes, grants, description), deactivate and delete them, with
   * its own rights as the ceiling, and it receives the secrets of its own keys only. Any other
   * key or group id answers exactly like an absent one (404); activating a key, allowed
   * addresses, groups and metadata stay an administrator's (403 `self_service`). The console
   * works the same for such a caller and lists only its keys. (Rapid7: every role can generate
   * a user key.)
   * @default false (only org keys and holders of `permission` are served)
   * @example true
   */
  selfService?: boolean
  /**
   * Serve the web console (`GET <basePath>/`, `/console.js`, `/console.css`). When `false` these
   * answer 404 and only the API and its OpenAPI document are served.
   * @default true
   * @example false
   */
  console?: boolean
  /**
   * Name of the configured scheme the console sends the admin key with (`api-key`, `bearer`…).
   * @default the first configured scheme the console can speak (API-key header, bearer, basic, rest_api_key)
   * @example 'bearer'
   */
  consoleScheme?: string
  /**
   * Receives one event per API call (not for console assets). Exceptions thrown here are swallowed.
   * @default undefined
   * @example (e) => auditLog.write(e)
   */
  onAudit?: (event: AdminAuditEvent) => void
  /**
   * Keeps the audit trail the console shows (`GET <basePath>/api/audit`): every call of an
   * authenticated key that changes something, or is refused or fails (successful reads and
   * calls without a valid key go to `onAudit` only). The
   * append is awaited before the answer is sent, so a reload shows it; a failed append goes to
   * `onError` and never changes the answer. Also give it to `createLeakHandler` (with
   * `auditTo`) so leak reports appear in the trail and leaked keys are marked in lists.
   * @default undefined (no trail: the console says so)
   * @example new MemoryAuditStore()
   */
  auditStore?: AuditStore
  /**
   * Usage counts the key page charts (`GET <basePath>/api/keys/{keyId}/usage`). Feed the same
   * recorder from the authorizer with `onDecision: usageOnDecision(usage)`.
   * @default undefined (no chart: the console says usage is not recorded)
   * @example new MemoryUsageRecorder()
   */
  usage?: UsageRecorder
  /**
   * Receives unexpected errors (answered as a generic 500). Exceptions thrown here are swallowed.
   * @default undefined
   * @example (e) => logger.error(e)
   */
  onError?: (error: unknown) => void
  /**
   * Clock for audit timestamps, epoch milliseconds.
   * @default Date.now
   * @example () => clock.now
   */
  now?: () => number
}

/**
 * A Fetch-API handler. `client` gives the connection facts a bare `Request` lacks (see
 * {@link ClientInfo}); it is ignored unless it is an object.
 */
export type AdminHandler = (request: Request, client?: ClientInfo) => Promise<Response>

/**
 * Creates the admin handler: a JSON REST API for key groups and keys, its OpenAPI 3.1 document,
 * and a single-page web console, all under `basePath`. Every API call is authorized by
 * `authorizer` (an `org` key, or a key holding `permission`), scoped to the caller's tenant
 * (other tenants' keys and groups answer 404, like absent ones), validated (400 problem+json
 * naming the field; nothing written) and audited.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { serve } from '@hono/node-server'
 * import { createAuthorizer, KeyManager, MemoryKeyStore } from 'keyward'
 * import { createAdminHandler } from 'keyward/admin'
 *
 * const store = new MemoryKeyStore()
 * const manager = new KeyManager(store)
 * const authorizer = createAuthorizer({ store })
 * const admin = createAdminHandler({ manager, authorizer, onAudit: (e) => console.log(e) })
 *
 * const app = new Hono<{ Bindings: { incoming: import('node:http').IncomingMessage } }>()
 * app.all('/admin/*', (c) => admin(c.req.raw, { remoteAddress: c.env.incoming.socket.remoteAddress, secure: false }))
 * serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 8080 })
 * ```
 */
export function createAdminHandler(options: AdminHandlerOptions): AdminHandler {
  const settings = adminSettings(options)
  const { manager, authorizer, permission, basePath, auth, now, selfService, auditStore, usage, serveConsole } = settings
  // Needs are compiled once; this also proves the authorizer accepts them (permission, operation names).
  const needs = new Map<AdminRoute, CompiledNeed>()
  for (const r of ADMIN_ROUTES) {
    // Under self-service the permission is checked here, after authentication: a caller without
    // it is served for its own keys instead of refused.
    if (r.kind === 'api') needs.set(r, authorizer.need({ ...(permission === undefined || selfService ? {} : { permission }), operation: operationName(r) }))
  }
  const page = consolePage({ basePath, auth })
  const openapi = JSON.stringify(adminOpenApi({ basePath, auth, permission }))
  const apiBase = `${basePath}/api`
  const report = reporter(settings)
  const lock = lockById()
  const deps: OpDeps = { manager, roles: authorizer.roles, lock, singleTenant: comparesTenants(authorizer) === false, insight: { usage, audit: auditStore, now, report: (e) => report.unexpectedQuietly(e) } }
  const env: ApiEnv = { settings, needs, deps, apiBase, report }

  return async function adminHandler(request: Request, client?: ClientInfo): Promise<Response> {
    if (request === null || typeof request !== 'object' || typeof request.url !== 'string' || typeof request.method !== 'string' || !(request.headers instanceof Headers)) {
      throw typeError('request', 'must be a Fetch API Request')
    }
    try {
      let url: URL
      try {
        url = new URL(request.url)
      } catch {
        return problem(NOT_FOUND())
      }
      const path = url.pathname
      let rel: string
      if (path === basePath || (basePath === '' && path === '')) rel = '/'
      else if (path.startsWith(`${basePath}/`)) rel = path.slice(basePath.length)
      else return problem(NOT_FOUND())
      const m = matchRoute(request.method, rel)
      if (m.type === 'none') return problem(NOT_FOUND())
      if (m.type === 'method') {
        return problem(new Problem(405, 'method_not_allowed', 'This method is not allowed here.', { headers: { allow: m.allow.join(', ') } }))
      }
      if (m.route.kind === 'asset') return serveAsset(m.route, openapi, page, serveConsole)
      return await apiCall(env, request, client, m.route, m.params, url)
    } catch (e) {
      return report.unexpected(e)
    }
  }
}
