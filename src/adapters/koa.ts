/**
 * `keyward/koa`: the authorizer as Koa 2/3 middleware, and the admin handler's mount.
 * @module
 */
import { knownFields } from '../lib/options.js'
import type { TLSSocket } from 'node:tls'
import type { Middleware, ParameterizedContext } from 'koa'
import type { AdminHandler } from '../admin/handler.js'
import type { CompiledNeed } from '../authorize.js'
import { renderDeny } from '../decision.js'
import { typeError } from '../errors.js'
import type { DenyDecision, Need, Principal } from '../types.js'
import { BAD_REQUEST, checkBasePath, checkHandler, clientOf, isUnder, splitTarget, toFetchRequest, toReply, type Reply } from './_fetch.js'
import { isPreflight, originForm, readGuardOptions, type BaseGuardOptions, type GuardAuthorizer } from './_shared.js'

/**
 * What the guard adds to `ctx.state`. Use it as Koa's state type (`new Koa<KeywardState>()`) so
 * `ctx.state.principal.keyId` type-checks.
 */
export interface KeywardState {
  /** The authenticated caller. */
  principal: Principal
}

/** Options of the Koa {@link guard}. */
export interface KoaGuardOptions extends BaseGuardOptions {
  /**
   * Renders a deny yourself. The status and the decision's headers (`WWW-Authenticate`,
   * `Retry-After`, rate-limit) are already set; assign `ctx.body`. If the body is left unchanged,
   * the standard problem document is sent. The request never continues downstream.
   * @default undefined (send `renderDeny(decision, { accept })`)
   * @example (decision, ctx) => { ctx.body = { error: decision.code } }
   */
  onDeny?: (decision: DenyDecision, ctx: ParameterizedContext) => void | Promise<void>
}

/** What `guard()` returns: call it with a route's need to get the middleware. */
export type KoaGuard<P extends string = string> = (need?: Need<P> | CompiledNeed) => Middleware<KeywardState>

/** Sets each field of `headers` on the response, as `ctx.set(object)` would, without a copy. */
function setHeaders(ctx: ParameterizedContext, headers: Readonly<Record<string, string>>): void {
  for (const name in headers) ctx.set(name, headers[name]!)
}

/**
 * Koa middleware factory. On allow, `ctx.state.principal` is set and `next()` runs; on deny the
 * status, headers and body are `renderDeny(decision, { accept })`'s exactly (Koa adds no charset). A store
 * outage is a 503 response; only a misused authorizer throws (Koa's error handling then applies).
 *
 * @example
 * ```ts
 * import Koa from 'koa'
 * import { guard, type KeywardState } from 'keyward/koa'
 *
 * const app = new Koa<KeywardState>()
 * app.use(guard(authorizer)('scans:read'))
 * app.use((ctx) => { ctx.body = { by: ctx.state.principal.keyId } })
 * ```
 */
export function guard<P extends string = string>(authorizer: GuardAuthorizer<P>, options?: KoaGuardOptions): KoaGuard<P>
export function guard(authorizer: GuardAuthorizer, options?: KoaGuardOptions): KoaGuard {
  const { authorizePreflight, onDeny } = readGuardOptions<NonNullable<KoaGuardOptions['onDeny']>>(authorizer, options)

  return function requireKey(need?: Need | CompiledNeed): Middleware<KeywardState> {
    // Validated now, at route definition: an unknown permission throws here, not per request.
    const compiled = authorizer.need(need)
    return async function keywardGuard(ctx, next) {
      const req = ctx.req
      if (!authorizePreflight && isPreflight(req)) return next()
      const d = await authorizer.authorize(
        {
          method: ctx.method,
          url: originForm(ctx.originalUrl),
          // The fields as received: repeats stay apart, and nothing is built per request.
          headers: req.rawHeaders,
          // The socket, never ctx.ip/ctx.secure (app.proxy): keyward resolves proxies itself.
          remoteAddress: req.socket.remoteAddress,
          secure: (req.socket as TLSSocket).encrypted === true,
        },
        compiled,
      )
      if (d.allow) {
        // Usually empty (rate-limit fields only with a limiter): nothing copied, nothing set.
        setHeaders(ctx, d.headers)
        ctx.state.principal = d.principal
        return next()
      }
      if (onDeny) {
        const before: unknown = ctx.body
        ctx.status = d.status
        setHeaders(ctx, d.headers)
        await onDeny(d, ctx)
        if (ctx.body !== before && ctx.body != null) return
      }
      const r = renderDeny(d, { accept: req.headers.accept })
      ctx.status = r.status
      // The content-type goes in before the body, so Koa's body setter keeps it as it is.
      setHeaders(ctx, r.headers)
      ctx.body = r.body
    }
  }
}

