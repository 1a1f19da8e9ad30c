/**
 * The read side of `cachedStore`: cached, single-flight `findByHash`, `findGroup` and `findOwner`
 * over three `LookupSpace`s sharing one LRU, their synchronous peeks, `invalidate()`, and the
 * observer. The class in `cached.ts` adds the forwarded writes, each of which ends in
 * {@link CachedReads.forget}. The consistency model is described in `cached.ts`.
 * @module
 */
import { quote, typeError } from '../errors.js'
import type { KeyGroup, KeyRecord, KeyStore, OwnerRecord, StoreChange } from '../types.js'
import type { CacheEvent, CacheObserver, CacheSpace } from './cached.js'
import { LookupSpace, Recency } from './_lookup-space.js'

const NONE: Promise<undefined> = Promise.resolve(undefined)

/** A key record's id, or `undefined` when it has none that can be read as a string (then it is never cached). */
export function recordId(value: unknown): string | undefined {
  try {
    // Stryker disable next-line LogicalOperator: equivalent, with || it reads .id of undefined too, which throws into the catch below and answers undefined as well
    const id: unknown = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined
    return typeof id === 'string' ? id : undefined
  } catch {
    return undefined
  }
}

/** The id of a group or owner found by `name` (`undefined`, never cached, for a value that is not an object). */
const ownId = (name: string, value: unknown): string | undefined => (typeof value === 'object' ? name : undefined)

/** TTLs and the entry bound, validated. */
export interface Sizes {
  readonly ttl: number
  readonly negativeTtl: number
  readonly ownerTtl: number
  readonly max: number
}

/** Cached lookups and their invalidation; see the module comment. */
export class CachedReads {
  readonly #inner: KeyStore
  readonly #recency: Recency
  readonly #keys: LookupSpace<KeyRecord | undefined>
  readonly #groups: LookupSpace<KeyGroup | undefined>
  readonly #owners: LookupSpace<OwnerRecord | undefined>
  readonly #observer: CacheObserver | undefined

  constructor(inner: KeyStore, sizes: Sizes, now: () => number, observer?: CacheObserver) {
    this.#inner = inner
    this.#observer = observer
    const recency = (this.#recency = new Recency(now, sizes.max))
    const ownerNegativeTtl = Math.min(sizes.ownerTtl, sizes.negativeTtl)
    this.#keys = new LookupSpace(recency, {
      load: (hash) => inner.findByHash(hash as string),
      ttl: sizes.ttl,
      negativeTtl: sizes.negativeTtl,
      idOf: (_hash, record) => recordId(record),
    })
    this.#groups = new LookupSpace(recency, { load: (id) => inner.findGroup!(id as string), ttl: sizes.ownerTtl, negativeTtl: ownerNegativeTtl, idOf: ownId })
    this.#owners = new LookupSpace(recency, { load: (id) => inner.findOwner!(id as string), ttl: sizes.ownerTtl, negativeTtl: ownerNegativeTtl, idOf: ownId })
    if (observer !== undefined) recency.onEvict = (space) => this.#tell('eviction', this.#spaceOf(space))
  }

  // ---- the observer (only consulted when one was given) --------------------------------------------
  #tell(event: CacheEvent, space: CacheSpace): void {
    try {
      this.#observer!(event, space)
    } catch {
      // Metrics must never change or break a lookup.
    }
  }

  #spaceOf(space: unknown): CacheSpace {
    return space === this.#keys ? 'key' : space === this.#groups ? 'group' : 'owner'
  }

  /** A lookup about to be served: from a fresh entry (a peek knows it), else from the wrapped store. */
  #looked(peeked: unknown, space: CacheSpace): void {
    this.#tell(peeked === undefined ? 'miss' : peeked === null ? 'negative_hit' : 'hit', space)
  }

  /** A peek's answer, told to the observer when it answers (an unknown answer is told by the find that follows). */
  #peeked<T>(value: T | null | undefined, space: CacheSpace): T | null | undefined {
    if (this.#observer !== undefined && value !== undefined) this.#tell(value === null ? 'negative_hit' : 'hit', space)
    return value
  }

  get size(): number {
    return this.#recency.size
  }

  // ---- cached reads and synchronous peeks --------------------------------------------------------
  // A peek answers only from an entry the matching find* would serve at this very moment; anything
  // else, a lookup in flight included, is `undefined` and the authorizer calls find*.

  findByHash(hash: string): Promise<KeyRecord | undefined> {
    if (this.#observer !== undefined) this.#looked(this.#keys.peek(hash), 'key')
    return this.#keys.find(hash)
  }

  findGroup(id: string): Promise<KeyGroup | undefined> {
    if (typeof this.#inner.findGroup !== 'function') return NONE
    if (this.#observer !== undefined) this.#looked(this.#groups.peek(id), 'group')
    return this.#groups.find(id)
  }

  findOwner(id: string): Promise<OwnerRecord | undefined> {
    if (typeof this.#inner.findOwner !== 'function') return NONE
    if (this.#observer !== undefined) this.#looked(this.#owners.peek(id), 'owner')
    return this.#owners.find(id)
  }

  peekByHash(hash: string): KeyRecord | null | undefined {
    return this.#peeked(this.#keys.peek(hash), 'key')
  }

  peekGroup(id: string): KeyGroup | null | undefined {
    // Without an inner findGroup, findGroup resolves to undefined: a known miss.
    return typeof this.#inner.findGroup === 'function' ? this.#peeked(this.#groups.peek(id), 'group') : null
  }

  peekOwner(id: string): OwnerRecord | null | undefined {
    return typeof this.#inner.findOwner === 'function' ? this.#peeked(this.#owners.peek(id), 'owner') : null
  }

  /** Forwarded; never invalidates (last-used time is informational and would only cost hit rate). */
  touch(id: string, at: number): Promise<void> {
    const inner = this.#inner
    return typeof inner.touch === 'function' ? inner.touch(id, at) : (NONE as Promise<void>)
  }

  // ---- invalidation ------------------------------------------------------------------------------

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
        // Stryker disable next-line ArrayDeclaration: equivalent, a default name that no lookup uses (the mutant's) drops nothing
        const hashes = c.hashes ?? []
        if (!Array.isArray(hashes)) return fail('change.hashes', 'must be an array of strings')
        for (let i = 0; i < hashes.length; i++) {
          if (typeof hashes[i] !== 'string') return fail(`change.hashes[${i}]`, 'must be a string')
        }
        // Hashes the change does not list (an older one, or none at all) are caught by id.
        return this.forget('key', id, hashes as string[])
      }
      case 'group':
      case 'owner':
        return this.forget(c.type, id, [id])
      default:
        return fail('change.type', `must be 'key', 'group' or 'owner', got ${quote(c.type)}`)
    }
  }

  clear(): void {
    this.#keys.clear()
    this.#groups.clear()
    this.#owners.clear()
  }

  /**
   * Drops `id` (and, for keys, `hashes`) from one space and wins against its lookups in flight;
   * told to the observer as an invalidation. What every write and `invalidate()` ends in.
   */
  protected forget(space: CacheSpace, id: string, hashes: readonly string[]): void {
    const lookups: LookupSpace<unknown> = space === 'key' ? this.#keys : space === 'group' ? this.#groups : this.#owners
    lookups.forget(id, hashes)
    if (this.#observer !== undefined) this.#tell('invalidation', space)
  }
}
