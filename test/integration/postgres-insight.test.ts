/**
 * The audit trail and usage counts on a real PostgreSQL: the trail is append-only in the
 * database itself, scoped per tenant, paged newest first; usage counts from two instances add
 * up exactly, and a failed batch is dropped, never counted twice.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PostgresAuditStore, PostgresUsageRecorder } from '../../src/stores/postgres.js'
import { HAVE_PG } from './_env.js'
import { newPool } from './_pg.js'
import type pg from 'pg'

const T0 = Date.UTC(2030, 0, 1)

describe.skipIf(!HAVE_PG)('the audit trail and usage counts on PostgreSQL', () => {
  let pool: pg.Pool
  const schema = `kw_test_${randomBytes(6).toString('hex')}`

  beforeAll(async () => {
    pool = newPool()
  })
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await pool.end()
  })

  it('appends entries, lists them per tenant and key newest first, and refuses UPDATE and DELETE in the database', async () => {
    const audit = new PostgresAuditStore(pool, { schema })
    await audit.migrate()
    await audit.migrate()
    for (let i = 0; i < 5; i++) await audit.append({ at: T0 + i, action: 'updateKey', outcome: 'success', status: 200, tenant: 'acme', target: `key_${i % 2}`, actor: 'key_admin' })
    await audit.append({ at: T0, action: 'reportLeak', outcome: 'success', status: 200, tenant: 'acme', target: 'key_1', code: 'key_leaked' })
    await audit.append({ at: T0, action: 'updateKey', outcome: 'success', status: 200, tenant: 'globex', target: 'key_0' })
    await audit.append({ at: T0, action: 'getSession', outcome: 'denied', status: 401 })
    const acme = await audit.list({ tenant: 'acme', limit: 50 })
    expect(acme).toHaveLength(6)
    expect(acme.map((e) => e.seq)).toEqual([...acme.map((e) => e.seq)].sort((a, b) => b - a))
    expect((await audit.list({ tenant: 'acme', target: 'key_0', limit: 50 })).map((e) => e.target)).toEqual(['key_0', 'key_0', 'key_0'])
    const page2 = await audit.list({ tenant: 'acme', limit: 2, beforeSeq: acme[1]!.seq })
    expect(page2.map((e) => e.seq)).toEqual([acme[2]!.seq, acme[3]!.seq])
    expect((await audit.list({ tenant: undefined, limit: 50 })).map((e) => e.action)).toEqual(['getSession'])
    expect(await audit.leaked('acme', ['key_0', 'key_1'])).toEqual(new Set(['key_1']))
    expect(await audit.leaked('globex', ['key_1'])).toEqual(new Set())
    await expect(pool.query(`UPDATE "${schema}".keyward_audit SET action = 'x'`)).rejects.toThrow(/append-only/)
    await expect(pool.query(`DELETE FROM "${schema}".keyward_audit`)).rejects.toThrow(/append-only/)
    expect(await audit.list({ tenant: 'acme', limit: 50 })).toEqual(acme)
  })

  it('adds the batches of two instances exactly, and drops a failed batch instead of counting it twice', async () => {
    const a = new PostgresUsageRecorder(pool, { schema, flushMs: 3_600_000 })
    const b = new PostgresUsageRecorder(pool, { schema, flushMs: 3_600_000 })
    await a.migrate()
    for (let i = 0; i < 7; i++) a.record('key_u', 'allowed', T0 + i)
    for (let i = 0; i < 4; i++) b.record('key_u', 'allowed', T0 + 10 + i)
    for (let i = 0; i < 3; i++) b.record('key_u', 'insufficient_permission', T0)
    b.record('key_u', 'allowed', T0 + 3_600_000)
    await Promise.all([a.flush(), b.flush()])
    await a.flush()
    expect(await a.series('key_u', { from: T0, to: T0 + 2 * 3_600_000 })).toEqual([
      { start: T0, counts: { allowed: 11, insufficient_permission: 3 } },
      { start: T0 + 3_600_000, counts: { allowed: 1 } },
    ].map((p) => ({ ...p, counts: Object.assign(Object.create(null), p.counts) })))

    const errors: unknown[] = []
    const broken = new PostgresUsageRecorder({ query: async () => { throw new Error('down') } } as unknown as pg.Pool, { schema, flushMs: 3_600_000, onError: (e) => errors.push(e) })
    broken.record('key_u', 'allowed', T0)
    await broken.flush()
    await broken.flush()
    expect(errors).toHaveLength(1)
    await broken.close()
    await a.close()
    await b.close()
  })

  it('bounds what is pending between writes', async () => {
    const errors: unknown[] = []
    const r = new PostgresUsageRecorder(pool, { schema, flushMs: 3_600_000, maxPending: 2, onError: (e) => errors.push(e) })
    r.record('k1', 'allowed', T0)
    r.record('k2', 'allowed', T0)
    r.record('k3', 'allowed', T0)
    r.record('k1', 'allowed', T0)
    await r.close()
    expect(errors).toHaveLength(1)
    expect((await r.series('k1', { from: T0, to: T0 + 3_600_000 }))[0]!.counts.allowed).toBe(2)
    expect(await r.series('k3', { from: T0, to: T0 + 3_600_000 })).toEqual([])
  })
})
