/**
 * `keyward/hono`: the authorizer as Hono 4 middleware.
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono'
import type { CompiledNeed } from '../authorize.js'
import { renderDeny } from '../decision.js'
import type { DenyDecision, Need, Principal } from '../types.js'
import { isPreflight, readGuardOptions, type BaseGuardOptions, type GuardAuthorizer } from './_shared.js'

/**
 * The Hono `Env` the guard provides: `c.get('principal')` is a `Principal`. Routes that list the
 * guard as a handler get it inferred; for `app.use(...)`, create the app as `new Hono<KeywardEnv>()`.
 */
export type KeywardEnv<P extends string = string> = { Variables: { principal: Principal<P> } }

/** Where the request came from, as the runtime knows it. */
export interface ClientInfo {
  /** The connection's peer address (not a forwarded header). */
  remoteAddress?: string
  /** `true` if the connection itself is TLS. */
  secure?: boolean
}

/** Options of the Hono {@link guard}. */
export interface HonoGuardOptions extends BaseGuardOptions {
  /**
   * Renders a deny yourself: return a `Response`. The status and the decision's headers
   * (`WWW-Authenticate`, `Retry-After`, rate-limit) are already set on `c`, so `c.json(...)` keeps
   * them. If it returns anything but a `Response`, the standard problem document is sent.
   * @default undefined (send `renderDeny(decision, { accept })`)
   * @example (decision, c) => c.json({ error: decision.code })
   */
  onDeny?: (decision: DenyDecision, c: Context) => Response | Promise<Response>
  /**
   * The peer address and TLS state of the connection. The default reads the Node socket that
   * `@hono/node-server` passes in `c.env.incoming` (what its `getConnInfo` reads); on other
   * runtimes supply it (Bun: `server.requestIP(c.req.raw)`, Deno: `info.remoteAddr`). Without an
   * address, keys with an allowlist are denied (fail closed); without `secure`, `requireTls` denies.
   * @default reads `c.env.incoming.socket` (`@hono/node-server`)
   * @example (c) => ({ remoteAddress: c.env.requestIP(c.req.raw)?.address, secure: true })
   */
  clientInfo?: (c: Context) => ClientInfo
}

/** What `guard()` returns: call it with a route's need to get the middleware. */
export type HonoGuard<P extends string = string> = (need?: Need<P> | CompiledNeed) => MiddlewareHandler<KeywardEnv<P>>

interface NodeIncoming {
  rawHeaders?: unknown
  headers?: { accept?: unknown }
  url?: unknown
  socket?: { remoteAddress?: unknown; encrypted?: unknown }
}
interface NodeBindings {
  incoming?: NodeIncoming
}

/**
 * The Node request under `@hono/node-server` (`c.env.incoming`), found the way its `getConnInfo`
 * finds it, without importing that package: on Bun, Deno or Workers it may be absent, and this
 * module must still load there.
 */
function nodeIncoming(c: Context): NodeIncoming | undefined {
  const env = c.env as (NodeBindings & { server?: NodeBindings }) | undefined
  const incoming = (env?.server ?? env)?.incoming
  return incoming !== null && typeof incoming === 'object' ? incoming : undefined
}

/**
 * Node's `rawHeaders` when running on `@hono/node-server`, else the Fetch `Headers`. Both hold
 * the same fields, but `Headers` joins a repeated field into one value, which changes which
 * scheme the core finds malformed (and so the challenge on the 400); reading the fields as
 * received keeps Hono's answer byte-identical to Express's and Koa's. It is also cheaper: the
 * node-server builds the Fetch `Headers` only when something asks for it.
 */
function headersOf(incoming: NodeIncoming | undefined, c: Context): Headers | readonly string[] {
  const raw = incoming?.rawHeaders
  return Array.isArray(raw) ? raw : c.req.raw.headers
}

/** The `Accept` field, for the deny's format: Node's parsed value on the node-server, else the Fetch `Headers`. */
function acceptOf(incoming: NodeIncoming | undefined, c: Context): string | undefined {
  const a = incoming?.headers?.accept
  if (typeof a === 'string') return a
  return incoming?.headers !== undefined ? undefined : (c.req.raw.headers.get('accept') ?? undefined)
}

