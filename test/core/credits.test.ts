/**
 * Usage-limited keys through authorize(): the consume comes last and is exact, a deny for any
 * other reason costs nothing, an exhausted key is 429 credits_exhausted with the balance and a
 * Retry-After when a refill is due, and every consume failure fails closed.
 */
import { describe, expect, it } from 'vitest'
import {
  cachedStore,
  createAuthorizer,
  KeyManager,
  MemoryKeyStore,
  renderDeny,
  tokenBucket,
  type CreditResult,
  type DenyDecision,
  type KeyStore,
} from '../../src/index.js'
import { harness, PEPPER, seen } from '../_support/core.js'
import { deferred, settle } from '../resilience/_helpers.js'

const DAY = 86_400_000

describe('usage-limited keys', () => {
  it('allows exactly 100 of 1000 concurrent requests against a key with 100 credits', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Write', credits: { remaining: 100 } })
    const auth = h.authorizer()
    const ds = await Promise.all(Array.from({ length: 1000 }, () => auth({ headers: { 'x-api-key': k.key } }, 'scans:read')))
    expect(ds.filter((d) => d.allow)).toHaveLength(100)
    expect(ds.filter((d) => !d.allow).every((d) => (d as DenyDecision).code === 'credits_exhausted')).toBe(true)
    expect((await h.manager.get(k.id))!.credits!.remaining).toBe(0)
  })

  it('allows exactly 100 of 1000 concurrent requests through a cachedStore over a store whose consume is slow', async () => {
    const inner = new MemoryKeyStore()
    const gates: (() => void)[] = []
    const consume = inner.consumeCredits.bind(inner)
    // The slow store reads its balance only when released, as a round trip to a database would.
    inner.consumeCredits = async (id, cost, at) => {
      const g = deferred()
      gates.push(() => g.resolve())
      await g.promise
      return consume(id, cost, at)
    }
    const store = cachedStore(inner, { ttlMs: 60_000 })
    const manager = new KeyManager(store, { pepper: PEPPER, onWrite: (c) => store.invalidate(c) })
    const { key, record } = await manager.issue({ kind: 'org', credits: { remaining: 100 } })
    const auth = createAuthorizer({ store, pepper: PEPPER })
    const work = Array.from({ length: 1000 }, () => auth.authorize({ method: 'GET', headers: { 'x-api-key': key } }))
    let settled = 0
    for (const w of work) void w.then(() => settled++)
    while (settled < work.length) {
      await settle()
      for (const g of gates.splice(0, gates.length).reverse()) g()
    }
    const ds = await Promise.all(work)
    expect(ds.filter((d) => d.allow)).toHaveLength(100)
    expect((await manager.get(record.id))!.credits!.remaining).toBe(0)
  })

  it('charges the cost the route names and shows the balance in X-Credits-Remaining', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Write', credits: { remaining: 12 } })
    const auth = h.authorizer()
    const d1 = await auth({ headers: { 'x-api-key': k.key } }, { permission: 'scans:manage', cost: 5 })
    expect(d1).toMatchObject({ allow: true, headers: { 'x-credits-remaining': '7' } })
    await auth({ headers: { 'x-api-key': k.key } }, { permission: 'scans:manage', cost: 5 })
    const d3 = (await auth({ headers: { 'x-api-key': k.key } }, { permission: 'scans:manage', cost: 5 })) as DenyDecision
    expect(seen(d3)).toEqual({ status: 429, code: 'credits_exhausted', reason: 'credits_exhausted' })
    expect(d3.headers['x-credits-remaining']).toBe('2')
    expect(d3.headers['retry-after']).toBeUndefined()
    // Too few for 5 is still enough for 2: nothing was taken by the deny.
    expect(await auth({ headers: { 'x-api-key': k.key } }, { permission: 'scans:read', cost: 2 })).toMatchObject({ allow: true, headers: { 'x-credits-remaining': '0' } })
    const body = JSON.parse(renderDeny(d3).body)
    expect(body).toMatchObject({ status: 429, code: 'credits_exhausted', title: 'Credits exhausted' })
  })

  it('sends Retry-After until the refill when one is due that covers the cost, and none when it cannot', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Write', credits: { remaining: 1, refill: { amount: 3, interval: 'day' } } })
    const auth = h.authorizer()
    expect((await auth({ headers: { 'x-api-key': k.key } })).allow).toBe(true)
    h.clock.advance(DAY - 90_500)
    const d = (await auth({ headers: { 'x-api-key': k.key } })) as DenyDecision
    expect(d.code).toBe('credits_exhausted')
    expect(d.headers['retry-after']).toBe('91')
    const big = (await auth({ headers: { 'x-api-key': k.key } }, { cost: 4 })) as DenyDecision
    expect(big.code).toBe('credits_exhausted')
    expect(big.headers['retry-after']).toBeUndefined()
    h.clock.advance(90_500)
    const after = await auth({ headers: { 'x-api-key': k.key } })
    expect(after).toMatchObject({ allow: true, headers: { 'x-credits-remaining': '2' } })
  })

  it.each([
    ['a missing permission', { role: 'Read Only' }, {}, 'scans:manage', 'insufficient_permission'],
    ['an address outside the allowlist', { allowedIps: ['192.0.2.0/24'] }, {}, undefined, 'ip_not_allowed'],
    ['a tenant mismatch', { tenant: 'other' }, { tenant: () => 't1' }, undefined, 'tenant_mismatch'],
    ['an operation not granted', {}, { explicitGrants: true }, { operation: 'getScans' }, 'operation_not_granted'],
    ['an inactive key', { active: false }, {}, undefined, 'key_disabled'],
  ] as const)('consumes nothing for a request denied for %s', async (_, fields, options, need, reason) => {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Write', credits: { remaining: 5 }, ...(fields as object) })
    const auth = h.authorizer(options as object)
    for (let i = 0; i < 3; i++) {
      const d = await auth({ headers: { 'x-api-key': k.key }, remoteAddress: '203.0.113.9' }, need as never)
      expect(d.allow === false && d.reason).toBe(reason)
    }
    expect((await h.manager.get(k.id))!.credits!.remaining).toBe(5)
  })

  it('consumes nothing for a request the rate limiter denies', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'org', credits: { remaining: 5 } })
    const auth = h.authorizer({ rateLimiter: tokenBucket({ capacity: 1, refillPerSecond: 0.001, now: h.clock.now }) })
    expect((await auth({ headers: { 'x-api-key': k.key } })).allow).toBe(true)
    expect(seen(await auth({ headers: { 'x-api-key': k.key } }))).toMatchObject({ reason: 'rate_limited' })
    expect((await h.manager.get(k.id))!.credits!.remaining).toBe(4)
  })

  const failing: [string, Partial<KeyStore>, string][] = [
    ['rejects', { consumeCredits: async () => Promise.reject(new Error('down')) }, 'credits'],
    ['throws synchronously', { consumeCredits: () => { throw new Error('down') } }, 'credits'],
    ['answers allowed: "yes"', { consumeCredits: async () => ({ allowed: 'yes' }) as unknown as CreditResult }, 'credits_malformed'],
    ['answers a negative balance', { consumeCredits: async () => ({ allowed: true, remaining: -1 }) }, 'credits_malformed'],
    ['answers a deny without a balance', { consumeCredits: async () => ({ allowed: false }) }, 'credits_malformed'],
    ['answers null', { consumeCredits: async () => null as unknown as CreditResult }, 'credits_malformed'],
    ['is missing', { consumeCredits: undefined }, 'credits_unsupported'],
  ]
  it.each(failing)('fails closed with 503 when the consume %s', async (_, override, detail) => {
    const h = harness()
    const k = await h.issue({ kind: 'org', credits: { remaining: 5 } })
    const store: KeyStore = { findByHash: (x) => h.store.findByHash(x), ...override }
    const d = await h.authorizer({ store })({ headers: { 'x-api-key': k.key } })
    expect(seen(d)).toEqual({ status: 503, code: 'service_unavailable', reason: 'store_unavailable' })
    expect(h.events.at(-1)!.detail).toBe(detail)
  })

  it('fails closed with 503 when the consume outlasts storeTimeoutMs', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'org', credits: { remaining: 5 } })
    const store: KeyStore = { findByHash: (x) => h.store.findByHash(x), consumeCredits: () => new Promise(() => undefined) }
    const d = await h.authorizer({ store, storeTimeoutMs: 5 })({ headers: { 'x-api-key': k.key } })
    expect(seen(d)).toEqual({ status: 503, code: 'service_unavailable', reason: 'store_unavailable' })
    expect(h.events.at(-1)!.detail).toBe('credits_timeout')
  })

  it('denies a key deleted while its request was in flight', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'org', credits: { remaining: 5 } })
    const store: KeyStore = {
      findByHash: (x) => h.store.findByHash(x),
      consumeCredits: async (id, cost, at) => (await h.manager.delete(id), h.store.consumeCredits(id, cost, at)),
    }
    expect(seen(await h.authorizer({ store })({ headers: { 'x-api-key': k.key } }))).toMatchObject({ status: 401, reason: 'unknown_key' })
  })

  it('never calls the consume for a key without credits', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'org' })
    let calls = 0
    const store: KeyStore = { findByHash: (x) => h.store.findByHash(x), peekByHash: (x) => h.store.peekByHash(x), consumeCredits: async () => (calls++, { allowed: false, remaining: 0 }) }
    const d = await createAuthorizer({ store, pepper: PEPPER }).authorize({ method: 'GET', headers: { 'x-api-key': k.key } })
    expect(d).toMatchObject({ allow: true, headers: {} })
    expect(calls).toBe(0)
  })

  it.each([
    [{ cost: 0 }, RangeError, 'need.cost'],
    [{ cost: 1.5 }, RangeError, 'need.cost'],
    [{ cost: -1 }, RangeError, 'need.cost'],
    [{ cost: 2e15 }, RangeError, 'need.cost'],
    [{ cost: '2' }, TypeError, 'need.cost'],
    [{ costs: 2 }, RangeError, 'costs'],
  ])('refuses the need %j when the route is defined', (need, type, field) => {
    const h = harness()
    const auth = createAuthorizer({ store: h.store })
    expect(() => auth.need(need as never)).toThrow(type)
    expect(() => auth.need(need as never)).toThrow(field)
  })
})

