import { afterEach, describe, expect, it, vi } from 'vitest'
import { createAuthorizer } from '../../src/authorize.js'
import { tokenBucket } from '../../src/ratelimit/token-bucket.js'
import { cachedStore } from '../../src/stores/cached.js'
import { KeyManager } from '../../src/stores/manager.js'
import { MemoryKeyStore } from '../../src/stores/memory.js'
import type { KeyRecord, RateLimitResult } from '../../src/types.js'

afterEach(() => vi.useRealTimers())

describe('regression: tokenBucket trusts the record override', () => {
  it.each([
    [{ capacity: Number.NaN, refillPerSecond: 1 }],
    [{ capacity: 5, refillPerSecond: 0 }],
    [{ capacity: Infinity, refillPerSecond: 1 }],
    [{ capacity: 5, refillPerSecond: -1 }],
  ])('a corrupt override %j yields finite headers and stays limited', (override) => {
    const l = tokenBucket({ capacity: 2, refillPerSecond: 1, now: () => 0 })
    const rs = Array.from({ length: 5 }, () => l.consume('k', override) as RateLimitResult)
    for (const r of rs) {
      for (const v of [r.limit, r.remaining, r.resetSec, r.retryAfterSec ?? 0]) expect(Number.isFinite(v) && v >= 0).toBe(true)
    }
    expect(rs.filter((r) => r.allowed).length).toBeLessThanOrEqual(2) // falls back to the default limit
  })
})

describe('regression: authorizer.close() waits forever on a hung touch', () => {
  it('close() settles even when touch never answers', async () => {
    const store = new MemoryKeyStore()
    const { key } = await new KeyManager(store).issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    store.touch = () => new Promise<void>(() => {})
    const a = createAuthorizer({ store, touchIntervalMs: 60_000 })
    await a.authorize({ method: 'GET', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' })
    const closed = await Promise.race([a.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('still waiting'), 3_000))])
    expect(closed).toBe('closed')
  })
})

describe('regression: cache hits reset the breaker, so a dead store behind a cache keeps being called', () => {
  it('after 3 failed misses in a row, with hits in between, the breaker opens', async () => {
    let calls = 0
    let down = false
    const inner = new MemoryKeyStore()
    const { key } = await new KeyManager(inner).issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    const findByHash = inner.findByHash.bind(inner)
    inner.findByHash = (h: string): Promise<KeyRecord | undefined> => {
      calls++
      return down ? Promise.reject(new Error('db down')) : findByHash(h)
    }
    const a = createAuthorizer({ store: cachedStore(inner), breaker: { threshold: 3, cooldownMs: 10_000 }, touchIntervalMs: 0 })
    const hot = { method: 'GET', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' }
    await a.authorize(hot) // warm the cache
    down = true
    for (let i = 0; i < 10; i++) {
      await a.authorize({ ...hot, headers: { 'x-api-key': `legacy-unknown-${i}` } }) // a miss: reaches the dead store
      await a.authorize(hot) // a hit: counts as a store success
    }
    expect(calls - 1).toBeLessThanOrEqual(3)
  })
})
