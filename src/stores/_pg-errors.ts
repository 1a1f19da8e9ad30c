/**
 * Errors of the Postgres store. A node-postgres error is never passed on as it is: its `detail`
 * names the offending values ("Key (hash)=(…) already exists"), and hashes must not reach logs.
 * What is kept is the operation, the SQLSTATE and the constraint name.
 * @module
 */
import { KeywardError } from '../errors.js'

/**
 * A Postgres store operation failed: the server is down, slow (timeout), or refused the
 * statement. The authorizer turns it into 503 `service_unavailable`; `KeyManager` writes reject
 * with it. Its message never holds a key, a hash or a row value.
 *
 * @example
 * ```ts
 * await manager.issue({ kind: 'org' }).catch((e) => {
 *   if (e instanceof PostgresStoreError && e.timedOut) retryLater()
 * })
 * ```
 */
export class PostgresStoreError extends KeywardError {
  override readonly code = 'KEYWARD_POSTGRES_ERROR'
  /** The SQLSTATE, when the server answered with an error. */
  readonly sqlState: string | undefined
  /** The name of the violated constraint, if any (never its values). */
  readonly constraint: string | undefined
  /** `true` when the operation ran out of time. */
  readonly timedOut: boolean

  constructor(message: string, details: { sqlState?: string; constraint?: string; timedOut?: boolean } = {}) {
    super(message)
    this.sqlState = details.sqlState
    this.constraint = details.constraint
    this.timedOut = details.timedOut ?? false
  }
}

/** Our own timeout, raised before node-postgres gives up (or instead of it, while waiting for a connection). */
export class Timeout extends Error {
  constructor(readonly ms: number) {
    super('timeout')
  }
}

interface PgServerError {
  code?: unknown
  severity?: unknown
  constraint?: unknown
}

/** SQLSTATE of a server error, or `undefined` for client-side failures (connection, timeout). */
export function sqlStateOf(e: unknown): string | undefined {
  if (e === null || typeof e !== 'object') return undefined
  const s = e as PgServerError
  return typeof s.severity === 'string' && typeof s.code === 'string' && /^[0-9A-Z]{5}$/.test(s.code) ? s.code : undefined
}

/** The name of the constraint a server error names, if any. */
export function constraintOf(e: unknown): string | undefined {
  const c = e !== null && typeof e === 'object' ? (e as PgServerError).constraint : undefined
  return typeof c === 'string' ? c : undefined
}

const CLIENT_CODE = /^E[A-Z0-9_]{2,30}$/

/** A sanitised error for operation `op`. */
export function storeError(op: string, e: unknown): PostgresStoreError {
  if (e instanceof PostgresStoreError) return e
  if (e instanceof Timeout) return new PostgresStoreError(`postgres store: ${op} timed out after ${e.ms} ms`, { timedOut: true })
  const state = sqlStateOf(e)
  if (state !== undefined) {
    const constraint = constraintOf(e)
    // 57014: canceled by statement_timeout, the server-side half of the timeout.
    return new PostgresStoreError(
      `postgres store: ${op} failed with SQLSTATE ${state}${constraint === undefined ? '' : ` (constraint ${constraint})`}`,
      { sqlState: state, ...(constraint === undefined ? {} : { constraint }), timedOut: state === '57014' },
    )
  }
  // Client-side: a socket error code (ECONNREFUSED…) is safe to show; other messages are not
  // inspected, so nothing a driver might echo ends up here.
  const code = e !== null && typeof e === 'object' ? (e as { code?: unknown }).code : undefined
  const timedOut = e instanceof Error && /timeout/i.test(e.message)
  const why = typeof code === 'string' && CLIENT_CODE.test(code) ? code : timedOut ? 'client timeout' : 'connection error'
  return new PostgresStoreError(`postgres store: ${op} failed (${why})`, { timedOut })
}
