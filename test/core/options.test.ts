/**
 * Every options object of the public API refuses a field it does not know: a typo must never fall
 * back to a default (`requireTLS: true` silently allowing plain HTTP is a wrong allow). The error
 * names the field and the known field that was meant, and never repeats the value (which may be a
 * key or a pepper). One table over every options object, nested ones included.
 */
import { generateKeyPairSync } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { createAdminHandler } from '../../src/admin/index.js'
import { guard as expressGuard } from '../../src/adapters/express.js'
import { guard as honoGuard } from '../../src/adapters/hono.js'
import { adminMiddleware as koaAdmin, guard as koaGuard } from '../../src/adapters/koa.js'
import { boolean, editDistance, func, integer, millis, nearestField } from '../../src/lib/options.js'
import {
  cachedStore, createAuthorizer, defineRoles, generateKey, INVALID_OPTION, KeyManager, MemoryKeyStore, mintToken, schemes, tokenBucket,
} from '../../src/index.js'
import { redisInvalidation, redisRateLimiter } from '../../src/redis/index.js'
import { postgresMigrationSql, postgresStore } from '../../src/stores/postgres.js'
import { createTestAuthority, type TestAuthority } from '../../src/testing/index.js'
import type { Principal } from '../../src/types.js'

/** A valid key: what a misplaced secret looks like. No message may contain it. */
const KEY = generateKey({ prefix: 'acme', environment: 'live' })
const SECRET = new Uint8Array(32).fill(7)
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const store = new MemoryKeyStore()
const manager = new KeyManager(store)
const authorizer = createAuthorizer({ store })
const principal: Principal = Object.freeze({
  keyId: 'key_1', kind: 'user', owner: 'ana', role: 'Read Only', scheme: 'api-key', grants: [], permissions: ['apps:read'], can: () => true,
})
const kits: TestAuthority[] = []
const kit = (o: object): TestAuthority => {
  const k = createTestAuthority(o as never)
  kits.push(k)
  return k
}
const shared = kit({})
afterAll(async () => {
  await Promise.all(kits.map((k) => k.close()))
})
const jwtBase = { key: SECRET, algorithms: ['HS256'], issuer: 'edge', audience: 'api' }
const remote = { key: undefined, jwks: { url: 'https://idp.example.com/jwks' }, algorithms: ['ES256'], issuer: 'edge', audience: 'api' }
const roles = { levels: ['read'], roles: { viewer: ['apps:read'] } }
const fakeRedis = { evalsha() {}, duplicate() {}, publish() {} }
const fakePool = { connect() {} }

/** [what, build(options), base options, misspelt field, the field meant, a valid value for it] */
type Row = readonly [string, (o: Record<string, unknown>) => unknown, Record<string, unknown>, string, string, unknown]
const nested = (outer: string, build: (o: Record<string, unknown>) => unknown, base: Record<string, unknown>, inner: Record<string, unknown> = {}) =>
  (o: Record<string, unknown>) => build({ ...base, [outer]: { ...inner, ...o } })

