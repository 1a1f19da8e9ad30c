/**
 * One admin API call: cross-site check, authorization, body, operation, audit; and the assets.
 * @module
 */
import type { CompiledNeed } from '../authorize.js'
import { messageOf } from '../decision.js'
import * as F from '../stores/fields.js'
import type { AuthRequest, Principal } from '../types.js'
import { CONSOLE_CSS, CONSOLE_JS } from './_console.js'
import type { AdminSettings } from './_handler-options.js'
import { denyResponse, outcomeOf, type Reporter } from './_handler-report.js'
import { asset, json, NOT_FOUND, Problem, problem, readJsonObject } from './_http.js'
import { OPERATIONS, type OpContext, type OpDeps } from './_ops.js'
import { bodyTypeProblem, crossSiteProblem } from './_origin.js'
import type { AdminRoute } from './_routes.js'

/** What every call of one handler shares. */
export interface ApiEnv {
  readonly settings: AdminSettings
  readonly needs: ReadonlyMap<AdminRoute, CompiledNeed>
  readonly deps: OpDeps
  readonly apiBase: string
  readonly report: Reporter
}

/** What a call learned before it answered (or failed), for its audit event. */
interface CallState {
  principal?: Principal
  code?: string
  target?: string
}

/** A per-id lock: calls on one id run one after another. */
export function lockById(): <T>(id: string, fn: () => Promise<T>) => Promise<T> {
  const locks = new Map<string, Promise<unknown>>()
  return async <T>(id: string, fn: () => Promise<T>): Promise<T> => {
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
}

/** The console's page, script and styles, and the OpenAPI document. */
export function serveAsset(route: AdminRoute, openapi: string, page: string, serveConsole: boolean): Response {
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

function authRequest(settings: AdminSettings, request: Request, client: unknown): AuthRequest {
  let info: unknown = client
  if ((info === undefined || info === null) && settings.clientInfo) info = settings.clientInfo(request)
  const req: AuthRequest = { method: request.method, url: request.url, headers: request.headers }
  if (info !== null && typeof info === 'object') {
    const { remoteAddress, secure } = info as Record<string, unknown>
    if (typeof remoteAddress === 'string') req.remoteAddress = remoteAddress
    if (typeof secure === 'boolean') req.secure = secure
  }
  return req
}

async function answer(env: ApiEnv, st: CallState, request: Request, client: unknown, route: AdminRoute, params: ReadonlyMap<string, string>, url: URL): Promise<Response> {
  const { authorizer, admit, isAdmin, isSelf, permission, maxBodyBytes, trusted } = env.settings
  // Before the key is even looked at: a cross-site call must not reach the authorizer (it
  // would spend the key's rate limit and record its use).
  const refused = crossSiteProblem(request, url, trusted)
  if (refused !== undefined) throw refused
  const decision = await authorizer.authorize(authRequest(env.settings, request, client), env.needs.get(route))
  if (!decision.allow) {
    st.code = decision.code
    return denyResponse(decision)
  }
  if (!admit.admits(decision.principal.scheme)) {
    // A token is not backed by a store lookup: it would outlive the revocation of its key.
    st.code = admit.tokenDeny.code
    return denyResponse(admit.tokenDeny)
  }
  if (!isAdmin(decision.principal) && !isSelf(decision.principal)) {
    // Authenticated, but not an administrator: the same answer as any missing permission.
    st.code = 'insufficient_permission'
    st.principal = decision.principal
    return denyResponse({
      allow: false, status: 403, code: 'insufficient_permission', reason: 'insufficient_permission', headers: {},
      message: messageOf('insufficient_permission', 'insufficient_permission', permission),
    })
  }
  const principal = decision.principal
  st.principal = principal
  let body: Record<string, unknown> = {}
  if (route.body) {
    body = await readJsonObject(request, maxBodyBytes)
    F.onlyFields(body, new Set(route.body.fields), 'body')
  } else {
    const refusedBody = bodyTypeProblem(request)
    if (refusedBody !== undefined) throw refusedBody
  }
  const op = OPERATIONS.get(route.operationId)
  if (op === undefined) throw NOT_FOUND()
  const opCtx: OpContext = { principal, tenant: principal.tenant, params, body, query: url.searchParams, apiBase: env.apiBase, selfService: isSelf(principal) }
  let response: Response
  try {
    response = await op(opCtx, env.deps)
  } finally {
    if (opCtx.target !== undefined) st.target = opCtx.target
  }
  for (const [k, v] of Object.entries(decision.headers)) response.headers.set(k, v)
  return response
}

/** Answers one API call and audits it, whatever happened. */
export async function apiCall(env: ApiEnv, request: Request, client: unknown, route: AdminRoute, params: ReadonlyMap<string, string>, url: URL): Promise<Response> {
  const at = env.settings.now()
  const st: CallState = {}
  let response: Response
  try {
    response = await answer(env, st, request, client, route, params, url)
  } catch (e) {
    response = env.report.errorResponse(e)
    if (e instanceof Problem) st.code = e.code
    else if (response.status === 400) st.code = 'invalid_field'
    else if (response.status === 404) st.code = 'not_found'
    else if (response.status === 409) st.code = 'conflict'
    else st.code = 'internal_error'
  }
  const { principal, code, target } = st
  await env.report.audit({
    at,
    action: route.operationId,
    outcome: outcomeOf(response.status),
    status: response.status,
    ...(principal === undefined ? {} : { actor: principal.keyId, actorKind: principal.kind }),
    ...(principal?.tenant === undefined ? {} : { tenant: principal.tenant }),
    ...(target === undefined ? {} : { target }),
    ...(code === undefined ? {} : { code }),
  }, request.method)
  return response
}
