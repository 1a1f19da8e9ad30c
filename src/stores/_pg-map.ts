/**
 * Rows ⇄ records for the Postgres store. A record read back is deep-equal to the one written
 * (what `MemoryKeyStore` would return): absent optional fields stay absent, never `undefined` or
 * `null`; arrays, JSON and epoch-millisecond times come back as written.
 * @module
 */
import { rangeError, typeError } from '../errors.js'
import { KEY_COLUMNS } from './_pg-sql.js'
import { intervalMs } from '../lib/credits.js'
import type { CreditRefill, CreditResult, KeyCredits, KeyGroup, KeyKind, KeyRecord, OwnerRecord, RateLimitSpec } from '../types.js'

type Row = Record<string, unknown>

const KINDS: ReadonlySet<string> = new Set(['user', 'org', 'tenant'])

/** Freezes a record and its nested values, as `MemoryKeyStore` does: records are replaced, never mutated. */
export function freeze<T extends object>(r: T): T {
  for (const v of Object.values(r)) if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) Object.freeze(v)
  return Object.freeze(r)
}

/**
 * bigint columns: node-postgres returns int8 as a string unless the application installed its
 * own type parser (number or BigInt); accept all three.
 */
function num(v: unknown): number {
  if (typeof v === 'number') return v
  if (typeof v === 'string' || typeof v === 'bigint') return Number(v)
  throw new TypeError('postgres store: unexpected value in a bigint column')
}

function json(v: unknown): unknown {
  // Only if the application replaced the jsonb parser with the identity.
  return typeof v === 'string' ? JSON.parse(v) : v
}

function textArray(v: unknown): string[] {
  if (!Array.isArray(v)) throw new TypeError('postgres store: unexpected value in a text[] column')
  return v.map(String)
}

// ---- writing ------------------------------------------------------------------------------------

function optStr(v: unknown, field: string): string | null {
  if (v === undefined) return null
  if (typeof v !== 'string') throw typeError(field, 'must be a string')
  return v
}

function reqStr(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0) throw typeError(field, 'must be a non-empty string')
  return v
}

/** Times are stored as bigint epoch milliseconds, so they must be safe integers. */
function optTime(v: unknown, field: string): number | null {
  if (v === undefined) return null
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw rangeError(field, 'must be an integer number of epoch milliseconds')
  return v
}

function optArray(v: unknown, field: string): string[] | null {
  if (v === undefined) return null
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw typeError(field, 'must be an array of strings')
  return v as string[]
}

function optJson(v: unknown, field: string): string | null {
  if (v === undefined) return null
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw typeError(field, 'must be a plain object')
  // Serialised here, not by node-postgres: it would turn an array-valued field into a
  // Postgres array literal instead of JSON.
  return JSON.stringify(v)
}

/** The parameters of a key row, in `KEY_COLUMNS` order. Throws, naming the field, on a value the schema cannot hold. */
export function keyParams(r: KeyRecord): unknown[] {
  if (r === null || typeof r !== 'object') throw typeError('record', 'must be a key record')
  if (!KINDS.has(r.kind)) throw rangeError('kind', `must be 'user', 'org' or 'tenant'`)
  if (typeof r.active !== 'boolean') throw typeError('active', 'must be a boolean')
  const created = optTime(r.createdAt, 'createdAt')
  if (created === null) throw typeError('createdAt', 'is required')
  return [
    reqStr(r.id, 'id'),
    reqStr(r.hash, 'hash'),
    r.kind,
    optStr(r.tenant, 'tenant'),
    optStr(r.group, 'group'),
    optStr(r.owner, 'owner'),
    optStr(r.role, 'role'),
    optArray(r.scopes, 'scopes'),
    optArray(r.grants, 'grants'),
    optArray(r.allowedIps, 'allowedIps'),
    r.active,
    optTime(r.expiresAt, 'expiresAt'),
    optJson(r.rateLimit, 'rateLimit'),
    optStr(r.description, 'description'),
    optJson(r.metadata, 'metadata'),
    created,
    optTime(r.updatedAt, 'updatedAt'),
    optTime(r.lastUsedAt, 'lastUsedAt'),
    r.previousHash === undefined ? null : reqStr(r.previousHash, 'previousHash'),
    optTime(r.previousExpiresAt, 'previousExpiresAt'),
    ...creditParams(r.credits),
    optStr(r.start, 'start'),
  ]
}

/** credits_remaining, credits_refill, credits_refilled_at, credits_version. */
function creditParams(c: KeyCredits | undefined): unknown[] {
  if (c === undefined) return [null, null, null, null]
  if (c === null || typeof c !== 'object') throw typeError('credits', 'must be { remaining, refill?, refilledAt?, version }')
  const remaining = optTime(c.remaining, 'credits.remaining')
  if (remaining === null || remaining < 0) throw rangeError('credits.remaining', 'must be a non-negative integer')
  const version = optTime(c.version, 'credits.version')
  if (version === null) throw rangeError('credits.version', 'must be an integer')
  return [remaining, optJson(c.refill, 'credits.refill'), optTime(c.refilledAt, 'credits.refilledAt'), version]
}

