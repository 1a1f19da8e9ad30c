/**
 * `createAdminHandler`: the admin REST API and web console as one Fetch-API handler.
 * @module
 */
import { fieldsOf, knownFields } from '../lib/options.js'
import { comparesTenants, type Authorizer, type CompiledNeed } from '../authorize.js'
import { messageOf, renderDeny } from '../decision.js'
import { INVALID_OPTION, quote, rangeError, typeError } from '../errors.js'
import type { KeyManager } from '../stores/manager.js'
import * as F from '../stores/fields.js'
import type { AuthRequest, DenyDecision, Principal } from '../types.js'
import { admission } from './_admit.js'
import { consolePage, CONSOLE_CSS, CONSOLE_JS, type ConsoleAuth } from './_console.js'
import { bodyTypeProblem, crossSiteProblem, trustedOriginsOf } from './_origin.js'
import { asset, fieldOf, json, NOT_FOUND, Problem, problem, readJsonObject } from './_http.js'
import { OPERATIONS, type OpContext, type OpDeps } from './_ops.js'
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

const MANAGER_METHODS = [
  'issue', 'get', 'list', 'update', 'activate', 'deactivate', 'delete', 'rotate', 'grant', 'revokeGrant', 'addAllowedIps', 'removeAllowedIps',
  'createGroup', 'getGroup', 'listGroups', 'updateGroup', 'activateGroup', 'deactivateGroup', 'deleteGroup',
] as const

const BASE_PATH_RE = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*$/

function consoleAuthOf(authorizer: Authorizer, wanted: string | undefined): ConsoleAuth | undefined {
  for (const s of authorizer.schemes) {
    if (wanted !== undefined && s.name !== wanted) continue
    const cs = s.challengeScheme
    let found: ConsoleAuth | undefined
    if (cs.startsWith('apikey:') && s.headers.length === 1) found = { header: s.headers[0]!, format: 'raw' }
    else if (cs === 'bearer') found = { header: 'authorization', format: 'bearer' }
    else if (cs === 'basic') found = { header: 'authorization', format: 'basic' }
    else if (cs === 'rest_api_key') found = { header: 'authorization', format: 'rest_api_key' }
    if (found || wanted !== undefined) return found
  }
  return undefined
}

function isValidation(e: unknown): e is TypeError | RangeError {
  return (e instanceof TypeError || e instanceof RangeError) && (e as { code?: unknown }).code === INVALID_OPTION
}

function outcomeOf(status: number): AdminAuditOutcome {
  if (status < 400) return 'success'
  if (status === 401 || status === 403 || status === 429) return 'denied'
  if (status === 404) return 'not_found'
  if (status === 409) return 'conflict'
  if (status < 500) return 'invalid'
  return 'error'
}

