/**
 * One request through `authorize()`, step by step: misuse rejects (never throws), a record the
 * store answers with is usable only when it is a user or org key, a token goes to its scheme's
 * `verify` (and a failing verification is a clean deny), an allowed key is recorded as used, the
 * tenant a request addresses must be a string equal to the key's, and the decision event's
 * duration is the time inside `authorize()`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { comparesTenants } from '../../src/authorize.js'
import {
  createAuthorizer, defineRoles, KeyManager, MemoryKeyStore, schemes, type AuthRequest, type DecisionEvent, type KeyRecord, type KeyStore, type Scheme,
  type TokenOutcome,
} from '../../src/index.js'

const NOW = Date.UTC(2030, 0, 1)
const get = (headers: Record<string, string>, remoteAddress: unknown = '127.0.0.1'): AuthRequest =>
  ({ method: 'GET', url: '/scans', headers, remoteAddress }) as AuthRequest

afterEach(() => {
  vi.restoreAllMocks()
})

async function issued(fields: Record<string, unknown> = {}) {
  const store = new MemoryKeyStore()
  const manager = new KeyManager(store, { now: () => NOW - 1000 })
  const { key, record } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write', ...fields } as never)
  return { store, manager, key, record }
}

/** The memory store behind async lookups only, answering `findByHash` with `answer(record)`. */
function answering(inner: MemoryKeyStore, answer: (r: KeyRecord | undefined) => unknown): KeyStore {
  return {
    findByHash: async (hash: string) => answer(await inner.findByHash(hash)) as KeyRecord,
    findGroup: (id: string) => inner.findGroup(id),
    findOwner: (id: string) => inner.findOwner(id),
  }
}

describe('misuse', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'GET /scans'],
    ['a number', 42],
  ])('rejects a request that is %s with a TypeError naming the request, without throwing', async (_what, request) => {
    const { store } = await issued()
    const a = createAuthorizer({ store, touchIntervalMs: 0 })
    for (const call of [() => a.authorize(request as never), () => a.describe(request as never)]) {
      let p: Promise<unknown> | undefined
      expect(() => (p = call())).not.toThrow()
      await expect(p).rejects.toThrow(TypeError)
      await expect(p).rejects.toThrow('request: must be an object')
    }
  })

  it('rejects an unknown describe() option, an invalid need, and never throws them', async () => {
    const { store, key } = await issued()
    const a = createAuthorizer({ store, touchIntervalMs: 0 })
    let p: Promise<unknown> | undefined
    expect(() => (p = a.describe(get({ 'x-api-key': key }), { prodct: 'appsec' } as never))).not.toThrow()
    await expect(p).rejects.toThrow('options: unknown field "prodct" (did you mean "product"?)')
    expect(() => (p = a.authorize(get({ 'x-api-key': key }), 'nothing:read' as never))).not.toThrow()
    await expect(p).rejects.toThrow(RangeError)
  })

  it('answers with a promise even when every lookup was answered from memory', async () => {
    const { store, key } = await issued()
    const a = createAuthorizer({ store, touchIntervalMs: 0, now: () => NOW })
    const allowed = a.authorize(get({ 'x-api-key': key }), 'scans:read')
    const described = a.describe(get({ 'x-api-key': key }))
    const denied = a.authorize(get({}), 'scans:read')
    expect([allowed, described, denied].map((p) => p instanceof Promise)).toEqual([true, true, true])
    expect([(await allowed).allow, (await described).allow, (await denied).allow]).toEqual([true, true, false])
  })

  it('describes the caller under explicitGrants, where a route naming no operation is denied', async () => {
    const { store, key } = await issued()
    const a = createAuthorizer({ store, explicitGrants: true, touchIntervalMs: 0, now: () => NOW })
    expect((await a.describe(get({ 'x-api-key': key }))).allow).toBe(true)
    const d = await a.authorize(get({ 'x-api-key': key }))
    expect(d.allow ? 'allow' : d.reason).toBe('operation_not_granted')
  })

  it('passes describe()\'s product on as the need\'s product', async () => {
    const { store, manager, key } = await issued({ role: undefined })
    await store.putOwner('ana', { roles: { appsec: 'Read Only', dast: 'Read Write' }, active: true })
    void manager
    const a = createAuthorizer({ store, touchIntervalMs: 0, now: () => NOW, rolePrecedence: 'owner' })
    const appsec = await a.describe(get({ 'x-api-key': key }), { product: 'appsec' })
    const dast = await a.describe(get({ 'x-api-key': key }), { product: 'dast' })
    expect(appsec.allow && appsec.principal.role).toBe('Read Only')
    expect(dast.allow && dast.principal.role).toBe('Read Write')
  })
})

