/**
 * Key management: issuing, importing, editing, rotating and deleting keys and key groups.
 * @module
 */
import { fieldsOf, knownFields } from '../lib/options.js'
import { ConflictError, NotFoundError, rangeError, typeError } from '../errors.js'
import { generateKey, keyStart, validateKeyOptions } from '../keys/format.js'
import { createHasher, type Hasher } from '../keys/hash.js'
import { insightAppSecRoles, type Roles } from '../roles.js'
import type { GroupFilter, KeyFilter, KeyGroup, KeyRecord, KeyRevoke, ManagedKeyStore, OwnerRecord, StoreChange } from '../types.js'
import * as F from './fields.js'
import * as G from './_manager-groups.js'
import { casRetry, compact, importedKey, keyFields, newId, object, patchKey, revoked } from './_manager-edits.js'
import { IMPORT_FIELDS, ISSUE_FIELDS, PATCH_FIELDS } from './_manager-options.js'
import type { GroupOptions, GroupPatch, ImportOptions, IssuedKey, IssueOptions, KeyManagerOptions, KeyPatch, RotateOptions } from './_manager-options.js'

export type { GroupOptions, GroupPatch, ImportOptions, IssuedKey, IssueOptions, KeyManagerOptions, KeyPatch, RotateOptions } from './_manager-options.js'
export type { StoreChange } from '../types.js'

