/**
 * Key management: issuing, importing, editing, rotating and deleting keys and key groups.
 * @module
 */
import { fieldsOf, knownFields } from '../_options.js'
import { ConflictError, NotFoundError, rangeError, typeError } from '../errors.js'
import { randomBase62 } from '../keys/_base62.js'
import { generateKey, parseKey, validateKeyOptions } from '../keys/format.js'
import { randomBytes } from '../keys/_random.js'
import { createHasher, type Hasher, type Pepper } from '../keys/hash.js'
import { insightAppSecRoles, type Roles } from '../roles.js'
import type { GroupFilter, KeyFilter, KeyGroup, KeyKind, KeyRecord, ManagedKeyStore, OwnerRecord, RateLimitSpec, StoreChange } from '../types.js'
import * as F from './_fields.js'

/** Options of {@link KeyManager}. */
export interface KeyManagerOptions {
  /**
   * HMAC key for hashing; must be the authorizer's `pepper`. At least 32 bytes.
   * @default undefined (plain SHA-256)
   * @example process.env.KEYWARD_PEPPER
   */
  pepper?: Pepper | undefined
  /**
   * Prefix of issued keys.
   * @default 'kw'
   * @example 'acme'
   */
  prefix?: string
  /**
   * Environment segment of issued keys, e.g. `live`.
   * @default undefined (no segment)
   * @example 'live'
   */
  environment?: string
  /**
   * Role matrix that `role` and `scopes` are validated against; the authorizer's `roles`.
   * @default insightAppSecRoles
   * @example defineRoles({ levels: ['read', 'write'], roles: { viewer: ['reports:read'] } })
   */
  roles?: Roles
  /**
   * Clock, epoch milliseconds.
   * @default Date.now
   * @example () => fakeClock.now
   */
  now?: () => number
  /**
   * Called after every successful write, with what changed. Used to propagate invalidations to
   * other instances' caches. `hashes` lists every hash the write affected (old and new), so
   * cached lookups can be dropped by hash. Exceptions thrown here are swallowed.
   * @default undefined
   * @example (change) => bus.publish(change)
   */
  onWrite?: (change: StoreChange) => void
}

export type { StoreChange } from '../types.js'

/** Fields of a new key. Every field is validated before anything is written. */
export interface IssueOptions {
  /**
   * `user` (acts for `owner`, with a role), `org` (every permission of the matrix, in its
   * tenant), `tenant` (a Contrast organization key: grants nothing on its own).
   * @example 'user'
   */
  kind: KeyKind
  /**
   * Tenant the key belongs to. Required for `tenant` keys.
   * @default undefined (no tenant: only usable by a single-tenant authorizer)
   * @example 'acme'
   */
  tenant?: string
  /**
   * Key group id; the group must exist and be in the same tenant.
   * @default undefined (no group)
   * @example 'grp_3kTMd2kP0bV7tq9y'
   */
  group?: string
  /**
   * On Behalf Of: the user the key acts for. Required for `user` keys.
   * @default undefined
   * @example 'ana@acme.test'
   */
  owner?: string
  /**
   * In Role: a role of the matrix. `user` keys only. The owner's directory role, when set, wins.
   * @default undefined (no role: the key holds no permission unless its owner has a role)
   * @example 'Read Write'
   */
  role?: string
  /**
   * Narrow the role's permissions to these (`resource:level`). `user` and `org` keys only.
   * @default undefined (the role's permissions, unnarrowed)
   * @example ['scans:read', 'apps:manage']
   */
  scopes?: string[]
  /**
   * Operations granted explicitly (for an authorizer with `explicitGrants`).
   * @default undefined (none)
   * @example ['getProjects', 'getVulnerabilities']
   */
  grants?: string[]
  /**
   * Extra allowed client addresses or CIDRs, canonical IPv4/IPv6.
   * @default undefined (any address)
   * @example ['203.0.113.0/24', '2001:db8::/32']
   */
  allowedIps?: string[]
  /**
   * Activated: an inactive key is refused (`key_disabled`).
   * @default true
   * @example false
   */
  active?: boolean
  /**
   * Expiry, as a `Date` or epoch milliseconds; must be in the future. Keys are static unless set.
   * @default undefined (never expires)
   * @example new Date('2027-01-01T00:00:00Z')
   */
  expiresAt?: number | Date
  /**
   * This key's own rate limit, overriding the limiter's default.
   * @default undefined (the limiter's default)
   * @example { capacity: 10, refillPerSecond: 1 }
   */
  rateLimit?: RateLimitSpec
  /**
   * Free text shown to administrators (at most 1024 characters).
   * @default undefined
   * @example 'CI pipeline of the billing team'
   */
  description?: string
  /**
   * JSON data copied to the principal (at most 8 KiB). Must not hold secrets.
   * @default undefined
   * @example { team: 'billing' }
   */
  metadata?: Record<string, unknown>
}

