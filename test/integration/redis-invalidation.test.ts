/**
 * Revocation propagation through Redis pub/sub, with two in-process "instances" (each its own
 * pools, Redis connections, cache and bus) on one Postgres schema. Cache TTLs are a minute, so a
 * deny seen here within the test's seconds can only come from an invalidation (or, during an
 * outage, from the bus clearing the cache), never from expiry.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createAuthorizer, KeyManager, type Authorizer, type DecisionEvent } from '../../src/index.js'
import { redisInvalidation, type RedisInvalidation, type RedisInvalidationOptions } from '../../src/redis/index.js'
import { cachedStore, type CachedStore } from '../../src/stores/cached.js'
import { postgresStore, type PostgresKeyStore } from '../../src/stores/postgres.js'
import { BUS_SUBSCRIBERS, HAVE_PG, HAVE_REDIS, REDIS_URL } from './_env.js'
import { newPool, pgFixture, type PgFixture } from './_pg.js'
import { startProxy, type Proxy } from './_proxy.js'

const MINUTE = 60_000

interface Instance {
  bus: RedisInvalidation
  cache: CachedStore
  manager: KeyManager
  authorizer: Authorizer
  events: DecisionEvent[]
  states: ('up' | 'down')[]
  errors: Error[]
  /** Every change this instance's bus delivered. */
  heard: unknown[]
  ask(key: string): Promise<{ allow: boolean; reason?: string | undefined }>
}

