/**
 * `createAuthorizer` options, value by value: every bad value is refused when the authorizer is
 * created, with a `TypeError` (wrong type) or `RangeError` (bad value) that names the field in a
 * fixed wording and never repeats the value (a misplaced key or pepper must not reach a log); and
 * every default is the documented one, seen from what the authorizer then does.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  createAuthorizer, generateKey, INVALID_OPTION, KeyManager, MemoryKeyStore, schemes, type AuthorizerOptions, type AuthRequest, type KeyStore,
  type Scheme,
} from '../../src/index.js'

/** What a misplaced secret looks like: no error message or stack may contain it. */
const SECRET = generateKey({ prefix: 'acme', environment: 'live' })
const NOW = Date.UTC(2030, 0, 1)
const store = new MemoryKeyStore()
const scheme = schemes.apiKeyHeader()
const get = (headers: Record<string, string>): AuthRequest => ({ method: 'GET', url: '/scans', headers, remoteAddress: '127.0.0.1' })

afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

function thrown(options: Record<string, unknown>): Error {
  try {
    createAuthorizer(options as unknown as AuthorizerOptions)
  } catch (e) {
    return e as Error
  }
  throw new Error('createAuthorizer accepted the options')
}

type Bad = readonly [string, Record<string, unknown>, typeof TypeError | typeof RangeError, string]
const STORE_MSG = 'store: is required and must implement findByHash(hash)'
const SCHEMES_MSG = 'schemes: must be a non-empty array of schemes'
const NOT_SCHEME = 'is not a scheme (use the schemes.* factories)'
const REALM_MSG = 'realm: must be 1-128 printable ASCII characters without quotes or backslashes'
const TIMEOUT_MSG = 'storeTimeoutMs: must be a number of milliseconds above 0 and at most 600000'
const noExtract = { ...scheme, extract: SECRET }
const BAD: readonly Bad[] = [
  ['no store', {}, TypeError, STORE_MSG],
  ['a null store', { store: null }, TypeError, STORE_MSG],
  ['a store that is a string', { store: SECRET }, TypeError, STORE_MSG],
  ['a store without findByHash', { store: { findGroup: async () => undefined } }, TypeError, STORE_MSG],
  ['a store whose findByHash is not a function', { store: { findByHash: SECRET } }, TypeError, STORE_MSG],
  ...(['peekByHash', 'peekGroup', 'peekOwner'] as const).map((m): Bad =>
    [`a store whose ${m} is not a function`, { store: { findByHash: async () => undefined, [m]: SECRET } }, TypeError, `store.${m}: must be a function when present (see KeyStore)`]),
  ['a store whose consumeCredits is not a function', { store: { findByHash: async () => undefined, consumeCredits: SECRET } }, TypeError,
    'store.consumeCredits: must be a function when present (see KeyStore)'],
  ['schemes that are a string', { store, schemes: SECRET }, TypeError, SCHEMES_MSG],
  ['schemes that are an empty array', { store, schemes: [] }, TypeError, SCHEMES_MSG],
  ['a null scheme', { store, schemes: [scheme, null] }, TypeError, `schemes[1]: ${NOT_SCHEME}`],
  ['a scheme that is a string', { store, schemes: [SECRET] }, TypeError, `schemes[0]: ${NOT_SCHEME}`],
  ['a scheme without extract', { store, schemes: [noExtract] }, TypeError, `schemes[0]: ${NOT_SCHEME}`],
  ['a scheme without challenge', { store, schemes: [{ ...scheme, challenge: undefined }] }, TypeError, `schemes[0]: ${NOT_SCHEME}`],
  ['a scheme whose headers are not an array', { store, schemes: [{ ...scheme, headers: 'x-api-key' }] }, TypeError, `schemes[0]: ${NOT_SCHEME}`],
  ['one scheme twice', { store, schemes: [schemes.bearer(), scheme, schemes.apiKeyHeader()] }, RangeError, 'schemes[2]: scheme "api-key" is configured twice'],
  ['roles that are a string', { store, roles: SECRET }, TypeError, 'roles: must come from defineRoles()'],
  ['roles without permissionsOf', { store, roles: { lookup: () => undefined } }, TypeError, 'roles: must come from defineRoles()'],
  ['a tenant that is a string', { store, tenant: SECRET }, TypeError, 'tenant: must be a function (request) => string | undefined'],
  ['requireTls as a string', { store, requireTls: SECRET }, TypeError, 'requireTls: must be a boolean'],
  ['explicitGrants as a number', { store, explicitGrants: 1 }, TypeError, 'explicitGrants: must be a boolean'],
  ['exposeReasons as a string', { store, exposeReasons: 'true' }, TypeError, 'exposeReasons: must be a boolean'],
  ['rolePrecedence of another case', { store, rolePrecedence: 'Key' }, RangeError, "rolePrecedence: must be 'key' or 'owner'"],
  ['rolePrecedence as a secret', { store, rolePrecedence: SECRET }, RangeError, "rolePrecedence: must be 'key' or 'owner'"],
  ['a realm that is a number', { store, realm: 42 }, RangeError, REALM_MSG],
  ['an empty realm', { store, realm: '' }, RangeError, REALM_MSG],
  ['a realm of 129 characters', { store, realm: 'r'.repeat(129) }, RangeError, REALM_MSG],
  ['a realm with a line feed', { store, realm: 'api\n' }, RangeError, REALM_MSG],
  ['a realm with a quote', { store, realm: `${SECRET}"` }, RangeError, REALM_MSG],
  ['a realm with a backslash', { store, realm: `${SECRET}\\` }, RangeError, REALM_MSG],
  ['a realm with a non-ASCII letter', { store, realm: 'apí' }, RangeError, REALM_MSG],
  ['storeTimeoutMs as a string', { store, storeTimeoutMs: SECRET }, RangeError, TIMEOUT_MSG],
  ['storeTimeoutMs NaN', { store, storeTimeoutMs: Number.NaN }, RangeError, TIMEOUT_MSG],
  ['storeTimeoutMs Infinity', { store, storeTimeoutMs: Infinity }, RangeError, TIMEOUT_MSG],
  ['storeTimeoutMs 0', { store, storeTimeoutMs: 0 }, RangeError, TIMEOUT_MSG],
  ['storeTimeoutMs negative', { store, storeTimeoutMs: -5 }, RangeError, TIMEOUT_MSG],
  ['storeTimeoutMs over ten minutes', { store, storeTimeoutMs: 600_001 }, RangeError, TIMEOUT_MSG],
  ['touchIntervalMs negative', { store, touchIntervalMs: -1 }, RangeError, 'touchIntervalMs: must be ≥ 0'],
  ['touchIntervalMs as a string', { store, touchIntervalMs: SECRET }, TypeError, 'touchIntervalMs: must be a number of milliseconds'],
  ['a rateLimiter that is null', { store, rateLimiter: null }, TypeError, 'rateLimiter: must implement consume(key)'],
  ['a rateLimiter without consume', { store, rateLimiter: { take: () => true } }, TypeError, 'rateLimiter: must implement consume(key)'],
  ['credits that are null', { store, credits: null }, TypeError, 'credits: must implement consume(keyId, credits, cost, at)'],
  ['credits that are a string', { store, credits: SECRET }, TypeError, 'credits: must implement consume(keyId, credits, cost, at)'],
  ['credits that are a function with consume', { store, credits: Object.assign(() => {}, { consume: async () => ({ allowed: true }) }) }, TypeError,
    'credits: must implement consume(keyId, credits, cost, at)'],
  ['a scheme that is a function with every field', { store, schemes: [Object.defineProperties(() => {}, Object.getOwnPropertyDescriptors(scheme))] }, TypeError, `schemes[0]: ${NOT_SCHEME}`],
  ['roles that are a function with permissionsOf', { store, roles: Object.assign(() => {}, { permissionsOf: () => undefined }) }, TypeError,
    'roles: must come from defineRoles()'],
  ['credits without consume', { store, credits: { consume: SECRET } }, TypeError, 'credits: must implement consume(keyId, credits, cost, at)'],
  ['onDecision as a string', { store, onDecision: SECRET }, TypeError, 'onDecision: must be a function'],
  ['now as a number', { store, now: NOW }, TypeError, 'now: must be a function'],
  ['a breaker that is a string', { store, breaker: SECRET }, TypeError, 'breaker: must be an object or false'],
  ['a breaker that is true', { store, breaker: true }, TypeError, 'breaker: must be an object or false'],
  ['a breaker threshold of 0', { store, breaker: { threshold: 0 } }, RangeError, 'breaker.threshold: must be an integer ≥ 1'],
  ['a breaker threshold of 1.5', { store, breaker: { threshold: 1.5 } }, RangeError, 'breaker.threshold: must be an integer ≥ 1'],
  ['a breaker cooldown of 0', { store, breaker: { cooldownMs: 0 } }, RangeError, 'breaker.cooldownMs: must be > 0'],
  ['a breaker onStateChange that is a string', { store, breaker: { onStateChange: SECRET } }, TypeError, 'breaker.onStateChange: must be a function'],
  ['a breaker with an unknown field', { store, breaker: { cooldown: 5 } }, RangeError, 'breaker: unknown field "cooldown" (did you mean "cooldownMs"?)'],
  ['trustProxy as a string', { store, trustProxy: SECRET }, TypeError, 'trustProxy: must be an array of IP addresses or CIDRs'],
  ['a pepper that is too short', { store, pepper: SECRET.slice(0, 20) }, RangeError, 'pepper: must be at least 32 bytes (got 20)'],
  ['options that are a string', SECRET as never, TypeError, 'options: must be an object'],
]

