/**
 * `cachedStore`: a bounded, single-flight, invalidatable read cache in front of any `KeyStore`.
 *
 * Consistency model (what a caller may rely on):
 * - A write made through this object (directly, or by a `KeyManager` built on it) is seen by the
 *   next lookup that starts after the write's promise settles: the write's entries are dropped,
 *   and lookups that were already in flight cannot answer a request that starts afterwards nor
 *   put what they read (possibly the record as it was before the write) into the cache. This
 *   holds for lookups by a hash the write does not name (an older hash of a rotated key): each
 *   lookup is checked, when it answers, against the key ids invalidated since it began (see
 *   `_lookup-space.ts`). A revoke is never undone by an older lookup or refresh.
 * - A write made elsewhere (another process, another `KeyManager` on the inner store) is seen
 *   after `invalidate(change)` is called with it (wire `KeyManagerOptions.onWrite` to a bus), or
 *   at the latest when the cached entry expires: `ttlMs` for keys, `ownerTtlMs` for groups and
 *   owners, `negativeTtlMs` for misses.
 * - Lookups that fail (reject or throw) are never cached; every waiter of a failed single-flight
 *   lookup gets the same rejection.
 * - The synchronous peeks (`peekByHash`, `peekGroup`, `peekOwner`) answer only from an entry that
 *   the matching lookup would serve at that moment, so everything above holds for them too.
 * @module
 */
import { fieldsOf, knownFields } from '../lib/options.js'
import { rangeError, typeError } from '../errors.js'
import type { CreditResult, KeyFilter, GroupFilter, KeyGroup, KeyRecord, KeyStore, ManagedKeyStore, OwnerRecord, StoreChange } from '../types.js'
import { CachedReads, recordId, type Sizes } from './_cache-reads.js'

/** Options of {@link cachedStore}. */
export interface CachedStoreOptions {
  /**
   * How long a found key record is served from the cache, in milliseconds (0: found records are
   * not cached, lookups are still single-flight). This is also the longest a change made on
   * another instance stays unseen when no `invalidate()` reaches this one. At most one day.
   * @default 30_000
   * @example 10_000
   */
  ttlMs?: number
  /**
   * How long a miss (unknown hash) is served from the cache, in milliseconds (0: misses are not
   * cached). Bounds how long a key created on another instance, without `invalidate()`, is still
   * refused here. At most one day.
   * @default 5_000
   * @example 1_000
   */
  negativeTtlMs?: number
  /**
   * Entries held at most: found records, misses, groups and owners together. The least recently
   * used entry is dropped beyond this, so a flood of random unknown keys cannot grow memory.
   * In-flight lookups are bounded by the same number.
   * @default 10_000
   * @example 100_000
   */
  maxEntries?: number
  /**
   * How long group and owner lookups (found or missing) are served from the cache, in
   * milliseconds. Short by default because a deactivated group or a locked owner made on another
   * instance must stop its keys quickly even without an invalidation bus. Owner and group misses
   * use the shorter of this and `negativeTtlMs`. At most one day; never longer than `ttlMs` unless
   * set explicitly.
   * @default Math.min(5_000, ttlMs)
   * @example 1_000
   */
  ownerTtlMs?: number
  /**
   * Clock, epoch milliseconds, for expiry.
   * @default Date.now
   * @example () => clock.now
   */
  now?: () => number
  /**
   * Told of every cache event, for metrics (`keyward/otel` passes one): a lookup answered from
   * the cache (`hit`, or `negative_hit` for a cached miss), a lookup that went to the wrapped
   * store (`miss`), an entry dropped for room (`eviction`), an `invalidate()` or a write through
   * this cache (`invalidation`). `space` says which lookup: `key`, `group` or `owner`. Called
   * synchronously; what it throws is ignored. Never receives a hash, a key or a record.
   * @default undefined (nothing is counted)
   * @example (event, space) => counts[`${space}.${event}`]++
   */
  observer?: CacheObserver
}

/** What {@link CachedStoreOptions.observer} is told. */
export type CacheEvent = 'hit' | 'negative_hit' | 'miss' | 'eviction' | 'invalidation'
/** Which lookups a cache event is about. */
export type CacheSpace = 'key' | 'group' | 'owner'
/**
 * Receives `cachedStore` events (see {@link CachedStoreOptions.observer}).
 * @example const observer: CacheObserver = (event, space) => console.log(space, event)
 */
