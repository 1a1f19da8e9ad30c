/**
 * Reading request headers the same way whatever the framework handed us.
 *
 * A Fetch `Headers` object joins repeated fields with ", " (RFC 9110 §5.3), so a repeated header
 * shows up as one value containing a comma and a space; the credential grammars reject that.
 * A Node-style record may hold arrays (`req.headersDistinct`), so repeats are seen directly.
 * Record keys are matched case-insensitively (field names are case-insensitive, RFC 9110 §5.1),
 * and two keys that differ only in case count as a repeated field.
 * @module
 */
import type { HeaderRecord } from './types.js'

/** The values of the fields a scheme reads, by lower-case name; each entry has at least one value. */
export type HeaderValues = ReadonlyMap<string, readonly string[]>

const EMPTY: HeaderValues = new Map()

function isHeaders(h: unknown): h is Headers {
  return typeof Headers !== 'undefined' && h instanceof Headers
}

/**
 * Collects the values of the named fields (lower-case names) from `headers`.
 * Values that are not strings are ignored (a misbehaving adapter cannot smuggle objects in).
 */
export function collectHeaders(headers: Headers | HeaderRecord | undefined | null, names: ReadonlySet<string>): HeaderValues {
  if (headers == null || typeof headers !== 'object') return EMPTY
  let out: Map<string, string[]> | undefined
  if (isHeaders(headers)) {
    for (const name of names) {
      const v = headers.get(name)
      if (v !== null) (out ??= new Map()).set(name, [v])
    }
    return out ?? EMPTY
  }
  let empty = false
  for (const key in headers) {
    if (!Object.hasOwn(headers, key)) continue
    const lower = key.toLowerCase()
    if (!names.has(lower)) continue
    const v = headers[key]
    if (v === undefined) continue
    let list = out?.get(lower)
    if (list === undefined) {
      list = []
      ;(out ??= new Map()).set(lower, list)
    }
    if (typeof v === 'string') list.push(v)
    else if (Array.isArray(v)) {
      for (const item of v) if (typeof item === 'string') list.push(item)
      if (list.length === 0) empty = true
    } else empty = true
  }
  // Only a value that held no string can leave an empty list behind: skip the sweep otherwise.
  if (out && empty) for (const [k, v] of out) if (v.length === 0) out.delete(k)
  return out ?? EMPTY
}

/** Returns the single value of a field, `undefined` if absent, or `null` if the field is repeated. */
export function single(values: HeaderValues, name: string): string | undefined | null {
  const list = values.get(name)
  if (list === undefined) return undefined
  return list.length === 1 ? list[0]! : null
}

/**
 * Trims optional whitespace: only SP and HTAB (RFC 9110 §5.6.3 OWS), never other Unicode
 * spaces, so `\u00a0key` is not silently turned into `key`.
 */
export function trimOws(s: string): string {
  let a = 0
  let b = s.length
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--
  return a === 0 && b === s.length ? s : s.slice(a, b)
}

/** True if every character is visible ASCII (0x21–0x7E): no controls, no spaces, no non-ASCII. */
export function isVisibleAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x21 || c > 0x7e) return false
  }
  return true
}

/** True if the value holds a control character (other than HTAB) or a non-ASCII character. */
export function hasBadBytes(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09) || c > 0x7e) return true
  }
  return false
}
