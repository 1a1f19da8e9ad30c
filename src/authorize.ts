/**
 * `createAuthorizer`: the decision engine. Everything a server needs to decide one request,
 * with no framework involved.
 *
 * The checks run in a fixed order, and the first failure decides:
 * transport → extraction → format/checksum → store lookup → active/group/owner →
 * expiry/rotation → tenant → client address → permission → explicit grant → rate limit.
 * @module
 */
import { extractor } from './_extract.js'
import { collectHeaders, type HeaderValues } from './_headers.js'
import { needCompiler, type CompiledNeed } from './_needs.js'
import { Breaker, type BreakerOptions } from './_breaker.js'
import * as opt from './_options.js'
import { Toucher } from './_touch.js'
import { codeOf, messageOf, STATUS_OF } from './decision.js'
import { quote, rangeError, typeError } from './errors.js'
import { BAD_CHECKSUM, keyShape } from './keys/format.js'
import { createHasher, type Pepper } from './keys/hash.js'
import { allowlistHas, compileAllowlist, type Allowlist } from './net/_ip.js'
import { createNetPolicy, type ClientAddress, type NetPolicy } from './net/proxy.js'
import { KeyPrincipal, type PrincipalFields } from './principal.js'
import { insightAppSecRoles, type InsightAppSecPermission, type PermissionSet, type Roles } from './roles.js'
import type { BearerError, Extraction, Scheme, TokenIdentity } from './schemes/_scheme.js'
import { apiKeyHeader } from './schemes/api-key.js'
import type {
  AllowDecision,
  AuthRequest,
  Decision,
  DecisionEvent,
  DenyDecision,
  DenyReason,
  KeyGroup,
  KeyRecord,
  KeyStore,
  Need,
  OwnerRecord,
  RateLimiter,
  RateLimitSpec,
} from './types.js'

export type { CompiledNeed } from './_needs.js'

/** Options of {@link createAuthorizer}. Validated when the authorizer is created. */
export interface AuthorizerOptions<P extends string = string> {
  /**
   * Where keys are looked up (required).
   * @example new MemoryKeyStore()
   */
  store: KeyStore
  /**
   * The credential schemes accepted. A request presenting two of them is refused (400).
   * @default [schemes.apiKeyHeader()]
   * @example [schemes.apiKeyHeader(), schemes.bearer()]
   */
  schemes?: readonly Scheme[]
  /**
   * The role matrix.
   * @default insightAppSecRoles
   * @example defineRoles({ levels: ['read', 'write'], roles: { viewer: ['reports:read'] } })
   */
  roles?: Roles<P>
  /**
   * HMAC key for hashing keys; must match the `KeyManager`'s. At least 32 bytes.
   * @default undefined (plain SHA-256)
   * @example process.env.KEYWARD_PEPPER
   */
  pepper?: Pepper | undefined
  /**
   * The tenant a request addresses (from its host, path or a header). When set, a key is only
   * accepted in its own tenant; a request whose tenant is `undefined` is refused.
   * @default undefined (single-tenant: key tenants are not compared)
   * @example (req) => new URL(req.url ?? '/', 'http://x').pathname.split('/')[2]
   */
  tenant?: (request: AuthRequest) => string | undefined
  /**
   * CIDRs of the proxies whose `X-Forwarded-For`/`X-Forwarded-Proto` are believed.
   * @default undefined (none: forwarded headers are ignored)
   * @example ['10.0.0.0/8']
   */
  trustProxy?: readonly string[]
  /**
   * Refuse plain HTTP (403 `insecure_transport`) before any key is looked at.
   * @default false
   * @example true
   */
  requireTls?: boolean
  /**
   * Every route's operation must be granted to the key explicitly, for every key kind (admins and
   * Org keys too), as AttackForge's Self-Service API does. A route that names no operation is denied.
   * @default false
   * @example true
   */
  explicitGrants?: boolean
  /**
   * Per-key rate limiter.
   * @default undefined (no limit)
   * @example tokenBucket({ capacity: 100, refillPerSecond: 10 })
   */
  rateLimiter?: RateLimiter
  /**
   * `realm` of the `WWW-Authenticate` challenges (RFC 9110 §11.5).
   * @default 'api'
   * @example 'acme-api'
   */
  realm?: string
  /**
   * A store call that takes longer fails the request with 503 (fail closed).
   * @default 2000
   * @example 500
   */
  storeTimeoutMs?: number
  /**
   * Circuit breaker on store failures, or `false` to disable.
   * @default { threshold: 5, cooldownMs: 2000 }
   * @example { threshold: 10, cooldownMs: 5000 }
   */
  breaker?: BreakerOptions | false
  /**
   * Tell clients that a key is disabled or expired (codes `key_disabled`/`key_expired`) instead
   * of the generic `invalid_credentials`.
   * @default false
   * @example true
   */
  exposeReasons?: boolean
  /**
   * Receives every decision, allowed or denied, for logs and audit. Never holds a key, a hash or
   * a query string. Exceptions thrown here are swallowed. The second argument is the very
   * `Decision` object `authorize()` resolves to (so a wrapper such as `keyward/otel`'s
   * `instrument()` can match the event to its call); log the event, not the decision.
   * @default undefined
   * @example (e) => logger.info(e)
   */
  onDecision?: (event: DecisionEvent, decision: Decision) => void
  /**
   * How often last-used times are written to the store (`touch`), in milliseconds; 0 disables.
   * @default 60_000
   * @example 5_000
   */
  touchIntervalMs?: number
  /**
   * Clock, epoch milliseconds.
   * @default Date.now
   * @example () => clock.now
   */
  now?: () => number
}

/**
 * The object returned by {@link createAuthorizer}. `P` is its role matrix's permission strings:
 * `authorize()` and `need()` refuse others at compile time (`string` when not known statically).
 */
export interface Authorizer<P extends string = string> {
  /**
   * Decides one request. Resolves to a `Decision`; it only rejects on misuse (an invalid `need`,
   * a request that is not an object), never because of what the client sent.
   */
  authorize(request: AuthRequest, need?: Need<P> | CompiledNeed): Promise<Decision<P>>
  /** Validates and pre-parses a `need` once (adapters do this when a route is defined). */
  need(need?: Need<P> | CompiledNeed): CompiledNeed
  /** The role matrix in use. */
  readonly roles: Roles<P>
  /** The realm of the challenges. */
  readonly realm: string
  /** The configured schemes. */
  readonly schemes: readonly Scheme[]
  /** Writes pending last-used times and stops the timer. */
  close(): Promise<void>
}

