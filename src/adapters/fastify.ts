/**
 * `keyward/fastify`: the authorizer as a Fastify 5 plugin and `onRequest` hooks, and the admin
 * handler's mount.
 * @module
 */
import type { TLSSocket } from 'node:tls'
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { knownFields } from '../lib/options.js'
import type { AdminHandler } from '../admin/handler.js'
import type { CompiledNeed } from '../authorize.js'
import { renderDeny } from '../decision.js'
import { quote, typeError } from '../errors.js'
import type { Decision, DenyDecision, Need, Principal } from '../types.js'
import { BAD_REQUEST, checkBasePath, checkHandler, clientOf, toFetchRequest, toReply, type Reply } from './_fetch.js'
import { DEFAULT_ROUTER_PATH, routedTarget, routerPathOptions, type RouterPathOptions } from './_fastify-path.js'
import { isPreflight, readGuardOptions, type BaseGuardOptions, type GuardAuthorizer } from './_shared.js'

declare module 'fastify' {
  // Declaration merging is how Fastify types decorators.
  interface FastifyRequest {
    /**
     * The authenticated caller: set by a keyward hook when it allows the request, `null` on
     * routes no keyward hook guards. Declared by {@link keywardPlugin} (`decorateRequest`).
     */
    principal: Principal | null
  }
  interface FastifyInstance {
    /** `guard(authorizer, options)` of the authorizer given to {@link keywardPlugin}. */
    requireKey: FastifyGuard
  }
  interface FastifyContextConfig {
    /**
     * The route's need, read by {@link keywardPlugin}'s hook: `true` for any valid key, or a
     * permission / `{ permission, operation }`.
     */
    keyward?: Need | true
  }
}

/** Options of the Fastify {@link guard}. */
export interface FastifyGuardOptions extends BaseGuardOptions {
  /**
   * Renders a deny yourself: send a reply (`reply.send(...)`), synchronously or before the
   * returned promise settles. The status and the decision's headers (`WWW-Authenticate`,
   * `Retry-After`, rate-limit) are already on `reply`. If nothing was sent, the standard problem
   * document is. The route handler never runs; a throw goes to Fastify's error handler.
   * @default undefined (send `renderDeny(decision, { accept })`)
   * @example (decision, request, reply) => { reply.send({ error: decision.code }) }
   */
  onDeny?: (decision: DenyDecision, request: FastifyRequest, reply: FastifyReply) => void | Promise<void>
}

/** What `guard()` returns: call it with a route's need to get the `onRequest` hook. */
export type FastifyGuard<P extends string = string> = (need?: Need<P> | CompiledNeed) => onRequestHookHandler

/** Options of {@link keywardPlugin}: the authorizer, and the {@link guard} options. */
export interface KeywardPluginOptions extends FastifyGuardOptions {
  /**
   * What `createAuthorizer()` returned.
   * @example createAuthorizer({ store })
   */
  authorizer: GuardAuthorizer
}

// One cache entry: the router options of the instance seen last (one app per process, mostly).
let seenConfig: unknown
let seenPath: RouterPathOptions = DEFAULT_ROUTER_PATH

/** The router options of the instance a hook runs in (`this`), read once per instance. */
function pathOptionsOf(instance: FastifyInstance | undefined): RouterPathOptions {
  const config: unknown = instance?.initialConfig
  if (config !== seenConfig) {
    seenPath = routerPathOptions(config)
    seenConfig = config
  }
  return seenPath
}

function sendDeny(reply: FastifyReply, d: DenyDecision, accept: string | undefined): void {
  const r = renderDeny(d, { accept })
  // A Buffer, not the string: Fastify appends "; charset=utf-8" to a string's content type, and
  // the bytes must be renderDeny's exactly, as in the Express, Koa and Hono adapters.
  reply.code(r.status).headers(r.headers).send(Buffer.from(r.body))
}

/**
 * Fastify hook factory. `requireKey(need)` is an `onRequest` hook for a route's options: on
 * allow, `request.principal` is set and the route runs; on deny, the reply is
 * `renderDeny(decision, { accept })` byte for byte. The core sees the path Fastify routes on (escapes
 * decoded as its router decodes them, its `ignoreDuplicateSlashes`/`ignoreTrailingSlash`/
 * `useSemicolonDelimiter` applied), so a `tenant` callback reads the same segments as
 * `request.params`, and the socket's peer address (never `request.ip`: keyward resolves proxies
 * itself, through `trustProxy`). A store outage is a 503 reply; only a misused authorizer is an
 * error (Fastify's error handler).
 *
 * Register {@link keywardPlugin} too (or `decorateRequest('principal', null)`), so `principal`
 * is declared on every request before a hook sets it.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { guard, keywardPlugin } from 'keyward/fastify'
 *
 * const app = Fastify()
 * await app.register(keywardPlugin, { authorizer })
 * const requireKey = guard(authorizer)            // or app.requireKey
 * app.get('/scans', { onRequest: requireKey('scans:read') }, async (request) => ({ by: request.principal?.keyId }))
 * ```
 */