export type CacheObserver = (event: CacheEvent, space: CacheSpace) => void

/** A `ManagedKeyStore` with a read cache; see {@link cachedStore}. */
export interface CachedStore extends ManagedKeyStore {
  /** Cached. Answers `undefined` when the wrapped store has no `findGroup` (the key is then disabled). */
  findGroup(id: string): Promise<KeyGroup | undefined>
  /** Cached. Answers `undefined` when the wrapped store has no `findOwner` (the key's own role applies). */
  findOwner(id: string): Promise<OwnerRecord | undefined>
  /**
   * The cached answer of `findByHash(hash)`, synchronously: the record, `null` for a cached miss,
   * `undefined` when nothing fresh is cached (the authorizer then calls `findByHash`, which
   * queries the wrapped store). Never calls the wrapped store. After a write through this cache or
   * an `invalidate()`, it returns `undefined` for what they dropped.
   * @example cache.peekByHash(hash) ?? (await cache.findByHash(hash))
   */
  peekByHash(hash: string): KeyRecord | null | undefined
  /**
   * The cached answer of `findGroup(id)`, as {@link CachedStore.peekByHash}; `null` when the
   * wrapped store has no `findGroup`.
   * @example cache.peekGroup('ops')
   */
  peekGroup(id: string): KeyGroup | null | undefined
  /**
   * The cached answer of `findOwner(id)`, as {@link CachedStore.peekByHash}; `null` when the
   * wrapped store has no `findOwner`.
   * @example cache.peekOwner('ana')
   */
  peekOwner(id: string): OwnerRecord | null | undefined
  /** Forwarded to the wrapped store's `touch`, if it has one; never invalidates. */
  touch(id: string, at: number): Promise<void>
  /**
   * Always forwarded to the wrapped store, by key id: credit balances are never cached, so every
   * instance's consume meets the one atomic balance. Rejects with a `TypeError` when the wrapped
   * store has no `consumeCredits` (the authorizer then fails closed, 503).
   * @example await cache.consumeCredits(record.id, 1, Date.now())
   */
  consumeCredits(id: string, cost: number, at: number): Promise<CreditResult | undefined>
  /** Forwarded; rejects with a `TypeError` when the wrapped store has no `putOwner`. Invalidates the owner. */
  putOwner(id: string, owner: OwnerRecord): Promise<void>
  /** Forwarded; rejects with a `TypeError` when the wrapped store has no `deleteOwner`. Invalidates the owner. */
  deleteOwner(id: string): Promise<boolean>
  /**
   * Apply a write's change (from `KeyManagerOptions.onWrite`, possibly from another instance):
   * drop cached entries by key id, by every hash in `change.hashes`, by group id, by owner id.
   * Also wins against lookups already in flight, whether or not the change lists their hash: no
   * request that starts after this call is answered by one of them with a record of that key,
   * and none of them is cached. A key change without hashes is enough.
   *
   * A malformed change (wrong type, missing id, non-string hash) drops everything, so nothing
   * stale can survive it, and then throws a `TypeError` naming the field.
   * @example
   * ```ts
   * bus.subscribe((change) => cache.invalidate(change))
   * ```
   */
  invalidate(change: StoreChange): void
  /** Drop everything, and detach every lookup in flight. */
  clear(): void
  /** Entries currently held (found records, misses, groups and owners). */
  readonly size: number
}

/** Longest accepted TTL: a day. Longer would turn a missed invalidation into a long-lived allow. */
const MAX_TTL_MS = 86_400_000
const MAX_ENTRIES = 10_000_000
const FIELDS = fieldsOf<CachedStoreOptions>({ ttlMs: true, negativeTtlMs: true, maxEntries: true, ownerTtlMs: true, now: true, observer: true })

function ttlOption(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TTL_MS) {
    throw rangeError(field, `must be a number of milliseconds from 0 to ${MAX_TTL_MS}`)
  }
  return value
}

/**
 * `cachedStore`'s object: the cached reads of {@link CachedReads}, plus the management methods,
 * forwarded to the wrapped store and each followed by the invalidation of what it wrote.
 */
class CachedKeyStore extends CachedReads implements CachedStore {
  readonly #inner: KeyStore

  constructor(inner: KeyStore, sizes: Sizes, now: () => number, observer?: CacheObserver) {
    super(inner, sizes, now, observer)
    this.#inner = inner
  }

