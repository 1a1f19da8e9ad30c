/**
 * The embedded key store: everything in process memory, nothing on disk.
 * @module
 */
import { charged, creditCount, type Balance } from '../lib/credits.js'
import { ConflictError, NotFoundError, rangeError, typeError } from '../errors.js'
import { sameAs } from './_compare.js'
import { storableGroup, storableKey, storableOwner } from './fields.js'
import type {
  CreditResult,
  GroupFilter,
  KeyFilter,
  KeyGroup,
  KeyRecord,
  KeyRevoke,
  ManagedKeyStore,
  OwnerRecord,
} from '../types.js'

function freezeRecord<T extends object>(r: T): T {
  // Records are shared with the authorizer, which caches what it derives from each record
  // object; freezing makes "replace, never mutate" a guarantee rather than a convention.
  for (const v of Object.values(r)) if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) Object.freeze(v)
  return Object.freeze(r)
}

function matches(r: KeyRecord, f: KeyFilter | undefined): boolean {
  if (!f) return true
  return (
    (f.tenant === undefined || r.tenant === f.tenant) &&
    (f.group === undefined || r.group === f.group) &&
    (f.owner === undefined || r.owner === f.owner) &&
    (f.kind === undefined || r.kind === f.kind) &&
    (f.active === undefined || r.active === f.active)
  )
}

/**
 * In-memory `KeyStore`, the embedded default. Lookups are one `Map.get` by hash. Only hashes
 * are held. Use it for single-process servers, tests and demos; for several instances use a
 * shared store (`keyward/postgres`).
 *
 * @example
 * ```ts
 * import { MemoryKeyStore, KeyManager, createAuthorizer } from 'keyward'
 * const store = new MemoryKeyStore()
 * const manager = new KeyManager(store)
 * const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
 * const authorizer = createAuthorizer({ store })
 * ```
 */
export class MemoryKeyStore implements ManagedKeyStore {
  readonly #byId = new Map<string, KeyRecord>()
  /** Current and previous hashes → the record itself: a lookup is one probe. Kept in step by `#put`. */
  readonly #byHash = new Map<string, KeyRecord>()
  readonly #groups = new Map<string, KeyGroup>()
  readonly #owners = new Map<string, OwnerRecord>()
  /**
   * Live balances of usage-limited keys, by id. The records hold the credits as last set; this
   * map is the authority (`getKey` and `listKeys` show it), changed only by `consumeCredits` and
   * by an edit that sets a new `credits.version`. Records are not replaced per request.
   */
  readonly #balances = new Map<string, Balance>()

  /** Number of keys held. */
  get size(): number {
    return this.#byId.size
  }

  async findByHash(hash: string): Promise<KeyRecord | undefined> {
    return this.#byHash.get(hash)
  }

  async findGroup(id: string): Promise<KeyGroup | undefined> {
    return this.#groups.get(id)
  }

  async findOwner(id: string): Promise<OwnerRecord | undefined> {
    return this.#owners.get(id)
  }

  /**
   * What `findByHash(hash)` resolves to, synchronously (`null` for a miss), so the authorizer can
   * decide without a promise. `undefined` (ask `findByHash`) when a subclass overrides
   * `findByHash`: its lookup, not this map, is then the answer.
   * @example store.peekByHash(hashKey(key)) // KeyRecord, or null
   */
  peekByHash(hash: string): KeyRecord | null | undefined {
    if (this.findByHash !== MemoryKeyStore.prototype.findByHash) return undefined
    return this.#byHash.get(hash) ?? null
  }

  /**
   * What `findGroup(id)` resolves to, synchronously (`null` for a miss); `undefined` when a
   * subclass overrides `findGroup`.
   * @example store.peekGroup('ops') // KeyGroup, or null
   */
  peekGroup(id: string): KeyGroup | null | undefined {
    if (this.findGroup !== MemoryKeyStore.prototype.findGroup) return undefined
    return this.#groups.get(id) ?? null
  }

