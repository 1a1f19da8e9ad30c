/**
 * `createTestAuthority`: keyward as it runs in production (the real authorizer, key manager and
 * in-memory store), wired for tests: deterministic test keys, a clock the test moves, headers for
 * every scheme, and the recorded decisions.
 * @module
 */
import { fieldsOf, knownFields } from '../lib/options.js'
import { createAuthorizer, type Authorizer, type AuthorizerOptions } from '../authorize.js'
import { KeywardError, quote, rangeError, typeError } from '../errors.js'
import { validateKeyOptions } from '../keys/format.js'
import { randomBytes } from '../keys/random.js'
import { createHasher, type Pepper } from '../keys/hash.js'
import { tokenBucket } from '../ratelimit/token-bucket.js'
import { insightAppSecRoles, type Roles } from '../roles.js'
import { apiKeyHeader, ssapi } from '../schemes/api-key.js'
import { basic } from '../schemes/basic.js'
import { bearer } from '../schemes/bearer.js'
import { contrast } from '../schemes/contrast.js'
import { jwt } from '../schemes/jwt.js'
import { restApiKey } from '../schemes/rest-api-key.js'
import type { Scheme } from '../schemes/scheme.js'
import type { RotateOptions } from '../stores/manager.js'
import * as F from '../stores/fields.js'
import type { DecisionEvent, KeyStore, RateLimiter } from '../types.js'
import { createClock, instant, TEST_EPOCH, type TestClock } from './_clock.js'
import { isSchemeName, SCHEME_NAMES, type TestSchemeName } from './_headers.js'
import { TEST_ENVIRONMENT } from './_keys.js'
import { headersFor, issueRecord, rotateKey, TEST_JWT_ISSUER, type Kit } from './_kit.js'
import { TestKeyManager, TestKeyStore } from './_store.js'
import type { HeadersForOptions, TestAuthority, TestAuthorityOptions, TestIssueSpec, TokenHeadersOptions } from './types.js'

/**
 * The pepper the kit hashes keys with unless told otherwise. It is public, so a hash made with it
 * protects nothing: it exists so that the kit never needs, and never reads, a real pepper.
 */
export const TEST_PEPPER = 'keyward/testing: a public pepper, never for production'

export { TEST_EPOCH }

export { TEST_JWT_ISSUER }

const OPTION_FIELDS = fieldsOf<TestAuthorityOptions>({
  schemes: true, roles: true, tenant: true, trustProxy: true, requireTls: true, explicitGrants: true, rateLimit: true, rateLimiter: true,
  realm: true, exposeReasons: true, storeTimeoutMs: true, breaker: true, touchIntervalMs: true, onDecision: true, seed: true, prefix: true,
  start: true, pepper: true, defaults: true,
})
const DEFAULT_OWNER = 'tester@example.test'

/** Kits created in this module instance: numbers the default seeds. */
let kitsCreated = 0

function env(): Readonly<Record<string, string | undefined>> | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

/** The name of an environment variable named like a pepper whose value is `pepper`, if any. */
function pepperFromEnvironment(pepper: Pepper): string | undefined {
  const vars = env()
  if (vars === undefined) return undefined
  const bytes = typeof pepper === 'string' ? utf8(pepper) : pepper
  for (const [name, value] of Object.entries(vars)) {
    if (typeof value === 'string' && value.length > 0 && /pepper/i.test(name) && sameBytes(utf8(value), bytes)) return name
  }
  return undefined
}

function builtIn(name: TestSchemeName, tokenScheme: () => Scheme): Scheme {
  switch (name) {
    case 'api-key':
      return apiKeyHeader()
    case 'ssapi':
      return ssapi()
    case 'rest-api-key':
      return restApiKey()
    case 'contrast':
      return contrast()
    case 'bearer':
      return bearer()
    case 'basic':
      return basic()
    case 'jwt':
      return tokenScheme()
  }
}

