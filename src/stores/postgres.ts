/**
 * `keyward/postgres`: a shared `KeyStore` on PostgreSQL (client: `pg`, an optional peer
 * dependency), for several instances that must see the same keys.
 *
 * The module never imports `pg` itself: you pass it your `pg.Pool`.
 * @module
 */
import { creditCount } from '../lib/credits.js'
import { knownFields, object } from '../lib/options.js'
import type { Pool } from 'pg'
import { ConflictError, NotFoundError, quote, rangeError, typeError } from '../errors.js'
import type { CreditResult, GroupFilter, KeyFilter, KeyGroup, KeyRecord, KeyRevoke, OwnerRecord } from '../types.js'
import { sameAs } from './_compare.js'
import { storableGroup, storableKey, storableOwner } from './fields.js'
import { PostgresStoreError, storeError } from './_pg-errors.js'
import { PgRunner, type QueryRows } from './_pg-run.js'
import {
  creditResultOf,
  editParams,
  groupFromRow,
  groupParams,
  hashesOf,
  keyFromRow,
  keyParams,
  ownerFromRow,
  ownerParams,
} from './_pg-map.js'
import { migrationSql, quoteSchema, SCHEMA_VERSION, statements, type Statements } from './_pg-sql.js'
import type { PostgresKeyStore, PostgresStoreOptions } from './_pg-types.js'
import { DEFAULTS, pgStoreSettings, type PgStoreSettings } from './_pg-options.js'
import { TouchBatches } from './_pg-touch.js'

export { PostgresStoreError } from './_pg-errors.js'
export type { PostgresKeyStore, PostgresStoreOptions } from './_pg-types.js'
export { PostgresAuditStore, PostgresUsageRecorder } from './postgres-insight.js'
export type { PostgresAuditStoreOptions, PostgresUsageRecorderOptions } from './postgres-insight.js'

const MIGRATE_TIMEOUT_MS = 60_000

/**
 * The SQL of the migration (schema versions 1 and 2), for applying it with your own migration tool.
 * `migrate()` runs the same script.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs'
 * import { postgresMigrationSql } from 'keyward/postgres'
 * writeFileSync('migrations/001_keyward.sql', postgresMigrationSql({ schema: 'auth' }))
 * ```
 */
export function postgresMigrationSql(options: { schema?: string } = {}): string {
  knownFields(object(options, 'options'), ['schema'], 'options')
  const schema = options.schema ?? DEFAULTS.schema
  return migrationSql(quoteSchema(schema), schema !== 'public')
}

const isUnique = (e: unknown): e is PostgresStoreError => e instanceof PostgresStoreError && e.sqlState === '23505'

/**
 * Creates a Postgres-backed key store on your `pg.Pool`. Call `migrate()` once (or apply
 * {@link postgresMigrationSql}) before use. Only hashes are stored.
 *
 * Every method fails within `queryTimeoutMs` when Postgres is down or slow; behind
 * `createAuthorizer` that is a 503 `service_unavailable`, never a hang and never an allow.
 * Several instances usually put a `cachedStore` in front of it, and propagate writes with
 * `redisInvalidation` from `keyward/redis`.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * import { createAuthorizer, KeyManager } from 'keyward'
 * import { postgresStore } from 'keyward/postgres'
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, statement_timeout: 1000 })
 * const store = postgresStore(pool, { schema: 'auth' })
 * await store.migrate()
 * const manager = new KeyManager(store)
 * const authorizer = createAuthorizer({ store, storeTimeoutMs: 1500 })
 * // on shutdown: await authorizer.close(); await store.close(); await pool.end()
 * ```
 */
export function postgresStore(pool: Pool, options: PostgresStoreOptions = {}): PostgresKeyStore {
  return new PgStore(pool, pgStoreSettings(pool, options))
}

class PgStore implements PostgresKeyStore {
  readonly schema: string
  readonly #pool: Pool
  readonly #quoted: string
  readonly #sql: Statements
  readonly #onError: ((error: Error) => void) | undefined
  readonly #run: PgRunner
  readonly #touches: TouchBatches
  #closed = false
  /** The version (computed by the database) of each key and group record read for editing. */
  readonly #versions = new WeakMap<object, string>()
  readonly #poolListener = (e: Error): void => this.#report(storeError('idle connection', e))

