import { describe, expect, it } from 'vitest'
import { createAuthorizer } from '../../src/authorize.js'
import { renderDeny } from '../../src/decision.js'
import { tokenBucket } from '../../src/ratelimit/token-bucket.js'
import { KeyManager } from '../../src/stores/manager.js'
import { MemoryKeyStore } from '../../src/stores/memory.js'
import type { DenyDecision, RateLimitResult } from '../../src/types.js'
import { testClock } from '../_support/clock.js'
import { req } from './_helpers.js'

const consume = (l: ReturnType<typeof tokenBucket>, key: string, override?: Parameters<ReturnType<typeof tokenBucket>['consume']>[1]) =>
  l.consume(key, override) as RateLimitResult

describe('tokenBucket', () => {
  it('allows a burst of capacity, then refuses with the wait until the next token', () => {
    const clock = testClock()
    const limiter = tokenBucket({ capacity: 3, refillPerSecond: 0.5, now: clock.now })
    const results = Array.from({ length: 4 }, () => consume(limiter, 'k'))
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false])
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0])
    expect(results.map((r) => r.limit)).toEqual([3, 3, 3, 3])
    expect(results[3]!.retryAfterSec).toBe(2) // one token at 0.5/s
    expect(results[3]!.resetSec).toBe(6) // three tokens at 0.5/s
  })

  it('refills over injected time, never above capacity', () => {
    const clock = testClock()
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: 4, now: clock.now })
    consume(limiter, 'k')
    consume(limiter, 'k')
    expect(consume(limiter, 'k').allowed).toBe(false)
    clock.advance(249)
    expect(consume(limiter, 'k').allowed).toBe(false)
    clock.advance(1)
    expect(consume(limiter, 'k').allowed).toBe(true)
    clock.advance(60_000)
    expect(consume(limiter, 'k').remaining).toBe(1) // full (2) minus this request
  })

  it('keeps one bucket per key', () => {
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, now: () => 0 })
    expect(consume(limiter, 'a').allowed).toBe(true)
    expect(consume(limiter, 'a').allowed).toBe(false)
    expect(consume(limiter, 'b').allowed).toBe(true)
  })

  it('uses the per-key override instead of the default', () => {
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, now: () => 0 })
    const r = Array.from({ length: 6 }, () => consume(limiter, 'vip', { capacity: 5, refillPerSecond: 1 }))
    expect(r.map((x) => x.allowed)).toEqual([true, true, true, true, true, false])
    expect(r[0]!.limit).toBe(5)
  })

  it('bounds memory by maxKeys: the least recently used bucket is dropped (and comes back full)', () => {
    const clock = testClock()
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 0.001, maxKeys: 1_000, now: clock.now })
    expect(consume(limiter, 'first').allowed).toBe(true)
    expect(consume(limiter, 'first').allowed).toBe(false)
    expect(consume(limiter, 'hot').allowed).toBe(true)
    for (let i = 0; i < 100_000; i++) {
      consume(limiter, `k${i}`)
      // `hot` stays in use, so it is never the least recently used.
      if (i % 500 === 0) expect(consume(limiter, 'hot').allowed).toBe(false)
    }
    // `first` was evicted long ago: its state is gone, which is what bounds memory.
    expect(consume(limiter, 'first').allowed).toBe(true)
    // The most recent keys are still tracked.
    expect(consume(limiter, 'k99999').allowed).toBe(false)
  })

  it.each([
    [{ capacity: 0, refillPerSecond: 1 }, /^capacity: /],
    [{ capacity: 1.5, refillPerSecond: 1 }, /^capacity: /],
    [{ capacity: 1, refillPerSecond: 0 }, /^refillPerSecond: /],
    [{ capacity: 1, refillPerSecond: Number.NaN }, /^refillPerSecond: /],
    [{ capacity: 1, refillPerSecond: 1, maxKeys: 0 }, /^maxKeys: /],
    [{ capacity: 1, refillPerSecond: 1, now: 'x' }, /^now: /],
  ])('rejects %j naming the field', (options, message) => {
    expect(() => tokenBucket(options as never)).toThrow(message)
  })
})

