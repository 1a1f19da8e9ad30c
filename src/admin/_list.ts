/**
 * Lists of the admin API: cursor pagination, filters and sort orders, shared by every list.
 *
 * - Order is total and stable: the sort field, then the id (unique), so a page boundary falls
 *   between two well-defined items even when many share a time. A record created, changed or
 *   deleted between two calls never makes another item repeat or disappear.
 * - The cursor is opaque (base64url of the position after the last item returned) and carries
 *   its sort order: a cursor used with another order is refused (400), never misread. It holds
 *   no secret, and tenant scoping is applied to every page regardless of what it says.
 * - `limit` is from 1 to {@link MAX_LIMIT}; default {@link DEFAULT_LIMIT}.
 * @module
 */
import { rangeError } from '../errors.js'
import { START_RANDOM_CHARS } from '../keys/format.js'
import * as F from '../stores/fields.js'
import type { KeyFilter, KeyRecord } from '../types.js'

/** Default page size of every admin list. */
export const DEFAULT_LIMIT = 50
/** Largest page size of every admin list. */
export const MAX_LIMIT = 200

/** Key sort orders: a field, ascending; `-field`, descending. */
export const KEY_SORTS = ['createdAt', '-createdAt', 'lastUsedAt', '-lastUsedAt', 'expiresAt', '-expiresAt', 'owner', '-owner'] as const
export type KeySort = (typeof KEY_SORTS)[number]

/** Key statuses a list can be filtered by. */
export const KEY_STATUSES = ['active', 'inactive', 'expired', 'leaked'] as const

/** Every query parameter of `GET /api/keys`. */
export const KEY_LIST_QUERY = [
  'tenant', 'group', 'owner', 'kind', 'active', 'role', 'status', 'q', 'prefix', 'expiresAfter', 'expiresBefore', 'sort', 'limit', 'cursor',
] as const
/** Every query parameter of `GET /api/groups`. */
export const GROUP_LIST_QUERY = ['limit', 'cursor'] as const

/**
 * Longest `prefix` accepted: a 16-character prefix, `_`, a 16-character environment, `_` and
 * the stored random characters. Anything longer can only be (part of) a whole key, which must
 * never travel in a URL (URLs end up in access logs): it is refused without being echoed.
 */
export const MAX_PREFIX_LENGTH = 16 + 1 + 16 + 1 + START_RANDOM_CHARS
const PREFIX_RE = /^[A-Za-z0-9_]+$/

/** A position in a sorted list: the sort value of the last item returned and its id. */
interface Position {
  readonly sort: string
  readonly value: string | number | null
  readonly id: string
}

function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify([p.sort, p.value, p.id]), 'utf8').toString('base64url')
}

/** The position a cursor names, or a 400 naming `cursor` (never echoing it). */
function decodeCursor(cursor: string, sort: string): Position {
  const bad = (): Error => rangeError('cursor', 'is not a cursor of this list and order; start again without it')
  if (cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad()
  let v: unknown
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw bad()
  }
  if (!Array.isArray(v) || v.length !== 3) throw bad()
  const [s, value, id] = v as unknown[]
  if (s !== sort || typeof id !== 'string') throw bad()
  if (value !== null && typeof value !== 'string' && !(typeof value === 'number' && Number.isFinite(value))) throw bad()
  return { sort, value, id }
}

/** `value` of a record under a sort field: missing values sort after every present one, both ways. */
function sortValue(r: Record<string, unknown>, field: string): string | number | null {
  const v = Object.hasOwn(r, field) ? r[field] : undefined
  return typeof v === 'number' || typeof v === 'string' ? v : null
}

function compareValues(a: string | number | null, b: string | number | null, desc: boolean): number {
  if (a === b) return 0
  if (a === null) return 1
  if (b === null) return -1
  const c = a < b ? -1 : a > b ? 1 : 0
  return desc ? -c : c
}

/** The page after `cursor` of `items` in the order `sort` (`field` or `-field`), and the next cursor. */
export function paginate<T extends { id: string }>(
  items: readonly T[],
  sort: string,
  limit: number,
  cursor: string | undefined,
): { page: T[]; nextCursor?: string } {
  const desc = sort.startsWith('-')
  const field = desc ? sort.slice(1) : sort
  const cmp = (a: { v: string | number | null; id: string }, b: { v: string | number | null; id: string }): number =>
    compareValues(a.v, b.v, desc) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  const keyed = items.map((item) => ({ item, v: sortValue(item as unknown as Record<string, unknown>, field), id: item.id }))
  keyed.sort(cmp)
  let from = 0
  if (cursor !== undefined) {
    const p = decodeCursor(cursor, sort)
    const at = { v: p.value, id: p.id }
    from = keyed.findIndex((k) => cmp(k, at) > 0)
    if (from === -1) from = keyed.length
  }
  const slice = keyed.slice(from, from + limit)
  const last = slice[slice.length - 1]
  if (last === undefined || from + limit >= keyed.length) return { page: slice.map((k) => k.item) }
  return { page: slice.map((k) => k.item), nextCursor: encodeCursor({ sort, value: last.v, id: last.id }) }
}

