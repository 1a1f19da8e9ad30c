/**
 * keyward/redis's rate limiter when limits change, when instances' clocks disagree, and at the
 * edges of the accepted range: a bucket's budget is never created by configuration, clocks or
 * arithmetic.
 */
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisRateLimiter } from '../../src/redis/index.js'
import { HAVE_REDIS, REDIS_URL } from './_env.js'

const prefix = () => `kwtest:${randomBytes(4).toString('hex')}:`

describe.skipIf(!HAVE_REDIS)('redis rate limiter: limit changes, clocks and extreme rates', () => {
  let redis: Redis
  beforeAll(() => {
    redis = new Redis(REDIS_URL!, { maxRetriesPerRequest: 1 })
    redis.on('error', () => undefined)
  })
  afterAll(() => redis.disconnect())

  it.each([
    ['capacity', { capacity: 10, refillPerSecond: 0.001 }, { capacity: 20, refillPerSecond: 0.001 }],
    ['rate', { capacity: 10, refillPerSecond: 0.001 }, { capacity: 10, refillPerSecond: 0.002 }],
    ['both', { capacity: 5, refillPerSecond: 0.001 }, { capacity: 10, refillPerSecond: 0.01 }],
  ])('never admits more than the larger limit when two instances disagree on the %s of a key', async (_what, a, b) => {
    const p = prefix()
    const one = redisRateLimiter(redis, { ...a, prefix: p })
    const two = redisRateLimiter(redis, { ...b, prefix: p })
    let allowed = 0
    for (let i = 0; i < 100; i++) if ((await (i % 2 === 0 ? one : two).consume('key_split')).allowed) allowed++
    // Before: every switch of limits reset the bucket to full, and nearly all 100 were admitted.
    expect(allowed).toBeLessThanOrEqual(Math.max(a.capacity, b.capacity))
    expect(allowed).toBeGreaterThanOrEqual(Math.min(a.capacity, b.capacity))
  })

  it('keeps the tokens of a bucket whose limits change, clamped to the new capacity, never full again', async () => {
    let t = 1_700_000_000_000
    const now = () => t
    const p = prefix()
    const limiter = redisRateLimiter(redis, { capacity: 10, refillPerSecond: 1, now, prefix: p })
    for (let i = 0; i < 7; i++) await limiter.consume('key_edit')
    // 3 tokens left. A lower capacity clamps: 2, of which this request takes 1.
    expect(await limiter.consume('key_edit', { capacity: 2, refillPerSecond: 1 })).toMatchObject({ allowed: true, remaining: 1 })
    // A higher capacity does not fill the bucket: the one token left is kept, then it is empty.
    expect(await limiter.consume('key_edit', { capacity: 100, refillPerSecond: 1 })).toMatchObject({ allowed: true, remaining: 0, limit: 100 })
    expect((await limiter.consume('key_edit', { capacity: 100, refillPerSecond: 1 })).allowed).toBe(false)
    // The time since the last request refills at the lower of the old and the new rate.
    t += 2000
    expect(await limiter.consume('key_edit', { capacity: 100, refillPerSecond: 50 })).toMatchObject({ allowed: true, remaining: 1 })
    // From then on the new rate applies.
    t += 1000
    expect(await limiter.consume('key_edit', { capacity: 100, refillPerSecond: 50 })).toMatchObject({ allowed: true, remaining: 50 })
  })

  it('never refills a bucket through clock skew between instances (the now option)', async () => {
    const t = 1_700_000_000_000
    const p = prefix()
    const ahead = redisRateLimiter(redis, { capacity: 1, refillPerSecond: 1, now: () => t, prefix: p })
    const behind = redisRateLimiter(redis, { capacity: 1, refillPerSecond: 1, now: () => t - 10_000, prefix: p })
    const results: boolean[] = []
    for (let i = 0; i < 10; i++) results.push((await (i % 2 === 0 ? ahead : behind).consume('key_skew')).allowed)
    // Before: the instance behind moved `at` back 10 s, and the one ahead refilled 10 tokens from it.
    expect(results.filter(Boolean)).toHaveLength(1)
    expect(Number(await redis.hget(`${p}key_skew`, 'at'))).toBe(t)
  })

  it('answers, and keeps the bucket expiring, for every accepted rate, however small', async () => {
    const p = prefix()
    const extremes: [number, number][] = [
      [1, Number.MIN_VALUE],
      [1, 1e-300],
      [1_000_000_000, 1e-12],
      [3, 1e-7],
      [1_000_000_000, 1e9],
    ]
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom(...extremes), fc.tuple(fc.integer({ min: 1, max: 1e9 }), fc.double({ min: Number.MIN_VALUE, max: 1e9, noNaN: true }))),
        async ([capacity, refillPerSecond]) => {
          const limiter = redisRateLimiter(redis, { capacity, refillPerSecond, prefix: p })
          const key = `key_${randomBytes(4).toString('hex')}`
          // Before: PEXPIRE got a non-integer (e.g. 1e+15) after the HSET: every request failed
          // (503 forever) and the bucket was left without a TTL.
          for (let i = 0; i < 3; i++) {
            const r = await limiter.consume(key)
            expect(Number.isSafeInteger(r.resetSec)).toBe(true)
            if (!r.allowed) expect(Number.isSafeInteger(r.retryAfterSec)).toBe(true)
          }
          const ttl = await redis.pttl(limiter.keyOf(key))
          expect(ttl).toBeGreaterThan(0)
        },
      ),
      { numRuns: 40, examples: extremes.map((e) => [e]) },
    )
  })
})
