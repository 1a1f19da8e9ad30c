/**
 * `cachedStore`: a bounded, single-flight, invalidatable read cache in front of any `KeyStore`.
 *
 * Consistency model (what a caller may rely on):
 * - A write made through this object (directly, or by a `KeyManager` built on it) is seen by the
 *   next lookup that starts after the write's promise settles: the write's entries are dropped,
 *   and lookups that were already in flight are detached, so they can neither be joined by later
 *   requests nor put what they read (possibly the record as it was before the write) into the
 *   cache. A revoke is never undone by an older refresh.
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
import { knownFields } from '../_options.js'
import { quote, rangeError, typeError } from '../errors.js'
import type { KeyFilter, GroupFilter, KeyGroup, KeyRecord, KeyStore, ManagedKeyStore, OwnerRecord } from '../types.js'
import type { StoreChange } from './manager.js'

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
}

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
  /** Forwarded; rejects with a `TypeError` when the wrapped store has no `putOwner`. Invalidates the owner. */
  putOwner(id: string, owner: OwnerRecord): Promise<void>
  /** Forwarded; rejects with a `TypeError` when the wrapped store has no `deleteOwner`. Invalidates the owner. */
  deleteOwner(id: string): Promise<boolean>
  /**
   * Apply a write's change (from `KeyManagerOptions.onWrite`, possibly from another instance):
   * drop cached entries by key id, by every hash in `change.hashes`, by group id, by owner id.
   * Also wins against lookups already in flight: they are detached and will not be cached.
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
/**
 * A lookup joins one already in flight for the same name only if that one started less than this
 * long ago; otherwise it makes a new call (and the old one, whenever it answers, is not cached).
 * A hung call would otherwise keep every later request for that name waiting on it, failing with
 * 503 even after the store recovered. Worst case for a slow store: one extra call per name per second.
 */
const JOIN_WINDOW_MS = 1_000
/** Recent key-id invalidations remembered for in-flight lookups (more since a lookup began: not cached). */
const ID_RING = 256
const FIELDS: ReadonlySet<string> = new Set(['ttlMs', 'negativeTtlMs', 'maxEntries', 'ownerTtlMs', 'now'])
const NONE: Promise<undefined> = Promise.resolve(undefined)

const KEY = 0
const GROUP = 1
const OWNER = 2
type Kind = typeof KEY | typeof GROUP | typeof OWNER

interface Entry<V> {
  readonly value: V
  /** The value as an already-settled promise, built once: a hit allocates nothing. */
  readonly settled: Promise<V>
  /** Time the lookup started; a clock that goes back before it expires the entry. */
  readonly at: number
  readonly expires: number
  /** Recency stamp; entries of a space are kept in increasing `seq` order. */
  seq: number
}

interface Flight<V> {
  promise: Promise<V>
  readonly startedAt: number
  /** Key-id invalidations counted when the lookup began. */
  readonly keyEpoch: number
  /** Set when a write, `clear()` or a newer lookup superseded it: its result is not cached. */
  detached: boolean
}

class Space<V> {
  readonly entries = new Map<string, Entry<V>>()
  readonly flights = new Map<string, Flight<V>>()
  constructor(readonly kind: Kind) {}
}

function ttlOption(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TTL_MS) {
    throw rangeError(field, `must be a number of milliseconds from 0 to ${MAX_TTL_MS}`)
  }
  return value
}

/**
 * A peek's answer from a fresh entry (or none). A cached miss is `null`. An entry holding `null`
 * (an inner store that resolved to `null` instead of `undefined`) is left to the asynchronous
 * lookup, so the caller sees exactly the value it would have seen without the peek.
 */
function peeked<V extends object>(e: Entry<V | undefined> | undefined): V | null | undefined {
  if (e === undefined) return undefined
  const v = e.value
  return v === undefined ? null : v === null ? undefined : v
}

const isRecordLike = (v: unknown): v is { id: string } =>
  v !== null && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string'

