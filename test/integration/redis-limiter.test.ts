/**
 * keyward/redis's rate limiter against a real Redis: the in-memory `tokenBucket`'s numbers and
 * headers, one budget for every instance, one round trip per request, fail closed.
 */
import { randomBytes } from 'node:crypto'
import { Redis, type RedisOptions } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuthorizer, KeyManager, MemoryKeyStore, tokenBucket, type DecisionEvent, type RateLimiter } from '../../src/index.js'
import { redisRateLimiter } from '../../src/redis/index.js'
import { HAVE_REDIS, REDIS_URL } from './_env.js'
import { startProxy } from './_proxy.js'

const clients: Redis[] = []
function client(url = REDIS_URL!, extra: RedisOptions = {}): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: 1, ...extra })
  r.on('error', () => undefined)
  clients.push(r)
  return r
}

/** A fresh key prefix per test: tests never share a bucket. */
const prefix = () => `kwtest:${randomBytes(4).toString('hex')}:`

describe.skipIf(!HAVE_REDIS)('redis rate limiter', () => {
  let redis: Redis
  beforeAll(() => {
    redis = client()
  })
  afterAll(async () => {
    for (const c of clients) c.disconnect()
  })

  // A change of limits on an existing bucket is where the two differ on purpose (the shared
  // bucket keeps its tokens, see redis-limiter-changes.test.ts): each override gets its own keys.
  it('computes exactly what the in-memory token bucket computes, step for step, overrides included', async () => {
    let t = 1_700_000_000_000
    const now = () => t
    const shared = redisRateLimiter(redis, { capacity: 5, refillPerSecond: 3, now, prefix: prefix() })
    const local = tokenBucket({ capacity: 5, refillPerSecond: 3, now })
    // A deterministic, irregular schedule: bursts, pauses, fractional refills, override switches.
    let seed = 42
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const overrides = [undefined, { capacity: 2, refillPerSecond: 0.7 }, { capacity: 9, refillPerSecond: 12.5 }]
    const a: unknown[] = []
    const b: unknown[] = []
    for (let i = 0; i < 300; i++) {
      t += Math.floor(rand() * (rand() < 0.2 ? 2500 : 120))
      const phase = Math.floor(i / 100)
      const key = `${i % 7 === 0 ? 'k2' : 'k1'}:${phase}`
      const ov = overrides[phase]
      a.push(await shared.consume(key, ov))
      b.push(local.consume(key, ov))
    }
    expect(a).toEqual(b)
    expect(a.filter((r) => (r as { allowed: boolean }).allowed === false).length).toBeGreaterThan(20)
  })

  it('gives the authorizer the same RateLimit-* and Retry-After headers as the in-memory limiter', async () => {
    let t = 1_700_000_000_000
    const now = () => t
    const headersWith = async (limiter: RateLimiter) => {
      const store = new MemoryKeyStore()
      const { key } = await new KeyManager(store).issue({ kind: 'org', tenant: 't', rateLimit: { capacity: 3, refillPerSecond: 0.5 } })
      const authorizer = createAuthorizer({ store, rateLimiter: limiter, now })
      const out: unknown[] = []
      t = 1_700_000_000_000
      for (let i = 0; i < 6; i++) {
        const d = await authorizer.authorize({ method: 'GET', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' })
        out.push([d.status, d.headers])
        t += 700
      }
      return out
    }
    const viaRedis = await headersWith(redisRateLimiter(redis, { capacity: 100, refillPerSecond: 1, now, prefix: prefix() }))
    const inMemory = await headersWith(tokenBucket({ capacity: 100, refillPerSecond: 1, now }))
    expect(viaRedis).toEqual(inMemory)
    expect(viaRedis.map((x) => (x as [number])[0])).toContain(429)
  })

  it('shares one budget between instances: N per window in total, not N per instance', async () => {
    const p = prefix()
    const instances = [client(), client(), client()].map((r) => redisRateLimiter(r, { capacity: 10, refillPerSecond: 0.001, prefix: p }))
    const results = await Promise.all(Array.from({ length: 45 }, (_, i) => instances[i % 3]!.consume('key_shared')))
    expect(results.filter((r) => r.allowed)).toHaveLength(10)
    expect(results.filter((r) => !r.allowed).every((r) => r.remaining === 0 && (r.retryAfterSec ?? 0) >= 1)).toBe(true)
    // The Redis clock decides: the same bucket whatever the instances' clocks.
    expect((await instances[0]!.consume('key_shared')).allowed).toBe(false)
  })

  it('makes one round trip per request, and reloads its script after SCRIPT FLUSH', async () => {
    const r = client()
    const limiter = redisRateLimiter(r, { capacity: 50, refillPerSecond: 1, prefix: prefix() })
    await limiter.consume('key_rt') // loads the script if needed
    const sent: string[] = []
    const original = r.sendCommand.bind(r)
    r.sendCommand = ((command: { name: string }, stream?: unknown) => {
      sent.push(command.name)
      return original(command as never, stream as never)
    }) as typeof r.sendCommand
    for (let i = 0; i < 10; i++) await limiter.consume('key_rt')
    expect(sent).toEqual(Array(10).fill('evalsha'))
    await redis.script('FLUSH')
    sent.length = 0
    const after = await limiter.consume('key_rt')
    expect(after.allowed).toBe(true)
    expect(sent).toEqual(['evalsha', 'eval'])
  })

  it('keeps each bucket in one prefixed hash that expires once the bucket would be full', async () => {
    const p = prefix()
    const limiter = redisRateLimiter(redis, { capacity: 4, refillPerSecond: 2, prefix: p })
    await limiter.consume('key_names')
    expect(limiter.keyOf('key_names')).toBe(`${p}key_names`)
    expect(await redis.type(`${p}key_names`)).toBe('hash')
    expect(Object.keys(await redis.hgetall(`${p}key_names`)).sort()).toEqual(['at', 'cap', 'rate', 'tokens'])
    const ttl = await redis.pttl(`${p}key_names`)
    // One token short of full at 2/s: 500 ms to refill, plus the one-second margin.
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(1500)
    expect(redisRateLimiter(redis, { capacity: 1, refillPerSecond: 1 }).keyOf('key_x')).toBe('keyward:rl:key_x')
    await limiter.reset('key_names')
    expect(await redis.exists(`${p}key_names`)).toBe(0)
  })

  it('refuses a malformed per-key override instead of widening the limit', async () => {
    const limiter = redisRateLimiter(redis, { capacity: 1, refillPerSecond: 1, prefix: prefix() })
    await expect(limiter.consume('key_bad', { capacity: 0, refillPerSecond: 1 })).rejects.toThrow(/override\.capacity/)
    await expect(limiter.consume('key_bad', { capacity: 5, refillPerSecond: Number.POSITIVE_INFINITY })).rejects.toThrow(/override\.refillPerSecond/)
  })

  it('validates its options up front, naming the field', () => {
    expect(() => redisRateLimiter(redis, { capacity: 0, refillPerSecond: 1 })).toThrow(/capacity/)
    expect(() => redisRateLimiter(redis, { capacity: 1, refillPerSecond: -1 })).toThrow(/refillPerSecond/)
    expect(() => redisRateLimiter(redis, { capacity: 1, refillPerSecond: 1, timeoutMs: 0 })).toThrow(/timeoutMs/)
    expect(() => redisRateLimiter(redis, { capacity: 1, refillPerSecond: 1, capacty: 2 } as never)).toThrow(/capacty/)
    expect(() => redisRateLimiter({} as never, { capacity: 1, refillPerSecond: 1 })).toThrow(TypeError)
  })

  it('fails closed (503, never an unlimited allow) when Redis is down or hangs', async () => {
    const proxy = await startProxy(REDIS_URL!)
    const r = client(proxy.via(REDIS_URL!))
    await r.ping()
    const limiter = redisRateLimiter(r, { capacity: 100, refillPerSecond: 100, timeoutMs: 200, prefix: prefix() })
    const store = new MemoryKeyStore()
    const { key } = await new KeyManager(store).issue({ kind: 'org', tenant: 't' })
    const events: DecisionEvent[] = []
    const authorizer = createAuthorizer({ store, rateLimiter: limiter, onDecision: (e) => events.push(e) })
    const ask = () => authorizer.authorize({ method: 'GET', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' })
    try {
      expect((await ask()).allow).toBe(true)
      await proxy.down()
      const down = await ask()
      expect([down.status, !down.allow && down.code, events.at(-1)?.detail]).toEqual([503, 'service_unavailable', 'rate_limiter'])
      expect(down.headers['retry-after']).toBe('1')
      await proxy.heal()
      // The client reconnects on its own back-off schedule; one ping may still meet the outage.
      if (r.status !== 'ready') await new Promise((ready) => r.once('ready', ready))
      expect((await ask()).allow).toBe(true)
      proxy.blackhole()
      // Nothing ever comes back: the limiter's own timeout turns that into a 503, not a hang.
      const hung = await ask()
      expect(hung.status).toBe(503)
    } finally {
      await proxy.close()
    }
  })
})
