/**
 * How the Postgres store talks to its pool: every operation under one deadline
 * (`queryTimeoutMs` for the whole of it), abandoned reads cancelled on the server, broken and
 * stale connections discarded.
 * @module
 */
import { createHash } from 'node:crypto'
import type { Pool, PoolClient, QueryConfig } from 'pg'
import { sqlStateOf, storeError, Timeout } from './_pg-errors.js'

/** Server-side cancels of abandoned reads in flight at once; the others wait their turn. */
const MAX_CANCELS = 4
/**
 * Abandoned reads waiting for a cancel. Each is a backend we already disconnected from, so the
 * queue is bounded by what the server holds; past this many, the oldest waiting is forgotten
 * (a server that far behind is better served by its own `statement_timeout`).
 */
const MAX_PENDING_CANCELS = 1024
/**
 * Tries to cancel one backend. A cancel that found no connection is queued again after a pause
 * of `queryTimeoutMs` (at most RETRY_CAP_MS): a refusal is immediate ("too many clients" is one),
 * and retried at once every attempt would be spent before anything changed.
 */
const CANCEL_ATTEMPTS = 3
const RETRY_CAP_MS = 1000
/** Connections tried for one read whose prepared statement a schema change made stale. */
const MAX_REPLANS = 8

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

const isTimeout = (e: unknown): boolean => e instanceof Timeout || (e instanceof Error && /timeout/i.test(e.message))

/**
 * "cached plan must not change result type" (0A000): a named prepared statement planned before
 * a column changed type. It fails on that connection forever; a new connection prepares afresh.
 */
function stalePlan(e: unknown): boolean {
  return sqlStateOf(e) === '0A000' && e instanceof Error && /cached plan/i.test(e.message)
}

/** A connection that broke (not a timeout, not an error about the statement itself). */
function staleConnection(e: unknown): boolean {
  const state = sqlStateOf(e)
  if (state !== undefined) return state.startsWith('57P') || state.startsWith('08')
  return !(e instanceof Timeout) && !(e instanceof Error && /timeout/i.test(e.message))
}

export type QueryRows = { rows: Record<string, unknown>[]; rowCount: number | null }
/** node-postgres reads a per-query `query_timeout` (client-side limit) that its typings omit. */
type TimedQuery = QueryConfig<unknown[]> & { query_timeout: number }

/** Runs the store's statements on its pool. */
export class PgRunner {
  readonly #pool: Pool
  readonly #timeout: number
  readonly #prepared: boolean
  readonly #names = new Map<string, string>()
  #cancelling = 0
  /** Backends to cancel, oldest first, with the attempts each has left. */
  readonly #toCancel: { pid: number; attempts: number }[] = []