  constructor(pool: Pool, o: PgStoreSettings) {
    this.#pool = pool
    this.schema = o.schema
    this.#quoted = o.quoted
    this.#sql = statements(o.quoted)
    this.#run = new PgRunner(pool, o.timeoutMs, o.prepared)
    this.#onError = o.onError
    this.#touches = new TouchBatches(
      o.touchMs,
      async (ids, ats) => void (await this.#run.query('touch', this.#sql.touch, [ids, ats], true)),
      (e) => this.#report(e),
    )
    // An idle client that loses its server makes the pool emit 'error'; with no listener, Node
    // would throw it and end the process.
    if (typeof pool.on === 'function') pool.on('error', this.#poolListener)
  }

  #report(e: Error): void {
    try {
      this.#onError?.(e)
    } catch {
      // A failing error hook must not turn into an unhandled rejection.
    }
  }

  // ---- KeyStore ----------------------------------------------------------------------------------

  async findByHash(hash: string): Promise<KeyRecord | undefined> {
    if (typeof hash !== 'string') throw typeError('hash', 'must be a string')
    const { rows } = await this.#run.query('findByHash', this.#sql.findByHash, [hash], true)
    return rows[0] === undefined ? undefined : keyFromRow(rows[0])
  }

  async findGroup(id: string): Promise<KeyGroup | undefined> {
    const { rows } = await this.#run.query('findGroup', this.#sql.getGroup, [id], true)
    return rows[0] === undefined ? undefined : groupFromRow(rows[0])
  }

  async findOwner(id: string): Promise<OwnerRecord | undefined> {
    const { rows } = await this.#run.query('findOwner', this.#sql.findOwner, [id], true)
    return rows[0] === undefined ? undefined : ownerFromRow(rows[0])
  }

  async touch(id: string, at: number): Promise<void> {
    if (this.#closed || typeof id !== 'string' || !Number.isSafeInteger(at)) return
    this.#touches.add(id, at)
  }

  async flushTouches(): Promise<void> {
    await this.#touches.flush()
  }

  // ---- keys --------------------------------------------------------------------------------------

  /** A key row as a record, remembering the version the database computed for it. */
  #key(row: Record<string, unknown>): KeyRecord {
    const r = keyFromRow(row)
    if (typeof row.version === 'string') this.#versions.set(r, row.version)
    return r
  }

  async getKey(id: string): Promise<KeyRecord | undefined> {
    const { rows } = await this.#run.query('getKey', this.#sql.getKey, [id], true)
    return rows[0] === undefined ? undefined : this.#key(rows[0])
  }

  async insertKey(record: KeyRecord): Promise<void> {
    storableKey(record)
    const params = keyParams(record)
    try {
      await this.#run.tx('insertKey', (q) => q(this.#sql.insertKey, [...params, hashesOf(record)]))
    } catch (e) {
      if (!isUnique(e)) throw e
      if (e.constraint === 'keyward_keys_pkey') throw new ConflictError(`key ${record.id} already exists`)
      throw new ConflictError('a key with this hash already exists')
    }
  }

