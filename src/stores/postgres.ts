/**
 * `keyward/postgres`: a shared `KeyStore` on PostgreSQL (client: `pg`, an optional peer
 * dependency), for several instances that must see the same keys.
 *
 * The module never imports `pg` itself: you pass it your `pg.Pool`.
 * @module
 */
import { knownFields, object } from '../_options.js'
import { createHash } from 'node:crypto'
import type { Pool, PoolClient, QueryConfig } from 'pg'
import { ConflictError, NotFoundError, quote, rangeError, typeError } from '../errors.js'
import type { GroupFilter, KeyFilter, KeyGroup, KeyRecord, ManagedKeyStore, OwnerRecord } from '../types.js'
import { PostgresStoreError, sqlStateOf, storeError, Timeout } from './_pg-errors.js'
import {
  casParams,
  groupFromRow,
  groupParams,
  hashesOf,
  keyFromRow,
  keyParams,
  ownerFromRow,
  ownerParams,
} from './_pg-map.js'
import { migrationSql, quoteSchema, SCHEMA_VERSION, statements, type Statements } from './_pg-sql.js'

export { PostgresStoreError } from './_pg-errors.js'

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions {
  /**
   * Schema that holds the `keyward_*` tables. `migrate()` creates it if it is not `public`.
   * @default 'public'
   * @example 'auth'
   */
  schema?: string
  /**
   * Time limit of one store operation, in milliseconds: waiting for a pooled connection plus the
   * query. Reads are cut off on the client (the connection is then discarded); writes also run
   * under a server-side `statement_timeout` of this length, so a timed-out write is rolled back
   * instead of landing later. Keep it below the authorizer's `storeTimeoutMs`.
   * @default 1000
   * @example 500
   */
  queryTimeoutMs?: number
  /**
   * Last-used times (`touch`) are collected in memory and written in one statement per batch
   * this often, in milliseconds, so they never sit on the request path.
   * @default 1000
   * @example 10_000
   */
  touchFlushMs?: number
  /**
   * Run the lookups (`findByHash`, `getKey`, `findGroup`, `findOwner`) as named prepared
   * statements: parsed and planned once per connection. Turn off behind a connection pooler
   * that cannot keep prepared statements (PgBouncer in transaction mode before 1.21).
   * @default true
   * @example false
   */
  preparedStatements?: boolean
  /**
   * Receives errors that have no caller to go to: a failed last-used batch, an idle pooled
   * connection that broke. The store also listens to the pool's `error` event so that a
   * Postgres restart does not crash the process through an unhandled `error` event.
   * @default undefined (ignored)
   * @example (e) => logger.warn(e.message)
   */
  onError?: (error: Error) => void
}

/** What {@link postgresStore} returns: a `ManagedKeyStore` with owners, plus schema and lifecycle methods. */
export interface PostgresKeyStore extends ManagedKeyStore {
  /** The group, for the authorizer (same as `getGroup`). */
  findGroup(id: string): Promise<KeyGroup | undefined>
  /** The owner directory entry: current role and active flag. */
  findOwner(id: string): Promise<OwnerRecord | undefined>
  /** Queues a last-used time; written in the next batch. Never waits for the database. */
  touch(id: string, at: number): Promise<void>
  /**
   * Replaces a key in one statement: the row and its hash index change together. With
   * `expected` (the record as read before the change), it is a compare-and-swap: if the stored
   * key differs from `expected` in any field but `lastUsedAt`, nothing is written and it rejects
   * with `ConflictError`, so a concurrent write from another instance is never lost.
   */
  updateKey(record: KeyRecord, expected?: KeyRecord): Promise<void>
  /** Creates or replaces an owner directory entry. */
  putOwner(id: string, owner: OwnerRecord): Promise<void>
  /** Removes an owner directory entry; `false` if there was none. */
  deleteOwner(id: string): Promise<boolean>
  /**
   * Creates the schema objects if they are missing (idempotent; safe to run on every start and
   * on several instances at once: it takes an advisory lock). Needs CREATE privileges; if the
   * application's role has none, run {@link postgresMigrationSql} with your migration tool instead.
   */
  migrate(): Promise<void>
  /** Writes the queued last-used times now. */
  flushTouches(): Promise<void>
  /** Writes queued last-used times and stops the timer. Does not end the pool, which is yours. */
  close(): Promise<void>
  /** The schema in use. */
  readonly schema: string
}

const DEFAULTS = { schema: 'public', queryTimeoutMs: 1000, touchFlushMs: 1000 } as const
const FIELDS: ReadonlySet<string> = new Set(['schema', 'queryTimeoutMs', 'touchFlushMs', 'preparedStatements', 'onError'])
const TOUCH_BATCH = 1000
const MAX_PENDING_TOUCHES = 100_000
const MIGRATE_TIMEOUT_MS = 60_000

