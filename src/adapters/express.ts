/**
 * `keyward/express`: the authorizer as Express 4/5 middleware, and the admin handler's mount.
 * @module
 */
import type { TLSSocket } from 'node:tls'
import type { NextFunction, Request, Response } from 'express'
import type { AdminHandler } from '../admin/handler.js'
import type { CompiledNeed } from '../authorize.js'
import { renderDeny } from '../decision.js'
import type { Decision, DenyDecision, Need, Principal } from '../types.js'
import { BAD_REQUEST, checkHandler, clientOf, toFetchRequest, toReply, type Reply } from './_fetch.js'
import { isPreflight, originForm, readGuardOptions, type BaseGuardOptions, type GuardAuthorizer } from './_shared.js'

declare global {
  // Declaration merging is how Express types request properties added by middleware.
  namespace Express {
    interface Request {
      /** The authenticated caller, set by a `keyward/express` guard when it allows the request. */
      principal?: Principal
    }
  }
}

/** Options of the Express {@link guard}. */
export interface ExpressGuardOptions extends BaseGuardOptions {
  /**
   * Renders a deny yourself. The status and the decision's headers (`WWW-Authenticate`,
   * `Retry-After`, rate-limit) are already on `res`; send a body (`res.json(...)`) synchronously
   * or before the returned promise settles. If nothing was sent, the standard problem document
   * is. The request never continues to the route; a throw goes to `next(err)`.
   * @default undefined (send `renderDeny(decision, { accept })`)
   * @example (decision, req, res) => { res.json({ error: decision.code }) }
   */
  onDeny?: (decision: DenyDecision, req: Request, res: Response) => void | Promise<void>
}

/**
 * The middleware. Generic over Express's request parameters so that, in
 * `app.post('/apps/:appId/scans', requireKey('scans:manage'), handler)`, the route string still
 * types `req.params.appId` in `handler` (a plain `RequestHandler` would widen it to any string).
 */
export interface KeywardMiddleware {
  <P, ResBody, ReqBody, ReqQuery, Locals extends Record<string, unknown>>(
    req: Request<P, ResBody, ReqBody, ReqQuery, Locals>,
    res: Response<ResBody, Locals>,
    next: NextFunction,
  ): void
}

/** What `guard()` returns: call it with a route's need to get the middleware. */
export type ExpressGuard<P extends string = string> = (need?: Need<P> | CompiledNeed) => KeywardMiddleware

function setHeaders(res: Response, headers: Readonly<Record<string, string>>): void {
  for (const name in headers) res.setHeader(name, headers[name]!)
}

/**
 * Express 4/5 middleware factory. On allow, `req.principal` is set and the route runs; on deny,
 * the response is `renderDeny(decision, { accept })` byte for byte. A store outage is a 503 response, not an
 * error; only a misused authorizer (a rejected `authorize`) goes to `next(err)`.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { guard } from 'keyward/express'
 *
 * const requireKey = guard(authorizer)
 * app.get('/scans', requireKey('scans:read'), (req, res) => { res.json({ by: req.principal?.keyId }) })
 * app.use('/admin', requireKey('global-blackouts:manage'))
 * ```
 */
export function guard<P extends string = string>(authorizer: GuardAuthorizer<P>, options?: ExpressGuardOptions): ExpressGuard<P>
export function guard(authorizer: GuardAuthorizer, options?: ExpressGuardOptions): ExpressGuard {
  const { authorizePreflight, onDeny } = readGuardOptions<NonNullable<ExpressGuardOptions['onDeny']>>(authorizer, options)

  /** Sends `renderDeny(d, { accept })`, byte for byte. */
  function sendDeny(d: DenyDecision, req: Request, res: Response): void {
    const r = renderDeny(d, { accept: req.headers.accept })
    res.statusCode = r.status
    setHeaders(res, r.headers)
    // res.end, not res.send: send() appends "; charset=utf-8" and an ETag, and the bytes must be
    // renderDeny's exactly, as in the Koa and Hono adapters.
    res.setHeader('content-length', Buffer.byteLength(r.body))
    res.end(r.body)
  }

  /** A deny through `onDeny`; the standard one when it sent nothing. */
  async function customDeny(d: DenyDecision, req: Request, res: Response, render: NonNullable<typeof onDeny>): Promise<void> {
    res.statusCode = d.status
    setHeaders(res, d.headers)
    await render(d, req, res)
    if (!res.headersSent && !res.writableEnded) sendDeny(d, req, res)
  }

  /**
   * Acts on a decision. An allow and a standard deny are settled here, synchronously: `next()`
   * runs in the same microtask as the decision, with no promise of its own. Only `onDeny` can
   * wait. What responding throws goes to `next(err)`; what `next()` throws is Express's, as before.
   */
  function settle(d: Decision, req: Request, res: Response, next: NextFunction): Promise<void> | undefined {
    try {
      if (!d.allow) {
        if (onDeny !== undefined) return customDeny(d, req, res, onDeny).catch(next)
        sendDeny(d, req, res)
        return undefined
      }
      setHeaders(res, d.headers)
      req.principal = d.principal
    } catch (e) {
      next(e)
      return undefined
    }
    next()
    return undefined
  }

  return function requireKey(need?: Need | CompiledNeed): KeywardMiddleware {
    // Validated now, at route definition: an unknown permission throws here, not per request.
    const compiled = authorizer.need(need)
    function keywardGuard(req: Request, res: Response, next: NextFunction): void {
      if (!authorizePreflight && isPreflight(req)) {
        next()
        return
      }
      authorizer
        .authorize(
          {
            method: req.method,
            url: originForm(req.originalUrl),
            // The fields as received: repeats stay apart (req.headers drops a second
            // Authorization), and unlike headersDistinct nothing is built per request.
            headers: req.rawHeaders,
            // The socket's peer, never req.ip: keyward resolves proxies itself (trustProxy).
            remoteAddress: req.socket.remoteAddress,
            secure: (req.socket as TLSSocket).encrypted === true,
          },
          compiled,
        )
        .then((d) => settle(d, req, res, next), next)
    }
    // It never reads req.params, req.body or res.locals, so it fits every route's type parameters.
    return keywardGuard as KeywardMiddleware
  }
}