  #method<K extends keyof ManagedKeyStore>(name: K): NonNullable<ManagedKeyStore[K]> {
    const inner = this.#inner as Partial<ManagedKeyStore>
    const fn: unknown = inner[name]
    if (typeof fn !== 'function') throw typeError('store', `the wrapped store does not implement ${name}()`)
    return ((...args: unknown[]) => (fn as (...a: unknown[]) => unknown).apply(inner, args)) as NonNullable<ManagedKeyStore[K]>
  }

  /**
   * Runs a write, then invalidates whether it succeeded or not: a write that failed (a timeout
   * after commit, say) may still have changed the store. Invalidating after the write, not before,
   * is what makes lookups that read the old state during the write harmless.
   */
  async #write<T>(run: () => Promise<T>, after: () => void): Promise<T> {
    try {
      return await run()
    } finally {
      after()
    }
  }

  /** Invalidates a key by id and by every hash the new and the replaced record carry. */
  #afterKey(...records: unknown[]): () => void {
    return () => {
      const id = recordId(records[0])
      if (id === undefined) return this.clear()
      // Stryker disable next-line ArrayDeclaration: equivalent, a starting name that no lookup uses (the mutant's) drops nothing
      const hashes: string[] = []
      for (const r of records) {
        if (r === null || typeof r !== 'object') continue
        const { hash, previousHash } = r as Partial<KeyRecord>
        if (typeof hash === 'string') hashes.push(hash)
        if (typeof previousHash === 'string') hashes.push(previousHash)
      }
      this.forget('key', id, hashes)
    }
  }

  /** Invalidates one key, group or owner by id (a key by id alone catches all of its hashes). */
  #afterName(space: CacheSpace, id: unknown): () => void {
    return () => {
      if (typeof id !== 'string') return this.clear()
      this.forget(space, id, space === 'key' ? [] : [id])
    }
  }

  async insertKey(record: KeyRecord): Promise<void> {
    const fn = this.#method('insertKey')
    return this.#write(() => fn(record), this.#afterKey(record))
  }

  /** Forwarded with `expected` (the compare-and-swap guard) untouched, then invalidates. */
  async updateKey(record: KeyRecord, expected?: KeyRecord): Promise<void> {
    const fn = this.#method('updateKey')
    return this.#write(() => (expected === undefined ? fn(record) : fn(record, expected)), this.#afterKey(record, expected))
  }

  /** The wrapped store's unconditional revoke, forwarded then invalidated; absent if it has none. */
  get revokeKey(): ManagedKeyStore['revokeKey'] {
    const inner = this.#inner as Partial<ManagedKeyStore>
    if (typeof inner.revokeKey !== 'function') return undefined
    const fn = this.#method('revokeKey')
    return (id, revoke, at) => this.#write(() => fn(id, revoke, at), this.#afterName('key', id))
  }

  async deleteKey(id: string): Promise<boolean> {
    const fn = this.#method('deleteKey')
    return this.#write(() => fn(id), this.#afterName('key', id))
  }

  async insertGroup(group: KeyGroup): Promise<void> {
    const fn = this.#method('insertGroup')
    return this.#write(() => fn(group), this.#afterName('group', (group as Partial<KeyGroup> | null)?.id))
  }

  /** Forwarded with `expected` (the compare-and-swap guard) untouched, then invalidates. */
  async updateGroup(group: KeyGroup, expected?: KeyGroup): Promise<void> {
    const fn = this.#method('updateGroup')
    return this.#write(() => (expected === undefined ? fn(group) : fn(group, expected)), this.#afterName('group', (group as Partial<KeyGroup> | null)?.id))
  }

  /** The wrapped store's unconditional group revoke, forwarded then invalidated; absent if it has none. */
  get revokeGroup(): ManagedKeyStore['revokeGroup'] {
    const inner = this.#inner as Partial<ManagedKeyStore>
    if (typeof inner.revokeGroup !== 'function') return undefined
    const fn = this.#method('revokeGroup')
    return (id, at) => this.#write(() => fn(id, at), this.#afterName('group', id))
  }

  /** The wrapped store's unconditional allowlist narrowing, forwarded then invalidated; absent if it has none. */
  get narrowGroupIps(): ManagedKeyStore['narrowGroupIps'] {
    const inner = this.#inner as Partial<ManagedKeyStore>
    if (typeof inner.narrowGroupIps !== 'function') return undefined
    const fn = this.#method('narrowGroupIps')
    return (id, keep, at) => this.#write(() => fn(id, keep, at), this.#afterName('group', id))
  }

  async deleteGroup(id: string): Promise<boolean> {
    const fn = this.#method('deleteGroup')
    return this.#write(() => fn(id), this.#afterName('group', id))
  }

  async putOwner(id: string, owner: OwnerRecord): Promise<void> {
    const fn = this.#method('putOwner')
    return this.#write(() => fn(id, owner), this.#afterName('owner', id))
  }

  async deleteOwner(id: string): Promise<boolean> {
    const fn = this.#method('deleteOwner')
    return this.#write(() => fn(id), this.#afterName('owner', id))
  }

  /** Forwarded, never cached (see {@link CachedStore.consumeCredits}). */
  async consumeCredits(id: string, cost: number, at: number): Promise<CreditResult | undefined> {
    const inner = this.#inner
    if (typeof inner.consumeCredits !== 'function') throw new TypeError('cachedStore: the wrapped store has no consumeCredits()')
    return inner.consumeCredits(id, cost, at)
  }

  // Reads used only by management go straight to the inner store: admins never see stale data.

  async getKey(id: string): Promise<KeyRecord | undefined> {
    return this.#method('getKey')(id)
  }

  async listKeys(filter?: KeyFilter): Promise<KeyRecord[]> {
    return this.#method('listKeys')(filter)
  }

  async getGroup(id: string): Promise<KeyGroup | undefined> {
    return this.#method('getGroup')(id)
  }

  async listGroups(filter?: GroupFilter): Promise<KeyGroup[]> {
    return this.#method('listGroups')(filter)
  }
}

