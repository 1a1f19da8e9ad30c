/** Postgres fixtures: a pool and a schema of its own per test file, dropped afterwards. */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { postgresStore, type PostgresKeyStore, type PostgresStoreOptions } from '../../src/stores/postgres.js'
import { PG_URL } from './_env.js'

export interface PgFixture {
  readonly pool: pg.Pool
  readonly schema: string
  readonly store: PostgresKeyStore
  /** Another store on the same schema, through its own pool options. */
  storeOn(pool: pg.Pool, options?: Omit<PostgresStoreOptions, 'schema'>): PostgresKeyStore
  close(): Promise<void>
}

export function newPool(url = PG_URL!, extra: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 5, ...extra })
  // A server that goes away makes idle clients emit 'error' (the store also listens).
  pool.on('error', () => undefined)
  return pool
}

export async function pgFixture(options: Omit<PostgresStoreOptions, 'schema'> = {}): Promise<PgFixture> {
  const pool = newPool()
  const schema = `kw_test_${randomBytes(6).toString('hex')}`
  const store = postgresStore(pool, { ...options, schema })
  await store.migrate()
  const others: PostgresKeyStore[] = []
  return {
    pool,
    schema,
    store,
    storeOn(p, o = {}) {
      const s = postgresStore(p, { ...o, schema })
      others.push(s)
      return s
    },
    async close() {
      for (const s of others) await s.close()
      await store.close()
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      await pool.end()
    },
  }
}