  /**
   * What `findOwner(id)` resolves to, synchronously (`null` for a miss); `undefined` when a
   * subclass overrides `findOwner`.
   * @example store.peekOwner('ana') // OwnerRecord, or null
   */
  peekOwner(id: string): OwnerRecord | null | undefined {
    if (this.findOwner !== MemoryKeyStore.prototype.findOwner) return undefined
    return this.#owners.get(id) ?? null
  }

  async touch(id: string, at: number): Promise<void> {
    const r = this.#byId.get(id)
    if (r && (r.lastUsedAt === undefined || r.lastUsedAt < at)) this.#put(freezeRecord({ ...r, lastUsedAt: at }))
  }

  /**
   * Takes `cost` credits from key `id` at `at`, with any refill due, in one synchronous step
   * (nothing can interleave): exact under any concurrency. `remaining` absent: the key has no
   * credits (unlimited). `undefined`: no such key.
   * @example await store.consumeCredits(record.id, 1, Date.now()) // { allowed: true, remaining: 99 }
   */
  async consumeCredits(id: string, cost: number, at: number): Promise<CreditResult | undefined> {
    if (typeof id !== 'string') throw typeError('id', 'must be a string')
    creditCount(cost, 'cost', 1)
    if (!Number.isFinite(at)) throw rangeError('at', 'must be epoch milliseconds')
    const r = this.#byId.get(id)
    if (r === undefined) return undefined
    const b = this.#balances.get(id)
    if (r.credits === undefined || b === undefined) return { allowed: true }
    const { balance, result } = charged(b, r.credits.refill, cost, at)
    this.#balances.set(id, balance)
    return result
  }

