/**
 * Validation of key and group fields, shared by `KeyManager` and the admin API, so that both
 * refuse the same input with the same messages. Every function throws a `TypeError` (wrong type)
 * or `RangeError` (bad value) naming the field, and returns the canonical value to store.
 * @module
 */
import { knownFields } from '../lib/options.js'
import { quote, rangeError, typeError } from '../errors.js'
import { compileAllowlist } from '../net/ip.js'
import type { Roles } from '../roles.js'
import type { KeyGroup, KeyKind, KeyRecord, OwnerRecord, RateLimitSpec } from '../types.js'

const KINDS: ReadonlySet<string> = new Set(['user', 'org', 'tenant'])
const MAX_GRACE_MS = 365 * 24 * 3600 * 1000

/** True for strings of visible ASCII and inner spaces, with no leading/trailing space. */
function isPrintable(s: string, allowSpace: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x20 ? !allowSpace : c < 0x21 || c > 0x7e) return false
  }
  return s.length === 0 || (s.charCodeAt(0) !== 0x20 && s.charCodeAt(s.length - 1) !== 0x20)
}

function str(value: unknown, field: string, max: number, allowSpace: boolean): string {
  if (typeof value !== 'string') throw typeError(field, 'must be a string')
  if (value.length === 0) throw rangeError(field, 'must not be empty')
  if (value.length > max) throw rangeError(field, `must be at most ${max} characters`)
  if (!isPrintable(value, allowSpace)) {
    throw rangeError(field, `${quote(value)} must be printable ASCII${allowSpace ? ' (inner spaces allowed)' : ' without spaces'}`)
  }
  return value
}

export function kind(value: unknown, field = 'kind'): KeyKind {
  if (typeof value !== 'string' || !KINDS.has(value)) throw rangeError(field, `must be 'user', 'org' or 'tenant'`)
  return value as KeyKind
}

/** A tenant id: 1–128 visible ASCII characters. */
export function tenant(value: unknown, field = 'tenant'): string {
  return str(value, field, 128, false)
}

/** An owner (user) id, e.g. a user name or an e-mail address: 1–256 visible ASCII characters. */
export function owner(value: unknown, field = 'owner'): string {
  return str(value, field, 256, false)
}

/** An id of a key or group. */
export function id(value: unknown, field = 'id'): string {
  return str(value, field, 128, false)
}

/** A group name: 1–128 printable characters, inner spaces allowed. */
export function name(value: unknown, field = 'name'): string {
  return str(value, field, 128, true)
}

/**
 * What no store may be handed: a NUL (PostgreSQL's text and jsonb cannot hold U+0000) or an
 * unpaired UTF-16 surrogate (not Unicode text at all: PostgreSQL would store U+FFFD instead, or
 * refuse it). Every store refuses both with the same `RangeError`, so what one store accepts,
 * every store keeps exactly.
 */
function unstorable(s: string): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0) return 'must not contain NUL (U+0000)'
    if (c < 0xd800 || c > 0xdfff) continue
    // A high surrogate followed by a low one is one code point (RFC 2781 §2.2); anything else is unpaired.
    const next = s.charCodeAt(i + 1)
    if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return 'must not contain an unpaired UTF-16 surrogate'
    i++
  }
  return undefined
}

/** Throws a `RangeError` naming the path of the first string (value or object key) no store can hold. */
export function storable(value: unknown, field: string): void {
  if (typeof value === 'string') {
    const why = unstorable(value)
    if (why !== undefined) throw rangeError(field, why)
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => storable(v, `${field}[${i}]`))
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const why = unstorable(k)
      if (why !== undefined) throw rangeError(field, `key ${why.replace('must not contain', 'contains')}`)
      storable(v, `${field}.${k}`)
    }
  }
}

/** A key record a store is asked to write: every string field storable (see {@link storable}). */
export function storableKey(r: KeyRecord): void {
  if (r === null || typeof r !== 'object') return
  for (const [k, v] of Object.entries(r)) storable(v, k)
}

/** A group a store is asked to write. */
export function storableGroup(g: KeyGroup): void {
  if (g === null || typeof g !== 'object') return
  for (const [k, v] of Object.entries(g)) storable(v, k)
}