describe('authorize() with a rate limiter', () => {
  async function setup() {
    const clock = testClock()
    const store = new MemoryKeyStore()
    const manager = new KeyManager(store, { now: clock.now })
    const authorizer = createAuthorizer({
      store,
      now: clock.now,
      touchIntervalMs: 0,
      rateLimiter: tokenBucket({ capacity: 2, refillPerSecond: 1, now: clock.now }),
    })
    return { clock, manager, authorizer }
  }

  it('puts RateLimit-Limit/Remaining/Reset on allowed responses', async () => {
    const { manager, authorizer } = await setup()
    const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    const d1 = await authorizer.authorize(req(key), 'scans:read')
    const d2 = await authorizer.authorize(req(key), 'scans:read')
    expect(d1.allow && d2.allow).toBe(true)
    expect(d1.headers).toEqual({ 'ratelimit-limit': '2', 'ratelimit-remaining': '1', 'ratelimit-reset': '1' })
    expect(d2.headers).toEqual({ 'ratelimit-limit': '2', 'ratelimit-remaining': '0', 'ratelimit-reset': '2' })
  })

  it('answers 429 rate_limited with Retry-After and the rate-limit headers, then recovers', async () => {
    const { clock, manager, authorizer } = await setup()
    const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    await authorizer.authorize(req(key))
    await authorizer.authorize(req(key))
    const d = (await authorizer.authorize(req(key))) as DenyDecision
    expect([d.allow, d.status, d.code, d.reason]).toEqual([false, 429, 'rate_limited', 'rate_limited'])
    expect(d.headers).toEqual({ 'ratelimit-limit': '2', 'ratelimit-remaining': '0', 'ratelimit-reset': '2', 'retry-after': '1' })
    const rendered = renderDeny(d)
    expect(rendered.headers['retry-after']).toBe('1')
    expect(rendered.body).not.toContain(key)
    clock.advance(1_000)
    expect((await authorizer.authorize(req(key))).allow).toBe(true)
  })

  it('applies the per-key override stored on the record, and keys do not share a budget', async () => {
    const { manager, authorizer } = await setup()
    const vip = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write', rateLimit: { capacity: 5, refillPerSecond: 1 } })
    const plain = await manager.issue({ kind: 'user', owner: 'bob', role: 'Read Write' })
    const run = async (key: string, n: number) => {
      const out: number[] = []
      for (let i = 0; i < n; i++) out.push((await authorizer.authorize(req(key))).status)
      return out
    }
    expect(await run(vip.key, 6)).toEqual([200, 200, 200, 200, 200, 429])
    expect(await run(plain.key, 3)).toEqual([200, 200, 429])
    const last = await authorizer.authorize(req(vip.key))
    expect(last.headers['ratelimit-limit']).toBe('5')
  })

  it('does not consume budget for requests denied before the limiter (bad key, missing permission)', async () => {
    const { manager, authorizer } = await setup()
    const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    for (let i = 0; i < 5; i++) expect((await authorizer.authorize(req(key), 'scans:manage')).status).toBe(403)
    expect((await authorizer.authorize(req(key), 'scans:read')).headers['ratelimit-remaining']).toBe('1')
  })

  it('a limiter that throws fails closed with 503, never allows', async () => {
    const store = new MemoryKeyStore()
    const { key } = await new KeyManager(store).issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    const authorizer = createAuthorizer({
      store,
      touchIntervalMs: 0,
      rateLimiter: {
        consume() {
          throw new Error('redis down')
        },
      },
    })
    const d = (await authorizer.authorize(req(key))) as DenyDecision
    expect([d.allow, d.status, d.code]).toEqual([false, 503, 'service_unavailable'])
    expect(d.headers['retry-after']).toBe('1')
  })
})
