/**
 * Errors keyward throws. A denied request is never an error (it is a returned `Decision`); only
 * misuse and misconfiguration throw.
 *
 * Validation of options and of key/group fields throws the built-in `TypeError` (wrong type) or
 * `RangeError` (right type, bad value), with a message that names the field, and a stable `code`
 * property (`KEYWARD_INVALID_OPTION`). Other failures throw a `KeywardError` subclass with a stable
 * `code`. Messages never contain a key, a hash or a pepper.
 * @module
 */

/** Stable code on every `TypeError`/`RangeError` raised by keyward's validation. */
export const INVALID_OPTION = 'KEYWARD_INVALID_OPTION'

/**
 * Base class of keyward's own errors. Match on `code`, not on the message.
 *
 * @example
 * ```ts
 * try { await manager.update('nope', { description: 'x' }) }
 * catch (e) { if (e instanceof KeywardError && e.code === 'KEYWARD_NOT_FOUND') { ... } }
 * ```
 */
export class KeywardError extends Error {
  /** Stable machine-readable code. */
  readonly code: string = 'KEYWARD_ERROR'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

/**
 * A key or group id that does not exist (or is not visible in the caller's tenant).
 *
 * @example
 * ```ts
 * await manager.deactivate('key_unknown').catch((e) => e instanceof NotFoundError) // true
 * ```
 */
export class NotFoundError extends KeywardError {
  override readonly code = 'KEYWARD_NOT_FOUND'
}

/**
 * A write that conflicts with the store's state: an imported key whose hash already exists,
 * deleting a group that still has keys, or a compare-and-swap write that lost to another writer.
 *
 * @example
 * ```ts
 * await manager.deleteGroup(groupWithKeys).catch((e) => e instanceof ConflictError) // true
 * ```
 */
export class ConflictError extends KeywardError {
  override readonly code = 'KEYWARD_CONFLICT'
}

/** A `TypeError` that names the field at fault. */
export function typeError(field: string, message: string): TypeError {
  const e = new TypeError(`${field}: ${message}`)
  Object.defineProperty(e, 'code', { value: INVALID_OPTION, enumerable: true })
  return e
}

/** A `RangeError` that names the field at fault. */
export function rangeError(field: string, message: string): RangeError {
  const e = new RangeError(`${field}: ${message}`)
  Object.defineProperty(e, 'code', { value: INVALID_OPTION, enumerable: true })
  return e
}

/** Quote a user-supplied value for an error message: escaped, and cut short. Never use on secrets. */
export function quote(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value)
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s)
}