/** Fields of {@link KeyManager.import}: an existing key and its record fields. */
export interface ImportOptions extends IssueOptions {
  /**
   * The existing plaintext key (e.g. an Ivanti Reference ID, a UUID). Hashed on the way in,
   * never stored. A key in keyward's own shape must have a valid checksum.
   * @example '3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44'
   */
  key: string
}

/** Editable key fields. `null` clears an optional field. */
export interface KeyPatch {
  group?: string | null
  owner?: string
  role?: string | null
  scopes?: string[] | null
  grants?: string[]
  allowedIps?: string[] | null
  active?: boolean
  expiresAt?: number | Date | null
  rateLimit?: RateLimitSpec | null
  description?: string | null
  metadata?: Record<string, unknown> | null
}

/** Fields of a new key group. */
export interface GroupOptions {
  /**
   * Name shown to administrators (1–128 printable characters).
   * @example 'Integrations'
   */
  name: string
  /**
   * Free text (at most 1024 characters).
   * @default undefined
   * @example 'Partner systems of the EU region'
   */
  description?: string
  /**
   * Tenant of the group; only keys of the same tenant can join it.
   * @default undefined (no tenant)
   * @example 'acme'
   */
  tenant?: string
  /**
   * Addresses allowed for every key of the group (a key with its own list must pass both).
   * @default undefined (any address)
   * @example ['198.51.100.0/24']
   */
  allowedIps?: string[]
  /**
   * A deactivated group disables every key in it (`group_disabled`).
   * @default true
   * @example false
   */
  active?: boolean
}

/** Editable group fields. `null` clears an optional field. */
export interface GroupPatch {
  name?: string
  description?: string | null
  allowedIps?: string[] | null
  active?: boolean
}

/** Options of {@link KeyManager.rotate}. */
export interface RotateOptions {
  /**
   * How long the replaced key keeps working, in milliseconds (0: it stops at once). At most 365 days.
   * @example 24 * 3600_000
   */
  graceMs: number
}

/** A new key: `key` is the plaintext, shown once and never stored. */
export interface IssuedKey {
  readonly key: string
  readonly record: KeyRecord
}

const ISSUE_FIELDS: ReadonlySet<string> = new Set([
  'kind', 'tenant', 'group', 'owner', 'role', 'scopes', 'grants', 'allowedIps', 'active', 'expiresAt', 'rateLimit', 'description', 'metadata',
])
const IMPORT_FIELDS: ReadonlySet<string> = new Set([...ISSUE_FIELDS, 'key'])
const MANAGER_FIELDS = fieldsOf<KeyManagerOptions>({ pepper: true, prefix: true, environment: true, roles: true, now: true, onWrite: true })
const PATCH_FIELDS: ReadonlySet<string> = new Set([
  'group', 'owner', 'role', 'scopes', 'grants', 'allowedIps', 'active', 'expiresAt', 'rateLimit', 'description', 'metadata',
])
const GROUP_FIELDS: ReadonlySet<string> = new Set(['name', 'description', 'tenant', 'allowedIps', 'active'])
const GROUP_PATCH_FIELDS: ReadonlySet<string> = new Set(['name', 'description', 'allowedIps', 'active'])

/** Compare-and-swap attempts before a write that keeps meeting concurrent writers gives up. */
const MAX_ATTEMPTS = 5

function object(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw typeError(field, 'must be an object')
  return value as Record<string, unknown>
}

function newId(prefix: string): string {
  return `${prefix}_${randomBase62(16, randomBytes)}`
}

/** Removes keys whose value is `undefined`, so stored records have no ghost fields. */
function compact<T extends object>(r: T): T {
  for (const k of Object.keys(r) as (keyof T)[]) if (r[k] === undefined) delete r[k]
  return r
}

