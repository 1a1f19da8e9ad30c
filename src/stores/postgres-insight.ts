/**
 * The audit trail and usage counts on PostgreSQL, for several instances behind one console:
 * `PostgresAuditStore` (append-only: a trigger refuses every `UPDATE` and `DELETE` of the table)
 * and `PostgresUsageRecorder` (counts batched in memory, added in one statement per batch).
 * @module
 */
import type { Pool } from 'pg'
import { fieldsOf, knownFields } from '../lib/options.js'
import { rangeError, typeError } from '../errors.js'
import { auditFields, type AuditEntry, type AuditQuery, type AuditStore } from '../admin/audit.js'
import type { AdminAuditEvent } from '../admin/handler.js'
import { HOUR_MS, outcomeName, RETENTION_HOURS, type UsagePoint, type UsageQuery, type UsageRecorder } from '../admin/usage.js'
import { quoteSchema } from './_pg-sql.js'

function schemaOf(value: unknown): string {
  const s = value ?? 'public'
  if (typeof s !== 'string') throw typeError('schema', 'must be a string')
  return quoteSchema(s)
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v)
}

/** Options of {@link PostgresAuditStore}. */
export interface PostgresAuditStoreOptions {
  /**
   * Schema of the `keyward_audit` table (the key store's schema is a good choice).
   * @default 'public'
   * @example 'auth'
   */
  schema?: string
}

const AUDIT_FIELDS = fieldsOf<PostgresAuditStoreOptions>({ schema: true })

/**
 * The audit trail in a `keyward_audit` table. Entries are inserted, never updated nor deleted:
 * `migrate()` installs a trigger that refuses both, so even a compromised admin handler cannot
 * rewrite the trail through this table's owner role without dropping the trigger first.
 *
 * @example
 * ```ts
 * import { PostgresAuditStore } from 'keyward/postgres'
 * const audit = new PostgresAuditStore(pool, { schema: 'auth' })
 * await audit.migrate()
 * createAdminHandler({ manager, authorizer, auditStore: audit })
 * ```
 */
export class PostgresAuditStore implements AuditStore {
  readonly #pool: Pool
  readonly #t: string
  readonly #s: string

  constructor(pool: Pool, options: PostgresAuditStoreOptions = {}) {
    if (pool === null || typeof pool !== 'object' || typeof (pool as { query?: unknown }).query !== 'function') throw typeError('pool', 'must be a pg.Pool')
    if (options === null || typeof options !== 'object') throw typeError('options', 'must be an object')
    knownFields(options, AUDIT_FIELDS, 'options')
    this.#pool = pool
    this.#s = schemaOf(options.schema)
    this.#t = `${this.#s}.keyward_audit`
  }

  /** The table, its indexes and the append-only trigger (idempotent). */
  migrationSql(): string {
    const s = this.#s
    return `CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${this.#t} (
  seq    bigserial PRIMARY KEY,
  at     bigint NOT NULL,
  tenant text,
  target text,
  action text NOT NULL,
  entry  jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS keyward_audit_tenant_seq ON ${this.#t} (tenant, seq DESC);
CREATE INDEX IF NOT EXISTS keyward_audit_target_seq ON ${this.#t} (target, seq DESC);
CREATE OR REPLACE FUNCTION ${s}.keyward_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'keyward_audit is append-only'; END $$;
DROP TRIGGER IF EXISTS keyward_audit_append_only ON ${this.#t};
CREATE TRIGGER keyward_audit_append_only BEFORE UPDATE OR DELETE ON ${this.#t} FOR EACH ROW EXECUTE FUNCTION ${s}.keyward_audit_append_only();
`
  }

  /** Creates the table if needed. */
  async migrate(): Promise<void> {
    await this.#pool.query(this.migrationSql())
  }