describe('createAuthorizer refuses a bad value', () => {
  it.each(BAD.map(([what, options, type, message]) => ({ what, options, type, message })))('$what: "$message"', ({ options, type, message }) => {
    const e = thrown(options)
    expect(e).toBeInstanceOf(type)
    expect(e.message).toBe(message)
    expect((e as { code?: unknown }).code).toBe(INVALID_OPTION)
    expect(e.message).not.toContain(SECRET)
    expect(String(e.stack)).not.toContain(SECRET)
  })

  it('checks the fields in a fixed order: the first bad one is named', () => {
    expect(thrown({ store: null, schemes: [], realm: '' }).message).toBe(STORE_MSG)
    expect(thrown({ store, schemes: [], realm: '' }).message).toBe(SCHEMES_MSG)
    expect(thrown({ store, realm: '', storeTimeoutMs: 0 }).message).toBe(REALM_MSG)
    expect(thrown({ store, storeTimeoutMs: 0, breaker: { threshold: 0 } }).message).toBe(TIMEOUT_MSG)
  })
})

describe('createAuthorizer accepts the edge of every range', () => {
  it.each([
    ['a 128-character realm', { realm: 'r'.repeat(128) }],
    ['a one-character realm', { realm: 'r' }],
    ['a realm with spaces and punctuation', { realm: "acme api (v2) -- 'prod'" }],
    ['storeTimeoutMs of ten minutes', { storeTimeoutMs: 600_000 }],
    ['a fractional storeTimeoutMs', { storeTimeoutMs: 0.5 }],
    ['touchIntervalMs 0', { touchIntervalMs: 0 }],
    ['breaker false', { breaker: false }],
    ['an empty breaker', { breaker: {} }],
    ['rolePrecedence owner', { rolePrecedence: 'owner' }],
    ['a credit ledger', { credits: { consume: async () => ({ allowed: true, remaining: 1 }) } }],
    ['a rate limiter', { rateLimiter: { consume: () => ({ allowed: true, limit: 1, remaining: 1, resetSec: 1 }) } }],
    ['a store with every peek', { store: { findByHash: async () => undefined, peekByHash: () => undefined, peekGroup: () => undefined, peekOwner: () => undefined } }],
  ])('%s', (_what, extra) => {
    const a = createAuthorizer({ store, ...extra } as AuthorizerOptions)
    expect(typeof a.authorize).toBe('function')
    expect(Object.isFrozen(a)).toBe(true)
  })
})

