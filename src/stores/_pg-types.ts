/**
 * The public types of the Postgres store: its options and the store it returns.
 * @module
 */
import type { CreditResult, KeyGroup, KeyRecord, KeyRevoke, ManagedKeyStore, OwnerRecord } from '../types.js'

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions {
  /**
   * Schema that holds the `keyward_*` tables. `migrate()` creates it if it is not `public`.
   * @default 'public'
   * @example 'auth'
   */
  schema?: string
  /**
   * Time limit of one store operation, in milliseconds, for the whole of it: waiting for a
   * pooled connection, every round trip, and a retry on another connection. A read cut off on
   * the client is also cancelled on the server (`pg_cancel_backend`), so reads stuck behind a
   * lock (a migration) never pile up as backends; writes run under a server-side
   * `statement_timeout` of what is left, so a timed-out write is rolled back instead of landing
   * later. Keep it below the authorizer's `storeTimeoutMs`.
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
   * Takes `cost` credits of a usage-limited key in one conditional `UPDATE … RETURNING`, with
   * any refill due: exact under concurrency, across every instance on this database.
   * @example await store.consumeCredits(record.id, 1, Date.now()) // { allowed: true, remaining: 99 }
   */
  consumeCredits(id: string, cost: number, at: number): Promise<CreditResult | undefined>
  /**
   * Replaces a key in one statement: the row and its hash index change together. With
   * `expected` (the record as read before the change), it is a compare-and-swap on the row's
   * version, computed by the database from every column but `last_used_at`: if the row changed
   * since `expected` was read, nothing is written and it rejects with `ConflictError`, so a
   * concurrent write from another instance is never lost. Values are never compared as
   * JavaScript re-serialises them, so a row written by SQL that JavaScript cannot represent
   * exactly can still be edited. `last_used_at` is never written by an update.
   */
  updateKey(record: KeyRecord, expected?: KeyRecord): Promise<void>
  /** A revoke in one statement that always wins (see `ManagedKeyStore.revokeKey`). */
  revokeKey(id: string, revoke: KeyRevoke, at: number): Promise<KeyRecord | undefined>
  /** A group deactivation in one statement that always wins (see `ManagedKeyStore.revokeGroup`). */
  revokeGroup(id: string, at: number): Promise<KeyGroup | undefined>
  /** A group allowlist narrowing in one statement that always wins (see `ManagedKeyStore.narrowGroupIps`). */
  narrowGroupIps(id: string, keep: readonly string[], at: number): Promise<KeyGroup | undefined>
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
