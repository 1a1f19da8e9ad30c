/**
 * cachedStore at the exact edges of its limits: the join window, the in-flight table at
 * `maxEntries`, the number of invalidations a lookup in flight can be checked against, the
 * lifetimes of groups' and owners' misses, and the recency order. The inner store answers only
 * when released; the clock moves only when a test moves it.
 */
import { describe, expect, it } from 'vitest'
import { createAuthorizer, KeyManager } from '../../src/index.js'
import { cachedStore, type CachedStoreOptions } from '../../src/stores/cached.js'
import type { KeyRecord, KeyStore, StoreChange } from '../../src/types.js'
import { testClock } from '../_support/clock.js'
import { record, req, settle } from './_helpers.js'
import { SlowStore } from './_slow-store.js'

const LEGACY = '3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44'

async function setup(options: CachedStoreOptions = {}) {
  const clock = testClock()
  const slow = new SlowStore()
  await slow.inner.insertKey(record('key_1', 'h1'))
  await slow.inner.insertKey(record('key_2', 'h2'))
  await slow.inner.insertKey(record('key_3', 'h3'))
  const cache = cachedStore(slow, { now: clock.now, ...options })
  return { clock, slow, cache }
}

describe('cachedStore: the join window', () => {
  it('a request joins a lookup that began just under a second ago, and makes its own at exactly one second', async () => {
    const t = await setup()
    const first = t.cache.findByHash('h1')
    t.clock.advance(999)
    const joined = t.cache.findByHash('h1')
    expect(t.slow.calls.key).toBe(1)
    t.clock.advance(1)
    const own = t.cache.findByHash('h1')
    expect(t.slow.calls.key).toBe(2)
    await t.slow.drain([first, joined, own])
    expect((await own)?.id).toBe('key_1')
  })

  it('a clock that goes back while a lookup is in flight starts a new lookup instead of joining it', async () => {
    const t = await setup()
    const first = t.cache.findByHash('h1')
    t.clock.set(t.clock.now() - 1)
    const second = t.cache.findByHash('h1')
    expect(t.slow.calls.key).toBe(2)
    await t.slow.drain([first, second])
    // The newer lookup is the one cached.
    expect(t.cache.peekByHash('h1')?.id).toBe('key_1')
  })
})

describe('cachedStore: the in-flight table at maxEntries', () => {
  it('beyond maxEntries lookups in flight, a further lookup is neither shared nor cached', async () => {
    const t = await setup({ maxEntries: 2 })
    const work = [t.cache.findByHash('h1'), t.cache.findByHash('h2'), t.cache.findByHash('h3'), t.cache.findByHash('h3')]
    expect(t.slow.calls.key).toBe(4) // the two lookups of h3 found the table full: each made its own call
    await t.slow.drain(work)
    for (const [i, id] of ['key_1', 'key_2', 'key_3', 'key_3'].entries()) expect((await work[i]!)?.id).toBe(id)
    expect(t.cache.peekByHash('h3')).toBeUndefined()
    expect([t.cache.peekByHash('h1')?.id, t.cache.peekByHash('h2')?.id]).toEqual(['key_1', 'key_2'])
  })

  it('lookups hung past the join window make room: the next lookup is shared and cached', async () => {
    const t = await setup({ maxEntries: 2 })
    void t.cache.findByHash('h1') // never answered
    void t.cache.findByHash('h2') // never answered
    await settle()
    t.clock.advance(1_000)
    const a = t.cache.findByHash('h3')
    const b = t.cache.findByHash('h3')
    expect(t.slow.calls.key).toBe(3)
    await settle()
    t.slow.releaseAt(2)
    expect([(await a)?.id, (await b)?.id]).toEqual(['key_3', 'key_3'])
    expect(t.cache.peekByHash('h3')?.id).toBe('key_3')
  })

  it('after the clock went back, lookups in flight make room too: the next lookup is shared and cached', async () => {
    const t = await setup({ maxEntries: 2 })
    void t.cache.findByHash('h1') // never answered
    void t.cache.findByHash('h2') // never answered
    await settle()
    t.clock.set(t.clock.now() - 1)
    const a = t.cache.findByHash('h3')
    const b = t.cache.findByHash('h3')
    expect(t.slow.calls.key).toBe(3)
    await settle()
    t.slow.releaseAt(2)
    expect([(await a)?.id, (await b)?.id]).toEqual(['key_3', 'key_3'])
    expect(t.cache.peekByHash('h3')?.id).toBe('key_3')
  })

  it('a lookup dropped from the full table for hanging does not cache the miss it read, once the key is imported', async () => {
    const clock = testClock()
    const slow = new SlowStore()
    slow.slow = new Set()
    const cache = cachedStore(slow, { maxEntries: 2, now: clock.now })
    const manager = new KeyManager(cache, { now: clock.now })
    const authorizer = createAuthorizer({ store: cache, now: clock.now, touchIntervalMs: 0 })
    slow.slow = new Set(['key'])
    const early = authorizer.authorize(req(LEGACY)) // reads the miss, then hangs
    void cache.findByHash('h-other') // hangs too: the table is full
    await settle()
    clock.advance(1_000)
    void cache.findByHash('h-third') // drops both hung lookups from the table
    await settle()
    slow.slow = new Set()
    await manager.import({ key: LEGACY, kind: 'org' })
    slow.releaseAt(0) // the dropped lookup answers its miss last
    expect((await early).allow).toBe(false) // it began before the import
    await settle()
    expect((await authorizer.authorize(req(LEGACY))).allow).toBe(true)
  })
})

