/**
 * Editing and revoking keys on a real PostgreSQL when the rows are not what JavaScript wrote
 * (values written by SQL or another service), when other editors keep writing, when other
 * instances record last-used times, and when the table changes shape under a running instance.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { KeyManager } from '../../src/stores/manager.js'
import { cachedStore } from '../../src/stores/cached.js'
import { postgresStore, type PostgresKeyStore } from '../../src/stores/postgres.js'
import type { KeyRecord, ManagedKeyStore } from '../../src/types.js'
import { EDITORS, NARROWED, WIDE } from '../core/manager-narrowing.js'
import { deferred } from '../resilience/_helpers.js'
import { expectRefused, PAIRED, unstorableWrites } from '../core/manager-unstorable.js'
import { HAVE_PG } from './_env.js'
import { newPool, pgFixture, type PgFixture } from './_pg.js'

/**
 * `inner` as a `ManagedKeyStore` whose `getKey` runs `after(id)` once the read has returned and
 * before the caller sees it: every read-modify-write then meets a write made in between.
 */
function interleaved(inner: PostgresKeyStore, after: (id: string) => Promise<void>, reads: 'keys' | 'groups' = 'keys'): ManagedKeyStore {
  const s: ManagedKeyStore = {
    findByHash: (h) => inner.findByHash(h),
    getKey: async (id) => {
      const r = await inner.getKey(id)
      if (reads === 'keys') await after(id)
      return r
    },
    insertKey: (r) => inner.insertKey(r),
    updateKey: (r, e) => inner.updateKey(r, e),
    deleteKey: (id) => inner.deleteKey(id),
    listKeys: (f) => inner.listKeys(f),
    getGroup: async (id) => {
      const g = await inner.getGroup(id)
      if (reads === 'groups') await after(id)
      return g
    },
    insertGroup: (g) => inner.insertGroup(g),
    updateGroup: (g, e) => inner.updateGroup(g, e),
    deleteGroup: (id) => inner.deleteGroup(id),
    listGroups: (f) => inner.listGroups(f),
  }
  if (typeof (inner as Partial<ManagedKeyStore>).revokeKey === 'function') s.revokeKey = (id, r, at) => inner.revokeKey(id, r, at)
  if (typeof (inner as Partial<ManagedKeyStore>).revokeGroup === 'function') s.revokeGroup = (id, at) => inner.revokeGroup(id, at)
  if (typeof (inner as Partial<ManagedKeyStore>).narrowGroupIps === 'function') s.narrowGroupIps = (id, keep, at) => inner.narrowGroupIps(id, keep, at)
  return s
}

