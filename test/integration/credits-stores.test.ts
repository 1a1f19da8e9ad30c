/**
 * Usage-limited keys on a real PostgreSQL and a real Redis: 1000 concurrent requests against a
 * key with 100 credits allow exactly 100 on each; both count refills exactly as the memory store
 * does (property, fake clock); an edit sets the balance, an unrelated edit or a stale record
 * never gives spent credits back; a Redis that fails is a 503, never an allow.
 */
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DAY_MS } from '../../src/lib/credits.js'
import { cachedStore, createAuthorizer, KeyManager, MemoryKeyStore, type CreditLedger, type KeyStore } from '../../src/index.js'
import { redisCredits } from '../../src/redis/index.js'
import { HAVE_PG, HAVE_REDIS, REDIS_URL } from './_env.js'
import { pgFixture, type PgFixture } from './_pg.js'

const PEPPER = 'credits-pepper-0123456789abcdef-0123'

async function thousandAgainstHundred(store: KeyStore, manager: KeyManager, credits?: CreditLedger): Promise<{ allowed: number; id: string }> {
  const { key, record } = await manager.issue({ kind: 'org', credits: { remaining: 100 } })
  const auth = createAuthorizer({ store, pepper: PEPPER, storeTimeoutMs: 30_000, ...(credits ? { credits } : {}) })
  const ds = await Promise.all(Array.from({ length: 1000 }, () => auth.authorize({ method: 'GET', headers: { 'x-api-key': key } })))
  for (const d of ds) if (!d.allow) expect(d.code).toBe('credits_exhausted')
  return { allowed: ds.filter((d) => d.allow).length, id: record.id }
}

const refillArb = fc.option(fc.record({ amount: fc.integer({ min: 1, max: 30 }), interval: fc.oneof(fc.constant('day' as const), fc.constant('month' as const), fc.integer({ min: 60_000, max: 3 * DAY_MS })) }), { nil: undefined })
const stepsArb = fc.array(fc.record({ advance: fc.integer({ min: 0, max: 40 * DAY_MS }), cost: fc.integer({ min: 1, max: 12 }) }), { maxLength: 12 })

describe.skipIf(!HAVE_PG)('credits in Postgres', () => {
  let fx: PgFixture
  beforeAll(async () => {
    fx = await pgFixture()
  })
  afterAll(async () => {
    await fx?.close()
  })

  // 1000 requests queue for 5 connections: a deadline long enough for all of them to be answered.
  const patient = () => fx.storeOn(fx.pool, { queryTimeoutMs: 60_000 })

  it('allows exactly 100 of 1000 concurrent requests against a key with 100 credits', async () => {
    const store = patient()
    const manager = new KeyManager(store, { pepper: PEPPER })
    const { allowed, id } = await thousandAgainstHundred(store, manager)
    expect(allowed).toBe(100)
    expect((await store.getKey(id))!.credits!.remaining).toBe(0)
  }, 120_000)

  it('allows exactly 100 of 1000 through a cachedStore, which forwards every consume', async () => {
    const store = cachedStore(patient(), { ttlMs: 60_000 })
    const manager = new KeyManager(store, { pepper: PEPPER, onWrite: (c) => store.invalidate(c) })
    expect((await thousandAgainstHundred(store, manager)).allowed).toBe(100)
  }, 120_000)

  it('counts refills and costs exactly as the memory store does, under a fake clock', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 40 }), refillArb, stepsArb, async (start, refill, steps) => {
        let now = Date.UTC(2026, 0, 30, 23)
        const memory = new MemoryKeyStore()
        const credits = refill === undefined ? { remaining: start } : { remaining: start, refill }
        const a = (await new KeyManager(memory, { now: () => now }).issue({ kind: 'org', credits })).record
        const b = (await new KeyManager(fx.store, { now: () => now }).issue({ kind: 'org', credits })).record
        expect(b.credits).toEqual(a.credits)
        for (const s of steps) {
          now += s.advance
          expect(await fx.store.consumeCredits(b.id, s.cost, now)).toEqual(await memory.consumeCredits(a.id, s.cost, now))
        }
      }),
      { numRuns: 25 },
    )
  }, 120_000)

  it('sets the balance on an edit and never writes a spent balance back from an older read', async () => {
    const manager = new KeyManager(fx.store, { pepper: PEPPER })
    const { record } = await manager.issue({ kind: 'org', credits: { remaining: 10 } })
    const stale = (await fx.store.getKey(record.id))!
    for (let i = 0; i < 4; i++) expect((await fx.store.consumeCredits(record.id, 1, Date.now()))!.allowed).toBe(true)
    await fx.store.updateKey({ ...stale, description: 'renamed' }, stale)
    expect((await fx.store.getKey(record.id))!.credits!.remaining).toBe(6)
    await manager.update(record.id, { credits: { remaining: 2 } })
    expect((await fx.store.getKey(record.id))!.credits!.remaining).toBe(2)
    await manager.update(record.id, { credits: null })
    expect(await fx.store.consumeCredits(record.id, 5, Date.now())).toEqual({ allowed: true })
    expect(await fx.store.consumeCredits('key_missing', 1, Date.now())).toBeUndefined()
  })
})