export function guard<P extends string = string>(authorizer: GuardAuthorizer<P>, options?: FastifyGuardOptions): FastifyGuard<P>
export function guard(authorizer: GuardAuthorizer, options?: FastifyGuardOptions): FastifyGuard {
  const { authorizePreflight, onDeny } = readGuardOptions<NonNullable<FastifyGuardOptions['onDeny']>>(authorizer, options)

  /** A deny through `onDeny`; the standard one when it sent nothing. */
  async function customDeny(d: DenyDecision, request: FastifyRequest, reply: FastifyReply, render: NonNullable<typeof onDeny>): Promise<void> {
    reply.code(d.status).headers(d.headers)
    await render(d, request, reply)
    if (!reply.sent) sendDeny(reply, d, request.raw.headers.accept)
  }

  /**
   * Acts on a decision. An allow and a standard deny are settled here, synchronously: `done()`
   * runs in the same microtask as the decision. Only `onDeny` can wait. What responding throws
   * goes to `done(err)`; what `done()` throws is Fastify's, as before.
   */
  function settle(d: Decision, request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): Promise<void> | undefined {
    try {
      if (!d.allow) {
        if (onDeny !== undefined) return customDeny(d, request, reply, onDeny).catch(done)
        sendDeny(reply, d, request.raw.headers.accept)
        return undefined
      }
      reply.headers(d.headers)
      request.principal = d.principal
    } catch (e) {
      done(e as Error)
      return undefined
    }
    done()
    return undefined
  }

  return function requireKey(need?: Need | CompiledNeed): onRequestHookHandler {
    // Validated now, at route definition: an unknown permission throws here, not per request.
    const compiled = authorizer.need(need)
    return function keywardGuard(this: FastifyInstance, request, reply, done) {
      const raw = request.raw
      const method = request.method
      if (!authorizePreflight && isPreflight(raw)) {
        done()
        return
      }
      authorizer
        .authorize(
          {
            method,
            // raw.url: the target after any rewriteUrl, which is what the router matched.
            url: routedTarget(raw.url ?? '/', pathOptionsOf(this)),
            // The fields as received: repeats stay apart, and nothing is built per request.
            headers: raw.rawHeaders,
            remoteAddress: raw.socket.remoteAddress,
            secure: (raw.socket as TLSSocket).encrypted === true,
          },
          compiled,
        )
        .then((d) => settle(d, request, reply, done), done)
    }
  }
}

const PLUGIN_OPTIONS = new Set(['authorizer', 'authorizePreflight', 'onDeny'])

/**
 * Needs of `config.keyward`, compiled once per route (the route's config object is the key).
 * `null` marks a route without one.
 */
type NeedCache = WeakMap<object, onRequestHookHandler | null>

function configHook(requireKey: FastifyGuard, cache: NeedCache, config: object): onRequestHookHandler | null {
  let hook = cache.get(config)
  if (hook === undefined) {
    const need = (config as { keyward?: unknown }).keyward
    hook = need === undefined ? null : requireKey(need === true ? undefined : (need as Need))
    cache.set(config, hook)
  }
  return hook
}

function keywardPluginImpl(app: FastifyInstance, options: KeywardPluginOptions, done: (err?: Error) => void): void {
  const { authorizer, ...rest } = options
  let requireKey: FastifyGuard
  try {
    knownFields(options, PLUGIN_OPTIONS, 'options')
    requireKey = guard(authorizer, rest)
  } catch (e) {
    // Fastify fails the registration (and app.ready()) with it; a throw would not reach it.
    done(e as Error)
    return
  }
  app.decorateRequest('principal', null)
  app.decorate('requireKey', requireKey)
  const cache: NeedCache = new WeakMap()
  // A route registered after this plugin has its config need checked at once.
  app.addHook('onRoute', (route) => {
    if (route.config !== undefined && route.config !== null) configHook(requireKey, cache, route.config)
  })
  // One hook for every route, also those registered before the plugin: a route's
  // `config.keyward` is never skipped because of the order of registration.
  app.addHook('onRequest', function keywardConfig(this: FastifyInstance, request, reply, next) {
    const config: unknown = request.routeOptions.config
    const hook = config !== null && typeof config === 'object' ? configHook(requireKey, cache, config) : null
    if (hook === null) next()
    else hook.call(this, request, reply, next)
  })
  done()
}