  /**
   * The version `expected` was read at: remembered when this store read it, otherwise the
   * current row's, if the current row is `expected` (else the write is a conflict).
   */
  async #versionOf(expected: KeyRecord): Promise<string> {
    const known = this.#versions.get(expected)
    if (known !== undefined) return known
    const current = await this.getKey(expected.id)
    if (current === undefined) throw new NotFoundError(`key ${expected.id} does not exist`)
    if (!sameAs(current, expected)) throw new ConflictError(`key ${expected.id} was changed by another writer; read it again and retry`)
    return this.#versions.get(current) ?? ''
  }

  async updateKey(record: KeyRecord, expected?: KeyRecord): Promise<void> {
    storableKey(record)
    const params = editParams(keyParams(record))
    if (expected !== undefined && (expected === null || typeof expected !== 'object' || expected.id !== record.id)) {
      throw rangeError('expected', 'must be the record with the same id, as read before the change')
    }
    const text = expected === undefined ? this.#sql.updateKey : this.#sql.updateKeyIf
    const values = [...params, hashesOf(record), ...(expected === undefined ? [] : [await this.#versionOf(expected)])]
    let result: QueryRows
    try {
      result = await this.#run.tx('updateKey', (q) => q(text, values))
    } catch (e) {
      if (isUnique(e)) throw new ConflictError('a key with this hash already exists')
      throw e
    }
    const row = result.rows[0]
    if (row === undefined || row.present !== true) throw new NotFoundError(`key ${record.id} does not exist`)
    if (row.updated !== 1) throw new ConflictError(`key ${record.id} was changed by another writer; read it again and retry`)
  }

  async revokeKey(id: string, revoke: KeyRevoke, at: number): Promise<KeyRecord | undefined> {
    if (typeof id !== 'string') throw typeError('id', 'must be a string')
    if (revoke === null || typeof revoke !== 'object') throw typeError('revoke', 'must be { deactivate?, endGrace? }')
    if (!Number.isSafeInteger(at)) throw rangeError('at', 'must be an integer number of epoch milliseconds')
    const res = await this.#run.tx('revokeKey', (q) => q(this.#sql.revokeKey, [id, revoke.deactivate === true, revoke.endGrace === true, at]))
    return res.rows[0] === undefined ? undefined : this.#key(res.rows[0])
  }

  /**
   * Takes `cost` credits in one conditional `UPDATE … RETURNING` (see `KeyStore.consumeCredits`),
   * inside a transaction under `queryTimeoutMs`: a consume that times out is rolled back, so a
   * request answered 503 has consumed nothing.
   */
  async consumeCredits(id: string, cost: number, at: number): Promise<CreditResult | undefined> {
    if (typeof id !== 'string') throw typeError('id', 'must be a string')
    creditCount(cost, 'cost', 1)
    if (!Number.isSafeInteger(at)) throw rangeError('at', 'must be an integer number of epoch milliseconds')
    const res = await this.#run.tx('consumeCredits', (q) => q(this.#sql.consumeCredits, [id, cost, at]))
    return res.rows[0] === undefined ? undefined : creditResultOf(res.rows[0])
  }

  async deleteKey(id: string): Promise<boolean> {
    const res = await this.#run.tx('deleteKey', (q) => q(this.#sql.deleteKey, [id]))
    return (res.rowCount ?? 0) > 0
  }

  async listKeys(filter?: KeyFilter): Promise<KeyRecord[]> {
    const where: string[] = []
    const values: unknown[] = []
    const add = (column: string, value: unknown, cast: string): void => {
      values.push(value)
      where.push(`${column} = $${values.length}::${cast}`)
    }
    if (filter?.tenant !== undefined) add('k.tenant', filter.tenant, 'text')
    if (filter?.group !== undefined) add('k.group_id', filter.group, 'text')
    if (filter?.owner !== undefined) add('k.owner', filter.owner, 'text')
    if (filter?.kind !== undefined) add('k.kind', filter.kind, 'text')
    if (filter?.active !== undefined) add('k.active', filter.active, 'boolean')
    const { rows } = await this.#run.query('listKeys', this.#sql.listKeys(where), values, false)
    return rows.map((row) => this.#key(row))
  }

  // ---- groups ------------------------------------------------------------------------------------

  async getGroup(id: string): Promise<KeyGroup | undefined> {
    const { rows } = await this.#run.query('getGroup', this.#sql.groupVersion, [id], true)
    if (rows[0] === undefined) return undefined
    const g = groupFromRow(rows[0])
    if (typeof rows[0].version === 'string') this.#versions.set(g, rows[0].version)
    return g
  }

  async insertGroup(group: KeyGroup): Promise<void> {
    storableGroup(group)
    const params = groupParams(group)
    try {
      await this.#run.tx('insertGroup', (q) => q(this.#sql.insertGroup, params))
    } catch (e) {
      if (isUnique(e)) throw new ConflictError(`group ${group.id} already exists`)
      throw e
    }
  }

  async updateGroup(group: KeyGroup, expected?: KeyGroup): Promise<void> {
    storableGroup(group)
    const params = groupParams(group)
    if (expected === undefined) {
      const res = await this.#run.tx('updateGroup', (q) => q(this.#sql.updateGroup, params))
      if ((res.rowCount ?? 0) === 0) throw new NotFoundError(`group ${group.id} does not exist`)
      return
    }
    if (expected === null || typeof expected !== 'object' || expected.id !== group.id) {
      throw rangeError('expected', 'must be the group with the same id, as read before the change')
    }
    let version = this.#versions.get(expected)
    if (version === undefined) {
      const current = await this.getGroup(group.id)
      if (current === undefined) throw new NotFoundError(`group ${group.id} does not exist`)
      if (!sameAs(current, expected)) throw new ConflictError(`group ${group.id} was changed by another writer; read it again and retry`)
      version = this.#versions.get(current) ?? ''
    }
    const result = await this.#run.tx('updateGroup', (q) => q(this.#sql.updateGroupIf, [...params, version]))
    const row = result.rows[0]
    if (row === undefined || row.present !== true) throw new NotFoundError(`group ${group.id} does not exist`)
    if (row.updated !== 1) throw new ConflictError(`group ${group.id} was changed by another writer; read it again and retry`)
  }

  async revokeGroup(id: string, at: number): Promise<KeyGroup | undefined> {
    if (typeof id !== 'string') throw typeError('id', 'must be a string')
    if (!Number.isSafeInteger(at)) throw rangeError('at', 'must be an integer number of epoch milliseconds')
    const res = await this.#run.tx('revokeGroup', (q) => q(this.#sql.revokeGroup, [id, at]))
    const row = res.rows[0]
    if (row === undefined) return undefined
    const g = groupFromRow(row)
    if (typeof row.version === 'string') this.#versions.set(g, row.version)
    return g
  }

  async narrowGroupIps(id: string, keep: readonly string[], at: number): Promise<KeyGroup | undefined> {
    if (typeof id !== 'string') throw typeError('id', 'must be a string')
    if (!Array.isArray(keep) || !keep.every((e) => typeof e === 'string')) throw typeError('keep', 'must be an array of strings')
    if (!Number.isSafeInteger(at)) throw rangeError('at', 'must be an integer number of epoch milliseconds')
    const res = await this.#run.tx('narrowGroupIps', (q) => q(this.#sql.narrowGroupIps, [id, keep, at]))
    const row = res.rows[0]
    if (row === undefined) return undefined
    const g = groupFromRow(row)
    if (typeof row.version === 'string') this.#versions.set(g, row.version)
    return g
  }

  async deleteGroup(id: string): Promise<boolean> {
    const res = await this.#run.tx('deleteGroup', (q) => q(this.#sql.deleteGroup, [id]))
    return (res.rowCount ?? 0) > 0
  }

  async listGroups(filter?: GroupFilter): Promise<KeyGroup[]> {
    const byTenant = filter?.tenant !== undefined
    const { rows } = await this.#run.query('listGroups', this.#sql.listGroups(byTenant), byTenant ? [filter!.tenant] : [], false)
    return rows.map(groupFromRow)
  }

  // ---- owners ------------------------------------------------------------------------------------

  async putOwner(id: string, owner: OwnerRecord): Promise<void> {
    storableOwner(id, owner)
    const params = ownerParams(id, owner, Date.now())
    await this.#run.tx('putOwner', (q) => q(this.#sql.putOwner, params))
  }

  async deleteOwner(id: string): Promise<boolean> {
    const res = await this.#run.tx('deleteOwner', (q) => q(this.#sql.deleteOwner, [id]))
    return (res.rowCount ?? 0) > 0
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  async migrate(): Promise<void> {
    const script = migrationSql(this.#quoted, this.schema !== 'public')
    await this.#run.tx(
      'migrate',
      async (q) => {
        // Instances starting together would otherwise race on CREATE … IF NOT EXISTS, which is
        // not safe against concurrent creation of the same object.
        await q('SELECT pg_advisory_xact_lock(hashtext($1))', [`keyward:migrate:${this.schema}`])
        // The script has no parameters: its only variable part is the validated, quoted schema.
        await q(script, [])
        const { rows } = await q(this.#sql.schemaVersion, [])
        const version = rows[0]?.version
        if (typeof version === 'number' && version > SCHEMA_VERSION) {
          throw new PostgresStoreError(`postgres store: the database schema is at version ${version}, newer than this keyward (${SCHEMA_VERSION})`)
        }
      },
      MIGRATE_TIMEOUT_MS,
    )
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.flushTouches()
    if (typeof this.#pool.off === 'function') this.#pool.off('error', this.#poolListener)
  }
}