/**
 * The target the core sees: the path Hono routed on (`c.req.path`, after the node-server parsed
 * the request target as a WHATWG URL: dot segments, `%2e%2e` and backslashes resolved) and the
 * query as received. Never the raw target: `/t/A/../B/x` is routed to B, so a tenant function
 * reading the raw target would authorize it for A.
 */
function targetOf(c: Context, incoming: NodeIncoming | undefined): string {
  const path = c.req.path
  const full = typeof incoming?.url === 'string' ? incoming.url : c.req.raw.url
  const q = full.indexOf('?')
  if (q < 0) return path
  const h = full.indexOf('#')
  return h >= 0 && h < q ? path : path + full.slice(q)
}

/**
 * Hono middleware factory. On allow, `c.get('principal')` is the caller (typed) and the
 * decision's rate-limit headers are added to the route's response; on deny, the response is
 * `renderDeny(decision, { accept })`. A store outage is a 503 response.
 *
 * On `@hono/node-server` the headers are read as received (Node's `rawHeaders`), as the
 * Express and Koa adapters read them. Elsewhere they come from the Fetch `Headers`, which joins a
 * repeated field with ", "; the credential grammars refuse joined values, so a repeated
 * credential is still a 400.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { guard } from 'keyward/hono'
 *
 * const requireKey = guard(authorizer)
 * const app = new Hono()
 * app.get('/scans', requireKey('scans:read'), (c) => c.json({ by: c.get('principal').keyId }))
 * ```
 */
export function guard<P extends string = string>(authorizer: GuardAuthorizer<P>, options?: HonoGuardOptions): HonoGuard<P>
export function guard(authorizer: GuardAuthorizer, options?: HonoGuardOptions): HonoGuard {
  const { authorizePreflight, onDeny, extra } = readGuardOptions<NonNullable<HonoGuardOptions['onDeny']>>(authorizer, options, {
    clientInfo: 'function',
  })
  const clientInfo = extra.clientInfo as HonoGuardOptions['clientInfo']

  return function requireKey(need?: Need | CompiledNeed): MiddlewareHandler<KeywardEnv> {
    // Validated now, at route definition: an unknown permission throws here, not per request.
    const compiled = authorizer.need(need)
    return async function keywardGuard(c, next) {
      const raw = c.req.raw
      const method = raw.method
      // isPreflight reads the headers only for an OPTIONS: reading them makes the node-server
      // build a Fetch Headers.
      if (!authorizePreflight && isPreflight(raw)) {
        await next()
        return
      }
      // The Node request, looked up once: the peer, the fields and the target all come from it.
      const incoming = nodeIncoming(c)
      let remoteAddress: string | undefined
      let secure: boolean
      if (clientInfo === undefined) {
        // The default: the socket `@hono/node-server` passes (what its getConnInfo reads).
        const socket = incoming?.socket
        const addr = socket?.remoteAddress
        remoteAddress = typeof addr === 'string' ? addr : undefined
        secure = socket?.encrypted === true
      } else {
        const info = clientInfo(c)
        remoteAddress = info?.remoteAddress
        secure = info?.secure === true
      }
      // The path Hono routes on, never the raw target (see targetOf).
      const url = targetOf(c, incoming)
      const d = await authorizer.authorize({ method, url, headers: headersOf(incoming, c), remoteAddress, secure }, compiled)
      if (d.allow) {
        c.set('principal', d.principal)
        await next()
        // After the route: its Response may be a fresh object; c.header() copies onto it.
        for (const name in d.headers) c.header(name, d.headers[name])
        return
      }
      if (onDeny) {
        c.status(d.status)
        for (const name in d.headers) c.header(name, d.headers[name])
        const custom: unknown = await onDeny(d, c)
        if (custom instanceof Response) return custom
      }
      const r = renderDeny(d, { accept: acceptOf(incoming, c) })
      return c.body(r.body, d.status, r.headers)
    }
  }
}
