/**
 * Fault injection on a private Redis (see _redis-server.ts): failover pause (`CLIENT PAUSE …
 * WRITE`), dropped subscriber (`CLIENT KILL TYPE pubsub`), kill and restart, a 30-second hang
 * (SIGSTOP) under load, and forged messages. Asserts the Redis rows of the README's table of
 * bounds ("What is consistent, and what is eventually consistent for how long") and prints what
 * it measured (`[measured]` lines).
 *
 * Two in-process instances share one key store (standing in for Postgres: the source of truth
 * that a lookup after a cache clear reads), each with its own Redis clients, cache and bus.
 * Caches live a minute, so a deny within the test can only come from the bus.
 *
 * One file per subscriber mode (redis-faults-worker, redis-faults-thread), so that the two
 * 30-second hangs run on two test workers side by side instead of one after the other.
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import v8 from 'node:v8'
import vm from 'node:vm'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createAuthorizer, KeyManager, MemoryKeyStore, type Authorizer } from '../../src/index.js'
import { redisInvalidation, redisRateLimiter, type RedisInvalidation, type RedisInvalidationOptions } from '../../src/redis/index.js'
import { cachedStore } from '../../src/stores/cached.js'
import { watchTimerDelay } from '../_support/timer-delay.js'
import { HAVE_REDIS, type BUS_SUBSCRIBERS } from './_env.js'
import { HAVE_REDIS_SERVER, privateRedis, type PrivateRedis } from './_redis-server.js'

const MINUTE = 60_000
/** README: while the subscriber is down or messages do not flow, at most heartbeatMs × 2 + outageClearMs (defaults: 3 s). */
const OUTAGE_BOUND_MS = 2 * 1000 + 1000

interface Instance {
  bus: RedisInvalidation
  manager: KeyManager
  authorizer: Authorizer
  redis: Redis
  states: string[]
  errors: Error[]
  ask(key: string): Promise<boolean>
}

const measured = (what: string, value: unknown): void => console.log(`[measured] ${what}: ${JSON.stringify(value)}`)

