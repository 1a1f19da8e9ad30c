/**
 * Option checking shared by every options object of the public API: the core, the schemes,
 * `mintToken`, `cachedStore`, `KeyManager`, the stores, the Redis helpers, the adapters, the admin
 * handler and the testing kit all validate through these functions, so they refuse the same
 * mistakes with the same messages.
 *
 * An options object refuses every field it does not know: a typo must never fall back to a default
 * (`requireTLS: true` silently allowing plain HTTP would be a wrong allow). The error names the
 * field and, when one is close, the known field that was probably meant. No message ever repeats an
 * option's value: the value of a misspelt `pepper` is a secret.
 *
 * Every function throws a `TypeError` (wrong type) or `RangeError` (right type, bad value) with the
 * stable `code` of {@link INVALID_OPTION}, and never throws anything else.
 * @module
 */
import { INVALID_OPTION, quote, rangeError, typeError } from '../errors.js'

export { INVALID_OPTION }

/** The names an options object accepts. */
export type Fields = ReadonlySet<string> | readonly string[]

/**
 * The field names of an options type, checked by the compiler against the type itself: a field
 * added to the interface but not here (or here but not in the interface) fails to compile, so the
 * runtime list cannot drift from the documented one.
 *
 * @example
 * ```ts
 * const FIELDS = fieldsOf<CachedStoreOptions>({ ttlMs: true, negativeTtlMs: true, maxEntries: true })
 * ```
 */
export function fieldsOf<T>(fields: { readonly [K in keyof Required<T>]: true }): ReadonlySet<string> {
  return new Set(Object.keys(fields))
}

/**
 * Edit distance between `a` and `b` (optimal string alignment: an insertion, a deletion, a
 * substitution or a swap of two neighbours each cost 1), or `limit + 1` as soon as it is known to
 * exceed `limit`. O(|a|·|b|) time, O(|b|) memory.
 */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1
  let before: number[] = []
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    let best = i
    for (let j = 1; j <= b.length; j++) {
      const ca = a.charCodeAt(i - 1)
      const cb = b.charCodeAt(j - 1)
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (ca === cb ? 0 : 1))
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) d = Math.min(d, before[j - 2]! + 1)
      row.push(d)
      if (d < best) best = d
    }
    if (best > limit) return limit + 1
    before = prev
    prev = row
  }
  return prev[b.length]!
}

/**
 * The known field a misspelt `name` most likely meant, or `undefined` when none is close: the same
 * name in another case (`requireTLS` → `requireTls`), a name one extends (`ttl` → `ttlMs`), or the
 * nearest by edit distance within a third of the name's length, rounded up (at most 3).
 */
export function nearestField(name: string, known: Fields): string | undefined {
  const lower = name.toLowerCase()
  const list = [...known]
  const sameCase = list.find((k) => k.toLowerCase() === lower)
  if (sameCase !== undefined) return sameCase
  const limit = Math.min(3, Math.ceil(name.length / 3))
  let best: string | undefined
  let bestD = limit + 1
  for (const k of list) {
    const d = editDistance(lower, k.toLowerCase(), limit)
    if (d < bestD) {
      best = k
      bestD = d
    }
  }
  if (best !== undefined) return best
  if (lower.length >= 3) return list.find((k) => k.toLowerCase().startsWith(lower) || lower.startsWith(k.toLowerCase()))
  return undefined
}

/**
 * Throws a `RangeError` naming the first own field of `input` that is not in `known`, with the
 * nearest known field as a suggestion (`options: unknown field "requireTLS" (did you mean
 * "requireTls"?)`). Only the field's name is quoted, never its value.
 *
 * @param list when no field is close, append the known fields to the message.
 */
export function knownFields(input: object, known: Fields, what: string, list = false): void {
  const set: ReadonlySet<string> = known instanceof Set ? known : new Set(known)
  for (const k of Object.keys(input)) {
    if (set.has(k)) continue
    const near = nearestField(k, set)
    const hint = near !== undefined ? ` (did you mean ${quote(near)}?)` : list ? ` (${[...set].join(', ')})` : ''
    throw rangeError(what, `unknown field ${quote(k)}${hint}`)
  }
}

/**
 * For a factory that takes no options (`schemes.bearer()`): refuses an options object with any
 * field, so `schemes.bearer({ header: 'X-Token' })` throws instead of being silently ignored.
 */
export function noOptions(value: unknown, what: string): void {
  if (value === undefined) return
  const o = object(value, 'options', `${what} takes no options`)
  const first = Object.keys(o)[0]
  if (first !== undefined) throw rangeError('options', `unknown field ${quote(first)} (${what} takes no options)`)
}

/** `value` as a plain object (not `null`, not an array), or a `TypeError` naming `what`. */
export function object(value: unknown, what: string, expected = 'must be an object'): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw typeError(what, expected)
  return value as Record<string, unknown>
}

/**
 * Checks an options object: an object (or `undefined` when `optional`) whose fields are all known.
 * Returns it typed as given, or `{}` for an omitted optional object.
 *
 * @example
 * ```ts
 * const o = options(input, 'options', ['ttlMs', 'maxEntries'])
 * ```
 */
export function options<T extends object>(value: T | undefined, what: string, known: Fields, optional = false, expected?: string): T {
  if (value === undefined && optional) return {} as T
  knownFields(object(value, what, expected), known, what)
  return value as T
}

/** A boolean option: `undefined` gives `fallback`; anything but a boolean is a `TypeError`. */
export function boolean(value: unknown, field: string, fallback = false): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw typeError(field, 'must be a boolean')
  return value
}

/** An integer option within `[min, max]`: `undefined` gives `fallback`. */
export function integer(value: unknown, field: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw typeError(field, 'must be an integer')
  if (!Number.isInteger(value) || value < min || value > max) {
    throw rangeError(field, max === Number.MAX_SAFE_INTEGER ? `must be an integer ≥ ${min}` : `must be an integer from ${min} to ${max}`)
  }
  return value
}

/** A duration in milliseconds, finite, within `[min, max]` (`min` excluded when `exclusive`). */
export function millis(value: unknown, field: string, fallback: number, min = 0, max = Infinity, exclusive = false): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value)) throw typeError(field, 'must be a number of milliseconds')
  if (exclusive ? value <= min : value < min) throw rangeError(field, `must be ${exclusive ? '>' : '≥'} ${min}`)
  if (value > max) throw rangeError(field, `must be at most ${max}`)
  return value
}

/** An optional function option: `undefined` or a function, else a `TypeError`. */
export function func<F extends (...args: never[]) => unknown>(value: F | undefined, field: string): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw typeError(field, 'must be a function')
  return value
}