  async append(event: AdminAuditEvent): Promise<void> {
    const e = auditFields(event)
    if (e === undefined) throw typeError('event', 'must be an audit event')
    await this.#pool.query(`INSERT INTO ${this.#t} (at, tenant, target, action, entry) VALUES ($1, $2, $3, $4, $5)`, [
      Math.trunc(e.at), e.tenant ?? null, e.target ?? null, e.action, JSON.stringify(e),
    ])
  }

  async list(query: AuditQuery): Promise<AuditEntry[]> {
    const limit = Math.min(Math.max(1, Math.trunc(query.limit)), 1000)
    const r = await this.#pool.query(
      `SELECT seq, entry FROM ${this.#t} WHERE tenant IS NOT DISTINCT FROM $1 AND ($2::text IS NULL OR target = $2) AND ($3::bigint IS NULL OR seq < $3) ORDER BY seq DESC LIMIT $4`,
      [query.tenant ?? null, query.target ?? null, query.beforeSeq ?? null, limit],
    )
    return r.rows.map((row: Record<string, unknown>) => {
      const entry = typeof row.entry === 'string' ? (JSON.parse(row.entry) as unknown) : row.entry
      return { ...(auditFields(entry) as Omit<AuditEntry, 'seq'>), seq: num(row.seq) }
    })
  }

  async leaked(tenant: string | undefined, keyIds: readonly string[]): Promise<Set<string>> {
    if (keyIds.length === 0) return new Set()
    const r = await this.#pool.query(
      `SELECT DISTINCT target FROM ${this.#t} WHERE action = 'reportLeak' AND tenant IS NOT DISTINCT FROM $1 AND target = ANY($2::text[])`,
      [tenant ?? null, [...keyIds]],
    )
    return new Set(r.rows.map((row: Record<string, unknown>) => String(row.target)))
  }
}

/** Options of {@link PostgresUsageRecorder}. */
export interface PostgresUsageRecorderOptions {
  /**
   * Schema of the `keyward_usage` table.
   * @default 'public'
   * @example 'auth'
   */
  schema?: string
  /**
   * How often batched counts are written, in milliseconds.
   * @default 5000
   * @example 1000
   */
  flushMs?: number
  /**
   * Most distinct (key, hour, outcome) counters held between two writes; decisions beyond it
   * are not counted (reported once per batch to `onError`), so memory stays bounded.
   * @default 100000
   * @example 10000
   */
  maxPending?: number
  /**
   * Receives a failed batch write (its counts are dropped: low, never counted twice).
   * @default undefined (ignored)
   * @example (e) => logger.warn(e)
   */
  onError?: (error: unknown) => void
}

const USAGE_FIELDS = fieldsOf<PostgresUsageRecorderOptions>({ schema: true, flushMs: true, maxPending: true, onError: true })

/**
 * Usage counts in a `keyward_usage` table shared by every instance. `record` adds to an
 * in-memory batch; every `flushMs` the batch is added to the table in one statement
 * (`count = count + excluded.count`), so concurrent instances never overwrite each other.
 * A batch that fails, or is pending when the process stops without `close()`, is lost: counts
 * are then low, never wrong. A batch is never retried, so a write that reached the database
 * but whose answer was lost is never counted twice.
 *
 * @example
 * ```ts
 * import { PostgresUsageRecorder } from 'keyward/postgres'
 * const usage = new PostgresUsageRecorder(pool, { schema: 'auth' })
 * await usage.migrate()
 * const authorizer = createAuthorizer({ store, onDecision: usageOnDecision(usage) })
 * ```
 */
export class PostgresUsageRecorder implements UsageRecorder {
  readonly #pool: Pool
  readonly #t: string
  readonly #s: string
  readonly #max: number
  readonly #onError: ((error: unknown) => void) | undefined
  #pending = new Map<string, number>()
  #dropped = 0
  readonly #timer: ReturnType<typeof setInterval>
  #flushing: Promise<void> = Promise.resolve()

