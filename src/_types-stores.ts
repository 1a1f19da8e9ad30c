/**
 * The store interfaces the authorizer reads from and `KeyManager` writes to, and what a write changed.
 * Re-exported from `types.ts`; import them from there.
 * @module
 */
import type { CreditResult, KeyGroup, KeyKind, KeyRecord, OwnerRecord } from './_types-records.js'

/**
 * What a `KeyManager` write changed (its `onWrite`), and what `cachedStore().invalidate()` and
 * `keyward/redis` carry between instances. `hashes` lists every hash the write affected (old and
 * new); a key change without them (by id alone) is also accepted by `invalidate()`.
 * @example { type: 'key', id: 'key_3kTMd2kP0bV7tq9y', hashes: [] }
 */
export type StoreChange =
  | { readonly type: 'key'; readonly id: string; readonly hashes: readonly string[] }
  | { readonly type: 'group'; readonly id: string }
  | { readonly type: 'owner'; readonly id: string }

/**
 * Where keys are looked up. Only hashes are ever passed in or stored.
 * Every method may reject; the authorizer then fails closed with 503.
 */
export interface KeyStore {
  /** The record whose `hash` (or, during a rotation grace, `previousHash`) is `hash`. */
  findByHash(hash: string): Promise<KeyRecord | undefined>
  /** The key group `id`, for its active flag, tenant and allowlist. `undefined`: no such group. */
  findGroup?(id: string): Promise<KeyGroup | undefined>
  /** The owner's current role and active flag. `undefined`: the owner is not in the directory. */
  findOwner?(id: string): Promise<OwnerRecord | undefined>
  /** Record last use. Called debounced and off the request path; failures are ignored. */
  touch?(id: string, at: number): Promise<void>
  /**
   * Takes `cost` credits from key `id` at `at`, atomically with any refill due (see
   * `KeyCredits`): never below zero, never twice for one interval. Called after every other check
   * allowed, for keys whose record has `credits`, unless the authorizer has a `credits` ledger.
   * Resolves to `undefined` when there is no such key; rejects when the store cannot answer (the
   * authorizer then fails closed, 503). Never cached by `cachedStore`.
   * @default undefined (keys with credits are refused with 503 unless a ledger is configured)
   * @example const r = await store.consumeCredits('key_3kTMd2kP0bV7tq9y', 1, Date.now())
   */
  consumeCredits?(id: string, cost: number, at: number): Promise<CreditResult | undefined>
  /**
   * Optional synchronous fast path of `findByHash`, for a store that may hold the answer in
   * memory (`MemoryKeyStore`, a `cachedStore` hit). When every lookup a request needs is answered
   * here, the authorizer decides without waiting for a promise; the decision is the same one.
   *
   * The contract (a store that cannot keep it must not implement this):
   * - Return exactly what `findByHash(hash)` would resolve to if it were called now: the record,
   *   or `null` when it would resolve to `undefined` (a known miss).
   * - Return `undefined` when the answer is not known synchronously (not cached, expired, being
   *   refreshed, or this instance's `findByHash` was overridden): the authorizer then calls
   *   `findByHash`, under `storeTimeoutMs` and the circuit breaker, as without a peek.
   * - Never return a promise and never block. A peek that throws is a store failure: 503
   *   `store_unavailable`, counted by the breaker, exactly as if `findByHash` had rejected.
   *
   * It is called with the store as `this`, only if `findByHash` exists, and only where the
   * authorizer would call `findByHash`: the breaker is consulted first (an open circuit refuses
   * without peeking), and the checks that follow are the same whichever path answered.
   * @default undefined (every lookup goes through `findByHash`)
   * @example
   * ```ts
   * class MapStore implements KeyStore {
   *   readonly #byHash = new Map<string, KeyRecord>()
   *   async findByHash(hash: string) { return this.#byHash.get(hash) }
   *   peekByHash(hash: string) { return this.#byHash.get(hash) ?? null } // every answer is in memory
   * }
   * ```
   */
  peekByHash?(hash: string): KeyRecord | null | undefined
  /**
   * Optional synchronous fast path of `findGroup`; same contract as {@link KeyStore.peekByHash}
   * (`null`: `findGroup` would resolve to `undefined`; `undefined`: ask `findGroup`). Used only
   * when `findGroup` exists.
   * @default undefined
   * @example peekGroup(id) { return this.#groups.get(id) ?? null }
   */
  peekGroup?(id: string): KeyGroup | null | undefined
  /**
   * Optional synchronous fast path of `findOwner`; same contract as {@link KeyStore.peekByHash}
   * (`null`: `findOwner` would resolve to `undefined`, the owner is not in the directory;
   * `undefined`: ask `findOwner`). Used only when `findOwner` exists.
   * @default undefined
   * @example peekOwner(id) { return this.#owners.get(id) ?? null }
   */
  peekOwner?(id: string): OwnerRecord | null | undefined
}

