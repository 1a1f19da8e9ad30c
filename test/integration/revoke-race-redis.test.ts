/**
 * The revoke race across instances, on real PostgreSQL and Redis: instance B has a lookup in
 * flight (it has read the row from Postgres and its answer is held back by hand) when instance A
 * revokes and its change is delivered to B over the Redis bus, with and without hashes on the
 * wire. A request that B starts after the delivery must be denied, although it could have joined
 * the older lookup.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createAuthorizer, KeyManager, type Authorizer, type DenyDecision, type KeyStore, type StoreChange } from '../../src/index.js'
import { redisInvalidation, type RedisInvalidation } from '../../src/redis/index.js'
import { cachedStore } from '../../src/stores/cached.js'
import { postgresStore, type PostgresKeyStore } from '../../src/stores/postgres.js'
import { BUS_SUBSCRIBERS, HAVE_PG, HAVE_REDIS, REDIS_URL } from './_env.js'
import { newPool, pgFixture, type PgFixture } from './_pg.js'

const MINUTE = 60_000
const HOUR = 3_600_000
type Kind = 'key' | 'group' | 'owner'

/** Lookups read Postgres at once and answer when released, for the kinds in `slow`. */
class HeldStore implements KeyStore {
  slow = new Set<Kind>()
  readonly held: { kind: Kind; release: () => void }[] = []
  constructor(private readonly pg: PostgresKeyStore) {}
  async #hold<T>(kind: Kind, read: Promise<T>): Promise<T> {
    const value = await read
    if (this.slow.has(kind)) await new Promise<void>((release) => this.held.push({ kind, release }))
    return value
  }
  findByHash(hash: string) {
    return this.#hold('key', this.pg.findByHash(hash))
  }
  findGroup(id: string) {
    return this.#hold('group', this.pg.findGroup(id))
  }
  findOwner(id: string) {
    return this.#hold('owner', this.pg.findOwner(id))
  }
}

interface Node {
  bus: RedisInvalidation
  manager: KeyManager
  authorizer: Authorizer
  heard: StoreChange[]
  held: HeldStore
}

interface Subject {
  key: string
  id: string
  group: string
  owner: string
}

interface Row {
  name: string
  inFlight: Kind
  reason: string
  rotations?: number
  revoke(m: KeyManager, s: Subject): Promise<unknown>
}

const rows: Row[] = [
  { name: 'deactivate', inFlight: 'key', reason: 'key_disabled', revoke: (m, s) => m.deactivate(s.id) },
  { name: 'delete', inFlight: 'key', reason: 'unknown_key', revoke: (m, s) => m.delete(s.id) },
  { name: 'rotate with no grace', inFlight: 'key', reason: 'key_rotated', revoke: (m, s) => m.rotate(s.id, { graceMs: 0 }) },
  { name: 'rotate again during a grace', inFlight: 'key', reason: 'unknown_key', rotations: 1, revoke: (m, s) => m.rotate(s.id, { graceMs: HOUR }) },
  { name: 'allowlist edit', inFlight: 'key', reason: 'ip_not_allowed', revoke: (m, s) => m.update(s.id, { allowedIps: ['198.51.100.0/24'] }) },
  { name: 'group deactivated', inFlight: 'group', reason: 'group_disabled', revoke: (m, s) => m.deactivateGroup(s.group) },
  { name: 'owner locked', inFlight: 'owner', reason: 'owner_disabled', revoke: (m, s) => m.setOwner(s.owner, { role: 'Read Only', active: false }) },
]

