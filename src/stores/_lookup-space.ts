/**
 * One lookup space of `cachedStore` (keys by hash, groups by id, owners by id): the cached
 * answers, the lookups in flight, and the id epochs that order them against invalidations.
 *
 * The rule a space keeps: once `forget(id, …)` (or `clear()`) has returned, no lookup that began
 * before it answers a request that begins after it with a value of that id, and none of them is
 * cached. Lookups whose name the invalidation lists are detached at once (nobody can join them
 * any more). A lookup by another name may still resolve to that id (a key looked up by an older
 * hash, or an invalidation that names only the id): which id a lookup resolves to is known only
 * when it answers, so every lookup records the space's epoch when it began, every joiner the
 * epoch when it joined, and an answer whose id was invalidated in between is not served to that
 * joiner (it makes its own, newer lookup) and never cached.
 *
 * Private to `stores/`.
 * @module
 */

/**
 * A lookup joins one already in flight for the same name only if that one started less than this
 * long ago; otherwise it makes a new call (and the old one, whenever it answers, is not cached).
 * A hung call would otherwise keep every later request for that name waiting on it, failing with
 * 503 even after the store recovered. Worst case for a slow store: one extra call per name per second.
 */
const JOIN_WINDOW_MS = 1_000
/**
 * Invalidated ids remembered per space. A lookup that is older than this many invalidations
 * cannot tell whether its id was among them, and is treated as if it was (not cached, not served
 * to a later joiner): safe, and only costs a store call.
 */
const ID_RING = 256
const NONE: Promise<undefined> = Promise.resolve(undefined)

/** A cached answer. */
export interface Entry<V> {
  readonly value: V
  /** The id it is invalidated by, read once when it was cached (a miss has none). */
  readonly id: string | undefined
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
  /** The space's epoch when the lookup began. */
  readonly epoch: number
  /** Set when an invalidation, `clear()` or a newer lookup superseded it: nobody joins it, its answer is not cached. */
  detached: boolean
}

/** How a space loads and ages what it caches. */
export interface SpaceConfig<V> {
  /** The store call; may throw or return a plain value (both are handled). */
  load(name: unknown): Promise<V> | V
  /** Lifetime of a found value, ms (0: not cached). */
  readonly ttl: number
  /** Lifetime of a miss (`undefined` or `null`), ms (0: not cached). */
  readonly negativeTtl: number
  /**
   * The id that invalidates a found value (a key record's `id`; a group's or owner's own name),
   * or `undefined` for a value that cannot be invalidated by id: such a value is never cached,
   * and never served to a request that joined its lookup after an invalidation. Must not throw.
   */
  idOf(name: string, value: NonNullable<V>): string | undefined
}

/** What the spaces of one cache share: the clock, the recency order and the capacity. */
export class Recency {
  seq = 0
  readonly #spaces: LookupSpace<unknown>[] = []
  /** An entry is moved to the young end only when it has aged past half the capacity: cheap hits, and nothing used that often is ever evicted. */
  readonly refreshAfter: number
  /** Told of each entry evicted for room, with the space it left (a cache observer). */
  onEvict: ((space: LookupSpace<unknown>) => void) | undefined = undefined

  constructor(
    readonly now: () => number,
    readonly max: number,
  ) {
    this.refreshAfter = max >>> 1
  }

  join(space: LookupSpace<unknown>): void {
    this.#spaces.push(space)
  }

  /** Entries held in all spaces. */
  get size(): number {
    let n = 0
    for (const s of this.#spaces) n += s.size
    return n
  }

  /** Evicts the least recently used entries, across spaces, down to `max`. */
  evict(): void {
    while (this.size > this.max) {
      let victim: LookupSpace<unknown> | undefined
      let oldest = Infinity
      for (const s of this.#spaces) {
        const seq = s.oldestSeq()
        // Stryker disable next-line EqualityOperator: equivalent, stamps come from one shared counter, so no two heads are equal, and an empty space (Infinity) never outranks a non-empty one, which exists while size > max
        if (seq < oldest) {
          oldest = seq
          victim = s
        }
      }
      // Stryker disable next-line ConditionalExpression: equivalent, unreachable, since size > max >= 1 means some space holds an entry
      if (victim === undefined) return
      victim.dropOldest()
      this.onEvict?.(victim)
    }
  }
}

/**
 * A peek's answer from a fresh entry (or none). A cached miss is `null`. An entry holding `null`
 * (an inner store that resolved to `null` instead of `undefined`) is left to the asynchronous
 * lookup, so the caller sees exactly the value it would have seen without the peek.
 */
function peeked<V>(e: Entry<V> | undefined): NonNullable<V> | null | undefined {
  if (e === undefined) return undefined
  const v = e.value
  return v === undefined ? null : v === null ? undefined : (v as NonNullable<V>)
}

const isMiss = (v: unknown): v is null | undefined => v === undefined || v === null

/** Cached answers, lookups in flight and id epochs of one kind of lookup. */
export class LookupSpace<V> {
  readonly #entries = new Map<string, Entry<V>>()
  readonly #flights = new Map<string, Flight<V>>()
  /** Id → names that hold a found entry of that id. */
  readonly #namesOf = new Map<string, string[]>()
  /** Id invalidated at each epoch, by epoch modulo its length. */
  // Stryker disable next-line ArrayDeclaration: equivalent, a sparse array of ID_RING slots and an empty array both read undefined where nothing was written
  readonly #ring = new Array<string | undefined>(ID_RING)
  #epoch = 0
  readonly #shared: Recency
  readonly #config: SpaceConfig<V>