/**
 * Issues and manages keys and key groups on a `ManagedKeyStore`.
 *
 * Every method validates all of its input before it writes anything; invalid input throws a
 * `TypeError`/`RangeError` naming the field and changes nothing. Writes to one key or group are
 * serialised, so concurrent edits do not lose each other.
 *
 * @example
 * ```ts
 * import { KeyManager, MemoryKeyStore } from 'keyward'
 * const manager = new KeyManager(new MemoryKeyStore(), { pepper: process.env.KEYWARD_PEPPER })
 * const group = await manager.createGroup({ name: 'Integrations', tenant: 'acme' })
 * const { key, record } = await manager.issue({
 *   kind: 'user', tenant: 'acme', group: group.id, owner: 'ana@acme.test', role: 'Read Write',
 *   allowedIps: ['203.0.113.0/24'], description: 'CI pipeline',
 * })
 * // show `key` once; keep `record.id`
 * const rotated = await manager.rotate(record.id, { graceMs: 24 * 3600_000 })
 * ```
 */
export class KeyManager {
  readonly #store: ManagedKeyStore
  readonly #hash: Hasher
  readonly #prefix: string | undefined
  readonly #environment: string | undefined
  readonly #roles: Roles
  readonly #now: () => number
  readonly #onWrite: ((change: StoreChange) => void) | undefined
  readonly #locks = new Map<string, Promise<unknown>>()

  constructor(store: ManagedKeyStore, options: KeyManagerOptions = {}) {
    if (store === null || typeof store !== 'object') throw typeError('store', 'must be a key store')
    for (const m of ['getKey', 'insertKey', 'updateKey', 'deleteKey', 'listKeys', 'getGroup', 'insertGroup', 'updateGroup', 'deleteGroup', 'listGroups'] as const) {
      if (typeof store[m] !== 'function') throw typeError('store', `must implement ${m}() to be managed`)
    }
    knownFields(object(options, 'options'), MANAGER_FIELDS, 'options')
    validateKeyOptions(options)
    if (options.roles !== undefined && (typeof options.roles !== 'object' || typeof options.roles.has !== 'function')) {
      throw typeError('roles', 'must come from defineRoles()')
    }
    if (options.now !== undefined && typeof options.now !== 'function') throw typeError('now', 'must be a function')
    if (options.onWrite !== undefined && typeof options.onWrite !== 'function') throw typeError('onWrite', 'must be a function')
    this.#store = store
    this.#hash = createHasher(options.pepper)
    this.#prefix = options.prefix
    this.#environment = options.environment
    this.#roles = options.roles ?? insightAppSecRoles
    this.#now = options.now ?? Date.now
    this.#onWrite = options.onWrite
  }

  /** The store this manager writes to. */
  get store(): ManagedKeyStore {
    return this.#store
  }