  constructor(pool: Pool, timeoutMs: number, prepared: boolean) {
    this.#pool = pool
    this.#timeout = timeoutMs
    this.#prepared = prepared
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

  /** A pooled connection before `deadline` (a `performance.now()` time), or a store error. */
  async #connect(op: string, deadline: number): Promise<PoolClient> {
    const budget = Math.ceil(deadline - performance.now())
    if (budget < 1) throw storeError(op, new Timeout(this.#timeout))
    try {
      return await this.#acquire(budget)
    } catch (e) {
      throw storeError(op, e)
    }
  }

  /**
   * Cancels on the server what a connection we gave up on is still running (a read stuck
   * behind a lock would otherwise keep its backend until the lock goes, and enough of them
   * exhaust `max_connections`). Fire and forget, bounded in number at a time: every abandoned
   * read is cancelled, MAX_CANCELS at once, the rest queued. Dropping the ones over the limit
   * left their backends waiting as long as the lock was held, under exactly the load (many
   * reads giving up at once) where it matters.
   */
  #cancel(client: PoolClient): void {
    const pid = (client as PoolClient & { processID?: unknown }).processID
    if (typeof pid !== 'number') return
    if (this.#toCancel.length >= MAX_PENDING_CANCELS) this.#toCancel.shift()
    this.#toCancel.push({ pid, attempts: CANCEL_ATTEMPTS })
    this.#drainCancels()
  }

  /** Starts queued cancels while fewer than MAX_CANCELS run; each that ends starts the next. */
  #drainCancels(): void {
    while (this.#cancelling < MAX_CANCELS) {
      const next = this.#toCancel.shift()
      if (next === undefined) return
      this.#cancelling++
      void this.#cancelOne(next)
        .catch(() => undefined)
        .finally(() => {
          this.#cancelling--
          this.#drainCancels()
        })
    }
  }

  /** One `pg_cancel_backend` within `timeoutMs`; without a connection, queued again after a pause while attempts remain. */
  async #cancelOne(target: { pid: number; attempts: number }): Promise<void> {
    const deadline = performance.now() + this.#timeout
    let c: PoolClient
    try {
      c = await this.#connect('cancel', deadline)
    } catch {
      if (target.attempts > 1) {
        const again = { pid: target.pid, attempts: target.attempts - 1 }
        // Unref'd: a pending retry never keeps the process alive.
        setTimeout(() => {
          this.#toCancel.push(again)
          this.#drainCancels()
        }, Math.min(this.#timeout, RETRY_CAP_MS)).unref()
      }
      return
    }
    const guard = watch(c)
    try {
      const config: TimedQuery = { text: 'SELECT pg_cancel_backend($1::int)', values: [target.pid], query_timeout: Math.max(1, Math.ceil(deadline - performance.now())) }
      await c.query(config)
      guard.release(false)
    } catch {
      guard.release(true)
    }
  }

  /**
   * One statement under the operation's deadline (`queryTimeoutMs` for the whole operation,
   * connection wait and retry included). The read path: a single round trip, cut off on the
   * client (node-postgres `query_timeout`) and then cancelled on the server; a connection that
   * timed out or failed is discarded. A connection that died while idle, or whose prepared
   * statement no longer fits the table (a live `ALTER TABLE`), is replaced and the read retried.
   */
  async query(op: string, text: string, values: unknown[], prepared: boolean): Promise<QueryRows> {
    const deadline = performance.now() + this.#timeout
    for (let attempt = 0; ; attempt++) {
      const client = await this.#connect(op, deadline)
      const left = Math.max(1, Math.ceil(deadline - performance.now()))
      const guard = watch(client)
      try {
        const config: TimedQuery = { text, values, query_timeout: left, ...(prepared && this.#prepared ? { name: this.#name(text) } : {}) }
        const res: QueryRows = await client.query(config)
        guard.release(false)
        return res
      } catch (e) {
        const timedOut = sqlStateOf(e) === undefined && isTimeout(e)
        if (timedOut) this.#cancel(client)
        // A server error leaves the connection usable; anything else (timeout, socket) does not,
        // and neither does a named statement planned for an older shape of the table.
        const stale = staleConnection(e)
        const replan = stalePlan(e)
        guard.release(stale || replan || sqlStateOf(e) === undefined)
        if ((attempt === 0 && stale) || (replan && attempt < MAX_REPLANS)) continue
        throw storeError(op, e)
      }
    }
  }

  /**
   * A write transaction, all of it within `timeoutMs`: the connection wait, then every round
   * trip cut off on the client at the deadline, and the statements under a server-side
   * `statement_timeout` of what is left, so a write that times out is rolled back by Postgres
   * (its connection is dropped before COMMIT) rather than applied after the caller gave up.
   */
  async tx<T>(op: string, fn: (q: (text: string, values: unknown[]) => Promise<QueryRows>) => Promise<T>, timeoutMs = this.#timeout): Promise<T> {
    const deadline = performance.now() + timeoutMs
    const client = await this.#connect(op, deadline)
    const left = (): number => Math.max(1, Math.ceil(deadline - performance.now()))
    const guard = watch(client)
    const q = async (text: string, values: unknown[]): Promise<QueryRows> => {
      if (deadline - performance.now() < 1) throw new Timeout(timeoutMs)
      const config: TimedQuery = { text, values, query_timeout: left() }
      return client.query(config)
    }
    let healthy = true
    try {
      // One round trip (simple protocol); the only variable part is an integer computed here.
      await client.query({ text: `BEGIN; SET LOCAL statement_timeout = ${left()}`, query_timeout: left() } as TimedQuery)
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
}