/** The checked settings of a kit that come before its schemes: seed, prefix, clock, pepper and rate limiter. */
function kitSettings(o: TestAuthorityOptions): { seed: string; prefix: string; clock: TestClock; pepper: Pepper; rateLimiter: RateLimiter | undefined } {
  const vars = env()
  if (vars?.NODE_ENV === 'production') {
    throw new KeywardError('keyward/testing refuses to run with NODE_ENV=production: its keys are predictable by design')
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw typeError('options', 'must be an object')
  knownFields(o, OPTION_FIELDS, 'options')

  kitsCreated++
  const seed = o.seed === undefined ? `kit-${kitsCreated}` : o.seed
  if (typeof seed !== 'string') throw typeError('seed', 'must be a string')
  if (seed.length === 0 || seed.length > 256 || seed.includes('\u0000')) throw rangeError('seed', 'must be 1-256 characters, without NUL')
  const prefix = o.prefix ?? 'kw'
  validateKeyOptions({ prefix })
  const clock = createClock(o.start === undefined ? TEST_EPOCH : instant(o.start, 'start'))

  let pepper: Pepper = TEST_PEPPER
  if (o.pepper !== undefined) {
    createHasher(o.pepper) // validates type and length, naming the field
    const name = pepperFromEnvironment(o.pepper)
    if (name !== undefined) {
      throw rangeError('pepper', `equals the environment variable ${name}: the testing kit never uses a production pepper (leave pepper unset: the kit has its own)`)
    }
    pepper = typeof o.pepper === 'string' ? o.pepper : o.pepper.slice()
  }

  if (o.rateLimit !== undefined && o.rateLimiter !== undefined) throw rangeError('rateLimit', 'pass rateLimit or rateLimiter, not both')
  const rateLimiter = o.rateLimit === undefined ? o.rateLimiter : tokenBucket({ ...F.rateLimit(o.rateLimit), now: clock.now })
  return { seed, prefix, clock, pepper, rateLimiter }
}

/**
 * The kit's schemes, by name or given. Its JWT scheme has a fresh secret per kit, so a token
 * minted by one kit means nothing to another; no clock tolerance, so a token stops working
 * exactly at `exp` on the kit's clock.
 */
function kitSchemes(input: unknown, secret: Uint8Array): Scheme[] {
  const tokenScheme = () =>
    jwt({ key: secret, algorithms: ['HS256'], issuer: TEST_JWT_ISSUER, audience: TEST_JWT_ISSUER, typ: 'keyward+jwt', clockToleranceSec: 0 })
  const schemeInput = input === undefined ? SCHEME_NAMES : input
  if (!Array.isArray(schemeInput)) throw typeError('schemes', 'must be an array of scheme names or schemes')
  return schemeInput.map((s: unknown, i) => {
    if (typeof s === 'string') {
      if (!isSchemeName(s)) throw rangeError(`schemes[${i}]`, `unknown scheme ${quote(s)} (one of ${SCHEME_NAMES.join(', ')})`)
      return builtIn(s, tokenScheme)
    }
    return s as Scheme // createAuthorizer checks that it is one
  })
}

/** The options of the kit's authorizer: the kit's own, and the authorizer options passed through. */
function authorizerOptionsOf(o: TestAuthorityOptions, own: Pick<AuthorizerOptions, 'store' | 'pepper' | 'now' | 'schemes' | 'onDecision' | 'rateLimiter'>): AuthorizerOptions {
  const { rateLimiter } = own
  return {
    store: own.store,
    pepper: own.pepper,
    now: own.now,
    schemes: own.schemes,
    touchIntervalMs: o.touchIntervalMs ?? 0,
    onDecision: own.onDecision,
    ...(o.roles === undefined ? {} : { roles: o.roles }),
    ...(o.tenant === undefined ? {} : { tenant: o.tenant }),
    ...(o.trustProxy === undefined ? {} : { trustProxy: o.trustProxy }),
    ...(o.requireTls === undefined ? {} : { requireTls: o.requireTls }),
    ...(o.explicitGrants === undefined ? {} : { explicitGrants: o.explicitGrants }),
    ...(rateLimiter === undefined ? {} : { rateLimiter }),
    ...(o.realm === undefined ? {} : { realm: o.realm }),
    ...(o.exposeReasons === undefined ? {} : { exposeReasons: o.exposeReasons }),
    ...(o.storeTimeoutMs === undefined ? {} : { storeTimeoutMs: o.storeTimeoutMs }),
    ...(o.breaker === undefined ? {} : { breaker: o.breaker }),
  }
}

/** The kit's `defaults` option, checked against its roles. */
function kitDefaults(value: unknown, roles: Roles): Kit['defaults'] {
  const d = value ?? {}
  if (d === null || typeof d !== 'object' || Array.isArray(d)) throw typeError('defaults', 'must be an object')
  F.onlyFields(d, new Set(['owner', 'role', 'tenant']), 'defaults')
  const f = d as Record<string, unknown>
  return {
    owner: f.owner === undefined ? DEFAULT_OWNER : F.owner(f.owner, 'defaults.owner'),
    role: f.role === undefined ? undefined : F.role(f.role, roles, 'defaults.role'),
    tenant: f.tenant === undefined ? undefined : F.tenant(f.tenant, 'defaults.tenant'),
  }
}

/**
 * Minting needs the principal the key authenticates as, exactly as the authorizer computes it
 * (owner's current role, scopes, grants). A second authorizer over a view of the store without
 * allowlists gives it: a test asking for a token is not asking about its client address.
 */
function createMinter(store: TestKeyStore, o: { pepper: Pepper; roles: Roles; now: () => number; schemes: readonly Scheme[] }): Authorizer {
  const unlisted = <T extends { allowedIps?: string[] }>(r: T | undefined): T | undefined =>
    r === undefined || r.allowedIps === undefined ? r : { ...r, allowedIps: undefined }
  const mintView: KeyStore = {
    findByHash: async (hash) => unlisted(await store.findByHash(hash)),
    findGroup: async (id) => unlisted(await store.findGroup(id)),
    findOwner: (id) => store.findOwner(id),
  }
  // Where the kit accepts Contrast pairs, a service key never authenticates alone, so it is
  // never minted a token either (a token would let it act without its organization key).
  const pairing = o.schemes.some((s) => s.name === 'contrast')
  return createAuthorizer({
    store: mintView,
    pepper: o.pepper,
    roles: o.roles,
    now: o.now,
    schemes: pairing ? [apiKeyHeader(), contrast()] : [apiKeyHeader()],
    touchIntervalMs: 0,
    breaker: false,
  })
}

/**
 * Creates a test authority: the real authorizer, key manager and in-memory store, with
 * deterministic test keys (`kw_test_…`), a clock the test moves, `headersFor` for every scheme,
 * and every decision recorded. Nothing is shared between kits, and nothing reaches outside the
 * process: there is no option to use another store.
 *
 * It refuses to run under `NODE_ENV=production`: its keys are predictable by design.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import request from 'supertest'
 * import { guard } from 'keyward/express'
 * import { createTestAuthority } from 'keyward/testing'
 *
 * const kit = createTestAuthority()
 * const app = express()
 * app.get('/scans', guard(kit.authorizer)('scans:read'), (req, res) => res.json([]))
 *
 * const key = await kit.issue({ role: 'Read Only', allowedIps: ['203.0.113.0/24'] })
 * const res = await request(app).get('/scans').set(kit.headersFor(key))
 * // res.status === 403, kit.lastDecision()?.reason === 'ip_not_allowed'
 * ```
 */
export function createTestAuthority(options: TestAuthorityOptions = {}): TestAuthority {
  const o = options
  const { seed, prefix, clock, pepper, rateLimiter } = kitSettings(o)
  const hasher = createHasher(pepper)
  const secret = randomBytes(32)
  const schemes = kitSchemes(o.schemes, secret)

  const events: DecisionEvent[] = []
  const userOnDecision = o.onDecision
  if (userOnDecision !== undefined && typeof userOnDecision !== 'function') throw typeError('onDecision', 'must be a function')
  const store = new TestKeyStore()
  const onDecision = (event: DecisionEvent): void => {
    events.push(Object.freeze({ ...event }))
    userOnDecision?.(event)
  }
  // Validates every authorizer option, naming the field.
  const authorizer = createAuthorizer(authorizerOptionsOf(o, { store, pepper, now: clock.now, schemes, onDecision, rateLimiter }))
  const roles = o.roles ?? insightAppSecRoles
  const defaults = kitDefaults(o.defaults, roles)
  const manager = new TestKeyManager(store, { pepper, prefix, environment: TEST_ENVIRONMENT, roles, now: clock.now })
  const minter = createMinter(store, { pepper, roles, now: clock.now, schemes })
  const kit: Kit = { seed, prefix, hasher, store, manager, authorizer, minter, secret, now: clock.now, defaults, orgKeys: new Map(), issued: 0 }

  return Object.freeze({
    authorizer,
    manager,
    store,
    clock,
    issue: async (spec?: TestIssueSpec) => (await issueRecord(kit, spec)).key,
    issueRecord: (spec?: TestIssueSpec) => issueRecord(kit, spec),
    rotate: (keyOrId: string, rotateOptions: RotateOptions) => rotateKey(kit, keyOrId, rotateOptions),
    headersFor: ((key: string, arg?: string | Scheme | HeadersForOptions | TokenHeadersOptions) => headersFor(kit, key, arg)) as TestAuthority['headersFor'],
    decisions: () => Object.freeze([...events]),
    lastDecision: () => events.at(-1),
    clearDecisions: () => {
      events.length = 0
    },
    close: async () => {
      await Promise.all([authorizer.close(), minter.close()])
    },
  })
}