describe.skipIf(!HAVE_PG)('editing keys on Postgres', () => {
  let fx: PgFixture
  let manager: KeyManager
  const T = (sql: string): string => sql.replaceAll('$T', `"${fx.schema}".keyward_keys`)

  beforeAll(async () => {
    fx = await pgFixture()
    manager = new KeyManager(fx.store)
  })
  afterAll(async () => {
    await fx?.close()
  })

  // Values a row may hold when SQL or another service wrote it, that JavaScript reads inexactly.
  const inexact: [string, string][] = [
    ['a jsonb number beyond double precision', `UPDATE $T SET metadata = '{"n": 123456789012345678901234567890.123456789}'::jsonb WHERE id = $1`],
    ['a 64-bit integer in jsonb', `UPDATE $T SET metadata = '{"n": 9223372036854775807}'::jsonb WHERE id = $1`],
    ['a NULL inside a text array', `UPDATE $T SET grants = ARRAY['getScans', NULL]::text[] WHERE id = $1`],
    ['a rate limit with a number beyond double precision', `UPDATE $T SET rate_limit = '{"capacity": 5, "refillPerSecond": 0.10000000000000000000001}'::jsonb WHERE id = $1`],
  ]

  describe.each(inexact)('a row holding %s', (_, sql) => {
    for (const via of ['the store', 'cachedStore'] as const) {
      it(`can still be edited, rotated and deactivated through ${via}`, async () => {
        const m = via === 'the store' ? manager : new KeyManager(cachedStore(fx.store))
        const { record } = await m.issue({ kind: 'user', owner: 'ana', role: 'Read Only', grants: ['getScans'] })
        await fx.pool.query(T(sql), [record.id])
        expect((await m.update(record.id, { description: 'edited' })).description).toBe('edited')
        await fx.pool.query(T(sql), [record.id])
        expect((await m.rotate(record.id, { graceMs: 60_000 })).record.previousHash).toBe(record.hash)
        await fx.pool.query(T(sql), [record.id])
        expect((await m.deactivate(record.id)).active).toBe(false)
        expect((await fx.store.getKey(record.id))?.active).toBe(false)
      })
    }
  })

  it('still refuses an edit based on a read that another writer has overtaken', async () => {
    const { record } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const stale = await fx.store.getKey(record.id)
    await fx.pool.query(T(`UPDATE $T SET allowed_ips = ARRAY['203.0.113.0/24'] WHERE id = $1`), [record.id])
    await expect(fx.store.updateKey({ ...stale!, description: 'x' }, stale)).rejects.toMatchObject({ name: 'ConflictError' })
    // A copy of what is stored now (not the object the store read) is accepted as `expected`.
    const now = await fx.store.getKey(record.id)
    await fx.store.updateKey({ ...now!, description: 'y' }, { ...now! })
    expect((await fx.store.getKey(record.id))?.description).toBe('y')
  })

  describe('revokes always win over concurrent editors', () => {
    const revokes: [string, (m: KeyManager, id: string) => Promise<unknown>, (r: KeyRecord | undefined, at: number) => boolean][] = [
      ['deactivate', (m, id) => m.deactivate(id), (r) => r?.active === false],
      ['delete', (m, id) => m.delete(id), (r) => r === undefined],
      ['endGrace', (m, id) => m.endGrace(id), (r, at) => r !== undefined && r.previousExpiresAt! <= at],
    ]
    it.each(revokes)('%s lands while another instance edits the key between every read and write', async (_, revoke, done) => {
      const { record } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
      await manager.rotate(record.id, { graceMs: 3_600_000 })
      const editor = new KeyManager(fx.store)
      let edits = 0
      const revoker = new KeyManager(interleaved(fx.store, async (id) => {
        await editor.update(id, { description: `edit ${++edits}` })
      }))
      await revoke(revoker, record.id)
      expect(done(await fx.store.getKey(record.id), Date.now())).toBe(true)
    })
  })

  describe('group revokes always win over concurrent editors', () => {
    const revokes: [string, (m: KeyManager, id: string) => Promise<unknown>][] = [
      ['deactivateGroup', (m, id) => m.deactivateGroup(id)],
      ['updateGroup with active: false', (m, id) => m.updateGroup(id, { active: false })],
    ]
    for (const via of ['the store', 'cachedStore'] as const) {
      it.each(revokes)(`%s lands through ${via} while another instance edits the group between every read and write`, async (_, revoke) => {
        const group = await manager.createGroup({ name: 'Partners' })
        const editor = new KeyManager(fx.store)
        let edits = 0
        const wrapped = interleaved(fx.store, async (id) => {
          await editor.updateGroup(id, { description: `edit ${++edits}` })
        }, 'groups')
        await revoke(new KeyManager(via === 'cachedStore' ? cachedStore(wrapped) : wrapped), group.id)
        expect(await fx.store.getGroup(group.id)).toMatchObject({ active: false })
      })
    }

    it('deactivateGroup lands while an editor on another connection keeps rewriting the group', async () => {
      const group = await manager.createGroup({ name: 'Partners' })
      const otherPool = newPool()
      try {
        const editor = new KeyManager(fx.storeOn(otherPool))
        let stop = false
        let edits = 0
        const edited = deferred()
        const editing = (async () => {
          while (!stop) {
            await editor.updateGroup(group.id, { description: `edit ${++edits}` }).catch(() => {})
            edited.resolve()
          }
        })()
        const cache = cachedStore(fx.store)
        expect((await cache.findGroup(group.id))?.active).toBe(true)
        await edited.promise // the editor is under way: the revoke below meets its next edits
        const g = await new KeyManager(cache).deactivateGroup(group.id)
        stop = true
        await editing
        expect(g.active).toBe(false)
        expect((await fx.store.getGroup(group.id))?.active).toBe(false)
        expect((await cache.findGroup(group.id))?.active).toBe(false)
        expect(edits).toBeGreaterThan(0)
      } finally {
        await otherPool.end()
      }
    })
  })

  describe('group allowlist narrowing always wins over concurrent editors', () => {
    for (const via of ['the store', 'cachedStore'] as const) {
      it.each(EDITORS)(`lands through ${via} while another instance %s between every read and write, admitting nothing the new list does not`, async (_, edit, expected) => {
        const group = await manager.createGroup({ name: 'Partners', allowedIps: WIDE })
        const editor = new KeyManager(fx.store)
        let edits = 0
        const wrapped = interleaved(fx.store, async (id) => void (await edit(editor, id, ++edits)), 'groups')
        const g = await new KeyManager(via === 'cachedStore' ? cachedStore(wrapped) : wrapped).updateGroup(group.id, { allowedIps: NARROWED })
        expect(g.allowedIps).toEqual(expected)
        expect((await fx.store.getGroup(group.id))?.allowedIps).toEqual(expected)
        expect(edits).toBe(1)
      })
    }

    it('lands while an editor on another connection keeps rewriting the group, and the cache of the instance that narrowed sees it at once', async () => {
      const group = await manager.createGroup({ name: 'Partners', allowedIps: WIDE })
      const otherPool = newPool()
      try {
        const editor = new KeyManager(fx.storeOn(otherPool))
        let stop = false
        let edits = 0
        let started!: () => void
        const first = new Promise<void>((resolve) => (started = resolve))
        const editing = (async () => {
          while (!stop) {
            await editor.updateGroup(group.id, { description: `edit ${++edits}` }).catch(() => {})
            started()
          }
        })()
        const cache = cachedStore(fx.store)
        expect((await cache.findGroup(group.id))?.allowedIps).toEqual(WIDE)
        await first
        const g = await new KeyManager(cache).updateGroup(group.id, { allowedIps: NARROWED })
        expect((await cache.findGroup(group.id))?.allowedIps).toEqual(NARROWED)
        stop = true
        await editing
        expect(g.allowedIps).toEqual(NARROWED)
        expect((await fx.store.getGroup(group.id))?.allowedIps).toEqual(NARROWED)
        expect(edits).toBeGreaterThan(0)
      } finally {
        await otherPool.end()
      }
    })

    it('drops a NULL that SQL wrote inside the list, and never keeps an entry the new list lacks', async () => {
      const group = await manager.createGroup({ name: 'Partners', allowedIps: WIDE })
      await fx.pool.query(`UPDATE "${fx.schema}".keyward_groups SET allowed_ips = array_append(allowed_ips, NULL) WHERE id = $1`, [group.id])
      const g = await manager.updateGroup(group.id, { allowedIps: NARROWED })
      expect(g.allowedIps).toEqual(NARROWED)
    })
  })

  describe('last-used times', () => {
    it('are never moved backwards by an edit that read an older one', async () => {
      const { record } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
      await fx.store.touch(record.id, 1_000)
      await fx.store.flushTouches()
      let later = 2_000_000_000_000
      let armed = true
      // Another instance records a use between this manager's read and its write (once per edit).
      const m = new KeyManager(interleaved(fx.store, async (id) => {
        if (!armed) return
        armed = false
        await fx.store.touch(id, later)
        await fx.store.flushTouches()
      }))
      await m.update(record.id, { description: 'edited after a use' })
      expect((await fx.store.getKey(record.id))?.lastUsedAt).toBe(later)
      later += 1_000
      armed = true
      await m.rotate(record.id, { graceMs: 0 })
      expect((await fx.store.getKey(record.id))?.lastUsedAt).toBe(later)
    })

    it('are written past a row another transaction holds, and never hold up a revoke', async () => {
      const errors: Error[] = []
      const a = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
      const b = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
      const store = fx.storeOn(fx.pool, { queryTimeoutMs: 2_000, onError: (e) => errors.push(e) })
      const holder = await fx.pool.connect()
      try {
        // A revoke in progress on another instance holds the row of key a.
        await holder.query('BEGIN')
        await holder.query(T(`UPDATE $T SET active = false WHERE id = $1`), [a.record.id])
        await store.touch(a.record.id, 5_000)
        await store.touch(b.record.id, 5_000)
        // The lock is released only after the flush settles: a flush that waited for it could only
        // end by its own 2 s timeout, which reports an error and leaves b's last use unwritten.
        await store.flushTouches()
        await holder.query('COMMIT')
      } finally {
        holder.release()
      }
      expect(errors).toEqual([])
      expect((await fx.store.getKey(b.record.id))?.lastUsedAt).toBe(5_000)
      expect((await fx.store.getKey(a.record.id))?.active).toBe(false)
    })

    it('from two instances flushing the same keys in opposite orders never deadlock, while a third revokes', async () => {
      const errors: Error[] = []
      // Issued one after another: 30 at once queue for the fixture's pool, and on a loaded machine
      // the wait alone can exceed its 1 s query limit (what is tested here are the flushes).
      const ids: string[] = []
      for (let i = 0; i < 30; i++) ids.push((await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })).record.id)
      // Plans that visit the batch in its own order (a nested loop over the ids, as a large table gets).
      const one = fx.storeOn(newPoolFor(fx), { queryTimeoutMs: 3_000, onError: (e) => errors.push(e) })
      const two = fx.storeOn(newPoolFor(fx), { queryTimeoutMs: 3_000, onError: (e) => errors.push(e) })
      const revoker = new KeyManager(postgresStore(fx.pool, { schema: fx.schema, queryTimeoutMs: 3_000 }))
      for (let round = 1; round <= 10; round++) {
        for (const id of ids) await one.touch(id, round * 10)
        for (const id of [...ids].reverse()) await two.touch(id, round * 10 + 1)
        const victim = ids[round]!
        const [, , revoked] = await Promise.all([one.flushTouches(), two.flushTouches(), revoker.deactivate(victim)])
        expect(revoked.active).toBe(false)
      }
      expect(errors.map((e) => e.message)).toEqual([])
    }, 30_000)
  })

  describe('a live schema change', () => {
    let extra: ReturnType<typeof newPool> | undefined
    afterEach(async () => {
      await extra?.end()
      extra = undefined
    })

    it('costs no failed lookup after a column of keyward_keys changes type', async () => {
      extra = newPool(undefined, { max: 4 })
      const store = postgresStore(extra, { schema: fx.schema, queryTimeoutMs: 5_000 })
      const { record } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only', description: 'before' })
      // Every pooled connection prepares the lookups.
      const lookups = async (): Promise<unknown[]> =>
        Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? store.findByHash(record.hash) : store.getKey(record.id))))
      await lookups()
      expect(extra.totalCount).toBe(4)
      // A DBA widens description while the instance runs.
      await fx.pool.query(T(`ALTER TABLE $T ALTER COLUMN description TYPE varchar(4000)`))
      try {
        const after = await lookups()
        expect(after.map((r) => (r as KeyRecord).id)).toEqual(Array(8).fill(record.id))
        expect(((await lookups()) as KeyRecord[]).every((r) => r.description === 'before')).toBe(true)
      } finally {
        await fx.pool.query(T(`ALTER TABLE $T ALTER COLUMN description TYPE text`))
      }
    })
  })
})