class CachedKeyStore implements CachedStore {
  readonly #inner: KeyStore
  readonly #ttl: number
  readonly #negativeTtl: number
  readonly #ownerTtl: number
  readonly #ownerNegativeTtl: number
  readonly #max: number
  /** An entry is moved to the young end only when it has aged past half the capacity: cheap hits, and nothing used that often is ever evicted. */
  readonly #refreshAfter: number
  readonly #now: () => number
  readonly #keys = new Space<KeyRecord | undefined>(KEY)
  readonly #groups = new Space<KeyGroup | undefined>(GROUP)
  readonly #owners = new Space<OwnerRecord | undefined>(OWNER)
  /** Key id → hashes that currently have a found-record entry for that id. */
  readonly #hashesOf = new Map<string, string[]>()
  readonly #ring: (string | undefined)[] = new Array<string | undefined>(ID_RING)
  #keyEpoch = 0
  #seq = 0

  constructor(inner: KeyStore, ttl: number, negativeTtl: number, ownerTtl: number, max: number, now: () => number) {
    this.#inner = inner
    this.#ttl = ttl
    this.#negativeTtl = negativeTtl
    this.#ownerTtl = ownerTtl
    this.#ownerNegativeTtl = Math.min(ownerTtl, negativeTtl)
    this.#max = max
    this.#refreshAfter = max >>> 1
    this.#now = now
  }

  get size(): number {
    return this.#keys.entries.size + this.#groups.entries.size + this.#owners.entries.size
  }

  // ---- cached reads ------------------------------------------------------------------------------

  findByHash(hash: string): Promise<KeyRecord | undefined> {
    if (typeof hash !== 'string') return this.#call(KEY, hash) as Promise<KeyRecord | undefined>
    const t = this.#now()
    const e = this.#fresh(this.#keys, hash, t)
    return e !== undefined ? e.settled : this.#miss(this.#keys, hash, t)
  }