/** An owner directory entry a store is asked to write. */
export function storableOwner(id: string, o: OwnerRecord): void {
  storable(id, 'id')
  if (o !== null && typeof o === 'object') for (const [k, v] of Object.entries(o)) storable(v, k)
}

/** A description: up to 1024 characters, no control characters except tab and newline. */
export function description(value: unknown, field = 'description'): string {
  if (typeof value !== 'string') throw typeError(field, 'must be a string')
  if (value.length > 1024) throw rangeError(field, 'must be at most 1024 characters')
  storable(value, field)
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a) || c === 0x7f) throw rangeError(field, 'must not contain control characters')
  }
  return value
}

export function role(value: unknown, roles: Roles, field = 'role'): string {
  if (typeof value !== 'string') throw typeError(field, 'must be a string')
  if (!roles.has(value)) throw rangeError(field, `unknown role ${quote(value)} (roles: ${roles.names.join(', ')})`)
  return value
}

/** Scopes: permission strings of the role matrix, canonical and sorted. */
export function scopes(value: unknown, roles: Roles, field = 'scopes'): string[] {
  if (!Array.isArray(value)) throw typeError(field, 'must be an array of permission strings')
  roles.toSet(value, field)
  return [...new Set(value as string[])].sort()
}

/** One operation name, e.g. `getProjects` or `GET /api/projects`. */
export function operation(value: unknown, field: string): string {
  return str(value, field, 200, true)
}

/** Operation names, deduplicated, in order. */
export function operations(value: unknown, field = 'grants'): string[] {
  if (!Array.isArray(value)) throw typeError(field, 'must be an array of operation names')
  return [...new Set(value.map((v, i) => operation(v, `${field}[${i}]`)))]
}

/** An allowlist, canonicalised (see `compileAllowlist`). */
export function allowedIps(value: unknown, field = 'allowedIps'): string[] {
  if (!Array.isArray(value)) throw typeError(field, 'must be an array of IP addresses or CIDRs')
  return [...compileAllowlist(value, field).entries]
}

/** An expiry time in the future: epoch milliseconds or a `Date`. */
export function expiresAt(value: unknown, now: number, field = 'expiresAt'): number {
  const t = value instanceof Date ? value.getTime() : value
  if (typeof t !== 'number' || !Number.isFinite(t)) throw typeError(field, 'must be a Date or epoch milliseconds')
  if (t <= now) throw rangeError(field, 'is in the past')
  return Math.floor(t)
}

export function rateLimit(value: unknown, field = 'rateLimit'): RateLimitSpec {
  if (value === null || typeof value !== 'object') throw typeError(field, 'must be { capacity, refillPerSecond }')
  const { capacity, refillPerSecond } = value as Record<string, unknown>
  if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 1 || capacity > 1e9) {
    throw rangeError(`${field}.capacity`, 'must be an integer from 1 to 1e9')
  }
  if (typeof refillPerSecond !== 'number' || !Number.isFinite(refillPerSecond) || refillPerSecond <= 0 || refillPerSecond > 1e9) {
    throw rangeError(`${field}.refillPerSecond`, 'must be a number above 0 and at most 1e9')
  }
  return { capacity, refillPerSecond }
}

/** Metadata: a plain JSON object, at most 8 KiB serialised. Copied, so later changes by the caller do not leak in. */
export function metadata(value: unknown, field = 'metadata'): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw typeError(field, 'must be a plain object')
  let json: string
  try {
    json = JSON.stringify(value)
  } catch {
    throw typeError(field, 'must be JSON-serialisable')
  }
  if (json.length > 8192) throw rangeError(field, 'must be at most 8 KiB as JSON')
  const copy = JSON.parse(json) as Record<string, unknown>
  storable(copy, field)
  return copy
}

export function graceMs(value: unknown, field = 'graceMs'): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw typeError(field, 'must be a number of milliseconds')
  if (value < 0) throw rangeError(field, 'must not be negative')
  if (value > MAX_GRACE_MS) throw rangeError(field, 'must be at most 365 days')
  return Math.floor(value)
}

export function bool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw typeError(field, 'must be a boolean')
  return value
}

/** Rejects fields that an input object must not carry (typos become errors, not silent no-ops). */
export function onlyFields(input: object, allowed: ReadonlySet<string>, what: string): void {
  knownFields(input, allowed, what)
}