function newPoolFor(_fx: PgFixture): ReturnType<typeof newPool> {
  const pool = newPool(undefined, { max: 3, options: '-c enable_hashjoin=off -c enable_mergejoin=off -c enable_seqscan=off' })
  pools.push(pool)
  return pool
}
const pools: ReturnType<typeof newPool>[] = []
afterAll(async () => {
  for (const p of pools) await p.end()
})

describe.skipIf(!HAVE_PG)('strings Postgres cannot hold as given', () => {
  let fx: PgFixture
  let m: KeyManager
  let existing: KeyRecord
  beforeAll(async () => {
    fx = await pgFixture()
    m = new KeyManager(fx.store)
    existing = (await m.issue({ kind: 'org', description: PAIRED, metadata: { k: PAIRED } })).record
  })
  afterAll(async () => {
    await fx?.close()
  })

  it('are refused with the same RangeError as MemoryKeyStore, naming the field, and nothing is written', async () => {
    for (const [, write, field] of unstorableWrites(m, fx.store, () => existing)) await expectRefused(write, field)
    const stored = await fx.store.getKey(existing.id)
    expect(stored?.description).toBe(PAIRED)
    expect(stored?.metadata).toEqual({ k: PAIRED })
    expect((await fx.store.listKeys()).length).toBe(1)
  })
})