describe('defaults', () => {
  it('reads X-Api-Key when no schemes are given, and keeps a frozen copy of the schemes it was given', async () => {
    const s = new MemoryKeyStore()
    const { key } = await new KeyManager(s).issue({ kind: 'org' })
    const plain = createAuthorizer({ store: s, touchIntervalMs: 0 })
    expect(plain.schemes.map((x) => x.name)).toEqual(['api-key'])
    expect((await plain.authorize(get({ 'x-api-key': key }), 'scans:read')).allow).toBe(true)
    const list: Scheme[] = [schemes.bearer()]
    const bearer = createAuthorizer({ store: s, schemes: list, touchIntervalMs: 0 })
    list.push(schemes.apiKeyHeader())
    expect(bearer.schemes.map((x) => x.name)).toEqual(['bearer'])
    expect(Object.isFrozen(bearer.schemes)).toBe(true)
    expect((await bearer.authorize(get({ 'x-api-key': key }), 'scans:read')).allow).toBe(false)
  })

  it('names realm "api" in challenges unless told otherwise', async () => {
    const plain = createAuthorizer({ store, touchIntervalMs: 0 })
    expect(plain.realm).toBe('api')
    const d = await plain.authorize(get({}))
    expect(d.headers['www-authenticate']).toContain('realm="api"')
    const named = createAuthorizer({ store, realm: 'acme api', touchIntervalMs: 0 })
    expect((await named.authorize(get({}))).headers['www-authenticate']).toContain('realm="acme api"')
  })

  it('opens the circuit after 5 consecutive failures for 2 seconds', async () => {
    const calls: number[] = []
    const down: KeyStore = { findByHash: () => (calls.push(1), Promise.reject(new Error('down'))) }
    const a = createAuthorizer({ store: down, touchIntervalMs: 0, now: () => NOW })
    const retry: string[] = []
    for (let i = 0; i < 6; i++) {
      const d = await a.authorize(get({ 'x-api-key': SECRET }))
      retry.push(d.allow ? 'allow' : `${d.status}:${d.headers['retry-after']}`)
    }
    expect(retry).toEqual(['503:1', '503:1', '503:1', '503:1', '503:2', '503:2'])
    expect(calls).toHaveLength(5)
  })

  it('tells breaker.onStateChange when the circuit opens', async () => {
    const states: string[] = []
    const down: KeyStore = { findByHash: () => Promise.reject(new Error('down')) }
    const a = createAuthorizer({ store: down, touchIntervalMs: 0, now: () => NOW, breaker: { threshold: 2, cooldownMs: 7000, onStateChange: (s) => states.push(s) } })
    await a.authorize(get({ 'x-api-key': SECRET }))
    expect(states).toEqual([])
    const d = await a.authorize(get({ 'x-api-key': SECRET }))
    expect(states).toEqual(['open'])
    expect(d.allow ? 'allow' : d.headers['retry-after']).toBe('7')
  })

  it('writes last-used times every 60 seconds', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const s = new MemoryKeyStore()
    const { key, record } = await new KeyManager(s, { now: () => NOW - 1 }).issue({ kind: 'org' })
    const touch = vi.spyOn(s, 'touch')
    const a = createAuthorizer({ store: s, now: () => NOW })
    expect((await a.authorize(get({ 'x-api-key': key }))).allow).toBe(true)
    await vi.advanceTimersByTimeAsync(59_999)
    expect(touch).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(touch.mock.calls).toEqual([[record.id, NOW]])
  })

  it('takes the time from Date.now when no clock is given', async () => {
    const s = new MemoryKeyStore()
    const { key } = await new KeyManager(s, { now: () => NOW - 1 }).issue({ kind: 'org', expiresAt: NOW + 1000 })
    const clock = vi.spyOn(Date, 'now').mockReturnValue(NOW)
    const at: number[] = []
    const a = createAuthorizer({ store: s, touchIntervalMs: 0, onDecision: (e) => at.push(e.at) })
    expect((await a.authorize(get({ 'x-api-key': key }))).allow).toBe(true)
    clock.mockReturnValue(NOW + 1000)
    const d = await a.authorize(get({ 'x-api-key': key }))
    clock.mockRestore()
    expect(d.allow ? 'allow' : d.status).toBe(401)
    expect(at).toEqual([NOW, NOW + 1000])
  })

})
