/**
 * `keyward/koa`: the authorizer as Koa 2/3 middleware.
 * @module
 */
import type { TLSSocket } from 'node:tls'
import type { Middleware, ParameterizedContext } from 'koa'
import type { CompiledNeed } from '../authorize.js'
import { renderDeny } from '../decision.js'
import type { DenyDecision, Need, Principal } from '../types.js'
import { isPreflight, readGuardOptions, type BaseGuardOptions, type GuardAuthorizer } from './_shared.js'

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
   * @default undefined (send `renderDeny(decision)`)
   * @example (decision, ctx) => { ctx.body = { error: decision.code } }
   */
  onDeny?: (decision: DenyDecision, ctx: ParameterizedContext) => void | Promise<void>
}

/** What `guard()` returns: call it with a route's need to get the middleware. */
export type KoaGuard = (need?: Need | CompiledNeed) => Middleware<KeywardState>

/**
 * Koa middleware factory. On allow, `ctx.state.principal` is set and `next()` runs; on deny the
 * status, headers and body are `renderDeny(decision)`'s exactly (Koa adds no charset). A store
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
export function guard(authorizer: GuardAuthorizer, options?: KoaGuardOptions): KoaGuard {
  const { authorizePreflight, onDeny } = readGuardOptions<NonNullable<KoaGuardOptions['onDeny']>>(authorizer, options)

  return function requireKey(need?: Need | CompiledNeed): Middleware<KeywardState> {
    // Validated now, at route definition: an unknown permission throws here, not per request.
    const compiled = authorizer.need(need)
    return async function keywardGuard(ctx, next) {
      const req = ctx.req
      if (!authorizePreflight && isPreflight(ctx.method, req.headers.origin, req.headers['access-control-request-method'])) return next()
      const d = await authorizer.authorize(
        {
          method: ctx.method,
          url: ctx.originalUrl,
          headers: req.headersDistinct,
          // The socket, never ctx.ip/ctx.secure (app.proxy): keyward resolves proxies itself.
          remoteAddress: req.socket.remoteAddress,
          secure: (req.socket as TLSSocket).encrypted === true,
        },
        compiled,
      )
      if (d.allow) {
        ctx.set({ ...d.headers })
        ctx.state.principal = d.principal
        return next()
      }
      if (onDeny) {
        const before: unknown = ctx.body
        ctx.status = d.status
        ctx.set({ ...d.headers })
        await onDeny(d, ctx)
        if (ctx.body !== before && ctx.body != null) return
      }
      const r = renderDeny(d)
      ctx.status = r.status
      // The content-type goes in before the body, so Koa's body setter keeps it as it is.
      ctx.set({ ...r.headers })
      ctx.body = r.body
    }
  }
}