describe('cachedStore: how many invalidations a lookup in flight is checked against', () => {
  async function afterOthers(n: number) {
    const t = await setup()
    const p = t.cache.findByHash('h1')
    for (let i = 0; i < n; i++) t.cache.invalidate({ type: 'key', id: `other_${i}`, hashes: [] })
    await t.slow.drain([p])
    return t.cache.peekByHash('h1')?.id
  }

  it('caches a lookup during which 256 other keys changed (all of them remembered)', async () => {
    expect(await afterOthers(256)).toBe('key_1')
  })

  it('does not cache a lookup during which 257 other keys changed (one too many to tell)', async () => {
    expect(await afterOthers(257)).toBeUndefined()
  })

  it('a request that joined after another key changed gets a miss without a second store call', async () => {
    const t = await setup({ negativeTtlMs: 0 }) // the miss is not cached: only the lookup in flight can answer it
    const first = t.cache.findByHash('h-unknown')
    t.cache.invalidate({ type: 'key', id: 'key_2' } as StoreChange)
    const joined = t.cache.findByHash('h-unknown')
    await t.slow.drain([first, joined])
    expect([await first, await joined]).toEqual([undefined, undefined])
    expect(t.slow.calls.key).toBe(1)
  })

  it('a request still waiting on an older lookup when clear() is called looks up again', async () => {
    const t = await setup()
    const first = t.cache.findByHash('h1')
    t.cache.invalidate({ type: 'key', id: 'key_2' } as StoreChange)
    const joined = t.cache.findByHash('h1') // joined after a change: checked when it answers
    await settle()
    await t.slow.inner.updateKey({ ...record('key_1', 'h1'), active: false })
    t.cache.clear()
    await t.slow.drain([first, joined])
    expect((await first)?.active).toBe(true) // began before the change
    expect((await joined)?.active).toBe(false)
    expect(t.slow.calls.key).toBe(2)
  })

  it('requests that join a lookup of a record without a readable id share it while nothing changes', async () => {
    const slow = new SlowStore()
    const odd = { hash: 'h1', kind: 'user', active: true, createdAt: 0 } as unknown as KeyRecord
    slow.inner.findByHash = async () => odd
    const cache = cachedStore(slow, { now: testClock().now })
    const all = [cache.findByHash('h1'), cache.findByHash('h1'), cache.findByHash('h1')]
    await slow.drain(all)
    for (const p of all) expect(await p).toBe(odd)
    expect(slow.calls.key).toBe(1)
    expect(cache.size).toBe(0) // never cached: no id could invalidate it
  })
})