interface Compiled {
  /** The record object this was compiled from. */
  record: KeyRecord
  allow: Allowlist | undefined
  scopes: PermissionSet | undefined
  grants: ReadonlySet<string>
  grantList: readonly string[]
  effRole: string | undefined
  eff: PermissionSet | undefined
  /** The last subject built from this record, and the group object it was built with (see `subjectOf`). */
  subject: Subject | undefined
  subjectGroup: KeyGroup | undefined
}

/**
 * What the post-authentication checks need, whatever the scheme. Read-only: a key's subject is
 * built once and shared by every request made with that key (see `subjectOf`).
 */
interface Subject extends PrincipalFields {
  readonly keyId: string
  readonly kind: 'user' | 'org'
  readonly tenant: string | undefined
  readonly owner: string | undefined
  readonly role: string | undefined
  readonly group: string | undefined
  readonly perms: PermissionSet
  readonly grants: ReadonlySet<string>
  readonly grantList: readonly string[]
  readonly lists: readonly (Allowlist | undefined)[]
  readonly rateLimit: RateLimitSpec | undefined
  readonly metadata: Readonly<Record<string, unknown>> | undefined
}

const FAIL = Symbol('store failure')
/** Rate-limit header fields and the `RateLimitResult` fields they show. */
const RATE_HEADERS = [
  ['ratelimit-limit', 'limit'],
  ['ratelimit-remaining', 'remaining'],
  ['ratelimit-reset', 'resetSec'],
] as const
const TIMEOUT = new Error('timeout')
const RESOLVED = Promise.resolve()
type Failed = { readonly [FAIL]: true; readonly retryAfterSec: number; readonly detail: string }
/**
 * Every store failure made, known by identity: telling a failure from an answer must not touch the
 * answer (a revoked Proxy throws even on `in`).
 */
const FAILURES = new WeakSet<object>()
function failure(retryAfterSec: number, detail: string): Failed {
  const f: Failed = { [FAIL]: true, retryAfterSec, detail }
  FAILURES.add(f)
  return f
}


/**
 * One request's state while it is decided. A class with every field set in the constructor, so
 * all contexts share one shape (fields added later would change it on the hot path).
 */
class Ctx {
  scheme: Scheme | undefined = undefined
  keyId: string | undefined = undefined
  tenant: string | undefined = undefined
  client: ClientAddress | undefined = undefined
  /** Set by a passing `checkRecord`: the key's group and owner as the store answered. */
  group: KeyGroup | undefined = undefined
  owner: OwnerRecord | undefined = undefined
  /** Set only after a store failure: a peeked answer not yet reported to the breaker. */
  owed: { paid: boolean } | undefined = undefined
  /** Set once the request's tenant was compared with the key's (right after the key lookup). */
  tenantDone = false
  constructor(
    readonly request: AuthRequest,
    readonly values: HeaderValues,
    readonly at: number,
    readonly t0: number,
    readonly need: CompiledNeed,
  ) {}
}

/** Query and fragment never reach logs: keys in URLs must not be written anywhere. */
function pathOf(url: string | undefined): string | undefined {
  if (typeof url !== 'string') return undefined
  let end = url.length
  const q = url.indexOf('?')
  if (q >= 0) end = q
  const h = url.indexOf('#')
  if (h >= 0 && h < end) end = h
  let path = url.slice(0, end)
  const scheme = path.indexOf('://')
  if (scheme > 0 && scheme < 10) {
    const slash = path.indexOf('/', scheme + 3)
    path = slash < 0 ? '/' : path.slice(slash)
  }
  return path.length > 2048 ? path.slice(0, 2048) : path
}

/** Every field of {@link AuthorizerOptions}: any other name is refused (a typo never falls back to a default). */
const AUTHORIZER_FIELDS = opt.fieldsOf<AuthorizerOptions>({
  store: true, schemes: true, roles: true, pepper: true, tenant: true, trustProxy: true, requireTls: true,
  explicitGrants: true, rateLimiter: true, realm: true, storeTimeoutMs: true, breaker: true, exposeReasons: true,
  onDecision: true, touchIntervalMs: true, now: true,
})
const BREAKER_FIELDS = opt.fieldsOf<BreakerOptions>({ threshold: true, cooldownMs: true, onStateChange: true })

/**
 * Creates an authorizer. All options are validated here: a bad CIDR, an unknown scheme object,
 * a missing store or a bad number throws a `TypeError`/`RangeError` naming the field.
 *
 * @example
 * ```ts
 * import { createAuthorizer, schemes, MemoryKeyStore, KeyManager } from 'keyward'
 *
 * const store = new MemoryKeyStore()
 * const manager = new KeyManager(store)
 * const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
 *
 * const authorizer = createAuthorizer({ store, schemes: [schemes.apiKeyHeader()] })
 * const decision = await authorizer.authorize(
 *   { method: 'POST', url: '/scans', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' },
 *   'scans:manage',
 * )
 * decision.allow // true
 * ```
 */