/** Filter for listing keys. All given fields must match. */
export interface KeyFilter {
  tenant?: string
  group?: string
  owner?: string
  kind?: KeyKind
  active?: boolean
}

/** Filter for listing groups. */
export interface GroupFilter {
  tenant?: string
}

/** What {@link ManagedKeyStore.revokeKey} does; at least one is `true`. */
export interface KeyRevoke {
  /** Turn the key off. */
  readonly deactivate?: boolean
  /** End the grace period of the key's previous (rotated) hash now. */
  readonly endGrace?: boolean
}

/**
 * A store that `KeyManager` can write to. `MemoryKeyStore` implements it, and so do the
 * optional Postgres store and `cachedStore` (which forwards writes and invalidates).
 */
export interface ManagedKeyStore extends KeyStore {
  /** The record with this id, or `undefined`. */
  getKey(id: string): Promise<KeyRecord | undefined>
  /** Insert a new record. Rejects if the id or the hash already exists. */
  insertKey(record: KeyRecord): Promise<void>
  /**
   * Replace an existing record (same id). Rejects with `NotFoundError` if it does not exist.
   * With `expected` (the record as read before the change) it is a compare-and-swap: if the
   * stored record differs from `expected` in any field but `lastUsedAt`, nothing is written and
   * it rejects with `ConflictError`. `KeyManager` always passes it, so an edit based on a stale
   * read (say, from another instance) can never write back a key that was revoked meanwhile.
   */
  updateKey(record: KeyRecord, expected?: KeyRecord): Promise<void>
  /**
   * A revoke that always wins, in one step: deactivates the key and/or ends its rotation grace
   * period at `at` (never extends it), whatever else the key holds and whoever edits it
   * meanwhile; no compare-and-swap, so it can neither conflict nor be starved by other writers.
   * Resolves to the record as written, or `undefined` if there is no such key. `KeyManager`
   * uses it for `deactivate` and `endGrace` when the store has it.
   */
  revokeKey?(id: string, revoke: KeyRevoke, at: number): Promise<KeyRecord | undefined>
  /** Delete a record; resolves to whether it existed. */
  deleteKey(id: string): Promise<boolean>
  /** The records matching `filter` (every record without one). */
  listKeys(filter?: KeyFilter): Promise<KeyRecord[]>
  /** The group with this id, or `undefined`. */
  getGroup(id: string): Promise<KeyGroup | undefined>
  /** Insert a new group. Rejects if the id already exists. */
  insertGroup(group: KeyGroup): Promise<void>
  /** Replace an existing group; with `expected`, a compare-and-swap as in `updateKey`. */
  updateGroup(group: KeyGroup, expected?: KeyGroup): Promise<void>
  /**
   * Deactivates a group in one step that always wins, as `revokeKey` does for a key: no
   * compare-and-swap, so concurrent editors can neither make it conflict nor starve it. Sets
   * `updatedAt` to `at`. Resolves to the group as written, or `undefined` if there is no such
   * group. `KeyManager` uses it for `deactivateGroup` (and `updateGroup` with `active: false`)
   * when the store has it.
   */
  revokeGroup?(id: string, at: number): Promise<KeyGroup | undefined>
  /**
   * Narrows a group's IP allowlist in one step that always wins, as `revokeGroup` does: the
   * stored list keeps only its entries that are also in `keep` (so the result is never wider than
   * what is stored, whatever a concurrent editor wrote); a group without an allowlist (every
   * address admitted) gets `keep`. No compare-and-swap. Sets `updatedAt` to `at`. Resolves to the
   * group as written, or `undefined` if there is no such group. `KeyManager` uses it for an
   * `updateGroup` whose `allowedIps` only removes entries (or restricts a group that had no list)
   * when the store has it.
   */
  narrowGroupIps?(id: string, keep: readonly string[], at: number): Promise<KeyGroup | undefined>
  /** Delete a group; resolves to whether it existed. */
  deleteGroup(id: string): Promise<boolean>
  /** The groups matching `filter` (every group without one). */
  listGroups(filter?: GroupFilter): Promise<KeyGroup[]>
  /** Create or replace an owner directory entry. */
  putOwner?(id: string, owner: OwnerRecord): Promise<void>
  /** Remove an owner directory entry; resolves to whether it existed. */
  deleteOwner?(id: string): Promise<boolean>
}
