/**
 * The verification cache: a repeated token is not re-verified (no signature check), yet the
 * cache never answers past `exp`, past its ttl, before `nbf`, for a token that differs by one
 * character, or beyond `maxEntries`. Failed verifications are never cached.
 *
 * The signature checks are counted by spying on WebCrypto's `subtle.verify`, which jose calls
 * once per verification.
 */
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest'
import { schemes } from '../../src/schemes/index.js'
import type { JwtOptions } from '../../src/schemes/jwt.js'
import { claims, expectInvalidToken, harness, hs256, AUD, ISS, SECRET, T0, T0_SEC } from './_helpers.js'

let verifySpy: MockInstance
beforeEach(() => {
  verifySpy = vi.spyOn(crypto.subtle, 'verify')
})
afterEach(() => {
  verifySpy.mockRestore()
})

const setup = (extra: Partial<JwtOptions> = {}) => harness([schemes.jwt({ key: SECRET, algorithms: ['HS256'], issuer: ISS, audience: AUD, ...extra })])
const checks = () => verifySpy.mock.calls.length

describe('verification cache', () => {
  it('answers a repeated token without checking its signature again, with the same principal', async () => {
    const h = setup()
    const token = hs256(claims({ kw_tenant: 'acme', kw_grants: ['g'] }))
    const first = await h.authorize(`Bearer ${token}`, 'scans:manage')
    expect(checks()).toBe(1)
    for (let i = 0; i < 5; i++) {
      const again = await h.authorize(`Bearer ${token}`, 'scans:manage')
      expect(again.allow && again.principal).toEqual(first.allow && first.principal)
    }
    expect(checks()).toBe(1)
    // Permissions are still checked per request: the cache holds identity, not decisions.
    expect((await h.authorize(`Bearer ${token}`, 'targets:manage')).allow).toBe(false)
  })

  it('verifies every time with cache: false', async () => {
    const h = setup({ cache: false })
    const token = hs256(claims())
    for (let i = 0; i < 3; i++) expect((await h.authorize(`Bearer ${token}`)).allow).toBe(true)
    expect(checks()).toBe(3)
  })

  it('never answers at or past exp (tolerance 0: the token is then refused)', async () => {
    const h = setup({ clockToleranceSec: 0 })
    const token = hs256(claims({ exp: T0_SEC + 30 }))
    expect((await h.authorize(`Bearer ${token}`)).allow).toBe(true)
    h.clock.set(T0 + 29_999)
    expect((await h.authorize(`Bearer ${token}`)).allow).toBe(true)
    expect(checks()).toBe(1)
    h.clock.set(T0 + 30_000)
    expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
  })

  it('re-verifies within the tolerance after exp instead of answering from the cache', async () => {
    const h = setup()
    const token = hs256(claims({ exp: T0_SEC + 30 }))
    await h.authorize(`Bearer ${token}`)
    h.clock.set(T0 + 45_000)
    expect((await h.authorize(`Bearer ${token}`)).allow).toBe(true)
    expect(checks()).toBe(2)
  })

  it('re-verifies after ttlSec even if exp is far away', async () => {
    const h = setup({ cache: { ttlSec: 10 } })
    const token = hs256(claims({ exp: T0_SEC + 3600 }))
    await h.authorize(`Bearer ${token}`)
    h.clock.set(T0 + 9_999)
    await h.authorize(`Bearer ${token}`)
    expect(checks()).toBe(1)
    h.clock.set(T0 + 10_000)
    expect((await h.authorize(`Bearer ${token}`)).allow).toBe(true)
    expect(checks()).toBe(2)
  })

  it('does not answer before nbf when the clock goes back', async () => {
    const h = setup()
    const token = hs256(claims({ nbf: T0_SEC + 30 }))
    expect((await h.authorize(`Bearer ${token}`)).allow).toBe(true) // within the 60 s tolerance
    h.clock.set(T0 - 31_000)
    expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
  })

  it('keys entries by the exact token: one changed character is verified (and refused)', async () => {
    const h = setup()
    const token = hs256(claims())
    await h.authorize(`Bearer ${token}`)
    const [hd, pl, sg] = token.split('.') as [string, string, string]
    const altered = `${hd}.${pl}.${sg[0] === 'A' ? 'B' : 'A'}${sg.slice(1)}`
    expectInvalidToken(await h.authorize(`Bearer ${altered}`), altered)
    expect(checks()).toBe(2)
  })

  it('never caches a failure', async () => {
    const h = setup()
    const bad = hs256(claims(), undefined, new Uint8Array(32).fill(3))
    for (let i = 0; i < 3; i++) expectInvalidToken(await h.authorize(`Bearer ${bad}`), bad)
    expect(checks()).toBe(3)
    const badClaims = hs256(claims({ kw_kind: 'root' }))
    for (let i = 0; i < 2; i++) expectInvalidToken(await h.authorize(`Bearer ${badClaims}`), badClaims)
    expect(checks()).toBe(5)
  })

  it('holds at most maxEntries, evicting the least recently used', async () => {
    const h = setup({ cache: { maxEntries: 2 } })
    const [a, b, c] = ['a', 'b', 'c'].map((jti) => hs256(claims({ jti }))) as [string, string, string]
    await h.authorize(`Bearer ${a}`)
    await h.authorize(`Bearer ${b}`)
    await h.authorize(`Bearer ${a}`) // a is now the most recent
    expect(checks()).toBe(2)
    await h.authorize(`Bearer ${c}`) // evicts b
    expect(checks()).toBe(3)
    await h.authorize(`Bearer ${a}`)
    await h.authorize(`Bearer ${c}`)
    expect(checks()).toBe(3)
    expect((await h.authorize(`Bearer ${b}`)).allow).toBe(true)
    expect(checks()).toBe(4)
  })

  it('is per scheme instance: another verifier does not trust this one\'s cache', async () => {
    const token = hs256(claims())
    await setup().authorize(`Bearer ${token}`)
    const other = harness([schemes.jwt({ key: new Uint8Array(32).fill(9), algorithms: ['HS256'], issuer: ISS, audience: AUD })])
    expectInvalidToken(await other.authorize(`Bearer ${token}`), token)
  })
})