/** Options of the Koa {@link adminMiddleware}. Validated when the middleware is created; never mutated. */
export interface KoaAdminOptions {
  /**
   * The handler's `basePath`: requests whose path is this or below it go to the handler (which
   * answers them all, 404 included); every other request goes on to the next middleware. Koa
   * has no path mounting of its own, so the mount needs to know it; it must equal the
   * `basePath` given to `createAdminHandler`.
   * @default '/admin'
   * @example '/internal/keys'
   */
  basePath?: string
}

// Koa turns a null body into 204 on other statuses; these are the statuses it sends bodiless anyway.
const EMPTY_STATUS = new Set([204, 205, 304])

function writeReply(ctx: ParameterizedContext, reply: Reply): void {
  ctx.status = reply.status
  // The headers go in before the body, so Koa's body setter keeps the handler's Content-Type
  // (no charset added, no octet-stream) and only sets Content-Length.
  ctx.set({ ...reply.headers })
  ctx.body = reply.body ?? (EMPTY_STATUS.has(reply.status) ? null : Buffer.alloc(0))
}

/**
 * Mounts an admin handler (`createAdminHandler()`) on Koa 2 or 3. Requests under `basePath`
 * (matched on `ctx.originalUrl`, so it also works inside `koa-mount` or a router) are answered by
 * the handler, 404 included, and never reach the next middleware; all others pass through.
 *
 * It passes the handler the request as the client sent it: the method, the full URL, every
 * header field (a repeated field reaches the handler joined with `", "`), the body as a stream
 * that the handler reads only up to its `maxBodyBytes`, and the socket's peer address and TLS
 * state (never `ctx.ip`/`app.proxy`: `X-Forwarded-*` is left to the authorizer's `trustProxy`).
 * It sets the handler's status, headers and body unchanged: Koa adds no charset and no type.
 *
 * It needs no body parser. If one has already read a request's body (a body parser used before
 * it), a call that carries a body is refused: it throws an error with
 * `code: 'KEYWARD_BODY_CONSUMED'` and `status: 500`, `expose: false`, so Koa emits `error` and
 * answers a plain 500. The parsed `ctx.request.body` is never re-serialised: the admin API acts
 * only on the bytes the client sent. Calls without a body work either way.
 *
 * A request under `basePath` that it cannot pass on faithfully is answered 400 without calling
 * the handler: a path the URL parser would read differently from the raw path (`..` or `.`
 * segments, `%2e` spellings, backslashes), a missing or malformed Host, a method Fetch refuses.
 *
 * @param handler What `createAdminHandler()` returned.
 * @param options `basePath`, when the handler's is not `'/admin'`.
 * @example
 * ```ts
 * import Koa from 'koa'
 * import { createAdminHandler } from 'keyward/admin'
 * import { adminMiddleware } from 'keyward/koa'
 *
 * const admin = createAdminHandler({ manager, authorizer, basePath: '/internal/keys' })
 * const app = new Koa()
 * app.use(adminMiddleware(admin, { basePath: '/internal/keys' }))   // before any body parser
 * ```
 */
export function adminMiddleware(handler: AdminHandler, options?: KoaAdminOptions): Middleware {
  checkHandler(handler)
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) throw typeError('options', 'must be an object')
  knownFields(options ?? {}, ['basePath'], 'options')
  const basePath = checkBasePath(options?.basePath)

  return async function keywardAdmin(ctx, next) {
    const target = ctx.originalUrl
    const parts = splitTarget(target)
    if (parts === undefined || !isUnder(parts.path, basePath)) return next()
    const request = toFetchRequest(ctx.req, target)
    if (request === undefined) {
      writeReply(ctx, BAD_REQUEST)
      return
    }
    writeReply(ctx, await toReply(await handler(request, clientOf(ctx.req))))
  }
}