  /** `r` with its live balance, for the management reads. */
  #withBalance(r: KeyRecord): KeyRecord {
    const b = this.#balances.get(r.id)
    if (r.credits === undefined || b === undefined) return r
    if (b.remaining === r.credits.remaining && b.refilledAt === r.credits.refilledAt) return r
    const credits = { ...r.credits, remaining: b.remaining }
    if (b.refilledAt !== undefined) credits.refilledAt = b.refilledAt
    return freezeRecord({ ...r, credits })
  }

  /** Sets or keeps the balance of `next` (see `KeyCredits.version`); `old` is the record it replaces. */
  #balanceFor(next: KeyRecord, old: KeyRecord | undefined): void {
    const c = next.credits
    if (c === undefined) this.#balances.delete(next.id)
    else if (old?.credits?.version !== c.version || !this.#balances.has(next.id)) this.#balances.set(next.id, { remaining: c.remaining, refilledAt: c.refilledAt })
  }

  /** Stores `r` under its id and its hashes (the hashes must already be free or be this key's). */
  #put(r: KeyRecord): void {
    this.#byId.set(r.id, r)
    this.#byHash.set(r.hash, r)
    if (r.previousHash !== undefined) this.#byHash.set(r.previousHash, r)
  }

  async getKey(id: string): Promise<KeyRecord | undefined> {
    const r = this.#byId.get(id)
    return r === undefined ? undefined : this.#withBalance(r)
  }

  #indexHashes(r: KeyRecord, except?: KeyRecord): void {
    for (const h of [r.hash, r.previousHash]) {
      if (h === undefined) continue
      const holder = this.#byHash.get(h)
      if (holder !== undefined && holder.id !== except?.id) throw new ConflictError('a key with this hash already exists')
    }
  }

  async insertKey(record: KeyRecord): Promise<void> {
    storableKey(record)
    if (this.#byId.has(record.id)) throw new ConflictError(`key ${record.id} already exists`)
    this.#indexHashes(record)
    this.#balanceFor(record, undefined)
    this.#put(freezeRecord({ ...record }))
  }

  async updateKey(record: KeyRecord, expected?: KeyRecord): Promise<void> {
    const old = this.#byId.get(record.id)
    if (!old) throw new NotFoundError(`key ${record.id} does not exist`)
    if (expected !== undefined && !sameAs(old, expected)) throw new ConflictError(`key ${record.id} was changed by another writer; read it again and retry`)
    storableKey(record)
    this.#indexHashes(record, old)
    for (const h of [old.hash, old.previousHash]) if (h !== undefined) this.#byHash.delete(h)
    // The last-used time is never written by an edit (only `touch` advances it).
    const next: KeyRecord = { ...record }
    if (old.lastUsedAt === undefined) delete next.lastUsedAt
    else next.lastUsedAt = old.lastUsedAt
    this.#balanceFor(next, old)
    this.#put(freezeRecord(next))
  }

  /**
   * A revoke that always wins: deactivates the key and/or ends its rotation grace at `at`, in one
   * step, whatever it holds or whoever edits it. `undefined` if there is no such key.
   */
  async revokeKey(id: string, revoke: KeyRevoke, at: number): Promise<KeyRecord | undefined> {
    const old = this.#byId.get(id)
    if (!old) return undefined
    const next: KeyRecord = { ...old, updatedAt: at }
    if (revoke.deactivate === true) next.active = false
    if (revoke.endGrace === true && old.previousHash !== undefined) next.previousExpiresAt = Math.min(old.previousExpiresAt ?? at, at)
    const r = freezeRecord(next)
    this.#put(r)
    return r
  }

  async deleteKey(id: string): Promise<boolean> {
    const old = this.#byId.get(id)
    if (!old) return false
    for (const h of [old.hash, old.previousHash]) if (h !== undefined) this.#byHash.delete(h)
    this.#byId.delete(id)
    this.#balances.delete(id)
    return true
  }

  async listKeys(filter?: KeyFilter): Promise<KeyRecord[]> {
    const out: KeyRecord[] = []
    for (const r of this.#byId.values()) if (matches(r, filter)) out.push(this.#withBalance(r))
    return out
  }

  async getGroup(id: string): Promise<KeyGroup | undefined> {
    return this.#groups.get(id)
  }

  async insertGroup(group: KeyGroup): Promise<void> {
    storableGroup(group)
    if (this.#groups.has(group.id)) throw new ConflictError(`group ${group.id} already exists`)
    this.#groups.set(group.id, freezeRecord({ ...group }))
  }

  async updateGroup(group: KeyGroup, expected?: KeyGroup): Promise<void> {
    const old = this.#groups.get(group.id)
    if (!old) throw new NotFoundError(`group ${group.id} does not exist`)
    if (expected !== undefined && !sameAs(old, expected)) throw new ConflictError(`group ${group.id} was changed by another writer; read it again and retry`)
    storableGroup(group)
    this.#groups.set(group.id, freezeRecord({ ...group }))
  }

  /** Deactivates a group in one step that always wins (see `ManagedKeyStore.revokeGroup`). */
  async revokeGroup(id: string, at: number): Promise<KeyGroup | undefined> {
    const old = this.#groups.get(id)
    if (!old) return undefined
    const g = freezeRecord({ ...old, active: false, updatedAt: at })
    this.#groups.set(id, g)
    return g
  }

  /** Narrows a group's allowlist in one step that always wins (see `ManagedKeyStore.narrowGroupIps`). */
  async narrowGroupIps(id: string, keep: readonly string[], at: number): Promise<KeyGroup | undefined> {
    const old = this.#groups.get(id)
    if (!old) return undefined
    const kept = new Set(keep)
    const allowedIps = old.allowedIps === undefined ? [...keep] : old.allowedIps.filter((e) => kept.has(e))
    const g = freezeRecord({ ...old, allowedIps, updatedAt: at })
    this.#groups.set(id, g)
    return g
  }

  async deleteGroup(id: string): Promise<boolean> {
    return this.#groups.delete(id)
  }

  async listGroups(filter?: GroupFilter): Promise<KeyGroup[]> {
    const out: KeyGroup[] = []
    for (const g of this.#groups.values()) if (filter?.tenant === undefined || g.tenant === filter.tenant) out.push(g)
    return out
  }

  async putOwner(id: string, owner: OwnerRecord): Promise<void> {
    storableOwner(id, owner)
    this.#owners.set(id, freezeRecord({ ...owner }))
  }

  async deleteOwner(id: string): Promise<boolean> {
    return this.#owners.delete(id)
  }
}