const ADMIN_FIELDS = fieldsOf<AdminHandlerOptions>({
  manager: true, authorizer: true, permission: true, basePath: true, clientInfo: true, trustedOrigins: true, maxBodyBytes: true, console: true,
  consoleScheme: true, onAudit: true, onError: true, now: true, selfService: true, auditStore: true, usage: true,
})

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
  if (options === null || typeof options !== 'object') throw typeError('options', 'must be an object')
  knownFields(options, ADMIN_FIELDS, 'options')
  const { manager, authorizer, permission, clientInfo, onAudit, onError } = options
  if (manager === null || typeof manager !== 'object' || MANAGER_METHODS.some((m) => typeof manager[m] !== 'function')) {
    throw typeError('manager', 'must be a KeyManager')
  }
  if (
    authorizer === null || typeof authorizer !== 'object' || typeof authorizer.authorize !== 'function' || typeof authorizer.need !== 'function' ||
    authorizer.roles === null || typeof authorizer.roles !== 'object' || !Array.isArray(authorizer.schemes)
  ) {
    throw typeError('authorizer', 'must come from createAuthorizer()')
  }
  const admit = admission(authorizer)
  if (permission !== undefined) {
    if (typeof permission !== 'string') throw typeError('permission', 'must be a permission string (resource:level)')
    // Some role must hold it: otherwise nobody could administer, not even org keys (which hold
    // exactly the matrix's permissions), and every admin call would be refused.
    const roles = authorizer.roles
    if (roles.lookup(permission) === undefined || !roles.names.some((n) => roles.permissionsOf(n)?.has(permission) === true)) {
      throw rangeError('permission', `${quote(permission)} is not held by any role of the authorizer's role matrix; add it to a role with defineRoles()`)
    }
  }
  const basePath = options.basePath ?? '/admin'
  if (typeof basePath !== 'string') throw typeError('basePath', 'must be a string')
  if (basePath.length > 256 || !BASE_PATH_RE.test(basePath) || basePath.split('/').some((s) => s === '..')) {
    throw rangeError('basePath', `${quote(basePath)} must be '' or '/segment[/segment…]' of unreserved characters, without a trailing slash`)
  }
  if (clientInfo !== undefined && typeof clientInfo !== 'function') throw typeError('clientInfo', 'must be a function (request) => { remoteAddress?, secure? }')
  const trusted = trustedOriginsOf(options.trustedOrigins)
  const maxBodyBytes = options.maxBodyBytes ?? 65536
  if (typeof maxBodyBytes !== 'number' || !Number.isInteger(maxBodyBytes)) throw typeError('maxBodyBytes', 'must be an integer')
  if (maxBodyBytes < 1024 || maxBodyBytes > 16 * 1024 * 1024) throw rangeError('maxBodyBytes', 'must be from 1024 to 16 MiB')
  const serveConsole = options.console ?? true
  if (typeof serveConsole !== 'boolean') throw typeError('console', 'must be a boolean')
  const consoleScheme = options.consoleScheme
  if (consoleScheme !== undefined && typeof consoleScheme !== 'string') throw typeError('consoleScheme', 'must be a scheme name')
  const auth = consoleAuthOf(authorizer, consoleScheme)
  if (consoleScheme !== undefined && auth === undefined) {
    throw rangeError('consoleScheme', `${quote(consoleScheme)} is not a configured scheme the console can use (API-key header, bearer, basic, rest_api_key)`)
  }
  if (onAudit !== undefined && typeof onAudit !== 'function') throw typeError('onAudit', 'must be a function')
  if (onError !== undefined && typeof onError !== 'function') throw typeError('onError', 'must be a function')
  const now = options.now ?? Date.now
  if (typeof now !== 'function') throw typeError('now', 'must be a function')
  const selfService = options.selfService ?? false
  if (typeof selfService !== 'boolean') throw typeError('selfService', 'must be a boolean')
  /** An administrator: an org key, or a key holding `permission`. */
  const isAdmin = (p: Principal): boolean => p.kind === 'org' || (permission !== undefined && p.can(permission))
  /** A self-service caller: a user key acting for an owner (whose keys it may manage). */
  const isSelf = (p: Principal): boolean => selfService && !isAdmin(p) && p.kind === 'user' && p.owner !== undefined
  const { auditStore, usage } = options
  if (auditStore !== undefined && (auditStore === null || typeof auditStore !== 'object' || typeof auditStore.append !== 'function' || typeof auditStore.list !== 'function' || typeof auditStore.leaked !== 'function')) {
    throw typeError('auditStore', 'must be an AuditStore (append, list, leaked)')
  }
  if (usage !== undefined && (usage === null || typeof usage !== 'object' || typeof usage.record !== 'function' || typeof usage.series !== 'function')) {
    throw typeError('usage', 'must be a UsageRecorder (record, series)')
  }

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

  const locks = new Map<string, Promise<unknown>>()
  const lock = async <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    const prev = locks.get(id) ?? Promise.resolve()
    const run = prev.then(fn, fn)
    const tail = run.catch(() => undefined)
    locks.set(id, tail)
    try {
      return await run
    } finally {
      if (locks.get(id) === tail) locks.delete(id)
    }
  }
  const deps: OpDeps = { manager, roles: authorizer.roles, lock, singleTenant: comparesTenants(authorizer) === false, insight: { usage, audit: auditStore, now, report: (e) => unexpectedQuietly(e) } }

  async function audit(event: AdminAuditEvent, method: string): Promise<void> {
    // Only calls of an authenticated key: anonymous refusals go to `onAudit` alone, so nobody
    // without a key can push a bounded trail's real entries out.
    if (auditStore !== undefined && event.actor !== undefined && (method !== 'GET' || event.outcome !== 'success')) {
      try {
        await auditStore.append(event)
      } catch (e) {
        // The trail's failure is reported, and must not change the answer either.
        unexpectedQuietly(e)
      }
    }
    if (!onAudit) return
    try {
      onAudit(event)
    } catch {
      // An audit sink's failure must not change the answer.
    }
  }

  function unexpectedQuietly(e: unknown): void {
    try {
      onError?.(e)
    } catch {
      // Reporting must never turn into a crash.
    }
  }

  function unexpected(e: unknown): Response {
    try {
      onError?.(e)
    } catch {
      // Reporting must never turn into a crash.
    }
    return problem(new Problem(500, 'internal_error', 'An unexpected error occurred.'))
  }

  /** Any error of an operation → its response. Only keyward's own validation messages are echoed. */
  function errorResponse(e: unknown): Response {
    if (e instanceof Problem) return problem(e)
    if (isValidation(e)) {
      const field = fieldOf(e.message)
      return problem(new Problem(400, 'invalid_field', e.message, field === undefined ? {} : { field }))
    }
    const code = e instanceof Error ? (e as { code?: unknown }).code : undefined
    if (code === 'KEYWARD_NOT_FOUND') return problem(NOT_FOUND())
    if (code === 'KEYWARD_CONFLICT') return problem(new Problem(409, 'conflict', 'The request conflicts with the current state; reload and retry.'))
    return unexpected(e)
  }

  function authRequest(request: Request, client: unknown): AuthRequest {
    let info: unknown = client
    if ((info === undefined || info === null) && clientInfo) info = clientInfo(request)
    const req: AuthRequest = { method: request.method, url: request.url, headers: request.headers }
    if (info !== null && typeof info === 'object') {
      const { remoteAddress, secure } = info as Record<string, unknown>
      if (typeof remoteAddress === 'string') req.remoteAddress = remoteAddress
      if (typeof secure === 'boolean') req.secure = secure
    }
    return req
  }

  function serveAsset(route: AdminRoute): Response {
    switch (route.operationId) {
      case 'getOpenApi':
        return json(200, JSON.parse(openapi) as unknown)
      case 'getConsole':
        return serveConsole ? asset(page, 'text/html; charset=utf-8') : problem(NOT_FOUND())
      case 'getConsoleScript':
        return serveConsole ? asset(CONSOLE_JS, 'text/javascript; charset=utf-8') : problem(NOT_FOUND())
      case 'getConsoleStyles':
        return serveConsole ? asset(CONSOLE_CSS, 'text/css; charset=utf-8') : problem(NOT_FOUND())
      default:
        return problem(NOT_FOUND())
    }
  }

  async function api(request: Request, client: unknown, route: AdminRoute, params: ReadonlyMap<string, string>, url: URL): Promise<Response> {
    const at = now()
    let principal: Principal | undefined
    const ctx: { target?: string } = {}
    let response: Response
    let code: string | undefined
    try {
      // Before the key is even looked at: a cross-site call must not reach the authorizer (it
      // would spend the key's rate limit and record its use).
      const refused = crossSiteProblem(request, url, trusted)
      if (refused !== undefined) throw refused
      const decision = await authorizer.authorize(authRequest(request, client), needs.get(route))
      if (!decision.allow) {
        code = decision.code
        response = denyResponse(decision)
      } else if (!admit.admits(decision.principal.scheme)) {
        // A token is not backed by a store lookup: it would outlive the revocation of its key.
        code = admit.tokenDeny.code
        response = denyResponse(admit.tokenDeny)
      } else if (!isAdmin(decision.principal) && !isSelf(decision.principal)) {
        // Authenticated, but not an administrator: the same answer as any missing permission.
        code = 'insufficient_permission'
        principal = decision.principal
        response = denyResponse({
          allow: false, status: 403, code: 'insufficient_permission', reason: 'insufficient_permission', headers: {},
          message: messageOf('insufficient_permission', 'insufficient_permission', permission),
        })
      } else {
        principal = decision.principal
        let body: Record<string, unknown> = {}
        if (route.body) {
          body = await readJsonObject(request, maxBodyBytes)
          F.onlyFields(body, new Set(route.body.fields), 'body')
        } else {
          const refused = bodyTypeProblem(request)
          if (refused !== undefined) throw refused
        }
        const op = OPERATIONS.get(route.operationId)
        if (op === undefined) throw NOT_FOUND()
        const opCtx: OpContext = { principal, tenant: principal.tenant, params, body, query: url.searchParams, apiBase, selfService: isSelf(principal) }
        try {
          response = await op(opCtx, deps)
        } finally {
          if (opCtx.target !== undefined) ctx.target = opCtx.target
        }
        for (const [k, v] of Object.entries(decision.headers)) response.headers.set(k, v)
      }
    } catch (e) {
      response = errorResponse(e)
      if (e instanceof Problem) code = e.code
      else if (response.status === 400) code = 'invalid_field'
      else if (response.status === 404) code = 'not_found'
      else if (response.status === 409) code = 'conflict'
      else code = 'internal_error'
    }
    await audit({
      at,
      action: route.operationId,
      outcome: outcomeOf(response.status),
      status: response.status,
      ...(principal === undefined ? {} : { actor: principal.keyId, actorKind: principal.kind }),
      ...(principal?.tenant === undefined ? {} : { tenant: principal.tenant }),
      ...(ctx.target === undefined ? {} : { target: ctx.target }),
      ...(code === undefined ? {} : { code }),
    }, request.method)
    return response
  }

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
      if (m.route.kind === 'asset') return serveAsset(m.route)
      return await api(request, client, m.route, m.params, url)
    } catch (e) {
      return unexpected(e)
    }
  }
}

function denyResponse(decision: DenyDecision): Response {
  const { status, headers, body } = renderDeny(decision)
  return new Response(body, { status, headers })
}