describe.skipIf(!HAVE_PG || !HAVE_REDIS).each(BUS_SUBSCRIBERS)('revocation propagation over redis (%s subscriber)', (subscriber) => {
  let fx: PgFixture
  const closers: (() => Promise<void>)[] = []
  const channel = `kwtest:inv:${randomBytes(4).toString('hex')}`

  async function instance(options: RedisInvalidationOptions & { redisUrl?: string } = {}): Promise<Instance> {
    const { redisUrl = REDIS_URL!, ...busOptions } = options
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
    redis.on('error', () => undefined)
    const pool = newPool()
    const pg: PostgresKeyStore = postgresStore(pool, { schema: fx.schema })
    const cache = cachedStore(pg, { ttlMs: MINUTE, negativeTtlMs: MINUTE, ownerTtlMs: MINUTE })
    const states: ('up' | 'down')[] = []
    const errors: Error[] = []
    const bus = redisInvalidation(redis, { channel, subscriber, onStateChange: (s) => states.push(s), onError: (e) => errors.push(e), ...busOptions })
    const detach = await bus.attach(cache)
    const heard: unknown[] = []
    const detachSpy = await bus.attach({ invalidate: (c) => heard.push(c), clear: () => undefined })
    const events: DecisionEvent[] = []
    const authorizer = createAuthorizer({ store: cache, breaker: false, onDecision: (e) => events.push(e) })
    closers.push(async () => {
      await detachSpy()
      await detach()
      await bus.close()
      await authorizer.close()
      await pg.close()
      await pool.end()
      redis.disconnect()
    })
    return {
      bus,
      cache,
      manager: new KeyManager(cache, { onWrite: bus.publish }),
      authorizer,
      events,
      states,
      errors,
      heard,
      async ask(key) {
        const d = await authorizer.authorize({ method: 'GET', url: '/scans', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' }, 'scans:read')
        return { allow: d.allow, reason: events.at(-1)?.reason }
      },
    }
  }

  /** Polls `b` until `key` is refused; returns how long that took after `since`. */
  async function deniedOn(b: Instance, key: string, since: number): Promise<number> {
    let at = 0
    await vi.waitFor(
      async () => {
        const r = await b.ask(key)
        at = performance.now()
        expect(r.allow).toBe(false)
      },
      { timeout: 5000, interval: 1 },
    )
    return at - since
  }

  /**
   * Waits until everything published so far has reached `to`: pub/sub keeps the order of one
   * connection's messages, so once a marker sent after them arrives, they have arrived too.
   */
  async function delivered(from: Instance, to: Instance): Promise<void> {
    const marker = { type: 'owner' as const, id: `marker-${randomBytes(4).toString('hex')}` }
    from.bus.publish(marker)
    await vi.waitFor(() => expect(to.heard).toContainEqual(marker))
  }

  let a: Instance
  let b: Instance
  const measured: number[] = []
  beforeAll(async () => {
    fx = await pgFixture()
    a = await instance()
    b = await instance()
  })
  afterAll(async () => {
    for (const close of closers.reverse()) await close()
    await fx?.close()
    if (measured.length > 0) console.info(`in-process propagation (write resolved → refused on the other instance), ms: ${measured.map((m) => m.toFixed(1)).join(', ')}`)
  })

  it('is needed: without it, a write made elsewhere stays unseen for the TTL', async () => {
    const { key, record } = await a.manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    await delivered(a, b) // the issue's own message must not be what drops b's entry below
    expect((await b.ask(key)).allow).toBe(true) // cached on b now
    await new KeyManager(fx.store).deactivate(record.id) // straight to Postgres, nobody told
    expect(await b.ask(key)).toEqual({ allow: true, reason: undefined })
    expect((await a.ask(key)).allow).toBe(false) // a's cache had no entry for it
  })

  it.each([
    ['deactivated', (m: KeyManager, id: string) => m.deactivate(id), 'key_disabled'],
    ['deleted', (m: KeyManager, id: string) => m.delete(id), 'unknown_key'],
    ['rotated out (no grace)', (m: KeyManager, id: string) => m.rotate(id, { graceMs: 0 }), 'key_rotated'],
  ] as const)('refuses a key %s on one instance on the other one too', async (_, write, reason) => {
    const { key, record } = await a.manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    expect((await b.ask(key)).allow).toBe(true)
    await write(a.manager, record.id)
    measured.push(await deniedOn(b, key, performance.now()))
    expect((await b.ask(key)).reason).toBe(reason)
  })

  it('applies group deactivation and owner locks from the other instance', async () => {
    const group = await a.manager.createGroup({ name: 'Partners' })
    const inGroup = await a.manager.issue({ kind: 'user', owner: 'gus', role: 'Read Only', group: group.id })
    await a.manager.setOwner('olga', { role: 'Read Only', active: true })
    const owned = await a.manager.issue({ kind: 'user', owner: 'olga', role: 'Read Only' })
    expect([(await b.ask(inGroup.key)).allow, (await b.ask(owned.key)).allow]).toEqual([true, true])
    await b.manager.deactivateGroup(group.id) // this time the write comes from b
    await b.manager.setOwner('olga', { active: false })
    await deniedOn(a, inGroup.key, 0)
    await deniedOn(a, owned.key, 0)
    expect([(await a.ask(inGroup.key)).reason, (await a.ask(owned.key)).reason]).toEqual(['group_disabled', 'owner_disabled'])
  })

  it('publishes ids and hashes only, never a key, in a versioned message', async () => {
    const listener = new Redis(REDIS_URL!)
    const seen: string[] = []
    listener.on('message', (_c: string, m: string) => seen.push(m))
    await listener.subscribe(channel)
    try {
      const { key, record } = await a.manager.issue({ kind: 'org', tenant: 't1' })
      const rotated = await a.manager.rotate(record.id, { graceMs: 1000 })
      // The instances' heartbeats share the channel; one may pass during the test on a slow machine.
      const isBeat = (m: string) => (JSON.parse(m) as { id?: unknown }).id === 'keyward:heartbeat'
      const changes = () => seen.filter((m) => !isBeat(m))
      await vi.waitFor(() => expect(changes().length).toBe(2))
      for (const m of seen) {
        expect(m).not.toContain(key)
        expect(m).not.toContain(rotated.key)
        expect(Object.keys(JSON.parse(m) as object).sort()).toEqual(isBeat(m) ? ['beat', 'id', 'type', 'v'] : ['hashes', 'id', 'type', 'v'])
      }
      expect(JSON.parse(changes()[1]!)).toEqual({ v: 1, type: 'key', id: record.id, hashes: expect.arrayContaining([record.hash, rotated.record.hash]) })
    } finally {
      listener.disconnect()
    }
  })

  it('propagates revocations by key id alone when hashes are kept off the wire', async () => {
    const c = await instance({ publishHashes: false })
    const listener = new Redis(REDIS_URL!)
    const seen: string[] = []
    listener.on('message', (_c: string, m: string) => seen.push(m))
    await listener.subscribe(channel)
    try {
      const { key, record } = await c.manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
      await delivered(c, b)
      expect((await b.ask(key)).allow).toBe(true)
      await c.manager.deactivate(record.id)
      await deniedOn(b, key, 0)
      await vi.waitFor(() => expect(seen.filter((m) => m.includes(record.id))).toHaveLength(2))
      for (const m of seen) expect(m).not.toContain(record.hash)
    } finally {
      listener.disconnect()
    }
  })

  it('treats messages as drop-only: a forged one cannot grant, a malformed one clears the cache', async () => {
    const active = await a.manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const revoked = await a.manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only', active: false })
    await delivered(a, b)
    expect([(await b.ask(active.key)).allow, (await b.ask(revoked.key)).allow]).toEqual([true, false])
    const cached = b.cache.size
    const rogue = new Redis(REDIS_URL!)
    try {
      await rogue.publish(channel, JSON.stringify({ v: 1, type: 'key', id: revoked.record.id, hashes: [revoked.record.hash] }))
      await rogue.publish(channel, JSON.stringify({ v: 1, type: 'key', id: active.record.id, hashes: [active.record.hash], active: true }))
      // Both entries dropped, nothing else changed, and nothing was granted:
      await vi.waitFor(() => expect(b.cache.size).toBe(cached - 2))
      expect([(await b.ask(active.key)).allow, (await b.ask(revoked.key)).allow]).toEqual([true, false])
      const before = b.errors.length
      await rogue.publish(channel, '{"v":2,"type":"everything-is-fine"}')
      await vi.waitFor(() => expect(b.errors.length).toBe(before + 1))
      expect(b.cache.size).toBe(0)
      expect(b.errors.at(-1)?.message).toMatch(/malformed/)
    } finally {
      rogue.disconnect()
    }
  })

  describe('when the subscription drops', () => {
    let proxy: Proxy
    beforeAll(async () => {
      proxy = await startProxy(REDIS_URL!)
    })
    afterAll(async () => {
      await proxy?.close()
    })

    it('clears the cache every outageClearMs while it is down, so a missed revoke still lands', async () => {
      const c = await instance({ redisUrl: proxy.via(REDIS_URL!), outageClearMs: 200, heartbeatMs: 100 })
      const { key, record } = await a.manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
      expect((await c.ask(key)).allow).toBe(true)
      await proxy.down()
      await vi.waitFor(() => expect(c.bus.state).toBe('down'))
      await a.manager.deactivate(record.id) // c cannot hear this
      await deniedOn(c, key, 0)
      await proxy.heal()
      await vi.waitFor(() => expect(c.bus.state).toBe('up'), { timeout: 5000 })
      // (A loaded machine may add a heartbeat miss; the order is what matters.)
      expect([c.states[0], c.states.includes('down'), c.states.at(-1)]).toEqual(['up', true, 'up'])
    })

    it('clears the cache once the subscription is back, dropping what was loaded while it was down', async () => {
      const c = await instance({ redisUrl: proxy.via(REDIS_URL!), outageClearMs: 3_600_000, heartbeatMs: 100 })
      const { key, record } = await a.manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
      await proxy.down()
      await vi.waitFor(() => expect(c.bus.state).toBe('down'))
      expect((await c.ask(key)).allow).toBe(true) // cached during the outage
      await a.manager.deactivate(record.id) // missed
      expect((await c.ask(key)).allow).toBe(true) // stale: nothing clears it for an hour…
      await proxy.heal()
      await vi.waitFor(() => expect(c.bus.state).toBe('up'), { timeout: 5000 })
      expect(await c.ask(key)).toEqual({ allow: false, reason: 'key_disabled' }) // …but the reconnect did
    })

    it('notices a connection that hangs without closing (heartbeat), and recovers', async () => {
      const c = await instance({ redisUrl: proxy.via(REDIS_URL!), heartbeatMs: 100 })
      proxy.blackhole()
      await vi.waitFor(() => expect(c.bus.state).toBe('down'), { timeout: 3000 })
      await proxy.heal()
      await vi.waitFor(() => expect(c.bus.state).toBe('up'), { timeout: 5000 })
      expect(c.errors.some((e) => /heartbeat/.test(e.message))).toBe(true)
    })

    it('still invalidates caches of its own instance at once while Redis is unreachable', async () => {
      const c = await instance({ redisUrl: proxy.via(REDIS_URL!), outageClearMs: 3_600_000 })
      const { key, record } = await c.manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
      await proxy.down()
      try {
        expect((await c.ask(key)).allow).toBe(true)
        c.bus.publish({ type: 'key', id: record.id, hashes: [record.hash] })
        await new KeyManager(fx.store).deactivate(record.id)
        // No round trip to Redis was needed for the local cache to let go.
        expect((await c.ask(key)).allow).toBe(false)
      } finally {
        await proxy.heal()
      }
    })

    it('rejects attach() within connectTimeoutMs when Redis is unreachable, leaving nothing running', async () => {
      await proxy.down()
      const redis = new Redis(proxy.via(REDIS_URL!), { maxRetriesPerRequest: 1, lazyConnect: true })
      redis.on('error', () => undefined)
      const bus = redisInvalidation(redis, { channel, subscriber, connectTimeoutMs: 300 })
      try {
        await expect(bus.attach(cachedStore(fx.store))).rejects.toThrow(/within 300 ms/)
        expect(bus.state).toBe('idle')
      } finally {
        await bus.close()
        redis.disconnect()
        await proxy.heal()
      }
    })
  })

  it('validates its options up front, naming the field', () => {
    const redis = new Redis(REDIS_URL!, { lazyConnect: true })
    expect(() => redisInvalidation(redis, { channel: '' })).toThrow(/channel/)
    expect(() => redisInvalidation(redis, { outageClearMs: 0 })).toThrow(/outageClearMs/)
    expect(() => redisInvalidation(redis, { heartbeatMs: -1 })).toThrow(/heartbeatMs/)
    expect(() => redisInvalidation(redis, { chanel: 'x' } as never)).toThrow(/chanel/)
    expect(() => redisInvalidation({} as never)).toThrow(TypeError)
    redis.disconnect()
  })
})
