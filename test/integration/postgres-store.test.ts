/**
 * keyward/postgres against a real PostgreSQL: it must behave as `MemoryKeyStore`, the reference
 * of `ManagedKeyStore` semantics, and keep its guarantees (hash uniqueness across current and
 * previous hashes, single-statement writes, batched touches) under concurrency.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConflictError, NotFoundError } from '../../src/errors.js'
import { MemoryKeyStore } from '../../src/stores/memory.js'
import type { KeyGroup, KeyRecord, ManagedKeyStore } from '../../src/types.js'
import { HAVE_PG } from './_env.js'
import { newPool, pgFixture, type PgFixture } from './_pg.js'

const T0 = 1_700_000_000_000

function full(id: string, hash: string): KeyRecord {
  return {
    id,
    hash,
    kind: 'user',
    tenant: 't1',
    group: 'grp_1',
    owner: 'ana@example.test',
    role: 'Read Write',
    scopes: ['scans:read', 'apps:manage'],
    grants: ['getScans', 'GET /api/apps'],
    allowedIps: ['203.0.113.0/24', '2001:db8::/32'],
    active: true,
    expiresAt: T0 + 86_400_000,
    rateLimit: { capacity: 7, refillPerSecond: 0.25 },
    description: 'CI pipeline\twith a tab',
    metadata: { team: 'blue', n: 1.5, nested: { list: [1, 'two', null, true] }, big: 12345678901234 },
    createdAt: T0,
    updatedAt: T0 + 1,
    lastUsedAt: T0 + 2,
    previousHash: `${hash}-prev`,
    previousExpiresAt: T0 + 3,
    start: 'kw_live_3kTM',
  }
}

const minimal = (id: string, hash: string): KeyRecord => ({ id, hash, kind: 'org', active: false, createdAt: T0 })
const group = (id: string, tenant?: string): KeyGroup => ({
  id,
  name: `Group ${id}`,
  active: true,
  createdAt: T0,
  ...(tenant === undefined ? {} : { tenant }),
})

/** Outcome of a write, comparable across stores. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    const v = await p
    return `ok:${String(v)}`
  } catch (e) {
    return e instanceof ConflictError ? 'conflict' : e instanceof NotFoundError ? 'not-found' : `error:${(e as Error).message}`
  }
}

describe.skipIf(!HAVE_PG)('postgres store: the same records as MemoryKeyStore', () => {
  let fx: PgFixture
  beforeAll(async () => {
    fx = await pgFixture()
  })
  afterAll(async () => {
    await fx?.close()
  })

  it('round-trips every field exactly (no null/undefined extras) and freezes what it returns', async () => {
    const mem = new MemoryKeyStore()
    const records = [
      full('k_full', 'h_full'),
      minimal('k_min', 'h_min'),
      { ...minimal('k_empty', 'h_empty'), kind: 'tenant' as const, tenant: 't2', scopes: [], grants: [], allowedIps: [], metadata: {} },
    ]
    for (const r of records) {
      await mem.insertKey(r)
      await fx.store.insertKey(r)
    }
    for (const r of records) {
      const got = await fx.store.getKey(r.id)
      expect(got).toStrictEqual(await mem.getKey(r.id))
      expect(await fx.store.findByHash(r.hash)).toStrictEqual(await mem.findByHash(r.hash))
      expect(Object.isFrozen(got)).toBe(true)
    }
    expect(await fx.store.findByHash('h_full-prev')).toStrictEqual(await mem.findByHash('h_full-prev'))
    expect(await fx.store.findByHash('nope')).toBeUndefined()
    expect(await fx.store.getKey('nope')).toBeUndefined()
  })

  it('keeps a hash unique across current and previous hashes of all keys, as MemoryKeyStore does', async () => {
    const mem = new MemoryKeyStore()
    const pgs = fx.store
    const steps: ((s: ManagedKeyStore) => Promise<unknown>)[] = [
      (s) => s.insertKey(minimal('u_a', 'u1')),
      (s) => s.updateKey({ ...minimal('u_a', 'u2'), previousHash: 'u1', previousExpiresAt: T0 }), // rotate a: u1 → u2
      (s) => s.insertKey(minimal('u_b', 'u1')), // a's previous hash
      (s) => s.insertKey(minimal('u_b', 'u2')), // a's current hash
      (s) => s.insertKey({ ...minimal('u_b', 'u3'), previousHash: 'u2' }), // a's hash as b's previous
      (s) => s.insertKey(minimal('u_b', 'u3')),
      (s) => s.updateKey({ ...minimal('u_b', 'u1') }), // b takes a's previous hash
      (s) => s.updateKey({ ...minimal('u_a', 'u4'), previousHash: 'u2', previousExpiresAt: T0 }), // a rotates again, dropping u1
      (s) => s.updateKey({ ...minimal('u_b', 'u1') }), // now free
      (s) => s.insertKey(minimal('u_c', 'u2')), // still a's previous
      (s) => s.deleteKey('u_a'),
      (s) => s.insertKey(minimal('u_c', 'u2')), // free after the delete
      (s) => s.insertKey(minimal('u_c', 'u9')), // duplicate id
      (s) => s.updateKey(minimal('u_missing', 'u8')),
      (s) => s.deleteKey('u_missing'),
    ]
    const memOut: string[] = []
    const pgOut: string[] = []
    for (const step of steps) {
      memOut.push(await outcome(step(mem)))
      pgOut.push(await outcome(step(pgs)))
    }
    expect(pgOut).toEqual(memOut)
    expect(pgOut.filter((o) => o === 'conflict').length).toBeGreaterThanOrEqual(5)
    for (const h of ['u1', 'u2', 'u3', 'u4', 'u8', 'u9']) expect(await pgs.findByHash(h)).toStrictEqual(await mem.findByHash(h))
  })

  it('names no hash in the errors of a conflicting insert or update', async () => {
    const secretish = 'hash-that-must-not-leak-0123456789'
    await fx.store.insertKey(minimal('leak_a', secretish))
    const errors: unknown[] = []
    await fx.store.insertKey(minimal('leak_b', secretish)).catch((e: unknown) => errors.push(e))
    await fx.store.insertKey({ ...minimal('leak_c', 'other'), previousHash: secretish }).catch((e: unknown) => errors.push(e))
    await fx.store.insertKey(minimal('leak_d', 'fresh-1')).then(() => fx.store.updateKey(minimal('leak_d', secretish))).catch((e: unknown) => errors.push(e))
    expect(errors).toHaveLength(3)
    for (const e of errors) {
      expect(e).toBeInstanceOf(ConflictError)
      expect(JSON.stringify({ m: (e as Error).message, s: (e as Error).stack, ...(e as object) })).not.toContain(secretish)
    }
  })

  it('lets exactly one of several concurrent inserts of the same hash win', async () => {
    const pool = newPool(undefined, { max: 8 })
    try {
      const store = fx.storeOn(pool)
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => outcome(store.insertKey(minimal(`race_${i}`, 'race-hash')))))
      expect(results.filter((r) => r.startsWith('ok')).length).toBe(1)
      expect(results.filter((r) => r === 'conflict').length).toBe(7)
    } finally {
      await pool.end()
    }
  })

  it('leaves a key untouched when its rotation conflicts (one statement: all or nothing)', async () => {
    await fx.store.insertKey(minimal('rot_a', 'rot-a-1'))
    await fx.store.insertKey(minimal('rot_b', 'rot-b-1'))
    const before = await fx.store.getKey('rot_a')
    await expect(fx.store.updateKey({ ...minimal('rot_a', 'rot-b-1'), previousHash: 'rot-a-1', previousExpiresAt: T0 })).rejects.toBeInstanceOf(ConflictError)
    expect(await fx.store.getKey('rot_a')).toStrictEqual(before)
    expect((await fx.store.findByHash('rot-a-1'))?.id).toBe('rot_a')
    expect((await fx.store.findByHash('rot-b-1'))?.id).toBe('rot_b')
  })

  it('lists keys and groups by every filter as MemoryKeyStore does', async () => {
    // A schema of its own: the other tests' keys would be listed too.
    const own = await pgFixture()
    const store = own.store
    const mem = new MemoryKeyStore()
    const kinds = ['user', 'org', 'tenant'] as const
    for (let i = 0; i < 24; i++) {
      const r: KeyRecord = {
        ...minimal(`l_${String(i).padStart(2, '0')}`, `lh_${i}`),
        kind: kinds[i % 3]!,
        active: i % 2 === 0,
        createdAt: T0 + i,
        ...(i % 4 === 0 ? {} : { tenant: `t${i % 4}` }),
        ...(i % 5 === 0 ? {} : { group: `g${i % 5}` }),
        ...(i % 3 === 0 ? { owner: `o${i % 2}` } : {}),
      }
      await mem.insertKey(r)
      await store.insertKey(r)
    }
    for (const g of [group('g1', 't1'), group('g2', 't2'), group('g3')]) {
      await mem.insertGroup(g)
      await store.insertGroup(g)
    }
    const filters = [{}, { tenant: 't1' }, { group: 'g2' }, { owner: 'o0' }, { kind: 'org' as const }, { active: false }, { tenant: 't3', active: true, kind: 'user' as const }, { tenant: 'none' }]
    for (const f of filters) {
      const ids = (rs: KeyRecord[]) => rs.map((r) => r.id)
      expect(ids(await store.listKeys(f)), JSON.stringify(f)).toEqual(ids(await mem.listKeys(f)))
    }
    for (const f of [{}, { tenant: 't1' }, { tenant: 'zz' }]) expect(await store.listGroups(f)).toStrictEqual(await mem.listGroups(f))
    await own.close()
  })

  it('stores groups and owners as MemoryKeyStore does', async () => {
    const mem = new MemoryKeyStore()
    const both = async (f: (s: MemoryKeyStore | typeof fx.store) => Promise<unknown>) => [await outcome(f(mem)), await outcome(f(fx.store))]
    const g: KeyGroup = { id: 'gr_1', name: 'Partner A', description: 'd', tenant: 't1', active: true, allowedIps: ['198.51.100.0/24'], createdAt: T0, updatedAt: T0 + 5 }
    for (const step of [
      (s: ManagedKeyStore) => s.insertGroup(g),
      (s: ManagedKeyStore) => s.insertGroup(g),
      (s: ManagedKeyStore) => s.updateGroup({ ...g, active: false, allowedIps: [] }),
      (s: ManagedKeyStore) => s.updateGroup({ ...g, id: 'gr_missing' }),
    ]) {
      const [a, b] = await both(step)
      expect(b).toBe(a)
    }
    expect(await fx.store.findGroup('gr_1')).toStrictEqual(await mem.findGroup('gr_1'))
    await mem.putOwner('ana', { role: 'Read Only', active: true })
    await fx.store.putOwner('ana', { role: 'Read Only', active: true })
    await mem.putOwner('ana', { active: false })
    await fx.store.putOwner('ana', { active: false })
    expect(await fx.store.findOwner('ana')).toStrictEqual(await mem.findOwner('ana'))
    expect(await fx.store.findOwner('bob')).toBeUndefined()
    expect([await fx.store.deleteOwner('ana'), await fx.store.deleteOwner('ana')]).toEqual([true, false])
    expect([await fx.store.deleteGroup('gr_1'), await fx.store.deleteGroup('gr_1')]).toEqual([true, false])
  })

  it('with an expected record, refuses an update that another writer got in first (compare-and-swap)', async () => {
    await fx.store.insertKey(minimal('cas_a', 'cas-1'))
    const read = (await fx.store.getKey('cas_a'))!
    // last-used times are written behind every writer's back: they do not count as a change.
    await fx.store.touch('cas_a', T0 + 50)
    await fx.store.flushTouches()
    await fx.store.updateKey({ ...read, description: 'first' }, read)
    // A second writer that read before the first write (a lost update without CAS):
    await expect(fx.store.updateKey({ ...read, active: true }, read)).rejects.toBeInstanceOf(ConflictError)
    const now = await fx.store.getKey('cas_a')
    expect(now?.active).toBe(false)
    expect(now?.description).toBe('first')
    await expect(fx.store.updateKey({ ...read, id: 'cas_missing' }, { ...read, id: 'cas_missing' })).rejects.toBeInstanceOf(NotFoundError)
  })

  it('with an expected group, refuses an update that another writer got in first (compare-and-swap)', async () => {
    const g: KeyGroup = { id: 'cas_g', name: 'G', active: true, createdAt: T0 }
    await fx.store.insertGroup(g)
    const read = (await fx.store.getGroup('cas_g'))!
    await fx.store.updateGroup({ ...read, active: false, updatedAt: T0 + 1 }, read)
    await expect(fx.store.updateGroup({ ...read, name: 'renamed', updatedAt: T0 + 2 }, read)).rejects.toBeInstanceOf(ConflictError)
    expect(await fx.store.getGroup('cas_g')).toMatchObject({ name: 'G', active: false })
    await expect(fx.store.updateGroup({ ...read, id: 'cas_none' }, { ...read, id: 'cas_none' })).rejects.toBeInstanceOf(NotFoundError)
    const mem = new MemoryKeyStore()
    await mem.insertGroup(g)
    const memRead = (await mem.getGroup('cas_g'))!
    await mem.updateGroup({ ...memRead, active: false, updatedAt: T0 + 1 }, memRead)
    await expect(mem.updateGroup({ ...memRead, name: 'renamed', updatedAt: T0 + 2 }, memRead)).rejects.toBeInstanceOf(ConflictError)
  })

  it('queues last-used times and writes them in one statement per batch, never backwards', async () => {
    const texts: string[] = []
    const pool = newPool()
    const realConnect = pool.connect.bind(pool)
    // Count the statements the store sends through this pool.
    ;(pool as unknown as { connect: () => Promise<unknown> }).connect = async () => {
      const client = await realConnect()
      const q = client.query.bind(client) as (c: { text: string }) => Promise<unknown>
      ;(client as unknown as { query: unknown }).query = (c: { text: string }) => {
        texts.push(c.text)
        return q(c)
      }
      return client
    }
    try {
      const store = fx.storeOn(pool, { touchFlushMs: 3_600_000 })
      for (let i = 0; i < 30; i++) await fx.store.insertKey(minimal(`touch_${i}`, `touch-h-${i}`))
      for (let i = 0; i < 30; i++) {
        await store.touch(`touch_${i}`, T0 + 100)
        await store.touch(`touch_${i}`, T0 + 90) // older: ignored
      }
      expect(texts).toEqual([]) // nothing written on the caller's path
      expect((await fx.store.getKey('touch_0'))?.lastUsedAt).toBeUndefined()
      await store.flushTouches()
      expect(texts.filter((t) => t.includes('last_used_at'))).toHaveLength(1)
      expect((await fx.store.getKey('touch_29'))?.lastUsedAt).toBe(T0 + 100)
      await store.touch('touch_0', T0 + 10)
      await store.close() // close flushes
      expect((await fx.store.getKey('touch_0'))?.lastUsedAt).toBe(T0 + 100)
    } finally {
      await pool.end()
    }
  })

  it('serves lookups and list filters from indexes', async () => {
    const { pool, schema } = fx
    const q = `"${schema}".keyward_keys`
    await pool.query(
      `INSERT INTO ${q} (id, hash, kind, tenant, group_id, owner, active, created_at, previous_hash)
       SELECT 'ix_' || i, 'ixh_' || i, 'user', 't' || (i % 50), 'g' || (i % 50), 'o' || (i % 50), true, $1::bigint, CASE WHEN i % 2 = 0 THEN 'ixp_' || i END
       FROM generate_series(1, 3000) AS i`,
      [T0],
    )
    await pool.query(`ANALYZE ${q}`)
    const plan = async (sql: string, values: unknown[]) =>
      (await pool.query(`EXPLAIN ${sql}`, values)).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')
    const byHash = await plan(`SELECT id FROM ${q} WHERE hash = $1 OR previous_hash = $1 LIMIT 1`, ['ixh_7'])
    expect(byHash).toContain('keyward_keys_hash_key')
    expect(byHash).toContain('keyward_keys_previous_hash_key')
    expect(await plan(`SELECT id FROM ${q} WHERE tenant = $1`, ['t7'])).toContain('keyward_keys_tenant_idx')
    expect(await plan(`SELECT id FROM ${q} WHERE group_id = $1`, ['g7'])).toContain('keyward_keys_group_idx')
    expect(await plan(`SELECT id FROM ${q} WHERE owner = $1`, ['o7'])).toContain('keyward_keys_owner_idx')
    // Rows written behind the store's back are found like any other.
    expect((await fx.store.findByHash('ixp_8'))?.id).toBe('ix_8')
  })

  it('refuses values the schema cannot hold before writing, naming the field', async () => {
    await expect(fx.store.insertKey({ ...minimal('bad_t', 'bad-t'), createdAt: 1.5 })).rejects.toThrow(/createdAt/)
    await expect(fx.store.insertKey({ ...minimal('bad_k', 'bad-k'), kind: 'root' as never })).rejects.toThrow(/kind/)
    expect(await fx.store.getKey('bad_t')).toBeUndefined()
  })
})

describe.skipIf(!HAVE_PG)('postgres store: migration and options', () => {
  it('migrates idempotently, even from several instances at once', async () => {
    const pools = [newPool(), newPool(), newPool()]
    const { postgresStore } = await import('../../src/stores/postgres.js')
    const schema = `kw_test_mig_${process.pid}`
    try {
      const stores = pools.map((p) => postgresStore(p, { schema }))
      await Promise.all(stores.map((s) => s.migrate()))
      await stores[0]!.migrate()
      const { rows } = await pools[0]!.query(`SELECT version FROM "${schema}".keyward_migrations`)
      expect(rows).toEqual([{ version: 1 }, { version: 2 }])
      await stores[1]!.insertKey(minimal('m1', 'mh1'))
      expect((await stores[2]!.findByHash('mh1'))?.id).toBe('m1')
      for (const s of stores) await s.close()
    } finally {
      await pools[0]!.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      for (const p of pools) await p.end()
    }
  })

  it('publishes the migration as SQL that a migration tool can apply as it is', async () => {
    const { postgresMigrationSql, postgresStore } = await import('../../src/stores/postgres.js')
    const pool = newPool()
    const schema = `kw_test_sql_${process.pid}`
    try {
      await pool.query(postgresMigrationSql({ schema }))
      const store = postgresStore(pool, { schema })
      await store.insertKey(full('s1', 'sh1'))
      expect(await store.getKey('s1')).toStrictEqual(full('s1', 'sh1'))
      await store.migrate() // and migrate() after it changes nothing
      expect((await store.findByHash('sh1-prev'))?.id).toBe('s1')
      await store.close()
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      await pool.end()
    }
  })

  it('validates its options up front, naming the field, without touching them', async () => {
    const { postgresStore } = await import('../../src/stores/postgres.js')
    const pool = newPool()
    try {
      expect(() => postgresStore(pool, { schema: 'x"; DROP TABLE y; --' })).toThrow(RangeError)
      expect(() => postgresStore(pool, { schema: 'x"y' })).toThrow(/schema/)
      expect(() => postgresStore(pool, { queryTimeoutMs: 0 })).toThrow(/queryTimeoutMs/)
      expect(() => postgresStore(pool, { touchFlushMs: Number.NaN })).toThrow(/touchFlushMs/)
      expect(() => postgresStore({} as never)).toThrow(TypeError)
      expect(() => postgresStore(pool, { schmea: 'x' } as never)).toThrow(/schmea/)
      expect(() => postgresStore(pool, { preparedStatements: 'no' } as never)).toThrow(/preparedStatements/)
      const options = Object.freeze({ schema: 'public', queryTimeoutMs: 500 })
      const store = postgresStore(pool, options)
      expect(options).toEqual({ schema: 'public', queryTimeoutMs: 500 })
      expect(store.schema).toBe('public')
      await store.close()
      // Behind a pooler without prepared statements: the same lookups, as plain queries.
      const own = await pgFixture({ preparedStatements: false })
      await own.store.insertKey(full('plain_1', 'plain-h1'))
      expect(await own.store.findByHash('plain-h1-prev')).toStrictEqual(full('plain_1', 'plain-h1'))
      await own.close()
    } finally {
      await pool.end()
    }
  })
})
