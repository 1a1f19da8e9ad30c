/**
 * The key start on PostgreSQL: kept through every write, renewed by rotation, added by the
 * version-2 migration to databases that predate it, and the published migration SQL.
 */
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConflictError } from '../../src/errors.js'
import { KeyManager } from '../../src/stores/manager.js'
import { postgresMigrationSql } from '../../src/stores/postgres.js'
import { HAVE_PG } from './_env.js'
import { newPool, pgFixture, type PgFixture } from './_pg.js'

const T0 = 1_700_000_000_000

describe.skipIf(!HAVE_PG)('postgres store: the key start', () => {
  let fx: PgFixture
  beforeAll(async () => {
    fx = await pgFixture()
  })
  afterAll(async () => {
    await fx?.close()
  })

  it('keeps the start set at issue through every write, and a new one from rotation', async () => {
    let t = T0
    const manager = new KeyManager(fx.store, { now: () => t })
    const issued = await manager.issue({ kind: 'user', tenant: 'acme', owner: 'o@acme.test', role: 'Read Only' })
    const start = issued.record.start!
    expect(start).toBe(issued.key.slice(0, 7))
    expect((await fx.store.getKey(issued.record.id))?.start).toBe(start)
    expect((await fx.store.findByHash(issued.record.hash))?.start).toBe(start)
    const writes: [string, () => Promise<unknown>][] = [
      ['update', () => manager.update(issued.record.id, { description: 'edited' })],
      ['grant', () => manager.grant(issued.record.id, ['getScans'])],
      ['addAllowedIps', () => manager.addAllowedIps(issued.record.id, ['203.0.113.0/24'])],
      ['deactivate', () => manager.deactivate(issued.record.id)],
      ['activate', () => manager.activate(issued.record.id)],
    ]
    for (const [name, write] of writes) {
      t += 1000
      await write()
      expect((await fx.store.getKey(issued.record.id))?.start, name).toBe(start)
      expect((await manager.list({ tenant: 'acme' })).find((k) => k.id === issued.record.id)?.start, name).toBe(start)
    }
    t += 1000
    const rotated = await manager.rotate(issued.record.id, { graceMs: 60_000 })
    expect(rotated.record.start).toBe(rotated.key.slice(0, 7))
    const back = await fx.store.getKey(issued.record.id)
    expect(back?.start).toBe(rotated.record.start)
    expect((await fx.store.findByHash(issued.record.hash))?.start).toBe(rotated.record.start)
    // A compare-and-swap on the record as read (start included) still succeeds, and a stale one fails.
    t += 1000
    await manager.update(issued.record.id, { description: 'after rotation' })
    expect((await fx.store.getKey(issued.record.id))?.start).toBe(rotated.record.start)
    await expect(fx.store.updateKey({ ...back!, description: 'stale' }, back!)).rejects.toBeInstanceOf(ConflictError)
    t += 1000
    await manager.deactivate(issued.record.id)
    expect((await fx.store.getKey(issued.record.id))?.start).toBe(rotated.record.start)
  })

  it('reads a row written by SQL without a start as a record without one', async () => {
    await fx.pool.query(`INSERT INTO "${fx.schema}".keyward_keys (id, hash, kind, active, created_at) VALUES ('sql1', 'sqlh1', 'org', true, $1)`, [T0])
    await fx.pool.query(`INSERT INTO "${fx.schema}".keyward_key_hashes (hash, key_id) VALUES ('sqlh1', 'sql1')`)
    const got = await fx.store.getKey('sql1')
    expect(got).toStrictEqual({ id: 'sql1', hash: 'sqlh1', kind: 'org', active: true, createdAt: T0 })
    expect(Object.hasOwn(got!, 'start')).toBe(false)
  })
})

describe.skipIf(!HAVE_PG)('postgres store: migrating to the key start', () => {
  const versionOne = (schema: string): string => {
    const sql = postgresMigrationSql({ schema })
    const cut = sql.indexOf('-- Version 2')
    expect(cut).toBeGreaterThan(0)
    return sql.slice(0, cut)
  }

  // A version-1 database, and one that ran version 2 before it had the start column.
  const cases: [string, (pool: pg.Pool, schema: string) => Promise<void>][] = [
    ['version 1', async (pool, schema) => void (await pool.query(versionOne(schema)))],
    [
      'version 2 without the start column',
      async (pool, schema) => {
        await pool.query(postgresMigrationSql({ schema }))
        await pool.query(`ALTER TABLE "${schema}".keyward_keys DROP COLUMN IF EXISTS start`)
      },
    ],
  ]
  it.each(cases)('adds every new column to a database at %s and keeps its keys', async (_name, setUp) => {
    const { postgresStore } = await import('../../src/stores/postgres.js')
    const pool = newPool()
    const schema = `kw_test_v1_${process.pid}_${_name.length}`
    try {
      await setUp(pool, schema)
      await pool.query(`INSERT INTO "${schema}".keyward_keys (id, hash, kind, active, created_at) VALUES ('old', 'oldh', 'org', true, $1)`, [T0])
      await pool.query(`INSERT INTO "${schema}".keyward_key_hashes (hash, key_id) VALUES ('oldh', 'old')`)
      const store = postgresStore(pool, { schema })
      await store.migrate()
      const { rows } = await pool.query(`SELECT version FROM "${schema}".keyward_migrations ORDER BY version`)
      expect(rows).toEqual([{ version: 1 }, { version: 2 }])
      expect(await store.getKey('old')).toStrictEqual({ id: 'old', hash: 'oldh', kind: 'org', active: true, createdAt: T0 })
      const manager = new KeyManager(store, { now: () => T0 })
      const issued = await manager.issue({ kind: 'user', owner: 'o', role: 'Read Only', credits: { remaining: 5 } })
      const got = await store.getKey(issued.record.id)
      expect(got?.start).toBe(issued.key.slice(0, 7))
      expect(got?.credits?.remaining).toBe(5)
      await store.close()
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      await pool.end()
    }
  })
})

describe('postgres store: the published migration', () => {
  it('is printed in docs/operations.md exactly as postgresMigrationSql() returns it', async () => {
    const { readFile } = await import('node:fs/promises')
    const doc = await readFile(new URL('../../docs/operations.md', import.meta.url), 'utf8')
    const open = '```sql\n'
    const at = doc.indexOf(`${open}CREATE TABLE IF NOT EXISTS "public".keyward_migrations`)
    expect(at).toBeGreaterThan(0)
    const body = doc.slice(at + open.length, doc.indexOf('```', at + open.length))
    expect(body).toBe(postgresMigrationSql({ schema: 'public' }))
  })
})