/** The fault suite with the bus's subscriber connection in `subscriber` mode. */
export function redisFaultSuite(subscriber: (typeof BUS_SUBSCRIBERS)[number]): void {
  describe.skipIf(!HAVE_REDIS || !HAVE_REDIS_SERVER)(`redis under faults: the README bounds (${subscriber} subscriber)`, () => {
    let server: PrivateRedis
    const closers: (() => Promise<void> | void)[] = []
    // Without the synchronous peeks, as a store on the network: every read is a lookup to cache.
    const memory = new MemoryKeyStore()
    // One per instance: caches over the same store object in one process see each other's writes.
    const source = () => new Proxy(memory, {
      get(target, p) {
        if (typeof p === 'string' && p.startsWith('peek')) return undefined
        const v = Reflect.get(target, p, target) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    })
    let channel: string

    const client = (): Redis => {
      const r = new Redis(server.url, { maxRetriesPerRequest: 1 })
      r.on('error', () => undefined)
      closers.push(() => r.disconnect())
      return r
    }

    async function instance(options: RedisInvalidationOptions = {}): Promise<Instance> {
      const redis = client()
      const states: string[] = []
      const errors: Error[] = []
      const bus = redisInvalidation(redis, { channel, subscriber, onStateChange: (s) => states.push(s), onError: (e) => errors.push(e), ...options })
      const cache = cachedStore(source(), { ttlMs: MINUTE, negativeTtlMs: MINUTE, ownerTtlMs: MINUTE })
      const detach = await bus.attach(cache)
      closers.push(async () => {
        await detach()
        await bus.close()
      })
      const manager = new KeyManager(cache, { onWrite: bus.publish })
      const authorizer = createAuthorizer({ store: cache })
      const ask = async (key: string) => (await authorizer.authorize({ method: 'GET', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' })).allow
      return { bus, manager, authorizer, redis, states, errors, ask }
    }

    /**
     * Issues a key, has `reader` cache it, runs `fault`, revokes through `writer`, then asks
     * `reader` every 10 ms for `watchMs`: returns ms from the revoke to the start of the last
     * request `reader` allowed (-1: none).
     */
    /**
     * When `reader` last allowed a key that `writer` revoked after `fault`, in ms after the
     * revoke (-1: never), and the outage bound that must hold for it: OUTAGE_BOUND_MS plus how
     * late this process's timers ran meanwhile (`timer-delay.ts`), since the bound is kept by
     * timers of the bus.
     */
    async function lastAllowAfterRevoke(writer: Instance, reader: Instance, fault: () => Promise<void> | void, watchMs: number): Promise<{ last: number; bound: number }> {
      const { key, record } = await writer.manager.issue({ kind: 'org', tenant: 't' })
      // The issue's own message reaches `reader` too (and drops what it cached): let it pass first.
      await sleep(200)
      await vi.waitFor(async () => expect(await reader.ask(key)).toBe(true))
      const delay = watchTimerDelay()
      await fault()
      await writer.manager.deactivate(record.id)
      const revoked = performance.now()

      let last = -1
      while (performance.now() - revoked < watchMs) {
        const began = performance.now()
        if (await reader.ask(key)) last = began - revoked
        await sleep(10)
      }
      return { last: Math.round(last), bound: OUTAGE_BOUND_MS + delay.stop() }
    }

    beforeAll(async () => {
      server = await privateRedis()
    })
    afterAll(async () => {
      for (const c of closers.reverse()) await c()
      await server.stop()
    })

    it('refuses a revoked key on other instances within the outage bound while Redis holds writes for a failover', async () => {
      channel = `kwtest:faults:${randomBytes(4).toString('hex')}`
      const [a, b] = [await instance(), await instance()]
      const admin = client()
      const { last, bound } = await lastAllowAfterRevoke(a, b, async () => {
        // What FAILOVER and manual failovers do: PUBLISH waits, PING still answers.
        await admin.call('CLIENT', 'PAUSE', '6000', 'WRITE')
        await sleep(20)
      }, 5000)
      measured('failover pause (CLIENT PAUSE 6000 WRITE): last allow after revoke, ms', last)
      // Before: the bus stayed up (PING answered) and the key was allowed for the whole pause.
      expect(last).toBeLessThanOrEqual(bound)
      expect(b.states).toContain('down')
      await admin.call('CLIENT', 'UNPAUSE')
      // Messages flow again: back up by itself.
      await vi.waitFor(() => expect(b.bus.state).toBe('up'), { timeout: 5000, interval: 50 })
      expect(b.states.at(-1)).toBe('up')
    }, 30_000)

    it('refuses a revoked key within the outage bound when the subscriber connection is dropped', async () => {
      channel = `kwtest:faults:${randomBytes(4).toString('hex')}`
      const [a, b] = [await instance(), await instance()]
      const admin = client()
      const { last, bound } = await lastAllowAfterRevoke(a, b, async () => {
        await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
      }, 4000)
      measured('dropped subscriber (CLIENT KILL TYPE pubsub): last allow after revoke, ms', last)
      expect(last).toBeLessThanOrEqual(bound)
      await vi.waitFor(() => expect(b.bus.state).toBe('up'), { timeout: 5000, interval: 50 })
    }, 30_000)

    it('refuses a revoked key within the outage bound, and fails the limiter closed, when Redis is killed; recovers on restart', async () => {
      channel = `kwtest:faults:${randomBytes(4).toString('hex')}`
      const [a, b] = [await instance(), await instance()]
      const limiter = redisRateLimiter(client(), { capacity: 1000, refillPerSecond: 1000, prefix: `kwtest:${randomBytes(4).toString('hex')}:` })
      expect((await limiter.consume('key_kill')).allowed).toBe(true)
      let limiterFailedAfter = -1
      let limiterBound = 0
      const { last, bound } = await lastAllowAfterRevoke(a, b, async () => {
        await server.kill()
        const delay = watchTimerDelay()
        const t = performance.now()
        await expect(limiter.consume('key_kill')).rejects.toThrow()
        limiterFailedAfter = Math.round(performance.now() - t)
        limiterBound = 500 + delay.stop() // its timeoutMs, plus how late this process's timers ran
      }, 4000)
      measured('redis killed: last allow after revoke, ms', last)
      measured('redis killed: limiter rejected after, ms', limiterFailedAfter)
      expect(last).toBeLessThanOrEqual(bound)
      expect(limiterFailedAfter).toBeLessThanOrEqual(limiterBound)
      await server.start()
      await vi.waitFor(() => expect(b.bus.state).toBe('up'), { timeout: 10_000, interval: 50 })
      await vi.waitFor(async () => expect((await limiter.consume('key_kill')).allowed).toBe(true), { timeout: 10_000, interval: 100 })
    }, 40_000)

    it('keeps memory flat through a 30-second hang under load: bounded commands in flight, revocations within the outage bound', async () => {
      channel = `kwtest:faults:${randomBytes(4).toString('hex')}`
      const [a, b] = [await instance(), await instance()]
      const limited = client()
      const limiter = redisRateLimiter(limited, { capacity: 1e6, refillPerSecond: 1e6, timeoutMs: 250, prefix: `kwtest:${randomBytes(4).toString('hex')}:` })
      const store = new MemoryKeyStore()
      const { key } = await new KeyManager(store).issue({ kind: 'org', tenant: 't' })
      const authorizer = createAuthorizer({ store, rateLimiter: limiter })
      v8.setFlagsFromString('--expose-gc')
      const gc = vm.runInNewContext('gc') as () => void
      const queued = (): number => {
        const r = limited as unknown as { commandQueue: { length: number }; offlineQueue: { length: number } }
        return r.commandQueue.length + r.offlineQueue.length
      }
      const heapMb = (): number => {
        gc()
        return process.memoryUsage().heapUsed / 2 ** 20
      }
      // A bounded load: 20 loops, each one request then 20 ms of rest.
      let running = true
      const statuses = new Map<number, number>()
      const loops = Array.from({ length: 20 }, async () => {
        while (running) {
          const d = await authorizer.authorize({ method: 'GET', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' })
          statuses.set(d.status, (statuses.get(d.status) ?? 0) + 1)
          await sleep(20)
        }
      })
      const samples: { s: number; queued: number; heapMb: number }[] = []
      let last = -1
      let bound = OUTAGE_BOUND_MS
      try {
        await sleep(500)
        const watched = await lastAllowAfterRevoke(a, b, () => server.hang(), 3500)
        last = watched.last
        bound = watched.bound
        const hungAt = performance.now() - 3500
        for (let s = 4; s <= 30; s += 2) {
          await sleep(Math.max(0, hungAt + s * 1000 - performance.now()))
          samples.push({ s, queued: queued(), heapMb: Math.round(heapMb() * 10) / 10 })
        }
      } finally {
        server.resume()
        running = false
        await Promise.all(loops)
      }
      measured('hang (SIGSTOP) 30 s: last allow after revoke, ms', last)
      measured('hang: commands queued in ioredis / heap MB after GC, every 2 s', samples)
      measured('hang: decisions by status', Object.fromEntries(statuses))
      expect(last).toBeLessThanOrEqual(bound)
      // Before: one EVALSHA queued per request for the whole hang (thousands, ~3 KB each).
      expect(Math.max(...samples.map((x) => x.queued))).toBeLessThanOrEqual(1000)
      const heapGrowth = samples.at(-1)!.heapMb - samples[0]!.heapMb
      measured('hang: heap growth from 4 s to 30 s, MB', Math.round(heapGrowth * 10) / 10)
      expect(heapGrowth).toBeLessThan(3)
      expect(statuses.get(200) ?? 0).toBeGreaterThan(0)
      expect(statuses.get(503) ?? 0).toBeGreaterThan(0)
      // Recovers once Redis answers again (after the breaker's cooldown).
      await vi.waitFor(async () => expect((await authorizer.authorize({ method: 'GET', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' })).allow).toBe(true), {
        timeout: 10_000,
        interval: 100,
      })
    }, 90_000)
  })
}
