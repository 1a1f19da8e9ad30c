/**
 * Setup time, part one: {@link AuthorizerOptions} validated once (unknown fields refused, every
 * value checked, the field named in the error) and turned into one frozen {@link Config} with
 * every default filled in. Nothing here runs per request.
 * @module
 */
import type { AuthorizerOptions } from '../authorize.js'
import type { BreakerOptions } from '../lib/breaker.js'
import * as opt from '../lib/options.js'
import { quote, rangeError, typeError } from '../errors.js'
import { createHasher, type Hasher } from '../keys/hash.js'
import { createNetPolicy, type NetPolicy } from '../net/proxy.js'
import { insightAppSecRoles, type Roles } from '../roles.js'
import type { Scheme } from '../schemes/scheme.js'
import type { RolePrecedence } from './records.js'
import type { TenantResolver } from '../tenant.js'
import { apiKeyHeader } from '../schemes/api-key.js'
import type { AuthRequest, CreditLedger, Decision, DecisionEvent, KeyStore, RateLimiter } from '../types.js'

/** The breaker's validated settings. */
export interface BreakerConfig {
  readonly threshold: number
  readonly cooldownMs: number
  readonly onStateChange?: BreakerOptions['onStateChange'] | undefined
}

/** Every option, validated, with its default applied. Frozen. */
export interface Config {
  readonly store: KeyStore
  readonly schemes: readonly Scheme[]
  readonly roles: Roles
  readonly hasher: Hasher
  readonly tenantOf: TenantResolver | undefined
  readonly net: NetPolicy
  readonly requireTls: boolean
  readonly explicitGrants: boolean
  readonly rolePrecedence: RolePrecedence
  readonly exposeReasons: boolean
  readonly limiter: RateLimiter | undefined
  readonly credits: CreditLedger | undefined
  readonly realm: string
  readonly timeoutMs: number
  /** `undefined` when the breaker is disabled. */
  readonly breaker: BreakerConfig | undefined
  readonly touchMs: number
  readonly onDecision: ((event: DecisionEvent, decision: Decision) => void) | undefined
  readonly now: () => number
}

/** Every field of {@link AuthorizerOptions}: any other name is refused (a typo never falls back to a default). */
const AUTHORIZER_FIELDS = opt.fieldsOf<AuthorizerOptions>({
  store: true, schemes: true, roles: true, pepper: true, tenant: true, trustProxy: true, requireTls: true,
  explicitGrants: true, rolePrecedence: true, rateLimiter: true, credits: true, realm: true, storeTimeoutMs: true, breaker: true, exposeReasons: true,
  onDecision: true, touchIntervalMs: true, now: true,
})
const BREAKER_FIELDS = opt.fieldsOf<BreakerOptions>({ threshold: true, cooldownMs: true, onStateChange: true })

function checkStore(store: KeyStore): KeyStore {
  if (store === null || typeof store !== 'object' || typeof store.findByHash !== 'function') {
    throw typeError('store', 'is required and must implement findByHash(hash)')
  }
  for (const m of ['peekByHash', 'peekGroup', 'peekOwner'] as const) {
    if (store[m] !== undefined && typeof store[m] !== 'function') throw typeError(`store.${m}`, 'must be a function when present (see KeyStore)')
  }
  return store
}

function checkSchemes(list: readonly Scheme[] | undefined): readonly Scheme[] {
  const schemeList = list === undefined ? [apiKeyHeader()] : list
  if (!Array.isArray(schemeList) || schemeList.length === 0) throw typeError('schemes', 'must be a non-empty array of schemes')
  const names = new Set<string>()
  schemeList.forEach((s: Scheme, i) => {
    if (s === null || typeof s !== 'object' || typeof s.extract !== 'function' || typeof s.challenge !== 'function' || !Array.isArray(s.headers)) {
      throw typeError(`schemes[${i}]`, 'is not a scheme (use the schemes.* factories)')
    }
    if (names.has(s.name)) throw rangeError(`schemes[${i}]`, `scheme ${quote(s.name)} is configured twice`)
    names.add(s.name)
  })
  return Object.freeze([...schemeList])
}