const ROWS: readonly Row[] = [
  ['createAuthorizer', createAuthorizer as never, { store }, 'requireTLS', 'requireTls', true],
  ['createAuthorizer', createAuthorizer as never, { store }, 'shemes', 'schemes', [schemes.bearer()]],
  ['createAuthorizer', createAuthorizer as never, { store }, 'trustProxys', 'trustProxy', ['10.0.0.0/8']],
  ['createAuthorizer', createAuthorizer as never, { store }, 'storeTimeout', 'storeTimeoutMs', 500],
  ['createAuthorizer breaker', nested('breaker', createAuthorizer as never, { store }), {}, 'treshold', 'threshold', 3],
  ['schemes.apiKeyHeader', schemes.apiKeyHeader as never, {}, 'headr', 'header', 'X-Key'],
  ['schemes.jwt', schemes.jwt as never, jwtBase, 'clockTolerance', 'clockToleranceSec', 5],
  ['schemes.jwt claims', nested('claims', schemes.jwt as never, jwtBase), {}, 'tennant', 'tenant', 'org'],
  ['schemes.jwt cache', nested('cache', schemes.jwt as never, jwtBase), {}, 'maxEntrys', 'maxEntries', 100],
  ['schemes.jwt jwks', nested('jwks', schemes.jwt as never, remote, remote.jwks), {}, 'timeout', 'timeoutMs', 1000],
  ['schemes.jwt jwks', (o) => schemes.jwt({ ...remote, jwks: o } as never), {}, 'ulr', 'url', 'https://idp.example.com/jwks'],
  ['mintToken', (o) => mintToken(principal, o as never), { key: ec.privateKey, algorithm: 'ES256', issuer: 'edge', audience: 'api' }, 'ttl', 'ttlSec', 60],
  ['cachedStore', (o) => cachedStore(store, o), {}, 'ttl', 'ttlMs', 1000],
  ['KeyManager', (o) => new KeyManager(store, o), {}, 'prefx', 'prefix', 'acme'],
  ['KeyManager.issue', (o) => manager.issue(o as never), { kind: 'user', owner: 'ana' }, 'rol', 'role', 'Read Only'],
  ['KeyManager.createGroup', (o) => manager.createGroup(o as never), { name: 'g' }, 'descripton', 'description', 'a group'],
  ['tokenBucket', tokenBucket as never, { capacity: 5, refillPerSecond: 1 }, 'maxKey', 'maxKeys', 10],
  ['generateKey', generateKey as never, {}, 'enviroment', 'environment', 'test'],
  ['defineRoles', defineRoles as never, roles, 'role', 'roles', roles.roles],
  ['postgresStore', (o) => postgresStore(fakePool as never, o), {}, 'queryTimeout', 'queryTimeoutMs', 1000],
  ['postgresMigrationSql', postgresMigrationSql as never, {}, 'shema', 'schema', 'auth'],
  ['redisRateLimiter', (o) => redisRateLimiter(fakeRedis as never, o as never), { capacity: 5, refillPerSecond: 1 }, 'timeout', 'timeoutMs', 100],
  ['redisInvalidation', (o) => redisInvalidation(fakeRedis as never, o), {}, 'chanel', 'channel', 'c'],
  ['express guard', (o) => expressGuard(authorizer, o), {}, 'onDenied', 'onDeny', () => {}],
  ['koa guard', (o) => koaGuard(authorizer, o), {}, 'authorizePreflite', 'authorizePreflight', true],
  ['hono guard', (o) => honoGuard(authorizer, o), {}, 'clientinfo', 'clientInfo', () => ({})],
  ['koa adminMiddleware', (o) => koaAdmin(async () => new Response(null), o), {}, 'basepath', 'basePath', '/keys'],
  ['createAdminHandler', createAdminHandler as never, { manager, authorizer }, 'permision', 'permission', 'apps:manage'],
  ['createTestAuthority', kit, {}, 'requireTLS', 'requireTls', true],
  ['createTestAuthority defaults', nested('defaults', kit, {}), {}, 'rol', 'role', 'Read Write'],
  ['kit.issue', (o) => shared.issue(o as never), {}, 'rol', 'role', 'Read Write'],
  ['kit.headersFor', (o) => shared.headersFor(KEY, o as never), {}, 'shceme', 'scheme', 'bearer'],
]

/** Runs `build` and returns what it threw or rejected with, or undefined. */
async function failure(build: () => unknown): Promise<unknown> {
  try {
    await build()
    return undefined
  } catch (e) {
    return e
  }
}

