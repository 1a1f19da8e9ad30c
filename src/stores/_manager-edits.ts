/**
 * The parts of `KeyManager` that do not touch the store: validating input into records and
 * patches, and the compare-and-swap retry that every read-modify-write shares.
 * @module
 */
import { creditsInput, creditsSet } from '../lib/credits.js'
import { randomBytes } from '../keys/random.js'
import { ConflictError, rangeError, typeError } from '../errors.js'
import { randomBase62 } from '../keys/base62.js'
import { parseKey } from '../keys/format.js'
import type { Roles } from '../roles.js'
import type { KeyGroup, KeyRecord, KeyRevoke } from '../types.js'
import * as F from './fields.js'

/** Compare-and-swap attempts before an edit that keeps meeting concurrent writers gives up. */
export const MAX_ATTEMPTS = 5

export function object(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw typeError(field, 'must be an object')
  return value as Record<string, unknown>
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBase62(16, randomBytes)}`
}

/** Removes keys whose value is `undefined`, so stored records have no ghost fields. */
export function compact<T extends object>(r: T): T {
  for (const k of Object.keys(r) as (keyof T)[]) if (r[k] === undefined) delete r[k]
  return r
}

/**
 * Read, change, compare-and-swap; on `ConflictError` (someone wrote in between) read again and
 * retry, at most `attempts` times (`Infinity`: until it lands). `write` receives the record read
 * and what `change` made of it; the result is both.
 */
export async function casRetry<T, N extends T = T>(
  read: () => Promise<T>,
  change: (old: T) => Promise<N> | N,
  write: (next: N, old: T) => Promise<void>,
  attempts = MAX_ATTEMPTS,
): Promise<{ old: T; next: N }> {
  for (let attempt = 1; ; attempt++) {
    const old = await read()
    const next = await change(old)
    try {
      await write(next, old)
      return { old, next }
    } catch (e) {
      if (!(e instanceof ConflictError) || attempt >= attempts) throw e
    }
  }
}

/** The plaintext of `import()`: a key the authorizer could read, with a valid checksum if it has keyward's shape. */
export function importedKey(key: unknown): string {
  if (typeof key !== 'string') throw typeError('key', 'must be a string')
  // Same acceptance rule as the authorizer's extraction: a key it could never read is refused here.
  if (key.length < 8 || key.length > 512) throw rangeError('key', 'must be 8 to 512 characters')
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    if (c < 0x21 || c > 0x7e || c === 0x2c || c === 0x22 || c === 0x3b) {
      throw rangeError('key', 'must be visible ASCII without spaces, quotes, commas or semicolons')
    }
  }
  const parsed = parseKey(key)
  if (parsed && !parsed.valid) throw rangeError('key', 'has keyward\'s shape but a wrong checksum')
  return key
}

/** The rules between fields of an edited key. */
function checkKind(r: KeyRecord): void {
  if (r.kind !== 'user' && r.role !== undefined) throw rangeError('role', `does not apply to ${r.kind} keys`)
  if (r.kind === 'tenant' && (r.scopes !== undefined || (r.grants !== undefined && r.grants.length > 0))) {
    throw rangeError(r.scopes !== undefined ? 'scopes' : 'grants', 'does not apply to tenant keys: they grant nothing')
  }
  if (r.kind === 'tenant' && r.credits !== undefined) throw rangeError('credits', 'does not apply to tenant keys: the user key of the pair pays')
}

/** Validates issue/import fields (all but `group`, which needs the store) into a record without id/hash. */
export function keyFields(input: Record<string, unknown>, now: number, roles: Roles): Omit<KeyRecord, 'id' | 'hash'> {
  const kind = F.kind(input.kind)
  const r: Omit<KeyRecord, 'id' | 'hash'> = { kind, active: input.active === undefined ? true : F.bool(input.active, 'active'), createdAt: now }
  if (input.tenant !== undefined) r.tenant = F.tenant(input.tenant)
  if (input.owner !== undefined) r.owner = F.owner(input.owner)
  if (input.role !== undefined) r.role = F.role(input.role, roles)
  if (input.scopes !== undefined) r.scopes = F.scopes(input.scopes, roles)
  if (input.grants !== undefined) r.grants = F.operations(input.grants)
  if (input.allowedIps !== undefined) r.allowedIps = F.allowedIps(input.allowedIps)
  if (input.expiresAt !== undefined) r.expiresAt = F.expiresAt(input.expiresAt, now)
  if (input.rateLimit !== undefined) r.rateLimit = F.rateLimit(input.rateLimit)
  if (input.credits !== undefined) r.credits = creditsSet(creditsInput(input.credits), undefined, now)
  if (input.description !== undefined) r.description = F.description(input.description)
  if (input.metadata !== undefined) r.metadata = F.metadata(input.metadata)
  if (kind === 'user' && r.owner === undefined) throw rangeError('owner', 'is required for user keys (On Behalf Of)')
  if (kind !== 'user' && r.role !== undefined) throw rangeError('role', `does not apply to ${kind} keys`)
  if (kind === 'tenant') {
    if (r.tenant === undefined) throw rangeError('tenant', 'is required for tenant keys')
    if (r.scopes !== undefined) throw rangeError('scopes', 'does not apply to tenant keys: they grant nothing')
    if (r.grants !== undefined) throw rangeError('grants', 'does not apply to tenant keys: they grant nothing')
    if (r.credits !== undefined) throw rangeError('credits', 'does not apply to tenant keys: the user key of the pair pays')
  }
  return r
}

/** `old` with a validated key patch applied (all but `group`, which needs the store). `null` clears a field. */
export function patchKey(old: KeyRecord, p: Record<string, unknown>, now: number, roles: Roles): KeyRecord {
  const r: KeyRecord = { ...old }
  if (p.owner !== undefined) r.owner = F.owner(p.owner)
  if (p.role !== undefined) r.role = p.role === null ? undefined : F.role(p.role, roles)
  if (p.scopes !== undefined) r.scopes = p.scopes === null ? undefined : F.scopes(p.scopes, roles)
  if (p.grants !== undefined) r.grants = F.operations(p.grants)
  if (p.allowedIps !== undefined) r.allowedIps = p.allowedIps === null ? undefined : F.allowedIps(p.allowedIps)
  if (p.active !== undefined) r.active = F.bool(p.active, 'active')
  if (p.expiresAt !== undefined) r.expiresAt = p.expiresAt === null ? undefined : F.expiresAt(p.expiresAt, now)
  if (p.rateLimit !== undefined) r.rateLimit = p.rateLimit === null ? undefined : F.rateLimit(p.rateLimit)
  if (p.credits !== undefined) r.credits = p.credits === null ? undefined : creditsSet(creditsInput(p.credits), old.credits, now)
  if (p.description !== undefined) r.description = p.description === null ? undefined : F.description(p.description)
  if (p.metadata !== undefined) r.metadata = p.metadata === null ? undefined : F.metadata(p.metadata)
  checkKind(r)
  return r
}

/** `old` with a validated group patch applied. `null` clears a field. */
export function patchGroup(old: KeyGroup, p: Record<string, unknown>, now: number): KeyGroup {
  const g: KeyGroup = { ...old }
  if (p.name !== undefined) g.name = F.name(p.name)
  if (p.description !== undefined) g.description = p.description === null ? undefined : F.description(p.description)
  if (p.allowedIps !== undefined) g.allowedIps = p.allowedIps === null ? undefined : F.allowedIps(p.allowedIps)
  if (p.active !== undefined) g.active = F.bool(p.active, 'active')
  g.updatedAt = now
  return compact(g)
}

/** What a revoke makes of a record, for stores without `revokeKey`. */
export function revoked(r: KeyRecord, revoke: KeyRevoke, now: number): KeyRecord {
  const next: KeyRecord = { ...r }
  if (revoke.deactivate === true) next.active = false
  if (revoke.endGrace === true && r.previousHash !== undefined) next.previousExpiresAt = Math.min(r.previousExpiresAt ?? now, now)
  return next
}