/**
 * The Fastify plugin (wrapped with `fastify-plugin`, so it applies to the whole app, not only
 * to its own scope). It declares `request.principal` (`decorateRequest`, `null` until a hook
 * allows the request), decorates the app with `requireKey` (`guard(authorizer, options)`), and
 * guards every route whose options carry `config: { keyward: need }` (`true`: any valid key),
 * whichever order the routes and the plugin were registered in. Options are validated at
 * registration; an unknown option is refused.
 *
 * A route without `config.keyward` and without a `requireKey` hook is not guarded: check
 * `app.printRoutes()` or test each route, as with any Fastify auth hook.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { keywardPlugin } from 'keyward/fastify'
 *
 * const app = Fastify()
 * await app.register(keywardPlugin, { authorizer })
 * app.get('/scans', { onRequest: app.requireKey('scans:read') }, async (req) => ({ by: req.principal?.keyId }))
 * app.get('/apps', { config: { keyward: 'apps:read' } }, async (req) => ({ by: req.principal?.keyId }))
 * ```
 */
export const keywardPlugin: FastifyPluginCallback<KeywardPluginOptions> = fp(keywardPluginImpl, {
  fastify: '5.x',
  name: 'keyward',
})

/** Options of the Fastify {@link adminPlugin}. Validated when the plugin is created; never mutated. */
export interface FastifyAdminOptions {
  /**
   * The handler's `basePath`: `basePath` and everything below it are routed to the handler,
   * which answers them all (404 included). It must equal the `basePath` given to
   * `createAdminHandler`. Register the plugin without a `prefix`.
   * @default '/admin'
   * @example '/internal/keys'
   */
  basePath?: string
}

function writeReply(reply: FastifyReply, r: Reply): void {
  reply.code(r.status).headers(r.headers)
  // A Buffer keeps the handler's Content-Type as it is (no charset added); Fastify sets the length.
  if (r.body === undefined) reply.send()
  else reply.send(r.body)
}

/**
 * Mounts an admin handler (`createAdminHandler()`) on Fastify 5, as an encapsulated plugin:
 * `app.register(adminPlugin(admin))`. It routes `basePath` and everything below it, every
 * method, to the handler, and removes Fastify's body parsers in its own scope only: the handler
 * reads the body itself, as a stream, up to its `maxBodyBytes`, and Fastify's `bodyLimit` and
 * JSON parser never touch these routes (the rest of the app keeps them).
 *
 * It passes the handler the method, the URL with the path Fastify routed on, every header field
 * (a repeated field joined with `", "`), and the socket's peer address and TLS state (never
 * `request.ip`: `X-Forwarded-*` is left to the authorizer's `trustProxy`). It sends the handler's
 * status, headers and bytes unchanged. A request it cannot pass on faithfully (`..` or `.`
 * segments, `%2e` spellings, backslashes, a bad Host, a method Fetch refuses) is answered 400
 * without calling the handler. Registered under a `prefix`, it refuses to start: the handler's
 * `basePath` is the whole path.
 *
 * @param handler What `createAdminHandler()` returned.
 * @param options `basePath`, when the handler's is not `'/admin'`.
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { createAdminHandler } from 'keyward/admin'
 * import { adminPlugin } from 'keyward/fastify'
 *
 * const admin = createAdminHandler({ manager, authorizer, basePath: '/internal/keys' })
 * const app = Fastify()
 * await app.register(adminPlugin(admin, { basePath: '/internal/keys' }))
 * ```
 */
export function adminPlugin(handler: AdminHandler, options?: FastifyAdminOptions): FastifyPluginCallback {
  checkHandler(handler)
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) throw typeError('options', 'must be an object')
  knownFields(options ?? {}, ['basePath'], 'options')
  const basePath = checkBasePath(options?.basePath)

  return function keywardAdmin(app, _opts, done) {
    if (app.prefix !== '') {
      done(typeError('prefix', `adminPlugin is registered under ${quote(app.prefix)}: register it without a prefix and set basePath instead`))
      return
    }
    app.removeAllContentTypeParsers()
    // Every body, whatever its type, is left unread for the handler.
    app.addContentTypeParser('*', (_request, _payload, next) => next(null, undefined))
    async function handle(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply): Promise<void> {
      const target = routedTarget(request.raw.url ?? '/', pathOptionsOf(this))
      const fetchRequest = target === undefined ? undefined : toFetchRequest(request.raw, target)
      if (fetchRequest === undefined) writeReply(reply, BAD_REQUEST)
      else writeReply(reply, await toReply(await handler(fetchRequest, clientOf(request.raw))))
      return reply
    }
    app.all(basePath === '' ? '/' : basePath, handle)
    app.all(`${basePath}/*`, handle)
    done()
  }
}