/**
 * The SQL of the migration (schema version 1), for applying it with your own migration tool.
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

function positive(v: unknown, field: string, fallback: number, max: number): number {
  if (v === undefined) return fallback
  if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(field, 'must be a number of milliseconds')
  if (v < 1 || v > max) throw rangeError(field, `must be from 1 to ${max}`)
  return Math.floor(v)
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
  if (pool === null || typeof pool !== 'object' || typeof (pool as Partial<Pool>).connect !== 'function') {
    throw typeError('pool', 'must be a pg.Pool')
  }
  if (options === null || typeof options !== 'object') throw typeError('options', 'must be an object')
  knownFields(options, FIELDS, 'options')
  const schema = options.schema ?? DEFAULTS.schema
  const quoted = quoteSchema(schema)
  const queryTimeoutMs = positive(options.queryTimeoutMs, 'queryTimeoutMs', DEFAULTS.queryTimeoutMs, 600_000)
  const touchFlushMs = positive(options.touchFlushMs, 'touchFlushMs', DEFAULTS.touchFlushMs, 3_600_000)
  if (options.onError !== undefined && typeof options.onError !== 'function') throw typeError('onError', 'must be a function')
  const prepared = options.preparedStatements ?? true
  if (typeof prepared !== 'boolean') throw typeError('preparedStatements', 'must be a boolean')
  return new PgStore(pool, schema, quoted, { timeoutMs: queryTimeoutMs, touchMs: touchFlushMs, prepared, onError: options.onError })
}

/**
 * node-postgres emits 'error' on a checked-out client whose connection breaks, and the pool only
 * listens while the client is idle: without a listener of our own, a Postgres restart during a
 * query would be an uncaught exception. A client that saw one is discarded on release.
 */
function watch(client: PoolClient): { release(discard: boolean): void } {
  let broken = false
  const onError = (): void => {
    broken = true
  }
  client.on('error', onError)
  return {
    release(discard: boolean): void {
      client.off('error', onError)
      client.release(discard || broken ? true : undefined)
    },
  }
}

/** A connection that broke (not a timeout, not an error about the statement itself). */
function staleConnection(e: unknown): boolean {
  const state = sqlStateOf(e)
  if (state !== undefined) return state.startsWith('57P') || state.startsWith('08')
  return !(e instanceof Timeout) && !(e instanceof Error && /timeout/i.test(e.message))
}

type QueryRows = { rows: Record<string, unknown>[]; rowCount: number | null }
/** node-postgres reads a per-query `query_timeout` (client-side limit) that its typings omit. */
type TimedQuery = QueryConfig<unknown[]> & { query_timeout: number }

class PgStore implements PostgresKeyStore {
  readonly schema: string
  readonly #pool: Pool
  readonly #quoted: string
  readonly #sql: Statements
  readonly #timeout: number
  readonly #touchMs: number
  readonly #onError: ((error: Error) => void) | undefined
  readonly #prepared: boolean
  readonly #names = new Map<string, string>()
  readonly #pending = new Map<string, number>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #flushing: Promise<void> = Promise.resolve()
  #closed = false
  readonly #poolListener = (e: Error): void => this.#report(storeError('idle connection', e))

  constructor(
    pool: Pool,
    schema: string,
    quoted: string,
    o: { timeoutMs: number; touchMs: number; prepared: boolean; onError: ((error: Error) => void) | undefined },
  ) {
    this.#pool = pool
    this.schema = schema
    this.#quoted = quoted
    this.#sql = statements(quoted)
    this.#timeout = o.timeoutMs
    this.#touchMs = o.touchMs
    this.#prepared = o.prepared
    this.#onError = o.onError
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

  /** A stable prepared-statement name per statement text (and so per schema). */
  #name(text: string): string {
    let n = this.#names.get(text)
    if (n === undefined) {
      n = `keyward_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`
      this.#names.set(text, n)
    }
    return n
  }