  constructor(pool: Pool, options: PostgresUsageRecorderOptions = {}) {
    if (pool === null || typeof pool !== 'object' || typeof (pool as { query?: unknown }).query !== 'function') throw typeError('pool', 'must be a pg.Pool')
    if (options === null || typeof options !== 'object') throw typeError('options', 'must be an object')
    knownFields(options, USAGE_FIELDS, 'options')
    this.#pool = pool
    this.#s = schemaOf(options.schema)
    this.#t = `${this.#s}.keyward_usage`
    const flushMs = options.flushMs ?? 5000
    if (typeof flushMs !== 'number' || !Number.isInteger(flushMs) || flushMs < 10 || flushMs > 3_600_000) throw rangeError('flushMs', 'must be an integer from 10 to 3600000')
    const max = options.maxPending ?? 100_000
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 10_000_000) throw rangeError('maxPending', 'must be an integer from 1 to 10000000')
    this.#max = max
    if (options.onError !== undefined && typeof options.onError !== 'function') throw typeError('onError', 'must be a function')
    this.#onError = options.onError
    this.#timer = setInterval(() => void this.flush(), flushMs)
    this.#timer.unref?.()
  }

  /** The table (idempotent). */
  migrationSql(): string {
    return `CREATE SCHEMA IF NOT EXISTS ${this.#s};
CREATE TABLE IF NOT EXISTS ${this.#t} (
  key_id  text NOT NULL,
  hour    bigint NOT NULL,
  outcome text NOT NULL,
  count   bigint NOT NULL,
  PRIMARY KEY (key_id, hour, outcome)
);
CREATE INDEX IF NOT EXISTS keyward_usage_hour ON ${this.#t} (hour);
`
  }

  /** Creates the table if needed (idempotent). */
  async migrate(): Promise<void> {
    await this.#pool.query(this.migrationSql())
  }

  record(keyId: string, outcome: string, at: number): void {
    if (typeof keyId !== 'string' || keyId.length === 0 || keyId.length > 128 || typeof at !== 'number' || !Number.isFinite(at)) return
    const k = `${Math.floor(at / HOUR_MS) * HOUR_MS}\u0000${outcomeName(outcome)}\u0000${keyId}`
    const n = this.#pending.get(k)
    if (n === undefined && this.#pending.size >= this.#max) {
      this.#dropped++
      return
    }
    this.#pending.set(k, (n ?? 0) + 1)
  }

  /** Writes the pending batch (one statement) and drops hours past the retention. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#write())
    return this.#flushing
  }

  async #write(): Promise<void> {
    const batch = this.#pending
    this.#pending = new Map()
    const dropped = this.#dropped
    this.#dropped = 0
    if (dropped > 0) this.#report(new Error(`usage recorder: ${dropped} decisions not counted (maxPending reached)`))
    if (batch.size === 0) return
    const ids: string[] = []
    const hours: number[] = []
    const outcomes: string[] = []
    const counts: number[] = []
    let newest = 0
    for (const [k, c] of batch) {
      const [hour, outcome, id] = k.split('\u0000') as [string, string, string]
      ids.push(id)
      hours.push(Number(hour))
      outcomes.push(outcome)
      counts.push(c)
      newest = Math.max(newest, Number(hour))
    }
    try {
      await this.#pool.query(
        `INSERT INTO ${this.#t} (key_id, hour, outcome, count) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[])
ON CONFLICT (key_id, hour, outcome) DO UPDATE SET count = ${this.#t}.count + excluded.count`,
        [ids, hours, outcomes, counts],
      )
      await this.#pool.query(`DELETE FROM ${this.#t} WHERE hour < $1`, [newest - RETENTION_HOURS * HOUR_MS])
    } catch (e) {
      this.#report(e)
    }
  }

  #report(e: unknown): void {
    try {
      this.#onError?.(e)
    } catch {
      // Reporting must never turn into a crash.
    }
  }

  async series(keyId: string, query: UsageQuery): Promise<UsagePoint[]> {
    const r = await this.#pool.query(`SELECT hour, outcome, count FROM ${this.#t} WHERE key_id = $1 AND hour >= $2 AND hour < $3 ORDER BY hour`, [
      keyId, query.from, query.to,
    ])
    const byHour = new Map<number, Record<string, number>>()
    for (const row of r.rows as Record<string, unknown>[]) {
      const h = num(row.hour)
      let c = byHour.get(h)
      if (c === undefined) byHour.set(h, (c = Object.create(null) as Record<string, number>))
      c[outcomeName(String(row.outcome))] = num(row.count)
    }
    return [...byHour].map(([start, counts]) => ({ start, counts }))
  }

  /** Writes what is pending and stops the timer. */
  async close(): Promise<void> {
    clearInterval(this.#timer)
    await this.flush()
  }
}