/** Reads a list's query: refuses unknown and repeated parameters. */
export function parseQuery(query: URLSearchParams, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>()
  for (const [k, v] of query) {
    if (!allowed.includes(k)) throw rangeError(k.length > 64 ? 'query' : k, 'unknown query parameter')
    if (out.has(k)) throw rangeError(k, 'must be given at most once')
    out.set(k, v)
  }
  return out
}

/** `limit`: an integer from 1 to {@link MAX_LIMIT}. */
export function limitOf(q: ReadonlyMap<string, string>): number {
  const raw = q.get('limit')
  if (raw === undefined) return DEFAULT_LIMIT
  if (!/^[0-9]{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LIMIT) throw rangeError('limit', `must be an integer from 1 to ${MAX_LIMIT}`)
  return Number(raw)
}

function timeOf(q: ReadonlyMap<string, string>, name: string): number | undefined {
  const raw = q.get(name)
  if (raw === undefined) return undefined
  if (!/^[0-9]{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw rangeError(name, 'must be epoch milliseconds (a non-negative integer)')
  return Number(raw)
}

/**
 * A pasted key start: letters, digits and `_` only, at most {@link MAX_PREFIX_LENGTH}
 * characters. A longer value is refused without being echoed: it may be a whole key.
 */
export function prefixOf(raw: string): string {
  if (raw.length === 0 || raw.length > MAX_PREFIX_LENGTH || !PREFIX_RE.test(raw)) {
    throw rangeError('prefix', `must be the start of a key: at most ${MAX_PREFIX_LENGTH} letters, digits or underscores (the value is not shown: it may be a key)`)
  }
  return raw
}

/** What a key list is filtered by, beyond what the store filters. */
export interface KeyQuery {
  readonly store: KeyFilter
  readonly role?: string
  readonly status?: (typeof KEY_STATUSES)[number]
  readonly q?: string
  readonly prefix?: string
  readonly expiresAfter?: number
  readonly expiresBefore?: number
  readonly sort: KeySort
  readonly limit: number
  readonly cursor?: string
}

/** Parses `GET /api/keys`'s query (tenant handled by the caller). Throws validation errors naming the parameter. */
export function keyQueryOf(q: ReadonlyMap<string, string>): KeyQuery {
  const store: KeyFilter = {}
  const v = (name: string): string | undefined => q.get(name)
  if (v('group') !== undefined) store.group = F.id(v('group'), 'group')
  if (v('owner') !== undefined) store.owner = F.owner(v('owner'))
  if (v('kind') !== undefined) store.kind = F.kind(v('kind'))
  const active = v('active')
  if (active !== undefined) {
    if (active !== 'true' && active !== 'false') throw rangeError('active', "must be 'true' or 'false'")
    store.active = active === 'true'
  }
  const role = v('role')
  if (role !== undefined && (role.length === 0 || role.length > 128)) throw rangeError('role', 'must be 1-128 characters')
  const status = v('status')
  if (status !== undefined && !(KEY_STATUSES as readonly string[]).includes(status)) throw rangeError('status', `must be one of ${KEY_STATUSES.join(', ')}`)
  const text = v('q')
  if (text !== undefined && text.length > 128) throw rangeError('q', 'must be at most 128 characters')
  const sort = v('sort') ?? 'createdAt'
  if (!(KEY_SORTS as readonly string[]).includes(sort)) throw rangeError('sort', `must be one of ${KEY_SORTS.join(', ')}`)
  const prefix = v('prefix')
  const cursor = v('cursor')
  return {
    store,
    ...(role === undefined ? {} : { role }),
    ...(status === undefined ? {} : { status: status as KeyQuery['status'] & string }),
    ...(text === undefined || text === '' ? {} : { q: text.toLowerCase() }),
    ...(prefix === undefined ? {} : { prefix: prefixOf(prefix) }),
    ...(timeOf(q, 'expiresAfter') === undefined ? {} : { expiresAfter: timeOf(q, 'expiresAfter')! }),
    ...(timeOf(q, 'expiresBefore') === undefined ? {} : { expiresBefore: timeOf(q, 'expiresBefore')! }),
    sort: sort as KeySort,
    limit: limitOf(q),
    ...(cursor === undefined ? {} : { cursor }),
  }
}

/** Whether a key matches the filters the store does not apply. `leaked`: ids with a leak report. */
export function keyMatches(k: KeyRecord, f: KeyQuery, now: number, leaked: ReadonlySet<string>): boolean {
  if (f.role !== undefined && k.role !== f.role) return false
  if (f.q !== undefined && !(k.description ?? '').toLowerCase().includes(f.q)) return false
  if (f.prefix !== undefined && (k.start === undefined || !k.start.startsWith(f.prefix))) return false
  if (f.expiresAfter !== undefined && (k.expiresAt === undefined || k.expiresAt < f.expiresAfter)) return false
  if (f.expiresBefore !== undefined && (k.expiresAt === undefined || k.expiresAt >= f.expiresBefore)) return false
  const expired = k.expiresAt !== undefined && k.expiresAt <= now
  switch (f.status) {
    case 'active':
      return k.active && !expired
    case 'inactive':
      return !k.active
    case 'expired':
      return expired
    case 'leaked':
      return leaked.has(k.id)
    default:
      return true
  }
}