/** The parameters of an update (`EDIT_COLUMNS`): `keyParams` without last_used_at, which only `touch` writes. */
export function editParams(params: readonly unknown[]): unknown[] {
  const skip = KEY_COLUMNS.indexOf('last_used_at')
  return params.filter((_, i) => i !== skip)
}

/** The hashes a record holds, current first. */
export function hashesOf(r: KeyRecord): string[] {
  return r.previousHash === undefined || r.previousHash === r.hash ? [r.hash] : [r.hash, r.previousHash]
}

/** The parameters of a group row, in `GROUP_COLUMNS` order. */
export function groupParams(g: KeyGroup): unknown[] {
  if (g === null || typeof g !== 'object') throw typeError('group', 'must be a key group')
  if (typeof g.active !== 'boolean') throw typeError('active', 'must be a boolean')
  const created = optTime(g.createdAt, 'createdAt')
  if (created === null) throw typeError('createdAt', 'is required')
  return [
    reqStr(g.id, 'id'),
    reqStr(g.name, 'name'),
    optStr(g.description, 'description'),
    optStr(g.tenant, 'tenant'),
    g.active,
    optArray(g.allowedIps, 'allowedIps'),
    created,
    optTime(g.updatedAt, 'updatedAt'),
  ]
}

/** The parameters of an owner row: id, role, active, updated_at. */
export function ownerParams(id: string, o: OwnerRecord, at: number): unknown[] {
  if (o === null || typeof o !== 'object') throw typeError('owner', 'must be { role?, active }')
  if (typeof o.active !== 'boolean') throw typeError('active', 'must be a boolean')
  // Not stored by this table: dropping them would leave the owner without their per-product
  // ceiling or grants, so they are refused rather than lost.
  for (const f of ['roles', 'grants'] as const) {
    if (o[f] !== undefined) throw typeError(f, 'is not kept by PostgresKeyStore; use role (one role in every product) and key grants')
  }
  return [reqStr(id, 'id'), optStr(o.role, 'role'), o.active, at]
}

// ---- reading ------------------------------------------------------------------------------------

/** A `keyward_keys` row as the frozen record `MemoryKeyStore` would hold. */
export function keyFromRow(row: Row): KeyRecord {
  const r: KeyRecord = {
    id: String(row.id),
    hash: String(row.hash),
    kind: String(row.kind) as KeyKind,
    active: row.active === true,
    createdAt: num(row.created_at),
  }
  if (row.tenant != null) r.tenant = String(row.tenant)
  if (row.group_id != null) r.group = String(row.group_id)
  if (row.owner != null) r.owner = String(row.owner)
  if (row.role != null) r.role = String(row.role)
  if (row.scopes != null) r.scopes = textArray(row.scopes)
  if (row.grants != null) r.grants = textArray(row.grants)
  if (row.allowed_ips != null) r.allowedIps = textArray(row.allowed_ips)
  if (row.expires_at != null) r.expiresAt = num(row.expires_at)
  if (row.rate_limit != null) r.rateLimit = json(row.rate_limit) as RateLimitSpec
  if (row.description != null) r.description = String(row.description)
  if (row.metadata != null) r.metadata = json(row.metadata) as Record<string, unknown>
  if (row.updated_at != null) r.updatedAt = num(row.updated_at)
  if (row.last_used_at != null) r.lastUsedAt = num(row.last_used_at)
  if (row.previous_hash != null) r.previousHash = String(row.previous_hash)
  if (row.previous_expires_at != null) r.previousExpiresAt = num(row.previous_expires_at)
  if (row.credits_remaining != null) {
    const c: KeyCredits = { remaining: num(row.credits_remaining), version: row.credits_version == null ? 0 : num(row.credits_version) }
    if (row.credits_refill != null) c.refill = json(row.credits_refill) as CreditRefill
    if (row.credits_refilled_at != null) c.refilledAt = num(row.credits_refilled_at)
    r.credits = c
  }
  if (row.start != null) r.start = String(row.start)
  return freeze(r)
}

/** A `keyward_groups` row as a frozen `KeyGroup`. */
export function groupFromRow(row: Row): KeyGroup {
  const g: KeyGroup = { id: String(row.id), name: String(row.name), active: row.active === true, createdAt: num(row.created_at) }
  if (row.description != null) g.description = String(row.description)
  if (row.tenant != null) g.tenant = String(row.tenant)
  if (row.allowed_ips != null) g.allowedIps = textArray(row.allowed_ips)
  if (row.updated_at != null) g.updatedAt = num(row.updated_at)
  return freeze(g)
}

/** A `keyward_owners` row as a frozen `OwnerRecord`. */
export function ownerFromRow(row: Row): OwnerRecord {
  const o: OwnerRecord = { active: row.active === true }
  if (row.role != null) o.role = String(row.role)
  return freeze(o)
}

/** A row of the consume statement as a `CreditResult`. */
export function creditResultOf(row: Row): CreditResult {
  if (row.remaining == null) return { allowed: row.allowed === true }
  const result: CreditResult = { allowed: row.allowed === true, remaining: num(row.remaining) }
  if (row.refill != null && row.refilled_at != null) result.nextRefillAt = num(row.refilled_at) + intervalMs((json(row.refill) as CreditRefill).interval)
  return result
}
