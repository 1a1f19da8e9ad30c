/**
 * Checks of `schemes.jwt` options that are neither keys nor claims: the `iss`/`aud` lists, the
 * clock tolerance, `typ`, and bounded integers. Each throws a `TypeError`/`RangeError` naming the
 * field.
 * @module
 */
import { rangeError, typeError } from '../errors.js'

/** `issuer`/`audience`: a string or a non-empty list, or `false` (returned as `undefined`) to skip the check (RFC 8725 §3.8, §3.9). */
export function stringList(value: unknown, field: string): string | string[] | undefined {
  if (value === false) return undefined
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0) {
    throw typeError(field, 'is required: a string or a non-empty array of strings, or false to skip the check deliberately')
  }
  list.forEach((v: unknown, i) => {
    if (typeof v !== 'string' || v.length === 0 || v.length > 1024) throw rangeError(`${field}[${i}]`, 'must be a non-empty string of at most 1024 characters')
  })
  return typeof value === 'string' ? value : [...(list as string[])]
}

/** An integer from `min` to `max`, or `def` when absent. */
export function intIn(value: unknown, def: number, min: number, max: number, field: string): number {
  if (value === undefined) return def
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw rangeError(field, `must be an integer from ${min} to ${max}`)
  return value
}

/** `clockToleranceSec`: seconds from 0 to 300. */
export function clockTolerance(value: unknown): number {
  const tol = value ?? 60
  if (typeof tol !== 'number' || !Number.isFinite(tol) || tol < 0 || tol > 300) throw rangeError('clockToleranceSec', 'must be a number of seconds from 0 to 300')
  return tol
}

/** `typ`: 1-100 visible ASCII characters, or absent. */
export function typHeader(value: unknown): string | undefined {
  if (value !== undefined && (typeof value !== 'string' || !/^[\x21-\x7e]{1,100}$/.test(value))) throw rangeError('typ', 'must be 1-100 visible ASCII characters')
  return value
}