describe.skipIf(!HAVE_REDIS)('credits in a Redis ledger', () => {
  const clients: Redis[] = []
  const client = (): Redis => {
    const r = new Redis(REDIS_URL!, { maxRetriesPerRequest: 1 })
    r.on('error', () => undefined)
    clients.push(r)
    return r
  }
  const prefix = (): string => `kwtest:credits:${randomBytes(4).toString('hex')}:`
  afterAll(() => {
    for (const c of clients) c.disconnect()
  })

  it('allows exactly 100 of 1000 concurrent requests across three ledgers on three connections', async () => {
    const store = new MemoryKeyStore()
    const manager = new KeyManager(store, { pepper: PEPPER })
    const { key, record } = await manager.issue({ kind: 'org', credits: { remaining: 100 } })
    const p = prefix()
    const auths = [0, 1, 2].map(() => createAuthorizer({ store, pepper: PEPPER, storeTimeoutMs: 30_000, credits: redisCredits(client(), { prefix: p }) }))
    const ds = await Promise.all(Array.from({ length: 1000 }, (_, i) => auths[i % 3]!.authorize({ method: 'GET', headers: { 'x-api-key': key } })))
    expect(ds.filter((d) => d.allow)).toHaveLength(100)
    // The store's own balance was never touched: the ledger is the authority.
    expect((await store.getKey(record.id))!.credits!.remaining).toBe(100)
  }, 120_000)

  it('counts refills and costs exactly as the memory store does, under a fake clock', async () => {
    const redis = client()
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 40 }), refillArb, stepsArb, async (start, refill, steps) => {
        let now = Date.UTC(2026, 0, 30, 23)
        const memory = new MemoryKeyStore()
        const credits = refill === undefined ? { remaining: start } : { remaining: start, refill }
        const a = (await new KeyManager(memory, { now: () => now }).issue({ kind: 'org', credits })).record
        const ledger = redisCredits(redis, { prefix: prefix() })
        for (const s of steps) {
          now += s.advance
          expect(await ledger.consume(a.id, a.credits!, s.cost, now)).toEqual(await memory.consumeCredits(a.id, s.cost, now))
        }
      }),
      { numRuns: 40 },
    )
  }, 120_000)

  it('takes an edit from the first record with a newer version and never resets from a stale one', async () => {
    let now = Date.UTC(2026, 5, 1)
    const store = new MemoryKeyStore()
    const manager = new KeyManager(store, { now: () => now })
    const { record } = await manager.issue({ kind: 'org', credits: { remaining: 3 } })
    const ledger = redisCredits(client(), { prefix: prefix() })
    const stale = record.credits!
    for (let i = 0; i < 3; i++) expect((await ledger.consume(record.id, stale, 1, now))!.allowed).toBe(true)
    expect(await ledger.consume(record.id, stale, 1, now)).toEqual({ allowed: false, remaining: 0 })
    now += 1000
    const edited = (await manager.update(record.id, { credits: { remaining: 2 } })).credits!
    expect(await ledger.consume(record.id, edited, 1, now)).toEqual({ allowed: true, remaining: 1 })
    // Another instance still holding the record from before the edit: no reset, no new budget.
    expect(await ledger.consume(record.id, stale, 1, now)).toEqual({ allowed: true, remaining: 0 })
    expect(await ledger.consume(record.id, stale, 1, now)).toEqual({ allowed: false, remaining: 0 })
  })

  it('fails closed with 503 when Redis is unreachable', async () => {
    const store = new MemoryKeyStore()
    const { key } = await new KeyManager(store, { pepper: PEPPER }).issue({ kind: 'org', credits: { remaining: 5 } })
    const dead = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null })
    dead.on('error', () => undefined)
    clients.push(dead)
    const auth = createAuthorizer({ store, pepper: PEPPER, storeTimeoutMs: 2000, credits: redisCredits(dead) })
    const d = await auth.authorize({ method: 'GET', headers: { 'x-api-key': key } })
    expect(d).toMatchObject({ allow: false, status: 503, code: 'service_unavailable' })
  })
})
