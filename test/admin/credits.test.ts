/**
 * Credits through the admin API: set at issue and by PATCH ("set the balance to N"), validated
 * with 400 naming the field, shown on the key as `{ remaining, refill?, nextRefillAt? }` (the shape
 * the console reads), absent on unlimited keys.
 */
import { describe, expect, it } from 'vitest'
import { fixture, T0, type Issued, type KeyView, type ProblemBody } from './_fixture.js'

const A = '/admin/api'
const DAY = 86_400_000

describe('credits in the admin API', () => {
  it('issues a usage-limited key, shows its balance after use, and sets it again by PATCH', async () => {
    const f = await fixture()
    const r = await f.call(f.acme, 'POST', `${A}/keys`, { kind: 'org', credits: { remaining: 2, refill: { amount: 5, interval: 'day' } } })
    expect(r.status).toBe(201)
    const { key, record } = r.json<Issued>()
    expect(record.credits).toEqual({ remaining: 2, refill: { amount: 5, interval: 'day' }, nextRefillAt: T0 + DAY })
    expect(await f.allowed(key)).toBe(true)
    expect((await f.call(f.acme, 'GET', `${A}/keys/${record.id}`)).json<KeyView>().credits).toEqual({ remaining: 1, refill: { amount: 5, interval: 'day' }, nextRefillAt: T0 + DAY })
    const patched = await f.call(f.acme, 'PATCH', `${A}/keys/${record.id}`, { credits: { remaining: 0 } })
    expect(patched.status).toBe(200)
    expect(patched.json<KeyView>().credits).toEqual({ remaining: 0 })
    expect(await f.allowed(key)).toBe(false)
    const lifted = await f.call(f.acme, 'PATCH', `${A}/keys/${record.id}`, { credits: null })
    expect(Object.keys(lifted.json<KeyView>())).not.toContain('credits')
    expect(await f.allowed(key)).toBe(true)
  })

  it.each([
    [{ remaining: -1 }, 'credits.remaining'],
    [{ remaining: 3, refill: { amount: 3, interval: 'week' } }, 'credits.refill.interval'],
    [{ remaining: 3, version: 9 }, 'version'],
    [{ remaining: 3, refilledAt: 0 }, 'refilledAt'],
  ])('refuses credits %j with 400 naming the field, and writes nothing', async (credits, field) => {
    const f = await fixture()
    const size = f.store.size
    const r = await f.call(f.acme, 'POST', `${A}/keys`, { kind: 'org', credits })
    expect(r.status).toBe(400)
    expect(r.json<ProblemBody>().detail).toContain(field)
    expect(f.store.size).toBe(size)
  })
})