  /** A pooled connection within `ms`; one that arrives late is given straight back. */
  async #acquire(ms: number): Promise<PoolClient> {
    const pending = this.#pool.connect()
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      return await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Timeout(ms)), ms)
        }),
      ])
    } catch (e) {
      pending.then(
        (c) => c.release(),
        () => undefined,
      )
      throw e
    } finally {
      if (timer !== undefined) clearTimeout(timer)
    }
  }

  /**
   * One statement under the operation's deadline. The read path: a single round trip, cut off on
   * the client (node-postgres `query_timeout`); a connection that timed out or failed is discarded.
   */
  async #query(op: string, text: string, values: unknown[], prepared: boolean): Promise<QueryRows> {
    const deadline = performance.now() + this.#timeout
    for (let attempt = 0; ; attempt++) {
      const budget = Math.ceil(deadline - performance.now())
      if (budget < 1) throw storeError(op, new Timeout(this.#timeout))
      let client: PoolClient
      try {
        client = await this.#acquire(budget)
      } catch (e) {
        throw storeError(op, e)
      }
      const left = Math.max(1, Math.ceil(deadline - performance.now()))
      const guard = watch(client)
      try {
        const config: TimedQuery = { text, values, query_timeout: left, ...(prepared && this.#prepared ? { name: this.#name(text) } : {}) }
        const res: QueryRows = await client.query(config)
        guard.release(false)
        return res
      } catch (e) {
        // A server error leaves the connection usable; anything else (timeout, socket) does not.
        const stale = staleConnection(e)
        guard.release(stale || sqlStateOf(e) === undefined)
        // A pooled connection that died while idle (Postgres restarted, backend terminated)
        // fails at once; a read may safely try once more on another, within the same deadline.
        if (attempt === 0 && stale) continue
        throw storeError(op, e)
      }
    }
  }

  /**
   * A write transaction under a server-side `statement_timeout` (so a write that times out is
   * rolled back by Postgres rather than applied after the caller gave up), with a client-side
   * limit behind it for a server that does not answer at all.
   */
  async #tx<T>(op: string, fn: (q: (text: string, values: unknown[]) => Promise<QueryRows>) => Promise<T>, timeoutMs = this.#timeout): Promise<T> {
    let client: PoolClient
    try {
      client = await this.#acquire(timeoutMs)
    } catch (e) {
      throw storeError(op, e)
    }
    const clientLimit = timeoutMs + 1000
    const guard = watch(client)
    const q = async (text: string, values: unknown[]): Promise<QueryRows> => {
      const config: TimedQuery = { text, values, query_timeout: clientLimit }
      return client.query(config)
    }
    let healthy = true
    try {
      await q('BEGIN', [])
      await q(`SELECT set_config('statement_timeout', $1, true)`, [String(timeoutMs)])
      const out = await fn(q)
      await q('COMMIT', [])
      return out
    } catch (e) {
      if (sqlStateOf(e) === undefined) healthy = false
      else {
        try {
          await q('ROLLBACK', [])
        } catch {
          healthy = false
        }
      }
      throw storeError(op, e)
    } finally {
      guard.release(!healthy)
    }
  }

  // ---- KeyStore ----------------------------------------------------------------------------------

  async findByHash(hash: string): Promise<KeyRecord | undefined> {
    if (typeof hash !== 'string') throw typeError('hash', 'must be a string')
    const { rows } = await this.#query('findByHash', this.#sql.findByHash, [hash], true)
    return rows[0] === undefined ? undefined : keyFromRow(rows[0])
  }

  async findGroup(id: string): Promise<KeyGroup | undefined> {
    return this.getGroup(id)
  }

  async findOwner(id: string): Promise<OwnerRecord | undefined> {
    const { rows } = await this.#query('findOwner', this.#sql.findOwner, [id], true)
    return rows[0] === undefined ? undefined : ownerFromRow(rows[0])
  }

  async touch(id: string, at: number): Promise<void> {
    if (this.#closed || typeof id !== 'string' || !Number.isSafeInteger(at)) return
    const prev = this.#pending.get(id)
    if (prev === undefined && this.#pending.size >= MAX_PENDING_TOUCHES) return
    if (prev === undefined || prev < at) this.#pending.set(id, at)
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flushTouches(), this.#touchMs)
      // Never keep a process alive only to write last-used times.
      this.#timer.unref?.()
    }
  }

  async flushTouches(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    const batch = [...this.#pending]
    this.#pending.clear()
    // Batches are written one after another, never two at once for the same rows.
    const run = this.#flushing.then(async () => {
      for (let i = 0; i < batch.length; i += TOUCH_BATCH) {
        const part = batch.slice(i, i + TOUCH_BATCH)
        try {
          await this.#query('touch', this.#sql.touch, [part.map(([id]) => id), part.map(([, at]) => at)], true)
        } catch (e) {
          this.#report(e instanceof Error ? e : new Error('postgres store: touch failed'))
        }
      }
    })
    this.#flushing = run
    await run
  }

  // ---- keys --------------------------------------------------------------------------------------

  async getKey(id: string): Promise<KeyRecord | undefined> {
    const { rows } = await this.#query('getKey', this.#sql.getKey, [id], true)
    return rows[0] === undefined ? undefined : keyFromRow(rows[0])
  }

  async insertKey(record: KeyRecord): Promise<void> {
    const params = keyParams(record)
    try {
      await this.#tx('insertKey', (q) => q(this.#sql.insertKey, [...params, hashesOf(record)]))
    } catch (e) {
      if (!isUnique(e)) throw e
      if (e.constraint === 'keyward_keys_pkey') throw new ConflictError(`key ${record.id} already exists`)
      throw new ConflictError('a key with this hash already exists')
    }
  }

  async updateKey(record: KeyRecord, expected?: KeyRecord): Promise<void> {
    const params = keyParams(record)
    if (expected !== undefined && (expected === null || typeof expected !== 'object' || expected.id !== record.id)) {
      throw rangeError('expected', 'must be the record with the same id, as read before the change')
    }
    const text = expected === undefined ? this.#sql.updateKey : this.#sql.updateKeyIf
    const values = [...params, hashesOf(record), ...(expected === undefined ? [] : casParams(keyParams(expected)))]
    let result: QueryRows
    try {
      result = await this.#tx('updateKey', (q) => q(text, values))
    } catch (e) {
      if (isUnique(e)) throw new ConflictError('a key with this hash already exists')
      throw e
    }
    const row = result.rows[0]
    if (row === undefined || row.present !== true) throw new NotFoundError(`key ${record.id} does not exist`)
    if (row.updated !== 1) throw new ConflictError(`key ${record.id} was changed by another writer; read it again and retry`)
  }

  async deleteKey(id: string): Promise<boolean> {
    const res = await this.#tx('deleteKey', (q) => q(this.#sql.deleteKey, [id]))
    return (res.rowCount ?? 0) > 0
  }

  async listKeys(filter?: KeyFilter): Promise<KeyRecord[]> {
    const where: string[] = []
    const values: unknown[] = []
    const add = (column: string, value: unknown, cast: string): void => {
      values.push(value)
      where.push(`${column} = $${values.length}::${cast}`)
    }
    if (filter?.tenant !== undefined) add('tenant', filter.tenant, 'text')
    if (filter?.group !== undefined) add('group_id', filter.group, 'text')
    if (filter?.owner !== undefined) add('owner', filter.owner, 'text')
    if (filter?.kind !== undefined) add('kind', filter.kind, 'text')
    if (filter?.active !== undefined) add('active', filter.active, 'boolean')
    const { rows } = await this.#query('listKeys', this.#sql.listKeys(where), values, false)
    return rows.map(keyFromRow)
  }

  // ---- groups ------------------------------------------------------------------------------------

  async getGroup(id: string): Promise<KeyGroup | undefined> {
    const { rows } = await this.#query('getGroup', this.#sql.getGroup, [id], true)
    return rows[0] === undefined ? undefined : groupFromRow(rows[0])
  }

  async insertGroup(group: KeyGroup): Promise<void> {
    const params = groupParams(group)
    try {
      await this.#tx('insertGroup', (q) => q(this.#sql.insertGroup, params))
    } catch (e) {
      if (isUnique(e)) throw new ConflictError(`group ${group.id} already exists`)
      throw e
    }
  }

  async updateGroup(group: KeyGroup, expected?: KeyGroup): Promise<void> {
    const params = groupParams(group)
    if (expected === undefined) {
      const res = await this.#tx('updateGroup', (q) => q(this.#sql.updateGroup, params))
      if ((res.rowCount ?? 0) === 0) throw new NotFoundError(`group ${group.id} does not exist`)
      return
    }
    if (expected === null || typeof expected !== 'object' || expected.id !== group.id) {
      throw rangeError('expected', 'must be the group with the same id, as read before the change')
    }
    const result = await this.#tx('updateGroup', (q) => q(this.#sql.updateGroupIf, [...params, ...groupParams(expected).slice(1)]))
    const row = result.rows[0]
    if (row === undefined || row.present !== true) throw new NotFoundError(`group ${group.id} does not exist`)
    if (row.updated !== 1) throw new ConflictError(`group ${group.id} was changed by another writer; read it again and retry`)
  }

  async deleteGroup(id: string): Promise<boolean> {
    const res = await this.#tx('deleteGroup', (q) => q(this.#sql.deleteGroup, [id]))
    return (res.rowCount ?? 0) > 0
  }

  async listGroups(filter?: GroupFilter): Promise<KeyGroup[]> {
    const byTenant = filter?.tenant !== undefined
    const { rows } = await this.#query('listGroups', this.#sql.listGroups(byTenant), byTenant ? [filter!.tenant] : [], false)
    return rows.map(groupFromRow)
  }

  // ---- owners ------------------------------------------------------------------------------------

  async putOwner(id: string, owner: OwnerRecord): Promise<void> {
    const params = ownerParams(id, owner, Date.now())
    await this.#tx('putOwner', (q) => q(this.#sql.putOwner, params))
  }

  async deleteOwner(id: string): Promise<boolean> {
    const res = await this.#tx('deleteOwner', (q) => q(this.#sql.deleteOwner, [id]))
    return (res.rowCount ?? 0) > 0
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  async migrate(): Promise<void> {
    const script = migrationSql(this.#quoted, this.schema !== 'public')
    await this.#tx(
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