/** What {@link adminMiddleware} returns: Express 4/5 middleware that answers every request it is given. */
export type AdminMiddleware = (req: Request, res: Response, next: NextFunction) => void

function writeReply(res: Response, reply: Reply): void {
  res.statusCode = reply.status
  for (const name in reply.headers) res.setHeader(name, reply.headers[name]!)
  // res.end, not res.send: send() would add a charset and an ETag to the handler's bytes.
  if (reply.body === undefined) {
    res.end()
    return
  }
  res.setHeader('content-length', reply.body.byteLength)
  res.end(reply.body)
}

/**
 * Mounts an admin handler (`createAdminHandler()`) on Express 4 or 5. Mount it with
 * `app.use(basePath, …)`, where `basePath` is the handler's (`'/admin'` by default): it answers
 * every request Express routes to it, 404 included, and never calls the next route.
 *
 * It passes the handler the request as the client sent it: the method, the full URL
 * (`req.originalUrl`, so the mount path is kept and a rewrite of `req.url` is ignored), every
 * header field (a repeated field reaches the handler joined with `", "`), the body as a stream
 * that the handler reads only up to its `maxBodyBytes`, and the socket's peer address and TLS
 * state (`req.ip` and `X-Forwarded-*` are left to the authorizer's `trustProxy`). It writes the
 * handler's status, headers and body back unchanged (`Content-Length` is set from the bytes).
 *
 * It needs no body parser. If one has already read a request's body (`express.json()` mounted
 * before it), a call that carries a body is refused: an error with
 * `code: 'KEYWARD_BODY_CONSUMED'` and `status: 500` goes to `next(err)`, so your error handler
 * logs it and Express answers 500. The parsed `req.body` is never re-serialised: the admin API
 * acts only on the bytes the client sent. Calls without a body (reads, `activate`,
 * `deactivate`, `DELETE`) work either way.
 *
 * A request it cannot pass on faithfully is answered 400 without calling the handler: a path the
 * URL parser would read differently from Express's router (`..` or `.` segments, `%2e`
 * spellings, backslashes), a missing or malformed Host, a method Fetch refuses (`TRACE`).
 *
 * @param handler What `createAdminHandler()` returned.
 * @example
 * ```ts
 * import express from 'express'
 * import { createAdminHandler } from 'keyward/admin'
 * import { adminMiddleware } from 'keyward/express'
 *
 * const admin = createAdminHandler({ manager, authorizer })   // basePath: '/admin'
 * const app = express()
 * app.use('/admin', adminMiddleware(admin))                    // before express.json()
 * app.use(express.json())
 * ```
 */
export function adminMiddleware(handler: AdminHandler): AdminMiddleware {
  checkHandler(handler)
  return function keywardAdmin(req: Request, res: Response, next: NextFunction): void {
    let request: ReturnType<typeof toFetchRequest>
    try {
      request = toFetchRequest(req, req.originalUrl)
    } catch (e) {
      next(e)
      return
    }
    if (request === undefined) {
      writeReply(res, BAD_REQUEST)
      return
    }
    handler(request, clientOf(req))
      .then(toReply)
      .then((reply) => writeReply(res, reply))
      .catch(next)
  }
}
