/**
 * Key management: issuing, importing, editing, rotating and deleting keys and key groups.
 * @module
 */
import { rangeError, typeError } from '../errors.js'
import { createHasher, type Hasher } from '../keys/hash.js'
import { insightAppSecRoles } from '../roles.js'
import type { GroupFilter, KeyFilter, KeyGroup, KeyRecord, ManagedKeyStore, OwnerRecord, StoreChange } from '../types.js'
import * as F from './fields.js'
import * as G from './_manager-groups.js'
import { checkManager, groupFilter, keyFilter } from './_manager-checks.js'
import { object, patchKey } from './_manager-edits.js'
import { freshKey, groupForKey, importKey, inGroup, issueKey, type KeyContext } from './_manager-issue.js'
import { modifyKey, revokeKey, type KeyChange } from './_manager-modify.js'
import { PATCH_FIELDS } from './_manager-options.js'
import type { GroupOptions, GroupPatch, ImportOptions, IssuedKey, IssueOptions, KeyManagerOptions, KeyPatch, RotateOptions } from './_manager-options.js'

export type { GroupOptions, GroupPatch, ImportOptions, IssuedKey, IssueOptions, KeyManagerOptions, KeyPatch, RotateOptions } from './_manager-options.js'
export type { StoreChange } from '../types.js'

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
  readonly #now: () => number
  readonly #onWrite: ((change: StoreChange) => void) | undefined
  readonly #locks = new Map<string, Promise<unknown>>()
  readonly #context: KeyContext

  constructor(store: ManagedKeyStore, options: KeyManagerOptions = {}) {
    checkManager(store, options)
    this.#store = store
    this.#hash = createHasher(options.pepper)
    this.#now = options.now ?? Date.now
    this.#onWrite = options.onWrite
    this.#context = {
      store,
      roles: options.roles ?? insightAppSecRoles,
      prefix: options.prefix,
      environment: options.environment,
      hash: (key) => this.#hash(key),
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

  /**
   * Issues a new key. The plaintext is in the result once; only its hash is stored.
   *
   * @example
   * ```ts
   * const { key, record } = await manager.issue({ kind: 'org', tenant: 'acme', description: 'Org key' })
   * ```
   */
  async issue(options: IssueOptions): Promise<IssuedKey> {
    return issueKey(this.#context, options)
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
    return importKey(this.#context, options)
  }

  /** The key record (without any secret), or `undefined`. */
  async get(keyId: string): Promise<KeyRecord | undefined> {
    return this.#store.getKey(F.id(keyId))
  }

  /** Keys matching every field of `filter` (tenant, group, owner, kind, active). */
  async list(filter: KeyFilter = {}): Promise<KeyRecord[]> {
    return this.#store.listKeys(keyFilter(filter))
  }

  /** A validated change to one key, through the one compare-and-swap path of `modifyKey`. */
  async #modify(keyId: string, change: KeyChange): Promise<KeyRecord> {
    return modifyKey(this.#context, keyId, change)
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
    return inGroup(this.#context, p.group, () => this.#modify(keyId, async (old, now) => {
      const r = patchKey(old, p, now, this.#context.roles)
      if (p.group === null) r.group = undefined
      else if (p.group !== undefined) r.group = (await groupForKey(this.#context, p.group as string, r.tenant)).id
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
    return revokeKey(this.#context, keyId, { deactivate: true })
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
    return revokeKey(this.#context, keyId, { endGrace: true })
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
      const fresh = freshKey(this.#context)
      key = fresh.key
      const { start: _old, ...rest } = r
      const { hash, start } = fresh
      return { ...rest, hash, previousHash: r.hash, previousExpiresAt: now + grace, ...(start === undefined ? {} : { start }) }
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
    return this.#store.listGroups(groupFilter(filter))
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

