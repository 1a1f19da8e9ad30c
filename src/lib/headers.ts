/**
 * Reading request headers the same way whatever the framework handed us.
 *
 * A Fetch `Headers` object joins repeated fields with ", " (RFC 9110 §5.3), so a repeated header
 * shows up as one value containing a comma and a space; the credential grammars reject that.
 * A Node-style record may hold arrays (`req.headersDistinct`), and Node's `req.rawHeaders` is
 * the fields as received (`[name, value, name, value, …]`), so repeats are seen directly. Names
 * are matched case-insensitively (field names are case-insensitive, RFC 9110 §5.1), and two keys
 * that differ only in case count as a repeated field.
 * @module
 */
import type { HeaderRecord } from '../types.js'

/** The values of the fields a scheme reads, by lower-case name; each entry has at least one value. */
export type HeaderValues = ReadonlyMap<string, readonly string[]>

const EMPTY: HeaderValues = new Map()

function isHeaders(h: unknown): h is Headers {
  // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, Headers is a global on every Node this package supports (engines: >=20.19)
  if (typeof Headers === 'undefined') return false
  return h instanceof Headers
}

/**
 * The lower-case names an authorizer reads, compiled once: the set itself, and which name
 * lengths occur, so a field of another length is skipped without being lower-cased (a request
 * carries a dozen fields; the schemes read one or two).
 */
export class HeaderNames {
  readonly names: ReadonlySet<string>
  readonly #lengths: Uint8Array
  constructor(names: Iterable<string>) {
    const set = new Set<string>()
    for (const n of names) set.add(n.toLowerCase())
    this.names = set
    let max = 0
    for (const n of set) max = Math.max(max, n.length)
    this.#lengths = new Uint8Array(max + 1)
    for (const n of set) this.#lengths[n.length] = 1
  }

  /** The lower-case form of `name` if it is one of the names, else `undefined`. */
  match(name: string): string | undefined {
    // Node hands record keys (and Fetch `Headers` their names) already lower-cased: no copy then.
    // Stryker disable next-line ConditionalExpression: equivalent, a fast path; the length check and lower-casing below find the same name
    if (this.names.has(name)) return name
    // Stryker disable next-line ConditionalExpression: equivalent, a fast path; a name of another length is not in the set once lower-cased either
    if (this.#lengths[name.length] !== 1) return undefined
    const lower = name.toLowerCase()
    return this.names.has(lower) ? lower : undefined
  }
}

/**
 * Collects the values of the named fields from `headers`.
 * Values that are not strings are ignored (a misbehaving adapter cannot smuggle objects in).
 */
export function collectHeaders(headers: Headers | HeaderRecord | readonly string[] | undefined | null, wanted: HeaderNames): HeaderValues {
  // Stryker disable next-line ConditionalExpression: equivalent, null is typeof 'object' and the paths below read nothing from it (not an array, not Headers, for-in enumerates nothing)
  if (headers == null) return EMPTY
  if (typeof headers !== 'object') return EMPTY
  let out: Map<string, string[]> | undefined
  if (Array.isArray(headers)) {
    // Node's rawHeaders: already there on every request, where headersDistinct is built on first
    // use (about 2 µs for a handful of fields), and it keeps repeats apart just the same.
    // Stryker disable next-line EqualityOperator,ArithmeticOperator: equivalent, the extra step reads a value past the end (undefined), which is skipped as not a string
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name: unknown = headers[i]
      const value: unknown = headers[i + 1]
      if (typeof name !== 'string' || typeof value !== 'string') continue
      const lower = wanted.match(name)
      // Stryker disable next-line ConditionalExpression: equivalent, the field is stored under the key undefined, which no scheme reads (schemes read their lower-case names)
      if (lower === undefined) continue
      const prev = out?.get(lower)
      if (prev === undefined) (out ??= new Map()).set(lower, [value])
      else prev.push(value)
    }
    return out ?? EMPTY
  }
  if (isHeaders(headers)) {
    for (const name of wanted.names) {
      const v = headers.get(name)
      if (v !== null) (out ??= new Map()).set(name, [v])
    }
    return out ?? EMPTY
  }
  const record = headers as HeaderRecord // Array.isArray does not narrow a readonly array away
  for (const key in record) {
    const lower = wanted.match(key)
    // Own-property check only for the few names we read, not for every field of the request.
    // Stryker disable next-line ConditionalExpression: equivalent, the field is stored under the key undefined, which no scheme reads (schemes read their lower-case names)
    if (lower === undefined) continue
    if (!Object.hasOwn(record, key)) continue
    const v = record[key]
    // A field whose value holds no string is as absent: no entry at all, so no sweep afterwards.
    let list: string[] | undefined
    if (typeof v === 'string') list = [v]
    else if (Array.isArray(v)) {
      for (const item of v) if (typeof item === 'string') (list ??= []).push(item)
    }
    if (list === undefined) continue
    const prev = out?.get(lower)
    if (prev === undefined) (out ??= new Map()).set(lower, list)
    else for (const item of list) prev.push(item) // the same field under another case: a repeat
  }
  return out ?? EMPTY
}

/**
 * Trims optional whitespace: only SP and HTAB (RFC 9110 §5.6.3 OWS), never other Unicode
 * spaces, so `\u00a0key` is not silently turned into `key`.
 */
export function trimOws(s: string): string {
  let a = 0
  let b = s.length
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, at a === s.length charCodeAt is NaN, no whitespace, so the loop stops there anyway
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, b only passes a on an all-whitespace value, and slice(a, b) with b <= a is '' either way
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--
  // Stryker disable next-line ConditionalExpression: equivalent, s.slice(0, s.length) is s
  return a === 0 && b === s.length ? s : s.slice(a, b)
}

/** Any UTF-16 code unit outside 0x21–0x7E (no `u` flag: a lone surrogate is a code unit too). */
const NOT_VISIBLE_ASCII = /[^\x21-\x7e]/

/** True if every character is visible ASCII (0x21–0x7E): no controls, no spaces, no non-ASCII. */
export function isVisibleAscii(s: string): boolean {
  // V8's regex scan beats a charCodeAt loop here about 2 to 1 on a 40-character key; this runs
  // on every key presented.
  return !NOT_VISIBLE_ASCII.test(s)
}

/** True if the value holds a control character (other than HTAB) or a non-ASCII character. */
export function hasBadBytes(s: string): boolean {
  // Stryker disable next-line EqualityOperator: equivalent, charCodeAt(s.length) is NaN, which is no bad byte
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09) || c > 0x7e) return true
  }
  return false
}