  constructor(shared: Recency, config: SpaceConfig<V>) {
    this.#shared = shared
    this.#config = config
    shared.join(this as LookupSpace<unknown>)
  }

  get size(): number {
    return this.#entries.size
  }

  /** The cached answer, else a lookup (joined or new). A name that is not a string is passed through uncached. */
  find(name: string): Promise<V> {
    if (typeof name !== 'string') return this.#load(name)
    const t = this.#shared.now()
    const e = this.#fresh(name, t)
    return e !== undefined ? e.settled : this.#miss(name, t)
  }

  /**
   * The answer `find(name)` would give at once from a fresh entry (same clock read, same
   * freshness test, same LRU refresh), `null` for a cached miss, else `undefined`. Entries are
   * only ever created by a completed, non-detached lookup and are dropped synchronously by
   * invalidations, so a peek returns nothing a lookup started now would not.
   */
  peek(name: string): NonNullable<V> | null | undefined {
    // Stryker disable next-line ConditionalExpression: equivalent, find() never caches a name that is not a string, so #fresh finds no entry for it either
    if (typeof name !== 'string') return undefined
    return peeked(this.#fresh(name, this.#shared.now()))
  }

  /**
   * Applies an invalidation of `id`: drops the entries of `names` and of every name cached for
   * `id`, detaches their lookups in flight, and records `id` at a new epoch so that lookups
   * by other names that resolve to `id` are neither cached nor served to later joiners.
   */
  forget(id: string, names: readonly string[]): void {
    for (const n of names) this.#forgetName(n)
    const cached = this.#namesOf.get(id)
    if (cached !== undefined) for (const n of [...cached]) this.#forgetName(n)
    this.#epoch++
    this.#ring[this.#epoch % ID_RING] = id
  }

  /** Drops everything and detaches every lookup in flight. */
  clear(): void {
    this.#entries.clear()
    for (const f of this.#flights.values()) f.detached = true
    this.#flights.clear()
    this.#namesOf.clear()
    // Lookups that began before now compare epochs: make every one of them look outdated.
    this.#epoch += ID_RING + 1
  }

  /** Recency stamp of the least recently used entry (`Infinity` when empty). */
  oldestSeq(): number {
    const head = this.#entries.values().next()
    return head.done ? Infinity : head.value.seq
  }

  dropOldest(): void {
    const head = this.#entries.entries().next()
    // Stryker disable next-line ConditionalExpression: equivalent, only called on the space whose oldestSeq() was finite, which is not empty
    if (!head.done) this.#drop(head.value[0], head.value[1])
  }

  // ---- internals ---------------------------------------------------------------------------------

  #load(name: unknown): Promise<V> {
    try {
      // Promise.resolve: a store that returns a plain value (or a foreign thenable) still works.
      return Promise.resolve(this.#config.load(name))
    } catch (e) {
      // A store that throws synchronously fails like one that rejects.
      return Promise.reject(e)
    }
  }

  /** The entry for `name` if it is still valid at `t`, refreshed in the LRU order when it has aged. */
  #fresh(name: string, t: number): Entry<V> | undefined {
    const e = this.#entries.get(name)
    if (e === undefined) return undefined
    if (!(t < e.expires && t >= e.at)) {
      this.#drop(name, e)
      return undefined
    }
    const shared = this.#shared
    if (shared.seq - e.seq > shared.refreshAfter) {
      this.#entries.delete(name)
      e.seq = ++shared.seq
      this.#entries.set(name, e)
    }
    return e
  }

  #miss(name: string, t: number): Promise<V> {
    const flights = this.#flights
    const current = flights.get(name)
    if (current !== undefined) {
      if (t >= current.startedAt && t - current.startedAt < JOIN_WINDOW_MS) return this.#join(name, current)
      current.detached = true
      flights.delete(name)
    }
    const flight: Flight<V> = { promise: NONE as Promise<V>, startedAt: t, epoch: this.#epoch, detached: false }
    flight.promise = this.#load(name).then(
      (value) => {
        if (flights.get(name) === flight) flights.delete(name)
        this.#admit(name, flight, value)
        return value
      },
      (error: unknown) => {
        if (flights.get(name) === flight) flights.delete(name)
        throw error
      },
    )
    const max = this.#shared.max
    if (flights.size >= max) this.#pruneFlights(t)
    // Not registered means not reachable by forget(): then it must not be cached either.
    if (flights.size < max) flights.set(name, flight)
    else flight.detached = true
    return flight.promise
  }