  findGroup(id: string): Promise<KeyGroup | undefined> {
    if (typeof this.#inner.findGroup !== 'function') return NONE
    if (typeof id !== 'string') return this.#call(GROUP, id) as Promise<KeyGroup | undefined>
    const t = this.#now()
    const e = this.#fresh(this.#groups, id, t)
    return e !== undefined ? e.settled : this.#miss(this.#groups, id, t)
  }

  findOwner(id: string): Promise<OwnerRecord | undefined> {
    if (typeof this.#inner.findOwner !== 'function') return NONE
    if (typeof id !== 'string') return this.#call(OWNER, id) as Promise<OwnerRecord | undefined>
    const t = this.#now()
    const e = this.#fresh(this.#owners, id, t)
    return e !== undefined ? e.settled : this.#miss(this.#owners, id, t)
  }

  // ---- synchronous peeks (KeyStore.peekByHash/peekGroup/peekOwner) ------------------------------
  // A peek answers only from an entry the matching find* would serve at this very moment (same
  // clock read, same freshness test, same LRU refresh); anything else, a lookup in flight
  // included, is `undefined` and the authorizer calls find*. Entries are only ever created by a
  // completed, non-detached lookup and are dropped synchronously by writes and invalidate(), so a
  // peek can return nothing a lookup started now would not.

  peekByHash(hash: string): KeyRecord | null | undefined {
    if (typeof hash !== 'string') return undefined
    return peeked(this.#fresh(this.#keys, hash, this.#now()))
  }

  peekGroup(id: string): KeyGroup | null | undefined {
    // Without an inner findGroup, findGroup resolves to undefined: a known miss.
    if (typeof this.#inner.findGroup !== 'function') return null
    if (typeof id !== 'string') return undefined
    return peeked(this.#fresh(this.#groups, id, this.#now()))
  }

  peekOwner(id: string): OwnerRecord | null | undefined {
    if (typeof this.#inner.findOwner !== 'function') return null
    if (typeof id !== 'string') return undefined
    return peeked(this.#fresh(this.#owners, id, this.#now()))
  }

  /** Forwarded; never invalidates (last-used time is informational and would only cost hit rate). */
  touch(id: string, at: number): Promise<void> {
    const inner = this.#inner
    return typeof inner.touch === 'function' ? inner.touch(id, at) : (NONE as Promise<void>)
  }

  /** The entry for `name` if it is still valid at `t`, refreshed in the LRU order when it has aged. */
  #fresh<V>(space: Space<V>, name: string, t: number): Entry<V> | undefined {
    const e = space.entries.get(name)
    if (e === undefined) return undefined
    if (!(t < e.expires && t >= e.at)) {
      this.#drop(space, name, e)
      return undefined
    }
    if (this.#seq - e.seq > this.#refreshAfter) {
      space.entries.delete(name)
      e.seq = ++this.#seq
      space.entries.set(name, e)
    }
    return e
  }

  #call(kind: Kind, name: unknown): Promise<unknown> {
    const inner = this.#inner
    try {
      // Promise.resolve: a store that returns a plain value (or a foreign thenable) still works.
      switch (kind) {
        case KEY:
          return Promise.resolve(inner.findByHash(name as string))
        case GROUP:
          return Promise.resolve(inner.findGroup!(name as string))
        default:
          return Promise.resolve(inner.findOwner!(name as string))
      }
    } catch (e) {
      // A store that throws synchronously fails like one that rejects.
      return Promise.reject(e)
    }
  }

  #miss<V>(space: Space<V>, name: string, t: number): Promise<V> {
    const flights = space.flights
    const current = flights.get(name)
    if (current !== undefined) {
      if (t >= current.startedAt && t - current.startedAt < JOIN_WINDOW_MS) return current.promise
      current.detached = true
      flights.delete(name)
    }
    const flight: Flight<V> = { promise: NONE as Promise<V>, startedAt: t, keyEpoch: this.#keyEpoch, detached: false }
    flight.promise = (this.#call(space.kind, name) as Promise<V>).then(
      (value) => {
        if (flights.get(name) === flight) flights.delete(name)
        this.#admit(space, name, flight, value)
        return value
      },
      (error: unknown) => {
        if (flights.get(name) === flight) flights.delete(name)
        throw error
      },
    )
    if (flights.size >= this.#max) this.#pruneFlights(flights, t)
    // Not registered means not reachable by invalidate(): then it must not be cached either.
    if (flights.size < this.#max) flights.set(name, flight)
    else flight.detached = true
    return flight.promise
  }

  /** Drops flights past the join window (oldest first: a Map keeps insertion order). */
  #pruneFlights<V>(flights: Map<string, Flight<V>>, t: number): void {
    for (const [name, f] of flights) {
      if (t >= f.startedAt && t - f.startedAt < JOIN_WINDOW_MS) break
      f.detached = true
      flights.delete(name)
    }
  }

  /** Caches a settled lookup unless something invalidated it while it was in flight. */
  #admit<V>(space: Space<V>, name: string, flight: Flight<V>, value: V): void {
    if (flight.detached) return
    let ttl: number
    if (value === undefined || value === null) {
      ttl = space.kind === KEY ? this.#negativeTtl : this.#ownerNegativeTtl
    } else if (space.kind === KEY) {
      // Without a string id it could not be invalidated by id: serve it, never cache it.
      if (!isRecordLike(value) || this.#idChangedSince(value.id, flight.keyEpoch)) return
      ttl = this.#ttl
    } else {
      if (typeof value !== 'object') return
      ttl = this.#ownerTtl
    }
    if (ttl <= 0) return
    const at = flight.startedAt
    const expires = at + ttl
    const t = this.#now()
    if (!(t < expires && t >= at)) return
    const old = space.entries.get(name)
    if (old !== undefined) this.#drop(space, name, old)
    space.entries.set(name, { value, settled: Promise.resolve(value), at, expires, seq: ++this.#seq })
    if (space.kind === KEY && isRecordLike(value)) {
      const list = this.#hashesOf.get(value.id)
      if (list === undefined) this.#hashesOf.set(value.id, [name])
      else if (!list.includes(name)) list.push(name)
    }
    this.#evict()
  }

  /** Whether `id` was invalidated after key epoch `since` (unsure, because too many were: yes). */
  #idChangedSince(id: string, since: number): boolean {
    const n = this.#keyEpoch - since
    if (n === 0) return false
    if (n > ID_RING) return true
    for (let k = since + 1; k <= this.#keyEpoch; k++) if (this.#ring[k % ID_RING] === id) return true
    return false
  }

  /** Evicts least recently used entries, across the three spaces, down to `maxEntries`. */
  #evict(): void {
    while (this.size > this.#max) {
      let victim: Space<unknown> | undefined
      let name = ''
      let oldest = Infinity
      for (const space of [this.#keys, this.#groups, this.#owners] as Space<unknown>[]) {
        const head = space.entries.entries().next()
        if (!head.done && head.value[1].seq < oldest) {
          oldest = head.value[1].seq
          victim = space
          name = head.value[0]
        }
      }
      if (victim === undefined) return
      this.#drop(victim, name, victim.entries.get(name)!)
    }
  }

  #drop<V>(space: Space<V>, name: string, e: Entry<V>): void {
    space.entries.delete(name)
    if (space.kind === KEY && isRecordLike(e.value)) {
      const list = this.#hashesOf.get(e.value.id)
      if (list === undefined) return
      const i = list.indexOf(name)
      if (i >= 0) list.splice(i, 1)
      if (list.length === 0) this.#hashesOf.delete(e.value.id)
    }
  }

  // ---- invalidation ------------------------------------------------------------------------------

  /** Drops the entry for `name` and detaches its lookup in flight. */
  #forget<V>(space: Space<V>, name: string): void {
    const e = space.entries.get(name)
    if (e !== undefined) this.#drop(space, name, e)
    const f = space.flights.get(name)
    if (f !== undefined) {
      f.detached = true
      space.flights.delete(name)
    }
  }

  #forgetKey(id: string, hashes: readonly string[]): void {
    for (const h of hashes) this.#forget(this.#keys, h)
    const cached = this.#hashesOf.get(id)
    if (cached !== undefined) for (const h of [...cached]) this.#forget(this.#keys, h)
    // Lookups in flight by a hash this change does not list (an older hash, or a change that
    // lists none) are caught by id when they complete.
    this.#keyEpoch++
    this.#ring[this.#keyEpoch % ID_RING] = id
  }

  invalidate(change: StoreChange): void {
    const c = change as unknown as Record<string, unknown> | null
    const fail = (field: string, message: string): never => {
      this.clear()
      throw typeError(field, message)
    }
    if (c === null || typeof c !== 'object') return fail('change', 'must be { type, id, hashes? }')
    if (typeof c.id !== 'string') return fail('change.id', 'must be a string')
    const id = c.id
    switch (c.type) {
      case 'key': {
        const hashes = c.hashes ?? []
        if (!Array.isArray(hashes)) return fail('change.hashes', 'must be an array of strings')
        for (let i = 0; i < hashes.length; i++) {
          if (typeof hashes[i] !== 'string') return fail(`change.hashes[${i}]`, 'must be a string')
        }
        this.#forgetKey(id, hashes as string[])
        return
      }
      case 'group':
        this.#forget(this.#groups, id)
        return
      case 'owner':
        this.#forget(this.#owners, id)
        return
      default:
        return fail('change.type', `must be 'key', 'group' or 'owner', got ${quote(c.type)}`)
    }
  }

  clear(): void {
    for (const space of [this.#keys, this.#groups, this.#owners] as Space<unknown>[]) {
      space.entries.clear()
      for (const f of space.flights.values()) f.detached = true
      space.flights.clear()
    }
    this.#hashesOf.clear()
    // Completed-but-unsettled lookups compare epochs: make every one of them look outdated.
    this.#keyEpoch += ID_RING + 1
  }

  // ---- forwarded management ----------------------------------------------------------------------

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

  #afterKey(record: unknown): () => void {
    return () => {
      const r = record as Partial<KeyRecord> | null
      if (r === null || typeof r !== 'object' || typeof r.id !== 'string') return this.clear()
      const hashes: string[] = []
      if (typeof r.hash === 'string') hashes.push(r.hash)
      if (typeof r.previousHash === 'string') hashes.push(r.previousHash)
      this.#forgetKey(r.id, hashes)
    }
  }

  #afterName(kind: 'key' | 'group' | 'owner', id: unknown): () => void {
    return () => {
      if (typeof id !== 'string') return this.clear()
      if (kind === 'key') this.#forgetKey(id, [])
      else if (kind === 'group') this.#forget(this.#groups, id)
      else this.#forget(this.#owners, id)
    }
  }

  async insertKey(record: KeyRecord): Promise<void> {
    const fn = this.#method('insertKey')
    return this.#write(() => fn(record), this.#afterKey(record))
  }

  /** Forwarded with `expected` (the compare-and-swap guard) untouched, then invalidates. */
  async updateKey(record: KeyRecord, expected?: KeyRecord): Promise<void> {
    const fn = this.#method('updateKey')
    return this.#write(() => (expected === undefined ? fn(record) : fn(record, expected)), this.#afterKey(record))
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
  return new CachedKeyStore(store, ttl, negativeTtl, ownerTtl, max, options.now ?? Date.now)
}
