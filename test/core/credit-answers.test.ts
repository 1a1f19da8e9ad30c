/**
 * What the authorizer makes of a consume's answer: who is asked (the ledger when configured,
 * else the store) and with what, the balance header, `Retry-After` only for a finite refill time
 * whose amount covers the cost, and a balance that is not a whole non-negative number as a
 * malformed answer (503, never an allow).
 */
import { describe, expect, it } from 'vitest'
import type { CreditLedger, CreditResult, KeyStore } from '../../src/index.js'
import { harness, seen } from '../_support/core.js'

const DAY = 86_400_000

async function answering(answer: CreditResult | undefined, credits: object = { remaining: 5, refill: { amount: 3, interval: 'day' } }) {
  const h = harness()
  const k = await h.issue({ kind: 'org', credits: credits as never })
  const calls: unknown[][] = []
  const store: KeyStore = { findByHash: (x) => h.store.findByHash(x), consumeCredits: async (...args) => (calls.push(args), answer) }
  const auth = h.authorizer({ store })
  return { h, k, calls, auth: (cost?: number) => auth({ headers: { 'x-api-key': k.key } }, cost === undefined ? undefined : { cost }) }
}

describe('who is asked', () => {
  it('asks the store with the key id, the route\'s cost and the request time', async () => {
    const { h, k, calls, auth } = await answering({ allowed: true, remaining: 2 })
    const d = await auth(3)
    expect(d).toMatchObject({ allow: true, headers: { 'x-credits-remaining': '2' } })
    expect(calls).toEqual([[k.id, 3, h.clock.now()]])
  })

  it('asks the ledger instead of the store when one is configured, with the record\'s credits', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'org', credits: { remaining: 5 } })
    const asked: unknown[][] = []
    const credits: CreditLedger = { consume: async (...args) => (asked.push(args), { allowed: true, remaining: 1 }) }
    let storeCalls = 0
    const store: KeyStore = { findByHash: (x) => h.store.findByHash(x), consumeCredits: async () => (storeCalls++, { allowed: true, remaining: 4 }) }
    const d = await h.authorizer({ store, credits })({ headers: { 'x-api-key': k.key } }, { cost: 2 })
    expect(d).toMatchObject({ allow: true, headers: { 'x-credits-remaining': '1' } })
    const record = (await h.manager.get(k.id))!
    expect(asked).toEqual([[k.id, record.credits, 2, h.clock.now()]])
    expect(storeCalls).toBe(0)
  })
})

describe('the answer', () => {
  it('allows without a balance header when the key has no limit any more', async () => {
    const { auth } = await answering({ allowed: true })
    const d = await auth()
    expect(d.allow).toBe(true)
    expect('x-credits-remaining' in d.headers).toBe(false)
  })

  it('fails closed with 503 when reading the answer throws, even after allowed: true was read', async () => {
    const answer = Object.defineProperty({ allowed: true }, 'remaining', {
      enumerable: true,
      get() {
        throw new Error('connection reset')
      },
    }) as CreditResult
    const { h, auth } = await answering(answer)
    expect(seen(await auth())).toEqual({ status: 503, code: 'service_unavailable', reason: 'store_unavailable' })
    expect(h.events.at(-1)!.detail).toBe('credits_malformed')
  })

  it.each<[string, unknown]>([
    ['a fraction', 1.5],
    ['a string', '5'],
    ['null', null],
    ['beyond the safe integers', 2 ** 53],
  ])('fails closed with 503 on a balance that is %s', async (_, remaining) => {
    for (const allowed of [true, false]) {
      const { h, auth } = await answering({ allowed, remaining } as unknown as CreditResult)
      expect(seen(await auth())).toEqual({ status: 503, code: 'service_unavailable', reason: 'store_unavailable' })
      expect(h.events.at(-1)!.detail).toBe('credits_malformed')
    }
  })

  it('shows a balance of zero on an allow', async () => {
    const { auth } = await answering({ allowed: true, remaining: 0 })
    expect(await auth()).toMatchObject({ allow: true, headers: { 'x-credits-remaining': '0' } })
  })
})

describe('Retry-After on credits_exhausted', () => {
  it('is sent when the refill amount equals the cost, and not when it is one short', async () => {
    // Every harness clock starts at the same instant.
    const next = harness().clock.now() + 10_000
    const exhausted = await answering({ allowed: false, remaining: 0, nextRefillAt: next })
    const covers = await exhausted.auth(3)
    expect(covers.allow ? undefined : [covers.reason, covers.headers['retry-after'], covers.headers['x-credits-remaining']]).toEqual(['credits_exhausted', '10', '0'])
    const short = await exhausted.auth(4)
    expect(short.allow ? undefined : [short.reason, short.headers['retry-after']]).toEqual(['credits_exhausted', undefined])
  })

  it('rounds up to whole seconds and is at least 1', async () => {
    const h = harness()
    for (const [inMs, header] of [[1, '1'], [1001, '2'], [0, '1'], [-5000, '1']] as const) {
      const { auth } = await answering({ allowed: false, remaining: 0, nextRefillAt: h.clock.now() + inMs })
      const d = await auth()
      expect(d.allow ? undefined : d.headers['retry-after']).toBe(header)
    }
  })

  it.each<[string, unknown]>([
    ['infinite', Number.POSITIVE_INFINITY],
    ['NaN', Number.NaN],
    ['a string', String(Date.UTC(2030, 0, 2))],
    ['missing', undefined],
  ])('is left out when the next refill time is %s', async (_, nextRefillAt) => {
    const { auth } = await answering({ allowed: false, remaining: 0, nextRefillAt } as unknown as CreditResult)
    const d = await auth()
    expect(d.allow ? undefined : [d.reason, d.headers['retry-after']]).toEqual(['credits_exhausted', undefined])
  })

  it('is left out for a key without a refill', async () => {
    const h = harness()
    const { auth } = await answering({ allowed: false, remaining: 0, nextRefillAt: h.clock.now() + DAY }, { remaining: 5 })
    const d = await auth()
    expect(d.allow ? undefined : [d.reason, d.headers['retry-after']]).toEqual(['credits_exhausted', undefined])
  })
})
