import { describe, expect, it, vi } from 'vitest'
import { createAuthorizer, defineRoles, MemoryKeyStore, schemes } from '../../src/index.js'
import { harness } from '../_support/core.js'

describe('createAuthorizer validation', () => {
  const store = new MemoryKeyStore()
  it.each([
    [{}, TypeError, /store/],
    [{ store: {} }, TypeError, /store/],
    [{ store, schemes: [] }, TypeError, /schemes/],
    [{ store, schemes: [{}] }, TypeError, /schemes\[0\]/],
    [{ store, roles: {} }, TypeError, /roles/],
    [{ store, trustProxy: ['10.0.0.1/8'] }, RangeError, /trustProxy\[0\]/],
    [{ store, trustProxy: '10.0.0.0/8' }, TypeError, /trustProxy/],
    [{ store, requireTls: 'yes' }, TypeError, /requireTls/],
    [{ store, realm: 'a"b' }, RangeError, /realm/],
    [{ store, storeTimeoutMs: 0 }, RangeError, /storeTimeoutMs/],
    [{ store, breaker: { threshold: 0 } }, RangeError, /breaker.threshold/],
    [{ store, pepper: 'short' }, RangeError, /pepper/],
    [{ store, tenant: 'acme' }, TypeError, /tenant/],
    [{ store, rateLimiter: {} }, TypeError, /rateLimiter/],
  ])('refuses bad options %# with an error naming the field', (options, type, message) => {
    expect(() => createAuthorizer(options as never)).toThrow(type)
    expect(() => createAuthorizer(options as never)).toThrow(message)
  })

  it('does not mutate the caller\'s options', () => {
    const bearer = schemes.bearer()
    const options = Object.freeze({ store, schemes: Object.freeze([bearer]), trustProxy: Object.freeze(['10.0.0.0/8']) })
    const a = createAuthorizer(options)
    // Frozen input would throw on any write; it is also left exactly as it was, and used.
    expect(options).toEqual({ store, schemes: [bearer], trustProxy: ['10.0.0.0/8'] })
    expect(options.schemes[0]).toBe(bearer)
    expect(a.schemes).toEqual([bearer])
    expect(a.schemes).not.toBe(options.schemes)
  })

  it('rejects a request that is not an object (misuse), but never rejects for what a client sent', async () => {
    const a = createAuthorizer({ store })
    await expect(a.authorize(null as never)).rejects.toThrow(TypeError)
    await expect(a.authorize({ method: 'GET', headers: { 'x-api-key': '\u0000' } })).resolves.toMatchObject({ allow: false, status: 400 })
  })

  it('pre-compiles needs once and refuses unknown permissions when a route is defined', () => {
    const a = createAuthorizer({ store })
    const n = a.need({ permission: ['scans:read', 'apps:manage'], operation: 'listScans' })
    expect(n.permissions).toEqual(['scans:read', 'apps:manage'])
    expect(a.need(n)).toBe(n)
    // The empty need is a compiled need too, and is accepted back.
    expect(a.need(a.need())).toBe(a.need())
    // @ts-expect-error: no level "write" in the matrix; refused by the compiler too
    expect(() => a.need('scans:write')).toThrow(/need.permission\[0\]/)
    expect(() => a.need({ operation: '' })).toThrow(/need.operation/)
    // A need compiled by another authorizer is validated again against this one's matrix.
    const twin = createAuthorizer({ store })
    const docs = createAuthorizer({ store, roles: defineRoles({ levels: ['read'], roles: { r: ['docs:read'] } }) })
    expect(a.need(twin.need({ permission: 'scans:read', operation: 'x' }))).toMatchObject({ permissions: ['scans:read'], operation: 'x' })
    expect(() => a.need(docs.need('docs:read'))).toThrow(/need.permission\[0\]/)
    // A resource that no role names could never be held, not even by an Org key.
    // @ts-expect-error: no role names "keys"; refused by the compiler too
    expect(() => a.need('keys:administer')).toThrow(/need.permission\[0\]/)
  })
})

describe('onDecision', () => {
  it('receives every decision with key id, reason, tenant, scheme, client IP, path and duration', async () => {
    const h = harness()
    const { key, id } = await h.issue({ kind: 'user', owner: 'a', role: 'Read Only', tenant: 't' })
    const auth = h.authorizer({ tenant: () => 't' })
    // The clock read when authorize() starts and when the event is built: the duration is their difference.
    const reads = [5000, 5003.25]
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => reads.shift() ?? Number.NaN)
    await auth({ method: 'POST', url: `/api/scans?token=${key}#frag`, headers: { 'x-api-key': key }, remoteAddress: '::ffff:127.0.0.1' }, 'scans:manage')
    clock.mockRestore()
    const e = h.events.at(-1)!
    expect(e).toMatchObject({ allow: false, status: 403, code: 'insufficient_permission', reason: 'insufficient_permission', detail: 'scans:manage', keyId: id, tenant: 't', scheme: 'api-key', clientIp: '127.0.0.1', method: 'POST', path: '/api/scans' })
    expect(e.durationMs).toBe(3.25)
    expect(reads).toEqual([])
    expect(JSON.stringify(e)).not.toContain(key)
  })

  it('logs the path of an absolute URL without its query', async () => {
    const h = harness()
    await h.authorizer()({ url: 'https://api.example.test/v1/keys?api_key=secret', headers: {} })
    expect(h.events.at(-1)?.path).toBe('/v1/keys')
  })

  it('keeps deciding when the listener throws', async () => {
    const h = harness()
    const { key } = await h.issue({ kind: 'org' })
    const auth = h.authorizer({ onDecision: () => { throw new Error('logger down') } })
    expect((await auth({ headers: { 'x-api-key': key } })).allow).toBe(true)
  })
})