describe.skipIf(!HAVE_PG || !HAVE_REDIS).each(BUS_SUBSCRIBERS)('revoke race across instances (Postgres + Redis bus, %s subscriber)', (subscriber) => {
  let fx: PgFixture
  const closers: (() => Promise<void>)[] = []
  const channel = `kwtest:race:${randomBytes(4).toString('hex')}`

  async function node(publishHashes: boolean): Promise<Node> {
    const redis = new Redis(REDIS_URL!, { maxRetriesPerRequest: 1 })
    redis.on('error', () => undefined)
    const pool = newPool()
    const pg = postgresStore(pool, { schema: fx.schema })
    const held = new HeldStore(pg)
    const cache = cachedStore(held, { ttlMs: MINUTE, negativeTtlMs: MINUTE, ownerTtlMs: MINUTE })
    const bus = redisInvalidation(redis, { channel, publishHashes, subscriber })
    const detach = await bus.attach(cache)
    // Attached after the cache: when this one hears a change, the cache has applied it.
    const heard: StoreChange[] = []
    const detachSpy = await bus.attach({ invalidate: (c) => heard.push(c), clear: () => undefined })
    const authorizer = createAuthorizer({ store: cache, breaker: false, touchIntervalMs: 0, storeTimeoutMs: 10_000 })
    closers.push(async () => {
      await detachSpy()
      await detach()
      await bus.close()
      await authorizer.close()
      await pg.close()
      await pool.end()
      redis.disconnect()
    })
    // The manager writes through Postgres directly: only the bus tells the caches.
    return { bus, manager: new KeyManager(pg, { onWrite: (c) => bus.publish(c) }), authorizer, heard, held }
  }

  /** Waits until everything `from` published so far has been applied on `to` (one connection keeps its order). */
  async function delivered(from: Node, to: Node): Promise<void> {
    const marker = { type: 'owner' as const, id: `marker-${randomBytes(4).toString('hex')}` }
    from.bus.publish(marker)
    await vi.waitFor(() => expect(to.heard).toContainEqual(marker))
  }

  let byId: Node
  let byHash: Node
  let b: Node
  beforeAll(async () => {
    fx = await pgFixture()
    byId = await node(false)
    byHash = await node(true)
    b = await node(true)
  })
  afterAll(async () => {
    for (const close of closers.reverse()) await close()
    await fx?.close()
  })

  const cases = rows.flatMap((row) => [
    { row, a: () => byId, wire: 'the key id alone' },
    { row, a: () => byHash, wire: 'id and hashes' },
  ])

  it.each(cases.map((c) => [c.row.name, c.wire, c] as const))(
    '%s on one instance, delivered with %s: the other instance denies a request that starts after it',
    async (_name, _wire, { row, a: pick }) => {
      const a = pick()
      const owner = `owner-${randomBytes(4).toString('hex')}`
      await a.manager.setOwner(owner, { role: 'Read Write', active: true })
      const group = await a.manager.createGroup({ name: 'Integrations' })
      const issued = await a.manager.issue({ kind: 'user', owner, role: 'Read Write', group: group.id, allowedIps: ['127.0.0.0/8'] })
      for (let i = 0; i < (row.rotations ?? 0); i++) await a.manager.rotate(issued.record.id, { graceMs: HOUR })
      const s: Subject = { key: issued.key, id: issued.record.id, group: group.id, owner }
      await delivered(a, b)
      const ask = () => b.authorizer.authorize({ method: 'GET', url: '/scans', headers: { 'x-api-key': s.key }, remoteAddress: '127.0.0.1' }, 'scans:read')

      b.held.slow = new Set([row.inFlight])
      try {
        // B's lookup has read the row as it is now, and its answer is held back.
        const before = ask()
        await vi.waitFor(() => expect(b.held.held.some((h) => h.kind === row.inFlight)).toBe(true))
        // A revokes; its message reaches B.
        await row.revoke(a.manager, s)
        await delivered(a, b)
        // A request on B that starts now.
        const after = ask()
        let done = false
        void after.finally(() => (done = true))
        await vi.waitFor(() => {
          for (const h of b.held.held.splice(0)) h.release()
          expect(done).toBe(true)
        })
        for (const h of b.held.held.splice(0)) h.release()
        await before
        const d = await after
        expect(d.allow ? 'allow' : (d as DenyDecision).reason).toBe(row.reason)
      } finally {
        b.held.slow = new Set()
        for (const h of b.held.held.splice(0)) h.release()
      }
    },
  )
})