describe('every options object refuses unknown fields', () => {
  const cases = ROWS.map(([what, build, base, wrong, meant, value]) => ({ what, build, base, wrong, meant, value }))
  it.each(cases)('$what refuses the misspelt "$wrong", naming it and "$meant", never its value', async ({ build, base, wrong, meant }) => {
    const e = await failure(() => build({ ...base, [wrong]: KEY }))
    expect(e).toBeInstanceOf(RangeError)
    expect((e as { code?: unknown }).code).toBe(INVALID_OPTION)
    expect((e as Error).message).toMatch(new RegExp(`^[\\w.]+: unknown field "${wrong}" \\(did you mean "${meant}"\\?\\)$`))
    expect((e as Error).message).not.toContain(KEY)
    expect(String((e as Error).stack)).not.toContain(KEY)
  })

  it.each(cases)('$what still accepts "$meant"', async ({ build, base, meant, value }) => {
    expect(await failure(() => build({ ...base, [meant]: value }))).toBeUndefined()
  })

  it('refuses requireTLS instead of letting plain HTTP through', async () => {
    const k = await manager.issue({ kind: 'org' })
    expect(() => createAuthorizer({ store, requireTLS: true } as never)).toThrow('options: unknown field "requireTLS" (did you mean "requireTls"?)')
    const strict = createAuthorizer({ store, requireTls: true })
    const d = await strict.authorize({ method: 'GET', url: '/apps', headers: { 'x-api-key': k.key }, remoteAddress: '127.0.0.1', secure: false })
    expect(d).toMatchObject({ allow: false, status: 403, code: 'insecure_transport' })
  })

  it.each(['ssapi', 'basic', 'bearer', 'contrast', 'restApiKey'] as const)('schemes.%s() refuses an options object instead of ignoring it', (name) => {
    const factory = schemes[name] as (o?: unknown) => unknown
    expect(() => factory({ header: KEY })).toThrow(`options: unknown field "header" (schemes.${name}() takes no options)`)
    expect(() => factory('X-Token')).toThrow(TypeError)
    // No options, or an empty object, builds the scheme itself.
    const expected = (schemes[name] as () => { name: string })().name
    expect((factory(undefined) as { name: string }).name).toBe(expected)
    expect((factory({}) as { name: string }).name).toBe(expected)
  })

  it('checks booleans, integers, milliseconds and functions with one wording, never quoting the value', () => {
    const refuses = (f: () => unknown, type: typeof TypeError | typeof RangeError, message: string): void => {
      expect(f).toThrow(type)
      expect(f).toThrow(message)
      expect(f).not.toThrow(KEY)
    }
    expect(boolean(undefined, 'f', true)).toBe(true)
    refuses(() => boolean(KEY, 'f'), TypeError, 'f: must be a boolean')
    expect(integer(undefined, 'n', 5, 1)).toBe(5)
    refuses(() => integer(0, 'n', 5, 1), RangeError, 'n: must be an integer ≥ 1')
    refuses(() => integer(1.5, 'n', 5, 1, 10), RangeError, 'n: must be an integer from 1 to 10')
    refuses(() => integer(KEY, 'n', 5, 1), TypeError, 'n: must be an integer')
    expect(millis(undefined, 'ms', 2000)).toBe(2000)
    refuses(() => millis(0, 'ms', 1, 0, Infinity, true), RangeError, 'ms: must be > 0')
    refuses(() => millis(-1, 'ms', 1), RangeError, 'ms: must be ≥ 0')
    refuses(() => millis(Number.NaN, 'ms', 1), TypeError, 'ms: must be a number of milliseconds')
    refuses(() => millis(11, 'ms', 1, 0, 10), RangeError, 'ms: must be at most 10')
    refuses(() => func(KEY as never, 'now'), TypeError, 'now: must be a function')
    expect(func(undefined, 'now')).toBeUndefined()
  })

  it('names no field when none is close, and suggests by case, prefix or edit distance', () => {
    expect(nearestField('colour', ['ttlMs', 'maxEntries'])).toBeUndefined()
    expect(nearestField('REQUIRETLS', ['requireTls'])).toBe('requireTls')
    expect(nearestField('negativeTtl', ['ttlMs', 'negativeTtlMs'])).toBe('negativeTtlMs')
    expect(nearestField('realn', ['realm', 'roles'])).toBe('realm')
    expect(editDistance('kitten', 'sitting')).toBe(3)
    expect(editDistance('kitten', 'sitting', 1)).toBe(2)
    expect(editDistance('ulr', 'url')).toBe(1)
  })
})