  #emit(change: StoreChange): void {
    try {
      this.#onWrite?.(change)
    } catch {
      // A listener's failure must not turn a completed write into an error.
    }
  }

  /** Serialises read-modify-write sequences on one id. */
  async #locked<T>(lockId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(lockId) ?? Promise.resolve()
    const run = prev.then(fn, fn)
    const tail = run.catch(() => undefined)
    this.#locks.set(lockId, tail)
    try {
      return await run
    } finally {
      if (this.#locks.get(lockId) === tail) this.#locks.delete(lockId)
    }
  }

  async #mustGetKey(keyId: string): Promise<KeyRecord> {
    const r = await this.#store.getKey(F.id(keyId))
    if (!r) throw new NotFoundError(`key ${keyId} does not exist`)
    return r
  }

  async #mustGetGroup(groupId: string): Promise<KeyGroup> {
    const g = await this.#store.getGroup(F.id(groupId, 'group'))
    if (!g) throw new NotFoundError(`group ${groupId} does not exist`)
    return g
  }

  /**
   * The group a key of `tenant` may join. A group of another tenant gets the same error as an
   * absent one, so a caller cannot probe other tenants' group ids.
   */
  async #groupForKey(groupId: string, tenant: string | undefined): Promise<KeyGroup> {
    const g = await this.#store.getGroup(F.id(groupId, 'group'))
    if (!g || g.tenant !== tenant) throw new NotFoundError(`group ${groupId} does not exist`)
    return g
  }

  /** Runs `fn` holding the lock of `groupId` (if any), so a group cannot be deleted while a key joins it. */
  async #inGroup<T>(groupId: unknown, fn: () => Promise<T>): Promise<T> {
    return typeof groupId === 'string' ? this.#locked(`group:${groupId}`, fn) : fn()
  }

  /** Validates issue/import fields into a record without id/hash. */
  async #buildRecord(input: Record<string, unknown>, now: number): Promise<Omit<KeyRecord, 'id' | 'hash'>> {
    const kind = F.kind(input.kind)
    const r: Omit<KeyRecord, 'id' | 'hash'> = { kind, active: input.active === undefined ? true : F.bool(input.active, 'active'), createdAt: now }
    if (input.tenant !== undefined) r.tenant = F.tenant(input.tenant)
    if (input.owner !== undefined) r.owner = F.owner(input.owner)
    if (input.role !== undefined) r.role = F.role(input.role, this.#roles)
    if (input.scopes !== undefined) r.scopes = F.scopes(input.scopes, this.#roles)
    if (input.grants !== undefined) r.grants = F.operations(input.grants)
    if (input.allowedIps !== undefined) r.allowedIps = F.allowedIps(input.allowedIps)
    if (input.expiresAt !== undefined) r.expiresAt = F.expiresAt(input.expiresAt, now)
    if (input.rateLimit !== undefined) r.rateLimit = F.rateLimit(input.rateLimit)
    if (input.description !== undefined) r.description = F.description(input.description)
    if (input.metadata !== undefined) r.metadata = F.metadata(input.metadata)
    if (kind === 'user' && r.owner === undefined) throw rangeError('owner', 'is required for user keys (On Behalf Of)')
    if (kind !== 'user' && r.role !== undefined) throw rangeError('role', `does not apply to ${kind} keys`)
    if (kind === 'tenant') {
      if (r.tenant === undefined) throw rangeError('tenant', 'is required for tenant keys')
      if (r.scopes !== undefined) throw rangeError('scopes', 'does not apply to tenant keys: they grant nothing')
      if (r.grants !== undefined) throw rangeError('grants', 'does not apply to tenant keys: they grant nothing')
    }
    if (input.group !== undefined) r.group = (await this.#groupForKey(input.group as string, r.tenant)).id
    return r
  }

  /**
   * Issues a new key. The plaintext is in the result once; only its hash is stored.
   *
   * @example
   * ```ts
   * const { key, record } = await manager.issue({ kind: 'org', tenant: 'acme', description: 'Org key' })
   * ```
   */
  async issue(options: IssueOptions): Promise<IssuedKey> {
    const input = object(options, 'options')
    F.onlyFields(input, ISSUE_FIELDS, 'options')
    return this.#inGroup(input.group, async () => {
      const now = this.#now()
      const base = await this.#buildRecord(input, now)
      const key = generateKey({ prefix: this.#prefix, environment: this.#environment })
      const record = { ...base, id: newId('key'), hash: this.#hash(key) } as KeyRecord
      await this.#store.insertKey(record)
      this.#emit({ type: 'key', id: record.id, hashes: [record.hash] })
      return { key, record: (await this.#store.getKey(record.id)) ?? record }
    })
  }

  /**
   * Imports an existing key (for example an Ivanti Reference ID, which is a UUID). The key is
   * hashed on the way in and never stored. A key in keyward's own shape must have a valid checksum.
   *
   * @example
   * ```ts
   * await manager.import({ key: '3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44', kind: 'user', owner: 'svc', role: 'Read Only', tenant: 't1' })
   * ```
   */
  async import(options: ImportOptions): Promise<KeyRecord> {
    const input = object(options, 'options')
    F.onlyFields(input, IMPORT_FIELDS, 'options')
    const key = input.key
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
    return this.#inGroup(input.group, async () => {
      const now = this.#now()
      const base = await this.#buildRecord(input, now)
      const hash = this.#hash(key)
      if (await this.#store.findByHash(hash)) throw new ConflictError('this key is already registered')
      const record = { ...base, id: newId('key'), hash } as KeyRecord
      await this.#store.insertKey(record)
      this.#emit({ type: 'key', id: record.id, hashes: [hash] })
      return (await this.#store.getKey(record.id)) ?? record
    })
  }

  /** The key record (without any secret), or `undefined`. */
  async get(keyId: string): Promise<KeyRecord | undefined> {
    return this.#store.getKey(F.id(keyId))
  }

  /** Keys matching every field of `filter` (tenant, group, owner, kind, active). */
  async list(filter: KeyFilter = {}): Promise<KeyRecord[]> {
    const f = object(filter, 'filter')
    F.onlyFields(f, new Set(['tenant', 'group', 'owner', 'kind', 'active']), 'filter')
    const clean: KeyFilter = {}
    if (f.tenant !== undefined) clean.tenant = F.tenant(f.tenant, 'filter.tenant')
    if (f.group !== undefined) clean.group = F.id(f.group, 'filter.group')
    if (f.owner !== undefined) clean.owner = F.owner(f.owner, 'filter.owner')
    if (f.kind !== undefined) clean.kind = F.kind(f.kind, 'filter.kind')
    if (f.active !== undefined) clean.active = F.bool(f.active, 'filter.active')
    return this.#store.listKeys(clean)
  }

  /**
   * Applies a validated change to one key: serialised within this manager by a lock, and across
   * managers (other instances) by the store's compare-and-swap, retried on a fresh read, so an
   * edit based on a stale read never writes back a key that was revoked meanwhile.
   */
  async #modify(keyId: string, change: (r: KeyRecord, now: number) => Promise<KeyRecord> | KeyRecord): Promise<KeyRecord> {
    return this.#locked(`key:${keyId}`, async () => {
      let old: KeyRecord
      let next: KeyRecord
      for (let attempt = 1; ; attempt++) {
        old = await this.#mustGetKey(keyId)
        const now = this.#now()
        next = compact({ ...(await change(old, now)), updatedAt: now })
        try {
          await this.#store.updateKey(next, old)
          break
        } catch (e) {
          if (!(e instanceof ConflictError) || attempt >= MAX_ATTEMPTS) throw e
        }
      }
      const hashes = new Set([old.hash, next.hash])
      if (old.previousHash !== undefined) hashes.add(old.previousHash)
      this.#emit({ type: 'key', id: next.id, hashes: [...hashes] })
      return (await this.#store.getKey(next.id)) ?? next
    })
  }

  /**
   * Edits a key. `null` clears an optional field. Kind and tenant cannot change.
   *
   * @example
   * ```ts
   * await manager.update(id, { role: 'Read Only', description: 'downgraded', expiresAt: null })
   * ```
   */
  async update(keyId: string, patch: KeyPatch): Promise<KeyRecord> {
    const p = object(patch, 'patch')
    F.onlyFields(p, PATCH_FIELDS, 'patch')
    return this.#inGroup(p.group, () => this.#modify(keyId, async (old, now) => {
      const r: KeyRecord = { ...old }
      if (p.owner !== undefined) r.owner = F.owner(p.owner)
      if (p.role !== undefined) r.role = p.role === null ? undefined : F.role(p.role, this.#roles)
      if (p.scopes !== undefined) r.scopes = p.scopes === null ? undefined : F.scopes(p.scopes, this.#roles)
      if (p.grants !== undefined) r.grants = F.operations(p.grants)
      if (p.allowedIps !== undefined) r.allowedIps = p.allowedIps === null ? undefined : F.allowedIps(p.allowedIps)
      if (p.active !== undefined) r.active = F.bool(p.active, 'active')
      if (p.expiresAt !== undefined) r.expiresAt = p.expiresAt === null ? undefined : F.expiresAt(p.expiresAt, now)
      if (p.rateLimit !== undefined) r.rateLimit = p.rateLimit === null ? undefined : F.rateLimit(p.rateLimit)
      if (p.description !== undefined) r.description = p.description === null ? undefined : F.description(p.description)
      if (p.metadata !== undefined) r.metadata = p.metadata === null ? undefined : F.metadata(p.metadata)
      if (r.kind !== 'user' && r.role !== undefined) throw rangeError('role', `does not apply to ${r.kind} keys`)
      if (r.kind === 'tenant' && (r.scopes !== undefined || (r.grants !== undefined && r.grants.length > 0))) {
        throw rangeError(r.scopes !== undefined ? 'scopes' : 'grants', 'does not apply to tenant keys: they grant nothing')
      }
      if (p.group !== undefined) {
        if (p.group === null) r.group = undefined
        else r.group = (await this.#groupForKey(p.group as string, r.tenant)).id
      }
      return r
    }))
  }

  /** Turns a key on. */
  async activate(keyId: string): Promise<KeyRecord> {
    return this.#modify(keyId, (r) => ({ ...r, active: true }))
  }

  /** Turns a key off: it is denied (`key_disabled`) from the next request on. */
  async deactivate(keyId: string): Promise<KeyRecord> {
    return this.#modify(keyId, (r) => ({ ...r, active: false }))
  }

  /** Deletes a key; `false` if it did not exist. */
  async delete(keyId: string): Promise<boolean> {
    return this.#locked(`key:${keyId}`, async () => {
      const old = await this.#store.getKey(F.id(keyId))
      if (!old) return false
      const done = await this.#store.deleteKey(old.id)
      const hashes = old.previousHash === undefined ? [old.hash] : [old.hash, old.previousHash]
      if (done) this.#emit({ type: 'key', id: old.id, hashes })
      return done
    })
  }

  /**
   * Replaces a key's secret. The new key is returned once. The old key keeps working for
   * `graceMs`, then is denied with reason `key_rotated`. Everything else (id, role, grants,
   * allowlist, tenant) stays, and later edits apply to both keys during the grace period.
   * Rotating again during a grace period ends the earlier grace at once: only one previous key
   * is ever kept.
   *
   * @example
   * ```ts
   * const { key } = await manager.rotate(id, { graceMs: 60 * 60_000 }) // old key works one more hour
   * ```
   */
  async rotate(keyId: string, options: RotateOptions): Promise<IssuedKey> {
    const o = object(options, 'options')
    F.onlyFields(o, new Set(['graceMs']), 'options')
    const grace = F.graceMs(o.graceMs)
    let key = ''
    const record = await this.#modify(keyId, (r, now) => {
      key = generateKey({ prefix: this.#prefix, environment: this.#environment })
      return { ...r, hash: this.#hash(key), previousHash: r.hash, previousExpiresAt: now + grace }
    })
    return { key, record }
  }

  /** Grants operations to a key (explicit grants). */
  async grant(keyId: string, operations: string[]): Promise<KeyRecord> {
    const ops = F.operations(operations, 'operations')
    return this.#modify(keyId, (r) => {
      if (r.kind === 'tenant') throw rangeError('operations', 'tenant keys grant nothing')
      return { ...r, grants: [...new Set([...(r.grants ?? []), ...ops])] }
    })
  }

  /** Revokes granted operations from a key. */
  async revokeGrant(keyId: string, operations: string[]): Promise<KeyRecord> {
    const ops = new Set(F.operations(operations, 'operations'))
    return this.#modify(keyId, (r) => ({ ...r, grants: (r.grants ?? []).filter((g) => !ops.has(g)) }))
  }

  /** Adds addresses/CIDRs to a key's allowlist (creating it if the key had none). */
  async addAllowedIps(keyId: string, entries: string[]): Promise<KeyRecord> {
    const add = F.allowedIps(entries, 'entries')
    return this.#modify(keyId, (r) => ({ ...r, allowedIps: F.allowedIps([...(r.allowedIps ?? []), ...add]) }))
  }

  /**
   * Removes addresses/CIDRs from a key's allowlist. Removing the last entry leaves an empty list,
   * which admits no address: it never silently lifts the restriction. To lift it, use
   * `update(id, { allowedIps: null })`.
   */
  async removeAllowedIps(keyId: string, entries: string[]): Promise<KeyRecord> {
    const drop = new Set(F.allowedIps(entries, 'entries'))
    return this.#modify(keyId, (r) => ({ ...r, allowedIps: (r.allowedIps ?? []).filter((e) => !drop.has(e)) }))
  }

  /**
   * Creates a key group.
   *
   * @example
   * ```ts
   * const g = await manager.createGroup({ name: 'Partner A', tenant: 'acme', allowedIps: ['198.51.100.0/24'] })
   * ```
   */
  async createGroup(options: GroupOptions): Promise<KeyGroup> {
    const input = object(options, 'options')
    F.onlyFields(input, GROUP_FIELDS, 'options')
    const g: KeyGroup = {
      id: newId('grp'),
      name: F.name(input.name),
      active: input.active === undefined ? true : F.bool(input.active, 'active'),
      createdAt: this.#now(),
    }
    if (input.description !== undefined) g.description = F.description(input.description)
    if (input.tenant !== undefined) g.tenant = F.tenant(input.tenant)
    if (input.allowedIps !== undefined) g.allowedIps = F.allowedIps(input.allowedIps)
    await this.#store.insertGroup(g)
    this.#emit({ type: 'group', id: g.id })
    return (await this.#store.getGroup(g.id)) ?? g
  }

  /** The group, or `undefined`. */
  async getGroup(groupId: string): Promise<KeyGroup | undefined> {
    return this.#store.getGroup(F.id(groupId, 'group'))
  }

  /** Groups, optionally of one tenant. */
  async listGroups(filter: GroupFilter = {}): Promise<KeyGroup[]> {
    const f = object(filter, 'filter')
    F.onlyFields(f, new Set(['tenant']), 'filter')
    return this.#store.listGroups(f.tenant === undefined ? {} : { tenant: F.tenant(f.tenant, 'filter.tenant') })
  }

  /** Edits a group. Deactivating it disables all of its keys. */
  async updateGroup(groupId: string, patch: GroupPatch): Promise<KeyGroup> {
    const p = object(patch, 'patch')
    F.onlyFields(p, GROUP_PATCH_FIELDS, 'patch')
    return this.#locked(`group:${groupId}`, async () => {
      let g: KeyGroup
      for (let attempt = 1; ; attempt++) {
        const old = await this.#mustGetGroup(groupId)
        g = { ...old }
        if (p.name !== undefined) g.name = F.name(p.name)
        if (p.description !== undefined) g.description = p.description === null ? undefined : F.description(p.description)
        if (p.allowedIps !== undefined) g.allowedIps = p.allowedIps === null ? undefined : F.allowedIps(p.allowedIps)
        if (p.active !== undefined) g.active = F.bool(p.active, 'active')
        g.updatedAt = this.#now()
        try {
          await this.#store.updateGroup(compact(g), old)
          break
        } catch (e) {
          if (!(e instanceof ConflictError) || attempt >= MAX_ATTEMPTS) throw e
        }
      }
      this.#emit({ type: 'group', id: g.id })
      return (await this.#store.getGroup(g.id)) ?? g
    })
  }

  /** Turns a group on. */
  async activateGroup(groupId: string): Promise<KeyGroup> {
    return this.updateGroup(groupId, { active: true })
  }

  /** Turns a group off: every key in it is denied (`group_disabled`). */
  async deactivateGroup(groupId: string): Promise<KeyGroup> {
    return this.updateGroup(groupId, { active: false })
  }

  /** Deletes an empty group; throws `ConflictError` while it still has keys. `false` if it did not exist. */
  async deleteGroup(groupId: string): Promise<boolean> {
    return this.#locked(`group:${groupId}`, async () => {
      const g = await this.#store.getGroup(F.id(groupId, 'group'))
      if (!g) return false
      const keys = await this.#store.listKeys({ group: g.id })
      if (keys.length > 0) throw new ConflictError(`group ${g.id} still has ${keys.length} key(s); move or delete them first`)
      const done = await this.#store.deleteGroup(g.id)
      if (done) this.#emit({ type: 'group', id: g.id })
      return done
    })
  }

  /**
   * Sets an owner's directory entry: their current role and whether they are active. User keys
   * of this owner then act with this role, and are denied (`owner_disabled`) while inactive.
   *
   * @example
   * ```ts
   * await manager.setOwner('ana@acme.test', { role: 'Read Only', active: true })
   * await manager.setOwner('bob@acme.test', { active: false }) // locked: all of Bob's keys stop
   * ```
   */
  async setOwner(ownerId: string, owner: OwnerRecord): Promise<void> {
    const oid = F.owner(ownerId)
    const o = object(owner, 'owner')
    F.onlyFields(o, new Set(['role', 'active']), 'owner')
    const rec: OwnerRecord = { active: F.bool(o.active, 'active') }
    if (o.role !== undefined) rec.role = F.role(o.role, this.#roles)
    if (typeof this.#store.putOwner !== 'function') throw typeError('store', 'does not keep an owner directory (putOwner)')
    await this.#store.putOwner(oid, rec)
    this.#emit({ type: 'owner', id: oid })
  }

  /** Removes an owner's directory entry; their keys then act with their own `role`. */
  async removeOwner(ownerId: string): Promise<boolean> {
    const oid = F.owner(ownerId)
    if (typeof this.#store.deleteOwner !== 'function') throw typeError('store', 'does not keep an owner directory (deleteOwner)')
    const done = await this.#store.deleteOwner(oid)
    if (done) this.#emit({ type: 'owner', id: oid })
    return done
  }
}