function checkRealm(value: unknown): string {
  const realm = value ?? 'api'
  if (typeof realm !== 'string' || !/^[\x20-\x7e]{1,128}$/.test(realm) || /["\\]/.test(realm)) {
    throw rangeError('realm', 'must be 1-128 printable ASCII characters without quotes or backslashes')
  }
  return realm
}

function checkTimeout(value: unknown): number {
  const timeoutMs = value ?? 2000
  // Stryker disable next-line ConditionalExpression: equivalent, Number.isFinite is false for anything that is not a number
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > 600_000) {
    throw rangeError('storeTimeoutMs', 'must be a number of milliseconds above 0 and at most 600000')
  }
  return timeoutMs
}

function checkBreaker(value: BreakerOptions | false | undefined): BreakerConfig | undefined {
  if (value === false) return undefined
  const b = opt.options(value, 'breaker', BREAKER_FIELDS, true, 'must be an object or false')
  const threshold = opt.integer(b.threshold, 'breaker.threshold', 5, 1)
  const cooldownMs = opt.millis(b.cooldownMs, 'breaker.cooldownMs', 2000, 0, Infinity, true)
  const onStateChange = opt.func(b.onStateChange, 'breaker.onStateChange')
  return Object.freeze({ threshold, cooldownMs, onStateChange })
}

/**
 * Validates `options` in a fixed order (so the first bad field is the one named) and returns the
 * frozen configuration. Throws `TypeError`/`RangeError` naming the field.
 */
export function configure(options: AuthorizerOptions): Config {
  const o = opt.options(options, 'options', AUTHORIZER_FIELDS)
  const store = checkStore(o.store)
  const schemes = checkSchemes(o.schemes)
  const roles = o.roles ?? insightAppSecRoles
  // Never null here: `??` gave null the default matrix.
  if (typeof roles !== 'object' || typeof roles.permissionsOf !== 'function') throw typeError('roles', 'must come from defineRoles()')
  if (o.tenant !== undefined && typeof o.tenant !== 'function') throw typeError('tenant', 'must be a function (request) => string | undefined')
  const requireTls = opt.boolean(o.requireTls, 'requireTls')
  const explicitGrants = opt.boolean(o.explicitGrants, 'explicitGrants')
  const rolePrecedence = o.rolePrecedence ?? 'key'
  if (rolePrecedence !== 'key' && rolePrecedence !== 'owner') throw rangeError('rolePrecedence', "must be 'key' or 'owner'")
  const exposeReasons = opt.boolean(o.exposeReasons, 'exposeReasons')
  const realm = checkRealm(o.realm)
  const timeoutMs = checkTimeout(o.storeTimeoutMs)
  const touchMs = opt.millis(o.touchIntervalMs, 'touchIntervalMs', 60_000)
  if (o.rateLimiter !== undefined && (o.rateLimiter === null || typeof o.rateLimiter.consume !== 'function')) {
    throw typeError('rateLimiter', 'must implement consume(key)')
  }
  if (o.credits !== undefined && (o.credits === null || typeof o.credits !== 'object' || typeof o.credits.consume !== 'function')) {
    throw typeError('credits', 'must implement consume(keyId, credits, cost, at)')
  }
  if (store.consumeCredits !== undefined && typeof store.consumeCredits !== 'function') {
    throw typeError('store.consumeCredits', 'must be a function when present (see KeyStore)')
  }
  opt.func(o.onDecision, 'onDecision')
  opt.func(o.now, 'now')
  const breaker = checkBreaker(o.breaker)
  const net = createNetPolicy(o.trustProxy, 'trustProxy')
  const hasher = createHasher(o.pepper)
  return Object.freeze({
    store, schemes, roles, hasher, tenantOf: o.tenant, net, requireTls, explicitGrants, rolePrecedence, exposeReasons,
    limiter: o.rateLimiter, credits: o.credits, realm, timeoutMs, breaker, touchMs, onDecision: o.onDecision, now: o.now ?? Date.now,
  })
}