  /**
   * Joins a lookup in flight. When nothing was invalidated since it began, its answer is this
   * request's. Otherwise the answer is checked when it arrives: if its id was invalidated between
   * the lookup's start and this join (or that cannot be told), this request does not take it and
   * looks up anew. The new lookup begins after the join, so after the invalidation: one retry at most.
   */
  #join(name: string, flight: Flight<V>): Promise<V> {
    const joined = this.#epoch
    if (flight.epoch === joined) return flight.promise
    return flight.promise.then((value) => (this.#servable(name, value, flight.epoch, joined) ? value : this.find(name)))
  }

  /** Whether `value`, read by a lookup that began at epoch `from`, may answer a request of epoch `to`. */
  #servable(name: string, value: V, from: number, to: number): boolean {
    if (isMiss(value)) return true
    const id = this.#config.idOf(name, value as NonNullable<V>)
    return id !== undefined && !this.#changed(id, from, to)
  }

  /** Drops flights past the join window (oldest first: a Map keeps insertion order). */
  #pruneFlights(t: number): void {
    for (const [name, f] of this.#flights) {
      if (t >= f.startedAt && t - f.startedAt < JOIN_WINDOW_MS) break
      f.detached = true
      this.#flights.delete(name)
    }
  }

  /** Caches a settled lookup unless something invalidated it while it was in flight. */
  #admit(name: string, flight: Flight<V>, value: V): void {
    if (flight.detached) return
    const c = this.#config
    let ttl = c.negativeTtl
    let id: string | undefined
    if (!isMiss(value)) {
      id = c.idOf(name, value as NonNullable<V>)
      if (id === undefined || this.#changed(id, flight.epoch, this.#epoch)) return
      ttl = c.ttl
    }
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, with ttl 0, expires === at and the freshness test below refuses as well; this only saves the work
    if (ttl <= 0) return
    const at = flight.startedAt
    const expires = at + ttl
    const shared = this.#shared
    const t = shared.now()
    if (!(t < expires && t >= at)) return
    const old = this.#entries.get(name)
    // Stryker disable next-line ConditionalExpression: equivalent, no entry exists here (#fresh drops a name's entry before any lookup of it starts, and a name has one registered lookup at most); kept so a replaced entry never leaves its id list stale
    if (old !== undefined) this.#drop(name, old)
    this.#entries.set(name, { value, id, settled: Promise.resolve(value), at, expires, seq: ++shared.seq })
    if (id !== undefined) {
      const list = this.#namesOf.get(id)
      if (list === undefined) {
        this.#namesOf.set(id, [name])
      } else {
        // Stryker disable next-line ConditionalExpression: equivalent, with no entry for name (above), name is in no id list, since a name leaves its list when its entry is dropped
        if (!list.includes(name)) list.push(name)
      }
    }
    shared.evict()
  }

  /** Whether `id` was invalidated at an epoch in (`from`, `to`] (unsure, because too many were since: yes). */
  #changed(id: string, from: number, to: number): boolean {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, epochs only grow and joins pass to > from, so only to === from (from #admit) reaches this, where epoch - from is 0 and the loop is empty
    if (to <= from) return false
    if (this.#epoch - from > ID_RING) return true
    for (let k = from + 1; k <= to; k++) if (this.#ring[k % ID_RING] === id) return true
    return false
  }

  #drop(name: string, e: Entry<V>): void {
    this.#entries.delete(name)
    const id = e.id
    if (id === undefined) return
    const list = this.#namesOf.get(id)
    if (list === undefined) return
    const i = list.indexOf(name)
    if (i >= 0) list.splice(i, 1)
    if (list.length === 0) this.#namesOf.delete(id)
  }

  /** Drops the entry for `name` and detaches its lookup in flight. */
  #forgetName(name: string): void {
    const e = this.#entries.get(name)
    if (e !== undefined) this.#drop(name, e)
    const f = this.#flights.get(name)
    if (f !== undefined) {
      f.detached = true
      this.#flights.delete(name)
    }
  }
}