/**
 * Wraps a `KeyStore` with a bounded LRU cache of lookups: `findByHash` (found and missing keys),
 * `findGroup` and `findOwner`. Concurrent lookups of the same name share one store call
 * (single-flight). Writes go to the inner store and drop what they affect at once, so
 * `new KeyManager(cachedStore(inner))` just works; management reads (`getKey`, `listKeys`,
 * `getGroup`, `listGroups`) are never cached.
 *
 * Changes made on another instance are seen after `invalidate(change)` (feed it the
 * `StoreChange`s of that instance's `KeyManagerOptions.onWrite`) or when the entry expires:
 * `ttlMs` (found keys), `ownerTtlMs` (groups, owners), `negativeTtlMs` (misses).
 *
 * Options are validated at once (`RangeError`/`TypeError` naming the field).
 *
 * @example
 * ```ts
 * import { cachedStore, createAuthorizer, KeyManager } from 'keyward'
 * import { postgresStore } from 'keyward/postgres'
 *
 * const store = cachedStore(postgresStore(pool), { ttlMs: 30_000, negativeTtlMs: 5_000, maxEntries: 50_000 })
 * const manager = new KeyManager(store, { onWrite: (change) => bus.publish(change) })
 * bus.subscribe((change) => store.invalidate(change))   // changes from other instances
 * const authorizer = createAuthorizer({ store })
 * ```
 */
export function cachedStore(store: KeyStore, options: CachedStoreOptions = {}): CachedStore {
  if (store === null || typeof store !== 'object' || typeof store.findByHash !== 'function') {
    throw typeError('store', 'is required and must implement findByHash(hash)')
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw typeError('options', 'must be an object')
  knownFields(options, FIELDS, 'options')
  const ttl = ttlOption(options.ttlMs, 'ttlMs', 30_000)
  const negativeTtl = ttlOption(options.negativeTtlMs, 'negativeTtlMs', 5_000)
  const ownerTtl = ttlOption(options.ownerTtlMs, 'ownerTtlMs', Math.min(5_000, ttl))
  const max = options.maxEntries ?? 10_000
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_ENTRIES) {
    throw rangeError('maxEntries', `must be an integer from 1 to ${MAX_ENTRIES}`)
  }
  if (options.now !== undefined && typeof options.now !== 'function') throw typeError('now', 'must be a function')
  if (options.observer !== undefined && typeof options.observer !== 'function') throw typeError('observer', 'must be a function (event, space) => void')
  return new CachedKeyStore(store, { ttl, negativeTtl, ownerTtl, max }, options.now ?? Date.now, options.observer)
}