export function createAuthorizer<P extends string = InsightAppSecPermission>(options: AuthorizerOptions<P>): Authorizer<P>
export function createAuthorizer(options: AuthorizerOptions): Authorizer {
  const o = opt.options(options, 'options', AUTHORIZER_FIELDS)
  const store = o.store
  if (store === null || typeof store !== 'object' || typeof store.findByHash !== 'function') {
    throw typeError('store', 'is required and must implement findByHash(hash)')
  }
  for (const m of ['peekByHash', 'peekGroup', 'peekOwner'] as const) {
    if (store[m] !== undefined && typeof store[m] !== 'function') throw typeError(`store.${m}`, 'must be a function when present (see KeyStore)')
  }
  const schemeList = o.schemes === undefined ? [apiKeyHeader()] : o.schemes
  if (!Array.isArray(schemeList) || schemeList.length === 0) throw typeError('schemes', 'must be a non-empty array of schemes')
  const names = new Set<string>()
  schemeList.forEach((s: Scheme, i) => {
    if (s === null || typeof s !== 'object' || typeof s.extract !== 'function' || typeof s.challenge !== 'function' || !Array.isArray(s.headers)) {
      throw typeError(`schemes[${i}]`, 'is not a scheme (use the schemes.* factories)')
    }
    if (names.has(s.name)) throw rangeError(`schemes[${i}]`, `scheme ${quote(s.name)} is configured twice`)
    names.add(s.name)
  })
  const roles = o.roles ?? insightAppSecRoles
  if (roles === null || typeof roles !== 'object' || typeof roles.permissionsOf !== 'function') throw typeError('roles', 'must come from defineRoles()')
  if (o.tenant !== undefined && typeof o.tenant !== 'function') throw typeError('tenant', 'must be a function (request) => string | undefined')
  const requireTls = opt.boolean(o.requireTls, 'requireTls')
  const explicitGrants = opt.boolean(o.explicitGrants, 'explicitGrants')
  const exposeReasons = opt.boolean(o.exposeReasons, 'exposeReasons')
  const realm = o.realm ?? 'api'
  if (typeof realm !== 'string' || !/^[\x20-\x7e]{1,128}$/.test(realm) || /["\\]/.test(realm)) {
    throw rangeError('realm', 'must be 1-128 printable ASCII characters without quotes or backslashes')
  }
  const timeoutMs = o.storeTimeoutMs ?? 2000
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > 600_000) {
    throw rangeError('storeTimeoutMs', 'must be a number of milliseconds above 0 and at most 600000')
  }
  const touchMs = opt.millis(o.touchIntervalMs, 'touchIntervalMs', 60_000)
  if (o.rateLimiter !== undefined && (o.rateLimiter === null || typeof o.rateLimiter.consume !== 'function')) {
    throw typeError('rateLimiter', 'must implement consume(key)')
  }
  opt.func(o.onDecision, 'onDecision')
  opt.func(o.now, 'now')
  let breaker: Breaker | undefined
  if (o.breaker !== false) {
    const b = opt.options(o.breaker, 'breaker', BREAKER_FIELDS, true, 'must be an object or false')
    const threshold = opt.integer(b.threshold, 'breaker.threshold', 5, 1)
    const cooldownMs = opt.millis(b.cooldownMs, 'breaker.cooldownMs', 2000, 0, Infinity, true)
    const onStateChange = opt.func(b.onStateChange, 'breaker.onStateChange')
    breaker = new Breaker({ threshold, cooldownMs, onStateChange }, timeoutMs + cooldownMs)
  }
  const net: NetPolicy = createNetPolicy(o.trustProxy, 'trustProxy')
  const hasher = createHasher(o.pepper)
  const now = o.now ?? Date.now
  const tenantOf = o.tenant
  const onDecision = o.onDecision
  const limiter = o.rateLimiter
  const toucher = touchMs > 0 && typeof store.touch === 'function' ? new Toucher((id, at) => store.touch!(id, at), touchMs, timeoutMs) : undefined
  const schemesFrozen: readonly Scheme[] = Object.freeze([...schemeList])

  const headerNames = new Set<string>()
  for (const s of schemesFrozen) for (const h of s.headers) headerNames.add(h.toLowerCase())
  if (net.trusting) {
    headerNames.add('x-forwarded-for')
    headerNames.add('x-forwarded-proto')
  }

  const compileNeed = needCompiler(roles)

  // ---- per-record compiled data (allowlists and scopes are parsed once per record object) -----
  const compiledRecords = new WeakMap<object, Compiled>()
  const NOTHING = roles.toSet([], 'none')
  function compileRecord(r: KeyRecord): Compiled {
    let c = compiledRecords.get(r)
    if (c) return c
    let allow: Allowlist | undefined
    if (r.allowedIps !== undefined) {
      try {
        allow = compileAllowlist(r.allowedIps, 'allowedIps')
      } catch {
        allow = compileAllowlist([], 'allowedIps') // a corrupt stored list admits nobody
      }
    }
    let scopes: PermissionSet | undefined
    if (r.scopes !== undefined) {
      try {
        scopes = roles.toSet(r.scopes, 'scopes')
      } catch {
        scopes = NOTHING // corrupt scopes grant nothing
      }
    }
    const grantList = Array.isArray(r.grants) ? Object.freeze(r.grants.filter((g): g is string => typeof g === 'string')) : []
    c = { record: r, allow, scopes, grants: new Set(grantList), grantList, effRole: undefined, eff: undefined, subject: undefined, subjectGroup: undefined }
    compiledRecords.set(r, c)
    return c
  }
  const groupLists = new WeakMap<object, Allowlist | undefined>()
  function groupAllowlist(g: KeyGroup): Allowlist | undefined {
    if (groupLists.has(g)) return groupLists.get(g)
    let allow: Allowlist | undefined
    if (g.allowedIps !== undefined) {
      try {
        allow = compileAllowlist(g.allowedIps, 'allowedIps')
      } catch {
        allow = compileAllowlist([], 'allowedIps')
      }
    }
    groupLists.set(g, allow)
    return allow
  }
  function effective(r: KeyRecord, c: Compiled, role: string | undefined): PermissionSet {
    if (c.eff !== undefined && c.effRole === role) return c.eff
    const base = r.kind === 'org' ? roles.all : (role !== undefined && roles.permissionsOf(role)) || NOTHING
    const eff = c.scopes ? base.intersect(c.scopes) : base
    c.effRole = role
    c.eff = eff
    return eff
  }

  // ---- store calls: timeout + breaker, fail closed ---------------------------------------------
  /** Runs `call`; rejects with TIMEOUT if its promise has not settled within `storeTimeoutMs`. */
  async function withDeadline<T>(call: () => Promise<T> | T): Promise<T> {
    const pending = call()
    // A synchronous answer (the in-memory limiter) needs no timer.
    if (!(pending instanceof Promise)) return pending
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      return await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(TIMEOUT), timeoutMs)
        }),
      ])
    } finally {
      if (timer !== undefined) clearTimeout(timer)
    }
  }

  /**
   * Set by a store failure, cleared when the store really answers a call (which resets the
   * breaker's count). While it is clear the breaker has counted no failure, so it cannot be
   * half-open and an immediate answer has nothing to report to it.
   */
  let troubled = false
  function storeFailure(e: unknown): Failed {
    troubled = true
    breaker?.failure(now())
    const detail = e === TIMEOUT ? 'timeout' : 'store_error'
    return failure(breaker?.isOpen(now()) ? Math.ceil(breaker.cooldownMs / 1000) : 1, detail)
  }

  const KEY = 0
  const GROUP = 1
  const OWNER = 2
  type LookupKind = typeof KEY | typeof GROUP | typeof OWNER
  /** A lookup's answer: the value (`undefined` for none) or the store failure. */
  type Answer<T> = T | undefined | Failed
  /** An immediate answer's `breaker.success(false)`, not yet reported (see `lookup`). */
  interface Owed {
    paid: boolean
  }
  function settle(o: Owed): void {
    if (o.paid) return
    o.paid = true
    breaker?.success(false)
  }

  /**
   * One store lookup, under the breaker, as every check that needs the store makes it: an open
   * circuit answers at once (503) without touching the store; then the store's synchronous peek
   * (`peekByHash`, `peekGroup`, `peekOwner`), if it has one and it knows; otherwise the
   * asynchronous call under `storeTimeoutMs`. An answer known now is returned as is, so a request
   * whose lookups are all in memory is decided without a promise: same checks, same order.
   *
   * The breaker hears of an immediate answer exactly when it would without the peek. There, the
   * answer's `success(false)` runs one microtask after the call, and the request's next step one
   * microtask after that; meanwhile a half-open circuit is still busy with the probe, for other
   * requests started in the same tick and for the other key of a Contrast pair (looked up
   * alongside). So, once a store call has failed (before that the breaker has no count to reset
   * and nothing is owed), a peeked answer is reported one microtask later, and a group or owner
   * lookup that follows it waits for that report, as it would have.
   */
  function lookup<T>(ctx: Ctx, kind: LookupKind, name: string): Answer<T> | Promise<Answer<T>> {
    if (breaker) {
      const o = ctx.owed
      if (o !== undefined && kind !== KEY) {
        if (!o.paid) return RESOLVED.then(() => lookup<T>(ctx, kind, name))
        ctx.owed = undefined
      }
      const wait = breaker.blockedFor(ctx.at)
      if (wait > 0) return failure(Math.max(1, Math.ceil(wait / 1000)), 'circuit_open')
    }
    let known: unknown
    try {
      // Optional calls keep `this` (a subclass's override check reads it); a peek that is not a
      // function throws here and fails closed.
      known = kind === KEY ? store.peekByHash?.(name) : kind === GROUP ? store.peekGroup?.(name) : store.peekOwner?.(name)
      // A peek is synchronous by contract; a promise here would escape the timeout.
      if (known instanceof Promise) return storeFailure(new TypeError('a store peek returned a promise'))
    } catch (e) {
      return storeFailure(e)
    }
    if (known === undefined) {
      return timed<unknown>(kind === KEY ? () => store.findByHash(name) : kind === GROUP ? () => store.findGroup!(name) : () => store.findOwner!(name)) as Promise<Answer<T>>
    }
    if (troubled && breaker) {
      let o = ctx.owed
      if (o === undefined) {
        const owed: Owed = { paid: false }
        ctx.owed = o = owed
        RESOLVED.then(() => settle(owed))
      }
    }
    return known === null ? undefined : (known as T)
  }

  /** The asynchronous store call, bounded by `storeTimeoutMs`; never rejects. */
  function timed<T>(call: () => Promise<T>): Promise<T | Failed> {
    let p: Promise<T>
    try {
      p = Promise.resolve(call())
    } catch (e) {
      return Promise.resolve(storeFailure(e))
    }
    return new Promise<T | Failed>((resolve) => {
      let done = false
      let waited = false
      let timer: ReturnType<typeof setTimeout> | undefined
      p.then(
        (v) => {
          if (done) return
          done = true
          if (timer !== undefined) clearTimeout(timer)
          breaker?.success(waited)
          if (waited) troubled = false
          resolve(v)
        },
        (e: unknown) => {
          if (done) return
          done = true
          if (timer !== undefined) clearTimeout(timer)
          resolve(storeFailure(e))
        },
      )
      // A store answering from memory without a peek returns a promise that is already settled,
      // so the reaction above runs before this check and no timer is armed: a timer per call
      // (plus Promise.race) cost more than such a lookup. Only a pending call gets one.
      RESOLVED.then(() => {
        if (!done) {
          waited = true
          timer = setTimeout(() => {
            if (done) return
            done = true
            resolve(storeFailure(TIMEOUT))
          }, timeoutMs)
        }
      })
    })
  }
  const failed = (v: unknown): v is Failed => typeof v === 'object' && v !== null && FAILURES.has(v)

  // ---- decision assembly -------------------------------------------------------------------------
  function client(ctx: Ctx): ClientAddress {
    let c = ctx.client
    if (c === undefined) {
      const remote = typeof ctx.request.remoteAddress === 'string' ? ctx.request.remoteAddress : undefined
      c = ctx.client = net.clientAddress(remote, ctx.values.get('x-forwarded-for'))
    }
    return c
  }

  function emit(ctx: Ctx, d: Decision, detail?: string): Decision {
    if (onDecision) {
      const event: DecisionEvent = {
        allow: d.allow,
        status: d.status,
        ...(d.allow ? {} : { code: d.code, reason: d.reason }),
        ...(detail === undefined ? {} : { detail }),
        ...(ctx.keyId === undefined ? {} : { keyId: ctx.keyId }),
        ...(ctx.tenant === undefined ? {} : { tenant: ctx.tenant }),
        ...(ctx.scheme === undefined ? {} : { scheme: ctx.scheme.name }),
        ...(() => {
          const ip = client(ctx).text
          return ip === undefined ? {} : { clientIp: ip }
        })(),
        method: typeof ctx.request.method === 'string' ? ctx.request.method.slice(0, 32) : '',
        ...(() => {
          const path = pathOf(ctx.request.url)
          return path === undefined ? {} : { path }
        })(),
        ...(ctx.need.operation === undefined ? {} : { operation: ctx.need.operation }),
        durationMs: performance.now() - ctx.t0,
        at: ctx.at,
      }
      try {
        onDecision(event, d)
      } catch {
        // Logging must never change or break a decision.
      }
    }
    return d
  }

  function challenges(presenting: Scheme | undefined, error: BearerError | undefined): string {
    const seen = new Set<string>()
    const out: string[] = []
    for (const s of schemesFrozen) {
      if (seen.has(s.challengeScheme)) continue
      seen.add(s.challengeScheme)
      const withError = error !== undefined && s.bearerErrors && presenting !== undefined && presenting.challengeScheme === s.challengeScheme
      out.push(s.challenge(realm, withError ? error : undefined))
    }
    return out.join(', ')
  }

  function deny(ctx: Ctx, reason: DenyReason, extra?: { subject?: string; retryAfterSec?: number; detail?: string; headers?: Record<string, string> }): Decision {
    const code = codeOf(reason, exposeReasons)
    const status = STATUS_OF[code]
    const headers: Record<string, string> = { ...extra?.headers }
    const presenting = ctx.scheme
    if (status === 401) {
      headers['www-authenticate'] = challenges(presenting, code === 'missing_credentials' ? undefined : 'invalid_token')
    } else if (presenting?.bearerErrors && (status === 400 || code === 'insufficient_permission')) {
      // RFC 6750 §3.1: the Bearer challenge carries invalid_request on 400 and insufficient_scope on 403.
      headers['www-authenticate'] = presenting.challenge(realm, status === 400 ? 'invalid_request' : 'insufficient_scope')
    }
    if (extra?.retryAfterSec !== undefined) headers['retry-after'] = String(extra.retryAfterSec)
    const noun = presenting !== undefined && typeof presenting.verify === 'function' ? 'token' : 'API key'
    const d: DenyDecision = { allow: false, status, code, reason, message: messageOf(code, reason, extra?.subject, noun), headers }
    return emit(ctx, d, extra?.detail ?? (reason === 'insufficient_permission' || reason === 'operation_not_granted' ? extra?.subject : undefined))
  }

  function storeDown(ctx: Ctx, f: Failed): Decision {
    return deny(ctx, 'store_unavailable', { retryAfterSec: f.retryAfterSec, detail: f.detail })
  }

  const extract = extractor(schemesFrozen)
  /**
   * Half of a Contrast pair never authenticates alone. Where pairs are accepted, a user key with
   * a tenant and an owner (what the pair check takes as the user half: a service key) is accepted
   * only with its organization key: through any other scheme it is as good as unknown.
   */
  const PAIRING = schemesFrozen.some((x) => x.name === 'contrast')

  // ---- the shared post-authentication checks -----------------------------------------------------
  /** Synchronous unless a rate limiter is configured: one fewer promise on every allowed request. */
  function finish(ctx: Ctx, subject: Subject): Decision | Promise<Decision> {
    ctx.keyId = subject.keyId
    ctx.tenant = subject.tenant
    if (tenantOf && !ctx.tenantDone) {
      const td = tenantGate(ctx, subject.tenant, tenantOf)
      if (td !== undefined) return td
    }
    for (const list of subject.lists) {
      if (list !== undefined && !allowlistHas(list, client(ctx).addr as Parameters<typeof allowlistHas>[1])) {
        return deny(ctx, 'ip_not_allowed')
      }
    }
    const need = ctx.need
    for (let i = 0; i < need.parsed.length; i++) {
      const p = need.parsed[i]!
      if (!subject.perms.holds(p.resource, p.level)) return deny(ctx, 'insufficient_permission', { subject: need.permissions[i] })
    }
    if (explicitGrants) {
      const op = need.operation
      if (op === undefined || !subject.grants.has(op)) {
        return deny(ctx, 'operation_not_granted', op === undefined ? { detail: 'route names no operation' } : { subject: op })
      }
    }
    return limiter ? limited(ctx, subject, limiter) : allow(ctx, subject, {})
  }

  /**
   * The rate limiter's verdict. Only `allowed === true` allows and only `allowed === false` is a
   * 429: any other answer (not an object, `allowed: 'no'`, a getter that throws), a rejection or a
   * timeout is 503 `store_unavailable`, as a failing store is. Never an allow, never a rejection.
   */
  async function limited(ctx: Ctx, subject: Subject, l: RateLimiter): Promise<Decision> {
    const headers: Record<string, string> = {}
    let allowed: unknown
    let retryAfter: unknown
    try {
      // A shared limiter (Redis) is a remote call like the store: bounded by the same timeout.
      const r: unknown = await withDeadline(() => l.consume(subject.keyId, subject.rateLimit))
      if (typeof r !== 'object' || r === null) throw new TypeError('not a RateLimitResult')
      const v = r as Record<string, unknown>
      allowed = v.allowed
      retryAfter = v.retryAfterSec
      for (const [name, field] of RATE_HEADERS) {
        const n = v[field]
        if (typeof n === 'number' && Number.isFinite(n) && n >= 0) headers[name] = String(Math.ceil(n))
      }
    } catch (e) {
      return deny(ctx, 'store_unavailable', { retryAfterSec: 1, detail: e === TIMEOUT ? 'rate_limiter_timeout' : 'rate_limiter' })
    }
    if (allowed === true) return allow(ctx, subject, headers)
    if (allowed !== false) return deny(ctx, 'store_unavailable', { retryAfterSec: 1, detail: 'rate_limiter_malformed' })
    const retryAfterSec = typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter >= 1 ? Math.ceil(retryAfter) : 1
    return deny(ctx, 'rate_limited', { retryAfterSec, headers })
  }

  function allow(ctx: Ctx, subject: Subject, headers: Record<string, string>): Decision {
    const d: AllowDecision = { allow: true, status: 200, principal: new KeyPrincipal(subject, ctx.scheme!.name, subject.perms), headers }
    return emit(ctx, d)
  }

  /** What a step of the decision gives: the decision now, or later when a lookup went to the store. */
  type Step = Decision | Promise<Decision>
  /** A record check: a deny, or `undefined` when the record passed (its group and owner are then on the context). */
  type Check = Decision | undefined

  /**
   * Status checks on one record, in this order: active, group, owner, expiry, rotation. Each
   * store lookup continues synchronously when its answer is known now (see `lookup`), else when
   * it arrives. On success `ctx.group` and `ctx.owner` hold what the store answered.
   */
  function checkRecord(ctx: Ctx, r: KeyRecord, hash: string): Check | Promise<Check> {
    if (r.active !== true) return deny(ctx, 'key_disabled')
    ctx.group = undefined
    ctx.owner = undefined
    if (r.group !== undefined) {
      // A store that cannot say disables the key: fail closed.
      if (typeof store.findGroup !== 'function') return deny(ctx, 'group_disabled')
      const g = lookup<KeyGroup>(ctx, GROUP, r.group)
      return g instanceof Promise ? g.then((v) => groupChecked(ctx, r, hash, v)) : groupChecked(ctx, r, hash, g)
    }
    return checkOwner(ctx, r, hash)
  }

  function groupChecked(ctx: Ctx, r: KeyRecord, hash: string, g: Answer<KeyGroup>): Check | Promise<Check> {
    if (failed(g)) return storeDown(ctx, g)
    // A group that is missing disables the key: fail closed.
    if (g === undefined || g.active !== true || (g.tenant !== undefined && g.tenant !== r.tenant)) return deny(ctx, 'group_disabled')
    ctx.group = g
    return checkOwner(ctx, r, hash)
  }

  function checkOwner(ctx: Ctx, r: KeyRecord, hash: string): Check | Promise<Check> {
    if (r.owner !== undefined && typeof store.findOwner === 'function') {
      const ow = lookup<OwnerRecord>(ctx, OWNER, r.owner)
      return ow instanceof Promise ? ow.then((v) => ownerChecked(ctx, r, hash, v)) : ownerChecked(ctx, r, hash, ow)
    }
    return checkTime(ctx, r, hash)
  }

  function ownerChecked(ctx: Ctx, r: KeyRecord, hash: string, ow: Answer<OwnerRecord>): Check {
    if (failed(ow)) return storeDown(ctx, ow)
    if (ow !== undefined && ow.active !== true) return deny(ctx, 'owner_disabled')
    ctx.owner = ow
    return checkTime(ctx, r, hash)
  }

  function checkTime(ctx: Ctx, r: KeyRecord, hash: string): Check {
    const at = ctx.at
    if (r.expiresAt !== undefined && !(typeof r.expiresAt === 'number' && at < r.expiresAt)) return deny(ctx, 'key_expired')
    if (r.hash !== hash) {
      // Matched the previous hash of a rotated key: valid only during the grace period.
      const until = r.previousExpiresAt
      if (r.previousHash !== hash || typeof until !== 'number' || at >= until) return deny(ctx, 'key_rotated')
    }
    return undefined
  }

  /**
   * The subject of a key that passed its checks. Built once per (record, group object, role) and
   * reused: everything in it derives from those three, which stores replace rather than mutate
   * (compiled allowlists and permission sets are cached on the same assumption).
   */
  function subjectOf(r: KeyRecord, c: Compiled, group: KeyGroup | undefined, owner: OwnerRecord | undefined): Subject {
    const role = r.kind === 'user' ? (owner?.role ?? r.role) : undefined
    const cached = c.subject
    if (cached !== undefined && c.subjectGroup === group && cached.role === role) return cached
    const s = buildSubject(r, c, role, [c.allow, group ? groupAllowlist(group) : undefined])
    c.subject = s
    c.subjectGroup = group
    return s
  }

  function buildSubject(r: KeyRecord, c: Compiled, role: string | undefined, lists: readonly (Allowlist | undefined)[]): Subject {
    return {
      keyId: r.id,
      kind: r.kind === 'org' ? 'org' : 'user',
      tenant: r.tenant,
      owner: r.owner,
      role,
      group: r.group,
      perms: effective(r, c, role),
      grants: c.grants,
      grantList: c.grantList,
      lists,
      rateLimit: r.rateLimit,
      metadata: r.metadata,
    }
  }

  /**
   * Hash → the compiled data of the record the store last returned for it. Only hashes of keys
   * the store knew are added, after their checksum passed, so a hash in here also needs no second
   * checksum pass (the checksum is a pure function of the key, and a hash names exactly one key):
   * with it, an allowed request probes one table here instead of three. It never answers for the
   * store: the record is still looked up every time, and its compiled data is reused only if the
   * store returned the very same record object. Bounded; a flood of made-up keys cannot fill it.
   * Hashes only, never keys: the store holds the same ones.
   */
  const hot = new Map<string, Compiled>()
  const HOT_MAX = 10_000
  /** The compiled data of `r`, found under `hash` (the checksum of its key was good). */
  function compiledFor(hash: string, r: KeyRecord, known: Compiled | undefined): Compiled {
    if (known !== undefined && known.record === r) return known
    const c = compileRecord(r)
    if (known === undefined && hot.size >= HOT_MAX) hot.clear()
    hot.set(hash, c)
    return c
  }

  /** `undefined` if the key's checksum is fine (or it is not keyward-shaped), else the deny. */
  function checksumDeny(ctx: Ctx, key: string, known: Compiled | undefined): Decision | undefined {
    if (known !== undefined) return undefined
    return keyShape(key) === BAD_CHECKSUM ? deny(ctx, 'bad_checksum') : undefined
  }

  function single(ctx: Ctx, key: string): Step {
    // Hashing first is safe: a key out of extraction is a non-empty string, which always hashes.
    const hash = hasher(key)
    const known = hot.get(hash)
    const bad = checksumDeny(ctx, key, known)
    if (bad) return bad
    const r = lookup<KeyRecord>(ctx, KEY, hash)
    return r instanceof Promise ? r.then((v) => singleFound(ctx, hash, known, v)) : singleFound(ctx, hash, known, r)
  }

  /**
   * The request's tenant against the key's, straight after the key lookup and before any group
   * or owner lookup: a key of another tenant costs the same store calls as an unknown key. The
   * tenant function is user code: what it throws is misuse and rejects `authorize()`.
   */
  function tenantGate(ctx: Ctx, keyTenant: string | undefined, fn: (request: AuthRequest) => string | undefined): Decision | undefined {
    ctx.tenantDone = true
    const wanted = fn(ctx.request)
    return typeof wanted !== 'string' || keyTenant !== wanted ? deny(ctx, 'tenant_mismatch') : undefined
  }

  /**
   * What reading the store's answers gives: a deny, the subject of a key that passed, or a
   * promise of either. Reading a record can throw (a getter over a dropped connection): that is
   * a store failure (see `readFault`), never a rejection of `authorize()`.
   */
  type Reading = Decision | Subject | Promise<Decision | Subject>
  function readFault(ctx: Ctx, e: unknown): Decision {
    return storeDown(ctx, storeFailure(e))
  }
  function proceed(ctx: Ctx, s: Reading): Step {
    if (s instanceof Promise) return s.then((x) => proceedWith(ctx, x), (e: unknown) => readFault(ctx, e))
    return proceedWith(ctx, s)
  }
  // `finish` runs outside the read guard: what the tenant function throws still rejects.
  const proceedWith = (ctx: Ctx, x: Decision | Subject): Step => ('allow' in x ? x : finish(ctx, x))

  function singleFound(ctx: Ctx, hash: string, known: Compiled | undefined, r: Answer<KeyRecord> | null): Step {
    if (failed(r)) return storeDown(ctx, r)
    let usable: boolean
    try {
      // A tenant (organization) key grants nothing on its own: alone, it is as good as unknown.
      usable = r !== undefined && r !== null && (r.kind === 'user' || r.kind === 'org')
      if (usable && PAIRING && r!.kind === 'user' && r!.tenant !== undefined && r!.owner !== undefined) usable = false
      if (usable) {
        ctx.keyId = r!.id
        ctx.tenant = r!.tenant
      }
    } catch (e) {
      return readFault(ctx, e)
    }
    if (!usable) return deny(ctx, 'unknown_key')
    if (tenantOf) {
      const td = tenantGate(ctx, ctx.tenant, tenantOf)
      if (td !== undefined) return td
    }
    let s: Reading
    try {
      s = singleChecks(ctx, hash, known, r!)
    } catch (e) {
      return readFault(ctx, e)
    }
    return proceed(ctx, s)
  }

  function singleChecks(ctx: Ctx, hash: string, known: Compiled | undefined, r: KeyRecord): Reading {
    const c = compiledFor(hash, r, known)
    ctx.keyId = r.id
    const checked = checkRecord(ctx, r, hash)
    if (checked === undefined) return subjectOf(r, c, ctx.group, ctx.owner)
    if (checked instanceof Promise) return checked.then((d) => d ?? subjectOf(r, c, ctx.group, ctx.owner))
    return checked
  }

  function pair(ctx: Ctx, e: Extract<Extraction, { type: 'pair' }>): Step {
    const th = hasher(e.tenantKey)
    const uh = hasher(e.key)
    const bad = checksumDeny(ctx, e.tenantKey, hot.get(th)) ?? checksumDeny(ctx, e.key, hot.get(uh))
    if (bad) return bad
    // Both lookups always run, so a wrong half costs the same time as a wrong whole.
    const tr = lookup<KeyRecord>(ctx, KEY, th)
    const ur = lookup<KeyRecord>(ctx, KEY, uh)
    if (tr instanceof Promise || ur instanceof Promise) return Promise.all([tr, ur]).then(([t, u]) => pairFound(ctx, e, th, uh, t, u))
    return pairFound(ctx, e, th, uh, tr, ur)
  }

  function pairFound(ctx: Ctx, e: Extract<Extraction, { type: 'pair' }>, th: string, uh: string, tr: Answer<KeyRecord> | null, ur: Answer<KeyRecord> | null): Step {
    if (failed(tr)) return storeDown(ctx, tr)
    if (failed(ur)) return storeDown(ctx, ur)
    let d: Decision | undefined
    try {
      d = pairMatch(ctx, e, th, uh, tr, ur)
    } catch (x) {
      return readFault(ctx, x)
    }
    if (d !== undefined) return d
    if (tenantOf) {
      const td = tenantGate(ctx, ctx.tenant, tenantOf)
      if (td !== undefined) return td
    }
    let s: Reading
    try {
      const tc = checkRecord(ctx, tr!, th)
      s = tc instanceof Promise ? tc.then((x) => tenantChecked(ctx, tr!, ur!, uh, x)) : tenantChecked(ctx, tr!, ur!, uh, tc)
    } catch (x) {
      return readFault(ctx, x)
    }
    return proceed(ctx, s)
  }

  /** Do the two halves belong together? A deny, or `undefined` (then both records are usable). */
  function pairMatch(ctx: Ctx, e: Extract<Extraction, { type: 'pair' }>, th: string, uh: string, tr: KeyRecord | undefined | null, ur: KeyRecord | undefined | null): Decision | undefined {
    if (!tr || !ur || tr.kind !== 'tenant' || ur.kind !== 'user') return deny(ctx, 'unknown_key')
    compiledFor(th, tr, hot.get(th))
    compiledFor(uh, ur, hot.get(uh))
    ctx.keyId = ur.id
    ctx.tenant = ur.tenant
    if (ur.owner !== e.user) return deny(ctx, 'user_mismatch')
    if (tr.tenant === undefined || tr.tenant !== ur.tenant) return deny(ctx, 'tenant_mismatch')
    return undefined
  }

  // Continuations are named functions, not closures made per request: a request decided without
  // waiting allocates none.
  function tenantChecked(ctx: Ctx, tr: KeyRecord, ur: KeyRecord, uh: string, tc: Check): Reading {
    if (tc !== undefined) return tc
    // The organization key's lists, read before the user key's checks replace ctx.group.
    const orgAllow = compileRecord(tr).allow
    const orgGroup = ctx.group ? groupAllowlist(ctx.group) : undefined
    const uc = checkRecord(ctx, ur, uh)
    return uc instanceof Promise ? uc.then((x) => userChecked(ctx, ur, orgAllow, orgGroup, x)) : userChecked(ctx, ur, orgAllow, orgGroup, uc)
  }

  function userChecked(ctx: Ctx, ur: KeyRecord, orgAllow: Allowlist | undefined, orgGroup: Allowlist | undefined, uc: Check): Decision | Subject {
    if (uc !== undefined) return uc
    const c = compileRecord(ur)
    const role = ctx.owner?.role ?? ur.role
    return buildSubject(ur, c, role, [c.allow, ctx.group ? groupAllowlist(ctx.group) : undefined, orgAllow, orgGroup])
  }

  // Token schemes hand back the same frozen identity for a token they have already verified
  // (schemes.jwt caches verifications), so what is derived from it is computed once per object.
  interface TokenSubject {
    perms: PermissionSet
    grants: ReadonlySet<string>
    grantList: readonly string[]
  }
  const tokenSubjects = new WeakMap<TokenIdentity, TokenSubject>()
  function tokenSubject(id: TokenIdentity): TokenSubject {
    let t = tokenSubjects.get(id)
    if (t !== undefined) return t
    let perms = id.kind === 'org' ? roles.all : (id.role !== undefined && roles.permissionsOf(id.role)) || NOTHING
    if (id.scopes !== undefined) {
      const valid = id.scopes.filter((s) => roles.lookup(s) !== undefined)
      let scoped: PermissionSet
      try {
        scoped = roles.toSet(valid, 'scopes')
      } catch {
        scoped = NOTHING
      }
      perms = perms.intersect(scoped)
    }
    const grantList = Object.freeze([...(id.grants ?? [])])
    t = { perms, grants: new Set(grantList), grantList }
    // Only an identity that cannot change later may be remembered by object.
    const frozen = Object.isFrozen(id) && (id.scopes === undefined || Object.isFrozen(id.scopes)) && (id.grants === undefined || Object.isFrozen(id.grants))
    if (frozen) tokenSubjects.set(id, t)
    return t
  }

  async function token(ctx: Ctx, scheme: Scheme, tokenText: string): Promise<Decision> {
    let outcome
    try {
      outcome = await scheme.verify!(tokenText, { now: ctx.at })
    } catch {
      outcome = { ok: false as const, reason: 'invalid_token' as const }
    }
    if (!outcome.ok) {
      return outcome.reason === 'store_unavailable'
        ? deny(ctx, 'store_unavailable', { retryAfterSec: Math.max(1, Math.ceil(outcome.retryAfterSec ?? 1)), detail: outcome.detail ?? 'jwks' })
        : deny(ctx, 'invalid_token', outcome.detail === undefined ? undefined : { detail: outcome.detail })
    }
    const id: TokenIdentity = outcome.identity
    const { perms, grants, grantList } = tokenSubject(id)
    return finish(ctx, {
      keyId: id.keyId,
      kind: id.kind,
      tenant: id.tenant,
      owner: id.owner,
      role: id.kind === 'user' ? id.role : undefined,
      group: id.group,
      perms,
      grants,
      grantList,
      lists: [],
      rateLimit: id.rateLimit,
      metadata: id.metadata,
    })
  }

  /**
   * The whole decision. Returns it directly when no step had to wait (every lookup answered by a
   * peek, no rate limiter, no token), else a promise of it. Throws only on misuse.
   */
  function decide(request: AuthRequest, need: Need | CompiledNeed | undefined): Step {
    if (request === null || typeof request !== 'object') throw typeError('request', 'must be an object')
    const ctx = new Ctx(
      request,
      collectHeaders(request.headers, headerNames),
      now(),
      // Only decision events report a duration: no clock read when nobody listens.
      onDecision ? performance.now() : 0,
      compileNeed(need),
    )
    // 1. Transport, before anything else: a key sent in clear is not even looked at.
    if (requireTls && !net.isSecure(request.secure, typeof request.remoteAddress === 'string' ? request.remoteAddress : undefined, ctx.values.get('x-forwarded-proto'))) {
      return deny(ctx, 'insecure_transport')
    }
    // 2. Extraction.
    let scheme: Scheme
    let e: Extraction
    if (schemesFrozen.length === 1) {
      // One scheme (the common case): nothing to rank or filter, nothing to allocate for it.
      const s = schemesFrozen[0]!
      let x: Extraction | undefined
      try {
        x = s.extract(ctx.values)
      } catch {
        x = { type: 'malformed', sources: s.headers }
      }
      if (x === undefined || x.type === 'partial') return deny(ctx, 'missing_credentials')
      if (x.type === 'malformed') {
        ctx.scheme = s
        return deny(ctx, 'malformed_credentials')
      }
      scheme = s
      e = x
    } else {
      const { found, malformed } = extract(ctx.values)
      if (malformed) {
        ctx.scheme = malformed
        return deny(ctx, 'malformed_credentials')
      }
      let first: [Scheme, Extraction] | undefined
      for (const f of found) {
        if (f[1].type !== 'partial') {
          first = f
          break
        }
      }
      if (first === undefined) return deny(ctx, 'missing_credentials')
      if (found.length > 1) return deny(ctx, 'conflicting_credentials')
      scheme = first[0]
      e = first[1]
    }
    ctx.scheme = scheme
    let d: Step
    switch (e.type) {
      case 'key':
        d = single(ctx, e.key)
        break
      case 'pair':
        d = pair(ctx, e)
        break
      case 'token':
        // Tokens are verified, not looked up: nothing to record as used.
        return typeof scheme.verify === 'function' ? token(ctx, scheme, e.token) : deny(ctx, 'invalid_token')
      default:
        return deny(ctx, 'malformed_credentials')
    }
    if (toucher === undefined) return d
    if (!(d instanceof Promise)) {
      if (d.allow) toucher.record(d.principal.keyId, ctx.at)
      return d
    }
    const t = toucher
    return d.then((x) => {
      if (x.allow) t.record(x.principal.keyId, ctx.at)
      return x
    })
  }

  function authorize(request: AuthRequest, need?: Need | CompiledNeed): Promise<Decision> {
    // Misuse (a request that is not an object, an invalid need) rejects rather than throws, as
    // from an async function; so does anything a user callback (tenant) throws.
    let d: Step
    try {
      d = decide(request, need)
    } catch (e) {
      return Promise.reject(e)
    }
    return d instanceof Promise ? d : Promise.resolve(d)
  }

  return Object.freeze({
    authorize,
    need: compileNeed,
    roles,
    realm,
    schemes: schemesFrozen,
    close: async () => {
      await toucher?.flush()
    },
  })
}