describe('the record a key lookup answers with', () => {
  it.each([
    ['null', () => null],
    ['a tenant (organization) key', (r: KeyRecord | undefined) => ({ ...r, kind: 'tenant' })],
    ['a kind no key has', (r: KeyRecord | undefined) => ({ ...r, kind: 'admin' })],
  ])('denies %s as an unknown key', async (_what, answer) => {
    const { store, key } = await issued()
    const a = createAuthorizer({ store: answering(store, answer), touchIntervalMs: 0, now: () => NOW })
    const d = await a.authorize(get({ 'x-api-key': key }), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([401, 'unknown_key'])
  })

  it('allows an org key on its own', async () => {
    const { store, key } = await issued({ kind: 'org', owner: undefined, role: undefined })
    const a = createAuthorizer({ store: answering(store, (r) => r), touchIntervalMs: 0, now: () => NOW })
    expect((await a.authorize(get({ 'x-api-key': key }), 'scans:read')).allow).toBe(true)
  })

  it('is 503 when reading the record\'s kind throws, never a 401 and never a rejection', async () => {
    const { store, key } = await issued()
    const broken = (r: KeyRecord | undefined) => Object.defineProperty({ ...r }, 'kind', { get() { throw new Error('connection reset') } })
    const events: DecisionEvent[] = []
    const a = createAuthorizer({ store: answering(store, broken), touchIntervalMs: 0, now: () => NOW, onDecision: (e) => events.push(e) })
    const d = await a.authorize(get({ 'x-api-key': key }), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([503, 'store_unavailable'])
    expect(events[0]?.detail).toBe('store_error')
  })

  it('accepts a service key (a user key with a tenant and an owner) alone where no Contrast pair is accepted', async () => {
    const { store, key } = await issued({ tenant: 'org-1' })
    const a = createAuthorizer({ store, schemes: [schemes.apiKeyHeader(), schemes.basic()], touchIntervalMs: 0, now: () => NOW })
    expect((await a.authorize(get({ 'x-api-key': key }), 'scans:read')).allow).toBe(true)
    const paired = createAuthorizer({ store, schemes: [schemes.apiKeyHeader(), schemes.contrast()], touchIntervalMs: 0, now: () => NOW })
    expect((await paired.authorize(get({ 'x-api-key': key }), 'scans:read')).allow).toBe(false)
  })

  it('accepts a user key with a tenant but no owner alone next to Contrast: it is no half of a pair', async () => {
    const { store, key, record } = await issued({ tenant: 'org-1' })
    const { owner: _o, ...ownerless } = record
    const a = createAuthorizer({
      store: answering(store, () => ownerless), schemes: [schemes.apiKeyHeader(), schemes.contrast()], touchIntervalMs: 0, now: () => NOW,
    })
    const d = await a.authorize(get({ 'x-api-key': key }), 'scans:read')
    expect(d.allow && d.principal.keyId).toBe(record.id)
  })
})

describe('the tenant a request addresses', () => {
  it.each([
    ['undefined', () => undefined],
    ['an empty string', () => ''],
    ['a number', () => 0],
    ['null', () => null],
  ])('denies a key of no tenant when the resolver answers %s', async (_what, resolver) => {
    const { store, key } = await issued()
    const a = createAuthorizer({ store, tenant: resolver as never, touchIntervalMs: 0, now: () => NOW })
    const d = await a.authorize(get({ 'x-api-key': key }), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([401, 'tenant_mismatch'])
  })

  it('denies a key of a tenant when the resolver answers undefined, and allows it in its own tenant', async () => {
    const { store, key } = await issued({ tenant: 'acme' })
    const none = createAuthorizer({ store, tenant: () => undefined, touchIntervalMs: 0, now: () => NOW })
    const own = createAuthorizer({ store, tenant: () => 'acme', touchIntervalMs: 0, now: () => NOW })
    const d = await none.authorize(get({ 'x-api-key': key }), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([401, 'tenant_mismatch'])
    expect((await own.authorize(get({ 'x-api-key': key }), 'scans:read')).allow).toBe(true)
  })

  it('reports the key and its tenant with a tenant mismatch', async () => {
    const { store, key, record } = await issued({ tenant: 'acme' })
    const events: DecisionEvent[] = []
    const a = createAuthorizer({ store, tenant: () => 'globex', touchIntervalMs: 0, now: () => NOW, onDecision: (e) => events.push(e) })
    const d = await a.authorize(get({ 'x-api-key': key }), 'scans:read')
    expect(d.allow ? 'allow' : d.reason).toBe('tenant_mismatch')
    expect(events[0]).toMatchObject({ keyId: record.id, tenant: 'acme' })
  })

  it('rejects authorize() with what the resolver throws (misuse), whether the key was peeked or looked up', async () => {
    const { store, key } = await issued({ tenant: 'acme' })
    const bug = new Error('resolver bug')
    const throwing = () => {
      throw bug
    }
    for (const s of [store, { findByHash: (h: string) => store.findByHash(h) } as KeyStore]) {
      const a = createAuthorizer({ store: s, tenant: throwing, touchIntervalMs: 0, now: () => NOW })
      await expect(a.authorize(get({ 'x-api-key': key }), 'scans:read')).rejects.toBe(bug)
    }
  })

  it('asks the resolver once per request, before any group lookup', async () => {
    const { store, manager, key, record } = await issued({ tenant: 'acme' })
    const g = await manager.createGroup({ name: 'ops', tenant: 'acme' })
    await manager.update(record.id, { group: g.id })
    const seen: string[] = []
    const spied: KeyStore = {
      findByHash: (h) => (seen.push('key'), store.findByHash(h)),
      findGroup: (id) => (seen.push('group'), store.findGroup(id)),
    }
    const a = createAuthorizer({ store: spied, tenant: () => (seen.push('tenant'), 'other'), touchIntervalMs: 0, now: () => NOW })
    const d = await a.authorize(get({ 'x-api-key': key }), 'scans:read')
    expect(d.allow ? 'allow' : d.reason).toBe('tenant_mismatch')
    expect(seen).toEqual(['key', 'tenant'])
    seen.length = 0
    const ok = createAuthorizer({ store: spied, tenant: () => (seen.push('tenant'), 'acme'), touchIntervalMs: 0, now: () => NOW })
    expect((await ok.authorize(get({ 'x-api-key': key }), 'scans:read')).allow).toBe(true)
    expect(seen).toEqual(['key', 'tenant', 'group'])
  })
})

/** A scheme reading `x-token` that yields `found` for any value. */
function tokenScheme(found: (value: string) => unknown, verify?: (token: string, c: { now: number }) => Promise<TokenOutcome>): Scheme {
  return {
    name: 'custom', headers: ['x-token'], challengeScheme: 'Custom', bearerErrors: false,
    challenge: (realm) => `Custom realm="${realm}"`,
    extract: (values) => {
      const v = values.get('x-token')?.[0]
      return v === undefined ? undefined : (found(v) as ReturnType<Scheme['extract']>)
    },
    ...(verify ? { verify } : {}),
  }
}
const asToken = (token: string) => ({ type: 'token', token, sources: ['x-token'] })

describe('a token', () => {
  async function decideToken(verify: ((t: string, c: { now: number }) => Promise<TokenOutcome>) | undefined) {
    const store = new MemoryKeyStore()
    const touch = vi.spyOn(store, 'touch')
    const events: DecisionEvent[] = []
    const a = createAuthorizer({ store, schemes: [tokenScheme(asToken, verify)], now: () => NOW, touchIntervalMs: 10, onDecision: (e) => events.push(e) })
    const d = await a.authorize(get({ 'x-token': 'tok-1' }), 'scans:read')
    await a.close()
    return { d, event: events[0]!, touch }
  }

  it('is verified by its scheme at the request\'s time, allowed as the identity, and never recorded as used', async () => {
    const verify = vi.fn(async () => ({ ok: true, identity: { keyId: 'tok_1', kind: 'org' } }) as TokenOutcome)
    const { d, touch } = await decideToken(verify)
    expect(verify).toHaveBeenCalledWith('tok-1', { now: NOW })
    expect(d.allow && [d.principal.keyId, d.principal.scheme]).toEqual(['tok_1', 'custom'])
    expect(touch).not.toHaveBeenCalled()
  })

  it('from a scheme without verify is 401 invalid_token, decided without waiting', async () => {
    const { d } = await decideToken(undefined)
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([401, 'invalid_token'])
    const events: DecisionEvent[] = []
    const a = createAuthorizer({ store: new MemoryKeyStore(), schemes: [tokenScheme(asToken)], touchIntervalMs: 0, onDecision: (e) => events.push(e) })
    const p = a.authorize(get({ 'x-token': 'tok-1' }), 'scans:read')
    expect(events.map((e) => e.reason)).toEqual(['invalid_token'])
    await p
  })

  it('whose verification throws or rejects is 401 invalid_token, never a rejection', async () => {
    for (const verify of [() => { throw new Error('bug') }, () => Promise.reject(new Error('bug'))]) {
      const { d } = await decideToken(verify as never)
      expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([401, 'invalid_token'])
    }
  })

  it('refused by its scheme is 401 invalid_token with the scheme\'s detail in the event, if any', async () => {
    const withDetail = await decideToken(async () => ({ ok: false, reason: 'invalid_token', detail: 'expired' }))
    expect(withDetail.d.allow ? 'allow' : withDetail.d.reason).toBe('invalid_token')
    expect(withDetail.event.detail).toBe('expired')
    const without = await decideToken(async () => ({ ok: false, reason: 'invalid_token' }))
    expect(without.d.allow ? 'allow' : without.d.reason).toBe('invalid_token')
    expect('detail' in without.event).toBe(false)
  })

  it.each([
    [2.2, 'jwks-down', '3', 'jwks-down'],
    [0, undefined, '1', 'jwks'],
    [undefined, undefined, '1', 'jwks'],
    [0.4, 'x', '1', 'x'],
  ] as const)('whose key source is unreachable (retryAfterSec %s) is 503 with Retry-After %s', async (retryAfterSec, detail, header, eventDetail) => {
    const { d, event } = await decideToken(async () => ({
      ok: false, reason: 'store_unavailable', ...(retryAfterSec === undefined ? {} : { retryAfterSec }), ...(detail === undefined ? {} : { detail }),
    }))
    expect(d.allow ? 'allow' : [d.status, d.reason, d.headers['retry-after']]).toEqual([503, 'store_unavailable', header])
    void header
    expect(event.detail).toBe(eventDetail)
  })
})

describe('a custom scheme\'s reading', () => {
  it('of a kind no scheme yields is 400 malformed_credentials', async () => {
    const a = createAuthorizer({ store: new MemoryKeyStore(), schemes: [tokenScheme(() => ({ type: 'cookie', sources: ['x-token'] }))], touchIntervalMs: 0 })
    const d = await a.authorize(get({ 'x-token': 'v' }), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([400, 'malformed_credentials'])
  })

  it('sees only the headers its scheme names', async () => {
    const seen: string[][] = []
    const scheme = tokenScheme(() => undefined)
    const spy: Scheme = { ...scheme, extract: (values) => (seen.push(['x-token', 'x-api-key'].filter((n) => values.get(n) !== undefined)), undefined) }
    const a = createAuthorizer({ store: new MemoryKeyStore(), schemes: [spy], touchIntervalMs: 0 })
    await a.authorize(get({ 'x-token': 'v', 'x-api-key': 'k' }))
    expect(seen).toEqual([['x-token']])
  })
})

describe('last-used times', () => {
  async function touching(touchIntervalMs: number, store?: KeyStore) {
    const base = await issued()
    const touch = vi.spyOn(base.store, 'touch')
    const a = createAuthorizer({ store: store ?? base.store, touchIntervalMs, now: () => NOW })
    return { ...base, touch, a }
  }

  it('records an allowed key with the request\'s time, written on close()', async () => {
    const { a, key, record, touch } = await touching(60_000)
    expect((await a.authorize(get({ 'x-api-key': key }), 'scans:read')).allow).toBe(true)
    expect(touch).not.toHaveBeenCalled()
    await a.close()
    expect(touch.mock.calls).toEqual([[record.id, NOW]])
  })

  it('records a key allowed after an asynchronous lookup too', async () => {
    const base = await issued()
    const touch = vi.fn(async () => {})
    const store: KeyStore = { findByHash: (h) => base.store.findByHash(h), touch }
    const a = createAuthorizer({ store, touchIntervalMs: 60_000, now: () => NOW })
    const p = a.authorize(get({ 'x-api-key': base.key }), 'scans:read')
    expect((await p).allow).toBe(true)
    await a.close()
    expect(touch.mock.calls).toEqual([[base.record.id, NOW]])
  })

  it('never records a denied key, whether decided at once or after a lookup', async () => {
    const base = await issued()
    const touch = vi.fn(async () => {})
    for (const store of [Object.assign(base.store, {}), { findByHash: (h: string) => base.store.findByHash(h), touch } as KeyStore]) {
      const spy = store === base.store ? vi.spyOn(base.store, 'touch') : touch
      const a = createAuthorizer({ store, touchIntervalMs: 60_000, now: () => NOW })
      const d = await a.authorize(get({ 'x-api-key': base.key }), 'global-blackouts:manage')
      expect(d.allow ? 'allow' : d.reason).toBe('insufficient_permission')
      await a.close()
      expect(spy).not.toHaveBeenCalled()
    }
  })

  it('are not written at all with touchIntervalMs 0, nor by a store without touch', async () => {
    const { a, key, touch } = await touching(0)
    expect((await a.authorize(get({ 'x-api-key': key }), 'scans:read')).allow).toBe(true)
    await a.close()
    expect(touch).not.toHaveBeenCalled()
    const base = await issued()
    const bare = createAuthorizer({ store: { findByHash: (h) => base.store.findByHash(h) }, touchIntervalMs: 1, now: () => NOW })
    expect((await bare.authorize(get({ 'x-api-key': base.key }), 'scans:read')).allow).toBe(true)
    await expect(bare.close()).resolves.toBeUndefined()
  })
})

describe('the duration of a decision', () => {
  it('is the time between the start of authorize() and the decision, read from performance.now()', async () => {
    const { store, key } = await issued()
    const events: DecisionEvent[] = []
    const a = createAuthorizer({ store, touchIntervalMs: 0, now: () => NOW, onDecision: (e) => events.push(e) })
    const times = [1000, 1012.5]
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => times.shift() ?? Number.NaN)
    const d = await a.authorize(get({ 'x-api-key': key }), 'scans:read')
    clock.mockRestore()
    expect(d.allow).toBe(true)
    expect(events[0]?.durationMs).toBe(12.5)
    expect(times).toEqual([])
  })

  it('is not measured when nobody listens: no clock read', async () => {
    const { store, key } = await issued()
    const a = createAuthorizer({ store, touchIntervalMs: 0, now: () => NOW })
    const clock = vi.spyOn(performance, 'now')
    expect((await a.authorize(get({ 'x-api-key': key }), 'scans:read')).allow).toBe(true)
    expect((await a.authorize(get({}), 'scans:read')).allow).toBe(false)
    expect(clock).not.toHaveBeenCalled()
  })
})

describe('transport and forwarded headers', () => {
  it('believes X-Forwarded-Proto and X-Forwarded-For only from a trusted proxy', async () => {
    const { store, key } = await issued()
    const events: DecisionEvent[] = []
    const headers = { 'x-api-key': key, 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.9' }
    const behind = createAuthorizer({ store, requireTls: true, trustProxy: ['10.0.0.0/8'], touchIntervalMs: 0, now: () => NOW, onDecision: (e) => events.push(e) })
    expect((await behind.authorize(get(headers, '10.0.0.2'), 'scans:read')).allow).toBe(true)
    expect(events.at(-1)?.clientIp).toBe('198.51.100.9')
    const untrusted = await behind.authorize(get(headers, '203.0.113.5'), 'scans:read')
    expect(untrusted.allow ? 'allow' : untrusted.reason).toBe('insecure_transport')
    const direct = createAuthorizer({ store, requireTls: true, touchIntervalMs: 0, now: () => NOW })
    const d = await direct.authorize(get(headers, '10.0.0.2'), 'scans:read')
    expect(d.allow ? 'allow' : d.reason).toBe('insecure_transport')
  })

  it('refuses plain HTTP from a peer with no usable address under requireTls, even with a forwarded https', async () => {
    const { store, key } = await issued()
    const a = createAuthorizer({ store, requireTls: true, trustProxy: ['0.0.0.0/0', '::/0'], touchIntervalMs: 0, now: () => NOW })
    for (const remote of [null, 12345, { toString: () => '10.0.0.1' }]) {
      const d = await a.authorize(get({ 'x-api-key': key, 'x-forwarded-proto': 'https' }, remote), 'scans:read')
      expect([String(remote), d.allow ? 'allow' : [d.status, d.reason]]).toEqual([String(remote), [403, 'insecure_transport']])
    }
    const secure = await a.authorize({ ...get({ 'x-api-key': key }, 12345), secure: true }, 'scans:read')
    expect(secure.allow).toBe(true)
  })
})

describe('the authorizer object', () => {
  it('is frozen and shows its roles, realm, schemes and need()', () => {
    const roles = defineRoles({ levels: ['read'], roles: { viewer: ['docs:read'] } })
    const bearer = schemes.bearer()
    const a = createAuthorizer({ store: new MemoryKeyStore(), roles, realm: 'docs', schemes: [bearer], touchIntervalMs: 0 })
    expect(Object.isFrozen(a)).toBe(true)
    expect(a.roles).toBe(roles)
    expect(a.realm).toBe('docs')
    expect(a.schemes).toEqual([bearer])
    expect(a.need('docs:read').permissions).toEqual(['docs:read'])
  })

  it('says whether it compares key tenants with the request\'s; a wrapper is not known', () => {
    const store = new MemoryKeyStore()
    const single = createAuthorizer({ store, touchIntervalMs: 0 })
    const tenanted = createAuthorizer({ store, tenant: () => 't', touchIntervalMs: 0 })
    expect(comparesTenants(single)).toBe(false)
    expect(comparesTenants(tenanted)).toBe(true)
    expect(comparesTenants({ ...tenanted })).toBeUndefined()
  })
})
