/**
 * `createTestAuthority`: keyward as it runs in production (the real authorizer, key manager and
 * in-memory store), wired for tests: deterministic test keys, a clock the test moves, headers for
 * every scheme, and the recorded decisions.
 * @module
 */
import { fieldsOf, knownFields } from '../lib/options.js'
import { createAuthorizer, type AuthorizerOptions } from '../authorize.js'
import { KeywardError, NotFoundError, quote, rangeError, typeError } from '../errors.js'
import { validateKeyOptions } from '../keys/format.js'
import { randomBytes } from '../keys/random.js'
import { createHasher, type Pepper } from '../keys/hash.js'
import { tokenBucket } from '../ratelimit/token-bucket.js'
import { insightAppSecRoles } from '../roles.js'
import { apiKeyHeader, ssapi } from '../schemes/api-key.js'
import { basic } from '../schemes/basic.js'
import { bearer } from '../schemes/bearer.js'
import { contrast } from '../schemes/contrast.js'
import { jwt } from '../schemes/jwt.js'
import { restApiKey } from '../schemes/rest-api-key.js'
import type { Scheme } from '../schemes/scheme.js'
import type { IssuedKey, IssueOptions, RotateOptions } from '../stores/manager.js'
import * as F from '../stores/fields.js'
import { mintToken } from '../tokens.js'
import type { DecisionEvent, KeyRecord, KeyStore } from '../types.js'
import { createClock, instant, TEST_EPOCH } from './_clock.js'
import { carrierByName, carrierOf, contrastHeaders, isSchemeName, keyHeaders, SCHEME_NAMES, type Carrier, type TestSchemeName } from './_headers.js'
import { TEST_ENVIRONMENT, testKey } from './_keys.js'
import { TestKeyManager, TestKeyStore } from './_store.js'
import type { HeadersForOptions, TestAuthority, TestAuthorityOptions, TestHeaders, TestIssueSpec, TokenHeadersOptions } from './types.js'

/**
 * The pepper the kit hashes keys with unless told otherwise. It is public, so a hash made with it
 * protects nothing: it exists so that the kit never needs, and never reads, a real pepper.
 */
export const TEST_PEPPER = 'keyward/testing: a public pepper, never for production'

export { TEST_EPOCH }

/** `iss` and `aud` of the tokens the kit mints and its `jwt` scheme accepts. */
export const TEST_JWT_ISSUER = 'keyward-testing'