describe('credits through KeyManager', () => {
  it.each([
    [{ remaining: -1 }, 'credits.remaining'],
    [{ remaining: 1.5 }, 'credits.remaining'],
    [{ remaining: '5' }, 'credits.remaining'],
    [{ remaining: 5, extra: 1 }, 'extra'],
    [{ remaining: 5, refill: { amount: 0, interval: 'day' } }, 'credits.refill.amount'],
    [{ remaining: 5, refill: { amount: 5, interval: 'week' } }, 'credits.refill.interval'],
    [{ remaining: 5, refill: { amount: 5, interval: 999 } }, 'credits.refill.interval'],
    [{ remaining: 5, refill: { amount: 5, interval: 'day', cap: 9 } }, 'cap'],
    [5, 'credits'],
  ])('refuses credits %j at issue and at update, naming the field', async (credits, field) => {
    const h = harness()
    await expect(h.manager.issue({ kind: 'org', credits: credits as never })).rejects.toThrow(field)
    const k = await h.issue({ kind: 'org' })
    await expect(h.manager.update(k.id, { credits: credits as never })).rejects.toThrow(field)
    expect((await h.manager.get(k.id))!.credits).toBeUndefined()
  })

  it('refuses credits on a tenant key', async () => {
    const h = harness()
    await expect(h.manager.issue({ kind: 'tenant', tenant: 't1', credits: { remaining: 1 } })).rejects.toThrow('credits')
  })

  it('sets the balance to N on an edit, and an unrelated edit from an older read never writes an old balance back', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'org', credits: { remaining: 10 } })
    const auth = h.authorizer()
    const stale = await h.store.getKey(k.id)
    for (let i = 0; i < 4; i++) await auth({ headers: { 'x-api-key': k.key } })
    // An unrelated edit whose read predates the consumes.
    await h.store.updateKey({ ...stale!, description: 'renamed' }, stale)
    expect((await h.manager.get(k.id))!.credits!.remaining).toBe(6)
    await h.manager.update(k.id, { description: 'again' })
    expect((await h.manager.get(k.id))!.credits!.remaining).toBe(6)
    await h.manager.update(k.id, { credits: { remaining: 2 } })
    expect((await h.manager.get(k.id))!.credits!.remaining).toBe(2)
    await h.manager.update(k.id, { credits: null })
    const d = await auth({ headers: { 'x-api-key': k.key } })
    expect(d.allow && d.headers['x-credits-remaining']).toBeUndefined()
  })
})
