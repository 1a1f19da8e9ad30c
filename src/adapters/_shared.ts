/**
 * What the three framework adapters share: argument validation and CORS preflight detection.
 * Nothing here decides anything about a request; the core does.
 * @module
 */
import { knownFields } from '../lib/options.js'
import type { Authorizer } from '../authorize.js'
import { typeError } from '../errors.js'

/**
 * The part of an `Authorizer` an adapter uses. Anything with these two methods (for example a
 * wrapper that logs) can be guarded.
 */
export type GuardAuthorizer<P extends string = string> = Pick<Authorizer<P>, 'authorize' | 'need'>

/** Options every adapter accepts. */
export interface BaseGuardOptions {
  /**
   * Authorize CORS preflight requests (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
   * like any other request. Browsers never send credentials on a preflight, so by default it
   * passes through untouched to the next middleware (your CORS handler), without a principal.
   * @default false
   * @example true
   */
  authorizePreflight?: boolean
}

/** Validated options, as the adapters use them. */
export interface ReadOptions<D> {
  readonly authorizePreflight: boolean
  readonly onDeny: D | undefined
}

/**
 * Validates `guard(authorizer, options)` arguments once, when the guard is created, and copies
 * what it keeps (the caller's object is never mutated or retained). Unknown option names are
 * refused so a typo (`onDenied`) cannot silently drop a custom deny renderer.
 */
export function readGuardOptions<D>(
  authorizer: unknown,
  options: unknown,
  extra: Readonly<Record<string, 'function'>> = {},
): ReadOptions<D> & { readonly extra: Readonly<Record<string, unknown>> } {
  if (authorizer === null || typeof authorizer !== 'object') throw typeError('authorizer', 'must come from createAuthorizer()')
  const a = authorizer as Record<string, unknown>
  if (typeof a.authorize !== 'function' || typeof a.need !== 'function') {
    throw typeError('authorizer', 'must come from createAuthorizer() (authorize and need are missing)')
  }
  if (options === undefined) return { authorizePreflight: false, onDeny: undefined, extra: {} }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw typeError('options', 'must be an object')
  const o = options as Record<string, unknown>
  const known: Record<string, 'boolean' | 'function'> = { authorizePreflight: 'boolean', onDeny: 'function', ...extra }
  knownFields(o, Object.keys(known), 'options')
  const kept: Record<string, unknown> = {}
  for (const [k, type] of Object.entries(known)) {
    const v = o[k]
    if (v !== undefined && typeof v !== type) throw typeError(k, `must be a ${type}`)
    kept[k] = v
  }
  const { authorizePreflight, onDeny, ...rest } = kept
  return {
    authorizePreflight: authorizePreflight === true,
    onDeny: onDeny as D | undefined,
    extra: Object.freeze(rest),
  }
}

/**
 * The request target in origin form (RFC 9112 §3.2.1), as the routers of Express and Koa read
 * it (`parseurl`): an absolute-form target (`GET http://host/p?q`, RFC 9112 §3.2.2) becomes
 * `/p?q`; anything else is kept as received. So the path a tenant function reads is the path the
 * framework routes on. Never throws.
 *
 * @example originForm('http://h/api/x?y=1') // '/api/x?y=1'
 */
export function originForm(target: string): string {
  if (target.charCodeAt(0) === 47) return target // '/': origin form already
  const s = target.indexOf('://')
  if (s <= 0 || !/^[A-Za-z][A-Za-z0-9+.-]*$/.test(target.slice(0, s))) return target
  let end = target.length
  for (const c of ['/', '?', '#']) {
    const i = target.indexOf(c, s + 3)
    if (i >= 0 && i < end) end = i
  }
  const rest = target.slice(end)
  return rest.charCodeAt(0) === 47 ? rest : `/${rest}`
}

/** A request as the preflight check reads it: a Node `IncomingMessage` or a Fetch `Request`. */
export interface PreflightSource {
  readonly method?: string | undefined
  readonly headers: Headers | Readonly<Record<string, unknown>>
}

/**
 * A CORS preflight (Fetch standard §3.2.2): `OPTIONS` carrying both `Origin` and
 * `Access-Control-Request-Method`. Presence is what matters, not the values. The method is
 * compared case-sensitively, as HTTP methods are (RFC 9110 §9.1): `options` is another method.
 * The method is tested first and the headers are read only for an `OPTIONS` (on
 * `@hono/node-server`, reading `headers` builds a Fetch `Headers`). Never throws.
 *
 * @example isPreflight({ method: 'OPTIONS', headers: { origin: 'https://a.test', 'access-control-request-method': 'POST' } }) // true
 */
export function isPreflight(req: PreflightSource): boolean {
  if (req.method !== 'OPTIONS') return false
  const h = req.headers
  if (typeof Headers !== 'undefined' && h instanceof Headers) return h.get('origin') !== null && h.get('access-control-request-method') !== null
  const record = h as Readonly<Record<string, unknown>>
  return record.origin != null && record['access-control-request-method'] != null
}
