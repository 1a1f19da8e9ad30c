/**
 * `createAuthorizer`: the decision engine. Everything a server needs to decide one request,
 * with no framework involved.
 *
 * The checks run in a fixed order, and the first failure decides:
 * transport → extraction → format/checksum → store lookup → tenant → active/group/owner →
 * expiry/rotation → client address → permission → explicit grant → rate limit.
 *
 * This file holds the public types and wires three things created once: the validated options
 * (`core/options.ts`) → the engine (`core/engine.ts`) → a frozen authorizer whose requests run
 * through `core/decide.ts`.
 * @module
 */
import type { BreakerOptions } from './lib/breaker.js'
import type { CompiledNeed } from './core/needs.js'
import * as opt from './lib/options.js'
import { configure } from './core/options.js'
import { createEngine } from './core/engine.js'
import { decide } from './core/decide.js'
import type { Pepper } from './keys/hash.js'
import type { InsightAppSecPermission, Roles } from './roles.js'
import type { Scheme } from './schemes/scheme.js'
import type { TenantResolver } from './tenant.js'
import type { AuthRequest, CreditLedger, Decision, DecisionEvent, KeyStore, Need, RateLimiter } from './types.js'

export type { CompiledNeed } from './core/needs.js'

/** Authorizers made here that resolve a tenant per request (their `tenant` option is set). */
const TENANTED = new WeakSet<object>()
const MADE = new WeakSet<object>()

/**
 * @internal Whether `authorizer` compares key tenants with the request's: `true`/`false` for one
 * made by {@link createAuthorizer}, `undefined` for any other object (a wrapper).
 */
export function comparesTenants(authorizer: object): boolean | undefined {
  return MADE.has(authorizer) ? TENANTED.has(authorizer) : undefined
}

const DESCRIBE_FIELDS = opt.fieldsOf<DescribeOptions>({ product: true })

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
   * accepted in its own tenant; a request whose tenant is `undefined` is refused. Called with the
   * request and a `header(name)` reader that reads every header shape the same way (see
   * `HeaderReader`); `tenantFromHost()` and `tenantFromPath()` are ready-made ones.
   * @default undefined (single-tenant: key tenants are not compared)
   * @example (request, header) => header('X-Tenant')
   */
  tenant?: TenantResolver
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
   * Which role a user key acts with when it has a role of its own (`role` when issued) and its
   * owner has one in the directory (`findOwner`):
   * - `'key'`: the key's own role, capped by the owner's: the key never holds what its owner does
   *   not, and never more than it was issued with (Ivanti: "In Role" is per key). A key issued
   *   without a role acts with its owner's.
   * - `'owner'`: the owner's role as it is at the time of the request, whatever the key's own
   *   (Rapid7: user keys act with their owner's product role).
   *
   * Either way a key whose owner has no directory entry acts with its own role, and Org keys hold
   * every permission.
   * @default 'key' (never more than the key's own role)
   * @example 'owner'
   */
  rolePrecedence?: 'key' | 'owner'
  /**
   * Per-key rate limiter.
   * @default undefined (no limit)
   * @example tokenBucket({ capacity: 100, refillPerSecond: 10 })
   */
  rateLimiter?: RateLimiter
  /**
   * Where usage-limited keys (records with `credits`) consume their credits. By default the
   * store's own `consumeCredits` (the memory and Postgres stores, and `cachedStore` over them);
   * `redisCredits(redis)` from `keyward/redis` keeps one ledger for several instances instead. A key
   * with credits and nowhere to consume them is refused with 503, never allowed unlimited.
   * @default undefined (the store's consumeCredits)
   * @example redisCredits(redis)
   */
  credits?: CreditLedger
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

/** Options of {@link Authorizer.describe}. */
export interface DescribeOptions {
  /**
   * The product (namespace) whose owner role the answer shows, as a route's `need.product`.
   * @default undefined (the owner's single `role`)
   * @example 'appsec'
   */
  product?: string
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
  /**
   * The caller's own access ("my access"): authenticates the request with every check a route
   * makes (transport, key, tenant, group, owner, expiry, address, rate limit) but requires no
   * permission and no operation, so it answers under `explicitGrants` too, and resolves to the
   * allow with the principal: its role, `permissions` and `grants` (its own and its owner's),
   * never the key or its hash. A caller that fails a check gets the deny a route would give.
   * @example
   * ```ts
   * app.get('/api/me', async (req, res) => {
   *   const d = await authorizer.describe(toAuthRequest(req), { product: 'appsec' })
   *   if (!d.allow) return sendDeny(res, d)
   *   res.json({ role: d.principal.role, permissions: d.principal.permissions, grants: d.principal.grants })
   * })
   * ```
   */
  describe(request: AuthRequest, options?: DescribeOptions): Promise<Decision<P>>
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
  const engine = createEngine(configure(options))
  function authorize(request: AuthRequest, need?: Need | CompiledNeed): Promise<Decision> {
    // Misuse (a request that is not an object, an invalid need) rejects rather than throws, as
    // from an async function; so does anything a user callback (tenant) throws.
    let d: Decision | Promise<Decision>
    try {
      d = decide(engine, request, need)
    } catch (e) {
      return Promise.reject(e)
    }
    return d instanceof Promise ? d : Promise.resolve(d)
  }
  function describe(request: AuthRequest, options?: DescribeOptions): Promise<Decision> {
    let d: Decision | Promise<Decision>
    try {
      const o = opt.options(options, 'options', DESCRIBE_FIELDS, true)
      // Stryker disable next-line ConditionalExpression: equivalent, a need { product: undefined } compiles to the empty need's checks
      d = decide(engine, request, o.product === undefined ? undefined : { product: o.product }, true)
    } catch (e) {
      return Promise.reject(e)
    }
    return d instanceof Promise ? d : Promise.resolve(d)
  }
  const made = Object.freeze({
    authorize,
    describe,
    need: engine.compileNeed,
    roles: engine.roles,
    realm: engine.realm,
    schemes: engine.schemes,
    close: async () => {
      await engine.toucher?.flush()
    },
  })
  MADE.add(made)
  if (engine.tenantOf !== undefined) TENANTED.add(made)
  return made
}