const MANAGER_FIELDS = fieldsOf<KeyManagerOptions>({ pepper: true, prefix: true, environment: true, roles: true, now: true, onWrite: true })

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
  readonly #context: G.ManagerContext

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
    this.#context = {
      store,
      roles: this.#roles,
      now: () => this.#now(),
      emit: (change) => this.#emit(change),
      locked: (lockId, fn) => this.#locked(lockId, fn),
    }
  }

  /**
   * Hashes `key` as this manager stores it (SHA-256, or HMAC-SHA-256 with the manager's pepper):
   * the hash to look a plaintext key up by, for code that receives keys from outside (a leak
   * report) and must not know the pepper. Synchronous; the key is neither stored nor kept.
   *
   * @example
   * ```ts
   * const record = await manager.store.findByHash(manager.hashKey(reportedKey))
   * ```
   */
  hashKey(key: string): string {
    if (typeof key !== 'string') throw typeError('key', 'must be a string')
    return this.#hash(key)
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
    const r = keyFields(input, now, this.#roles)
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
      const start = keyStart(key)
      const record = { ...base, id: newId('key'), hash: this.#hash(key), ...(start === undefined ? {} : { start }) } as KeyRecord
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
    const key = importedKey(input.key)
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
  async #modify(keyId: string, change: (r: KeyRecord, now: number) => Promise<KeyRecord> | KeyRecord, attempts?: number): Promise<KeyRecord> {
    return this.#locked(`key:${keyId}`, async () => {
      const { old, next } = await casRetry(
        () => this.#mustGetKey(keyId),
        async (r) => {
          const now = this.#now()
          return compact({ ...(await change(r, now)), updatedAt: now })
        },
        (n, o) => this.#store.updateKey(n, o),
        attempts,
      )
      this.#emitKey(old, next)
      return (await this.#store.getKey(next.id)) ?? next
    })
  }

  /** Tells listeners every hash a write to a key affected. */
  #emitKey(old: KeyRecord, next: KeyRecord): void {
    const hashes = new Set([old.hash, next.hash])
    if (old.previousHash !== undefined) hashes.add(old.previousHash)
    if (next.previousHash !== undefined) hashes.add(next.previousHash)
    this.#emit({ type: 'key', id: next.id, hashes: [...hashes] })
  }

  /**
   * A revoke, which always wins: one unconditional statement when the store has `revokeKey`
   * (nothing read can make it conflict, no editor can starve it); otherwise a compare-and-swap
   * retried until it lands, never given up because others keep editing.
   */
  async #revoke(keyId: string, revoke: KeyRevoke): Promise<KeyRecord> {
    const id = F.id(keyId)
    if (typeof this.#store.revokeKey !== 'function') {
      return this.#modify(id, (r, now) => revoked(r, revoke, now), Infinity)
    }
    return this.#locked(`key:${id}`, async () => {
      const next = await this.#store.revokeKey!(id, revoke, this.#now())
      if (next === undefined) throw new NotFoundError(`key ${keyId} does not exist`)
      this.#emitKey(next, next)
      return next
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
      const r = patchKey(old, p, now, this.#roles)
      if (p.group === null) r.group = undefined
      else if (p.group !== undefined) r.group = (await this.#groupForKey(p.group as string, r.tenant)).id
      return r
    }))
  }

  /** Turns a key on. */
  async activate(keyId: string): Promise<KeyRecord> {
    return this.#modify(keyId, (r) => ({ ...r, active: true }))
  }

  /**
   * Turns a key off: it is denied (`key_disabled`) from the next request on. A revoke: it always
   * wins over concurrent edits, on this instance or another (see `ManagedKeyStore.revokeKey`).
   */
  async deactivate(keyId: string): Promise<KeyRecord> {
    return this.#revoke(keyId, { deactivate: true })
  }

  /**
   * Ends the grace period of a rotated key's previous secret now: it is denied (`key_rotated`)
   * from the next request on. A revoke, like `deactivate`: it always wins over concurrent edits.
   *
   * @example
   * ```ts
   * await manager.rotate(id, { graceMs: 24 * 3600_000 })
   * await manager.endGrace(id) // the old key stops at once after all
   * ```
   */
  async endGrace(keyId: string): Promise<KeyRecord> {
    return this.#revoke(keyId, { endGrace: true })
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
      const { start: _old, ...rest } = r
      const start = keyStart(key)
      return { ...rest, hash: this.#hash(key), previousHash: r.hash, previousExpiresAt: now + grace, ...(start === undefined ? {} : { start }) }
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
    return G.createGroup(this.#context, options)
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

  /**
   * Edits a group. Deactivating it disables all of its keys; `active: false` is a revoke that
   * lands first and always wins, as `deactivateGroup` does, even if the other fields of the same
   * patch then give up to concurrent editors (`ConflictError`). So does an `allowedIps` that only
   * removes entries (or restricts a group that had no list), on a store with `narrowGroupIps`:
   * one unconditional write that keeps only stored entries also in the new list, so that whatever
   * others write meanwhile, the group admits no address the new list does not. A list with
   * entries the group did not have stays a compare-and-swap (written unconditionally, it could
   * re-admit addresses a concurrent editor had just removed): on `ConflictError`, read the group
   * again and decide again; to tighten a list with a narrower CIDR at once, first set the entries
   * to keep (which always wins), then add the narrower one.
   *
   * @example
   * ```ts
   * await manager.updateGroup(g.id, { allowedIps: ['198.51.100.7'] }) // was ['198.51.100.0/24', '198.51.100.7']: always wins
   * ```
   */
  async updateGroup(groupId: string, patch: GroupPatch): Promise<KeyGroup> {
    return G.updateGroup(this.#context, groupId, patch)
  }

  /** Turns a group on. */
  async activateGroup(groupId: string): Promise<KeyGroup> {
    return this.updateGroup(groupId, { active: true })
  }

  /**
   * Turns a group off: every key in it is denied (`group_disabled`). A revoke: it always wins
   * over concurrent edits, on this instance or another (see `ManagedKeyStore.revokeGroup`).
   */
  async deactivateGroup(groupId: string): Promise<KeyGroup> {
    return G.deactivateGroup(this.#context, groupId)
  }

  /** Deletes an empty group; throws `ConflictError` while it still has keys. `false` if it did not exist. */
  async deleteGroup(groupId: string): Promise<boolean> {
    return G.deleteGroup(this.#context, groupId)
  }

  /**
   * Sets an owner's directory entry: their current role (or a role per product, `roles`), the
   * operations granted to them (`grants`, held by every key of theirs) and whether they are
   * active. User keys of this owner then never act beyond this role (and act with it, under
   * `rolePrecedence: 'owner'`), and are denied (`owner_disabled`) while inactive.
   *
   * @example
   * ```ts
   * await manager.setOwner('ana@acme.test', { role: 'Read Only', active: true })
   * await manager.setOwner('bob@acme.test', { active: false }) // locked: all of Bob's keys stop
   * await manager.setOwner('cy@acme.test', { roles: { appsec: 'Read Write', vm: 'Read Only' }, grants: ['getProjects'], active: true })
   * ```
   */
  async setOwner(ownerId: string, owner: OwnerRecord): Promise<void> {
    return G.setOwner(this.#context, ownerId, owner)
  }

  /** Removes an owner's directory entry; their keys then act with their own `role`. */
  async removeOwner(ownerId: string): Promise<boolean> {
    return G.removeOwner(this.#context, ownerId)
  }
}

