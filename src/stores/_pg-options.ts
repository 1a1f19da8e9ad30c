/**
 * The options of `postgresStore`, checked at construction: unknown fields refused, every value
 * checked and given its default.
 * @module
 */
import type { Pool } from 'pg'
import { knownFields } from '../lib/options.js'
import { rangeError, typeError } from '../errors.js'
import { quoteSchema } from './_pg-sql.js'
import type { PostgresStoreOptions } from './_pg-types.js'

/** The defaults of `PostgresStoreOptions`. */
export const DEFAULTS = { schema: 'public', queryTimeoutMs: 1000, touchFlushMs: 1000 } as const
const FIELDS: ReadonlySet<string> = new Set(['schema', 'queryTimeoutMs', 'touchFlushMs', 'preparedStatements', 'onError'])

/** The checked options of one store. */
export interface PgStoreSettings {
  schema: string
  /** `schema` quoted as an SQL identifier. */
  quoted: string
  timeoutMs: number
  touchMs: number
  prepared: boolean
  onError: ((error: Error) => void) | undefined
}

function positive(v: unknown, field: string, fallback: number, max: number): number {
  if (v === undefined) return fallback
  if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(field, 'must be a number of milliseconds')
  if (v < 1 || v > max) throw rangeError(field, `must be from 1 to ${max}`)
  return Math.floor(v)
}

/** Checks the pool and the options of `postgresStore`, in the order they are listed here, pool first. */
export function pgStoreSettings(pool: Pool, options: PostgresStoreOptions): PgStoreSettings {
  if (pool === null || typeof pool !== 'object' || typeof (pool as Partial<Pool>).connect !== 'function') {
    throw typeError('pool', 'must be a pg.Pool')
  }
  if (options === null || typeof options !== 'object') throw typeError('options', 'must be an object')
  knownFields(options, FIELDS, 'options')
  const schema = options.schema ?? DEFAULTS.schema
  const quoted = quoteSchema(schema)
  const timeoutMs = positive(options.queryTimeoutMs, 'queryTimeoutMs', DEFAULTS.queryTimeoutMs, 600_000)
  const touchMs = positive(options.touchFlushMs, 'touchFlushMs', DEFAULTS.touchFlushMs, 3_600_000)
  if (options.onError !== undefined && typeof options.onError !== 'function') throw typeError('onError', 'must be a function')
  const prepared = options.preparedStatements ?? true
  if (typeof prepared !== 'boolean') throw typeError('preparedStatements', 'must be a boolean')
  return { schema, quoted, timeoutMs, touchMs, prepared, onError: options.onError }
}