describe('cachedStore: lifetimes', () => {
  async function ownerMiss(options: CachedStoreOptions) {
    const clock = testClock()
    let finds = 0
    const store: KeyStore = { findByHash: async () => undefined, findOwner: async () => (finds++, undefined), findGroup: async () => (finds++, undefined) }
    const cache = cachedStore(store, { now: clock.now, ...options })
    await Promise.all([cache.findOwner('ana'), cache.findGroup('g1')])
    /** Whether both misses are still served from the cache `ms` after they were read. */
    return async (ms: number) => {
      clock.set(testClock().now() + ms)
      const before = finds
      await Promise.all([cache.findOwner('ana'), cache.findGroup('g1')])
      return finds === before
    }
  }

  it('serves group and owner misses for ownerTtlMs when it is the shorter', async () => {
    const cachedAt = await ownerMiss({ ownerTtlMs: 1_000, negativeTtlMs: 5_000 })
    expect(await cachedAt(999)).toBe(true)
    expect(await cachedAt(1_000)).toBe(false)
  })

  it('serves group and owner misses for negativeTtlMs when it is the shorter', async () => {
    const cachedAt = await ownerMiss({ ownerTtlMs: 5_000, negativeTtlMs: 1_000 })
    expect(await cachedAt(999)).toBe(true)
    expect(await cachedAt(1_000)).toBe(false)
  })

  it('groups and owners live no longer than ttlMs by default', async () => {
    const clock = testClock()
    const store: KeyStore = { findByHash: async () => undefined, findOwner: async () => ({ active: true }) }
    let finds = 0
    const counting: KeyStore = { ...store, findOwner: async (id) => (finds++, store.findOwner!(id)) }
    const cache = cachedStore(counting, { ttlMs: 2_000, now: clock.now })
    await cache.findOwner('ana')
    clock.advance(1_999)
    await cache.findOwner('ana')
    expect(finds).toBe(1)
    clock.advance(1)
    await cache.findOwner('ana')
    expect(finds).toBe(2)
  })

  it('an answer is served from the very instant it was cached', async () => {
    const t = await setup()
    const p = t.cache.findByHash('h1')
    await t.slow.drain([p])
    expect(t.cache.peekByHash('h1')?.id).toBe('key_1')
    expect((await t.cache.findByHash('h1'))?.id).toBe('key_1')
    expect(t.slow.calls.key).toBe(1)
  })

  it('a lookup that answers once ttlMs has passed since it began is not cached', async () => {
    const t = await setup({ ttlMs: 1_000 })
    const p = t.cache.findByHash('h1')
    await settle()
    t.clock.advance(1_000)
    await t.slow.drain([p])
    expect((await p)?.id).toBe('key_1')
    expect(t.cache.size).toBe(0)
  })

  it('ttlMs 0 with a clock that stands still caches nothing, found or missing', async () => {
    const t = await setup({ ttlMs: 0, negativeTtlMs: 0 })
    const work = [t.cache.findByHash('h1'), t.cache.findByHash('h-unknown')]
    await t.slow.drain(work)
    expect(t.cache.size).toBe(0)
  })
})

describe('cachedStore: names that are not strings', () => {
  it('are passed to the store every time and never cached', async () => {
    let finds = 0
    const cache = cachedStore({ findByHash: async () => (finds++, undefined) }, { now: testClock().now })
    await cache.findByHash(42 as never)
    await cache.findByHash(42 as never)
    expect(finds).toBe(2)
    expect(cache.size).toBe(0)
    expect(cache.peekByHash(42 as never)).toBeUndefined()
  })
})

describe('cachedStore: the recency order', () => {
  it('an entry used again while among the younger half keeps its place; once older, it moves to the young end', async () => {
    const counts = new Map<string, number>()
    const cache = cachedStore(
      { findByHash: async (h) => void counts.set(h, (counts.get(h) ?? 0) + 1) },
      { maxEntries: 4, now: testClock().now },
    )
    const look = (...hashes: string[]) => Promise.all(hashes.map((h) => cache.findByHash(h)))
    await look('a', 'b', 'c')
    await look('a') // two entries younger than it: not moved
    await look('d', 'e') // one too many: `a` goes first
    await look('a', 'b')
    expect([counts.get('a'), counts.get('b')]).toEqual([2, 1])
    await look('g', 'h') // `d` and `e` go
    await look('b') // three entries are younger than it: moved to the young end
    await look('i') // `a`, now the oldest, goes; `b` stays
    await look('b', 'a')
    expect([counts.get('a'), counts.get('b')]).toEqual([3, 1])
  })
})