const OPTION_FIELDS = fieldsOf<TestAuthorityOptions>({
  schemes: true, roles: true, tenant: true, trustProxy: true, requireTls: true, explicitGrants: true, rateLimit: true, rateLimiter: true,
  realm: true, exposeReasons: true, storeTimeoutMs: true, breaker: true, touchIntervalMs: true, onDecision: true, seed: true, prefix: true,
  start: true, pepper: true, defaults: true,
})
const HEADERS_FOR_FIELDS: ReadonlySet<string> = new Set(['scheme', 'organizationKey', 'user', 'ttlSec'])
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

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw typeError(field, 'must be a string')
  return value
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
  const vars = env()
  if (vars?.NODE_ENV === 'production') {
    throw new KeywardError('keyward/testing refuses to run with NODE_ENV=production: its keys are predictable by design')
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw typeError('options', 'must be an object')
  const o = options
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
  const hasher = createHasher(pepper)

  if (o.rateLimit !== undefined && o.rateLimiter !== undefined) throw rangeError('rateLimit', 'pass rateLimit or rateLimiter, not both')
  const rateLimiter = o.rateLimit === undefined ? o.rateLimiter : tokenBucket({ ...F.rateLimit(o.rateLimit), now: clock.now })

  // The kit's JWT scheme: a fresh secret per kit, so a token minted by one kit means nothing to
  // another; no clock tolerance, so a token stops working exactly at `exp` on the kit's clock.
  const secret = randomBytes(32)
  const tokenScheme = () =>
    jwt({ key: secret, algorithms: ['HS256'], issuer: TEST_JWT_ISSUER, audience: TEST_JWT_ISSUER, typ: 'keyward+jwt', clockToleranceSec: 0 })

  const schemeInput = o.schemes === undefined ? SCHEME_NAMES : o.schemes
  if (!Array.isArray(schemeInput)) throw typeError('schemes', 'must be an array of scheme names or schemes')
  const schemeList: Scheme[] = schemeInput.map((s: unknown, i) => {
    if (typeof s === 'string') {
      if (!isSchemeName(s)) throw rangeError(`schemes[${i}]`, `unknown scheme ${quote(s)} (one of ${SCHEME_NAMES.join(', ')})`)
      return builtIn(s, tokenScheme)
    }
    return s as Scheme // createAuthorizer checks that it is one
  })

  const events: DecisionEvent[] = []
  const userOnDecision = o.onDecision
  if (userOnDecision !== undefined && typeof userOnDecision !== 'function') throw typeError('onDecision', 'must be a function')
  const store = new TestKeyStore()
  const authorizerOptions: AuthorizerOptions = {
    store,
    pepper,
    now: clock.now,
    schemes: schemeList,
    touchIntervalMs: o.touchIntervalMs ?? 0,
    onDecision: (event) => {
      events.push(Object.freeze({ ...event }))
      userOnDecision?.(event)
    },
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
  // Validates every authorizer option, naming the field.
  const authorizer = createAuthorizer(authorizerOptions)
  const roles = o.roles ?? insightAppSecRoles

  const d = o.defaults ?? {}
  if (d === null || typeof d !== 'object' || Array.isArray(d)) throw typeError('defaults', 'must be an object')
  F.onlyFields(d, new Set(['owner', 'role', 'tenant']), 'defaults')
  const defaults = {
    owner: d.owner === undefined ? DEFAULT_OWNER : F.owner(d.owner, 'defaults.owner'),
    role: d.role === undefined ? undefined : F.role(d.role, roles, 'defaults.role'),
    tenant: d.tenant === undefined ? undefined : F.tenant(d.tenant, 'defaults.tenant'),
  }

  const manager = new TestKeyManager(store, { pepper, prefix, environment: TEST_ENVIRONMENT, roles, now: clock.now })

  // Minting needs the principal the key authenticates as, exactly as the authorizer computes it
  // (owner's current role, scopes, grants). A second authorizer over a view of the store without
  // allowlists gives it: a test asking for a token is not asking about its client address.
  const unlisted = <T extends { allowedIps?: string[] }>(r: T | undefined): T | undefined =>
    r === undefined || r.allowedIps === undefined ? r : { ...r, allowedIps: undefined }
  const mintView: KeyStore = {
    findByHash: async (hash) => unlisted(await store.findByHash(hash)),
    findGroup: async (id) => unlisted(await store.findGroup(id)),
    findOwner: (id) => store.findOwner(id),
  }
  // Where the kit accepts Contrast pairs, a service key never authenticates alone, so it is
  // never minted a token either (a token would let it act without its organization key).
  const pairing = schemeList.some((s) => s.name === 'contrast')
  const minter = createAuthorizer({
    store: mintView,
    pepper,
    roles,
    now: clock.now,
    schemes: pairing ? [apiKeyHeader(), contrast()] : [apiKeyHeader()],
    touchIntervalMs: 0,
    breaker: false,
  })

  let issued = 0
  const nextKey = () => testKey(seed, prefix, ++issued)
  /** Plaintexts of the organization keys the kit issued, by record id, newest last. */
  const orgKeys = new Map<string, string>()

  function recordOf(key: string): KeyRecord | undefined {
    return key.length === 0 ? undefined : store.recordByHash(hasher(key))
  }

  function organizationKeyFor(tenant: string | undefined): string | undefined {
    if (tenant === undefined) return undefined
    for (const [id, key] of [...orgKeys].reverse()) {
      const r = store.recordById(id)
      const h = hasher(key)
      if (r !== undefined && r.kind === 'tenant' && r.tenant === tenant && (r.hash === h || r.previousHash === h)) return key
    }
    return undefined
  }

  async function issueRecord(spec: TestIssueSpec = {}): Promise<IssuedKey> {
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw typeError('spec', 'must be an object')
    if (Object.hasOwn(spec, 'key')) throw rangeError('spec', 'unknown field "key" (the kit makes its own keys; to import one, use kit.manager.import)')
    const kind = spec.kind ?? 'user'
    const input: IssueOptions = { ...spec, kind }
    if (input.tenant === undefined && defaults.tenant !== undefined) input.tenant = defaults.tenant
    if (kind === 'user') {
      if (input.owner === undefined) input.owner = defaults.owner
      if (input.role === undefined && defaults.role !== undefined) input.role = defaults.role
    }
    const key = nextKey()
    const record = await manager.import({ ...input, key })
    if (record.kind === 'tenant') orgKeys.set(record.id, key)
    return { key, record }
  }

  async function rotate(keyOrId: string, rotateOptions: RotateOptions): Promise<string> {
    if (typeof keyOrId !== 'string') throw typeError('keyOrId', 'must be a key or a key id')
    const found = recordOf(keyOrId) ?? store.recordById(keyOrId)
    if (found === undefined) throw new NotFoundError('rotate: no key of this kit matches (pass a key it issued, or its record id)')
    // The manager does the rotation (validation, grace period, locking); its random replacement
    // is then swapped for the next deterministic key before anyone could have seen it.
    const { key: random } = await manager.rotate(found.id, rotateOptions)
    const key = nextKey()
    const current = await store.getKey(found.id)
    if (current === undefined || current.hash !== hasher(random)) throw new KeywardError('rotate: the key changed while it was being rotated')
    await store.updateKey({ ...current, hash: hasher(key) }, current)
    if (current.kind === 'tenant') {
      orgKeys.delete(current.id)
      orgKeys.set(current.id, key)
    }
    return key
  }

  async function tokenHeaders(key: string, ttlSec: unknown): Promise<TestHeaders> {
    const d = await minter.authorize({ method: 'GET', url: '/', headers: { 'x-api-key': key } })
    if (!d.allow) throw rangeError('key', `cannot be turned into a token: the kit denies it (${d.reason})`)
    const token = await mintToken(d.principal, {
      key: secret,
      algorithm: 'HS256',
      issuer: TEST_JWT_ISSUER,
      audience: TEST_JWT_ISSUER,
      now: clock.now,
      ...(ttlSec === undefined ? {} : { ttlSec: ttlSec as number }),
    })
    return { authorization: `Bearer ${token}` }
  }

  function carrierFor(scheme: unknown, field: string): Carrier {
    if (scheme === undefined) {
      for (const s of authorizer.schemes) {
        const c = carrierOf(s)
        if (c !== undefined && c.type !== 'token') return c
      }
      throw typeError(field, 'is required: the kit has no key scheme configured (for a token, headersFor(key, "jwt"))')
    }
    if (typeof scheme === 'string') return carrierByName(scheme, authorizer.schemes, field)
    if (scheme !== null && typeof scheme === 'object' && typeof (scheme as Scheme).extract === 'function') {
      const c = carrierOf(scheme as Scheme)
      if (c === undefined) throw typeError(field, `cannot build headers for the custom scheme ${quote((scheme as Scheme).name)}`)
      return c
    }
    throw typeError(field, 'must be a scheme name or a scheme')
  }

  function headersFor(key: string, arg?: string | Scheme | HeadersForOptions | TokenHeadersOptions): TestHeaders | Promise<TestHeaders> {
    if (typeof key !== 'string') throw typeError('key', 'must be a string')
    // Read as unknowns: JavaScript callers (a CommonJS Jest test) get the same checks as TypeScript ones.
    let opts: { scheme?: unknown; organizationKey?: unknown; user?: unknown; ttlSec?: unknown } = {}
    let field = 'scheme'
    if (arg !== null && typeof arg === 'object' && typeof (arg as Scheme).extract !== 'function') {
      F.onlyFields(arg, HEADERS_FOR_FIELDS, 'options')
      opts = arg as typeof opts
      field = 'options.scheme'
    } else if (arg !== undefined) {
      opts = { scheme: arg }
    }
    const carrier = carrierFor(opts.scheme, field)
    if (carrier.type === 'token') return tokenHeaders(key, opts.ttlSec)
    if (opts.ttlSec !== undefined) throw rangeError('ttlSec', 'applies to the jwt scheme only')
    const user = optionalString(opts.user, 'user')
    const organizationKey = optionalString(opts.organizationKey, 'organizationKey')
    if (carrier.type === 'contrast') {
      const r = recordOf(key)
      const name = user ?? r?.owner
      if (name === undefined) throw typeError('user', 'is required: the key is not a user key of this kit, so its owner is unknown')
      const org = organizationKey ?? organizationKeyFor(r?.tenant)
      if (org === undefined) {
        throw typeError(
          'organizationKey',
          r?.tenant === undefined
            ? 'is required: the key has no tenant, so there is no organization key to pair it with'
            : `is required: the kit issued no organization key for tenant ${quote(r.tenant)} (await kit.issue({ kind: 'tenant', tenant: ${quote(r.tenant)} }))`,
        )
      }
      return contrastHeaders(org, name, key)
    }
    if (organizationKey !== undefined) throw rangeError('organizationKey', 'applies to the contrast scheme only')
    if (user !== undefined && carrier.type !== 'basic') throw rangeError('user', 'applies to the contrast and basic schemes only')
    return keyHeaders(carrier, key, user)
  }

  return Object.freeze({
    authorizer,
    manager,
    store,
    clock,
    issue: async (spec?: TestIssueSpec) => (await issueRecord(spec)).key,
    issueRecord,
    rotate,
    headersFor: headersFor as TestAuthority['headersFor'],
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
