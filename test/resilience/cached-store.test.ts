import { describe, expect, it } from 'vitest'
import { cachedStore } from '../../src/stores/cached.js'
import type { KeyGroup, KeyRecord, KeyStore, OwnerRecord } from '../../src/types.js'
import { testClock } from '../_support/clock.js'
import { deferred, record, settle, type Deferred } from './_helpers.js'

/** A lookup-only store whose every call waits for the test to answer it. */
class ManualStore implements KeyStore {
  readonly pending: { kind: 'hash' | 'group' | 'owner'; name: string; d: Deferred<unknown> }[] = []
  readonly counts = new Map<string, number>()
  #ask<T>(kind: 'hash' | 'group' | 'owner', name: string): Promise<T> {
    this.counts.set(`${kind}:${name}`, (this.counts.get(`${kind}:${name}`) ?? 0) + 1)
    const d = deferred<unknown>()
    this.pending.push({ kind, name, d })
    return d.promise as Promise<T>
  }
  findByHash(hash: string) {
    return this.#ask<KeyRecord | undefined>('hash', hash)
  }
  findGroup(id: string) {
    return this.#ask<KeyGroup | undefined>('group', id)
  }
  findOwner(id: string) {
    return this.#ask<OwnerRecord | undefined>('owner', id)
  }
  count(kind: string, name: string): number {
    return this.counts.get(`${kind}:${name}`) ?? 0
  }
  /** Answers the oldest pending call. */
  answer(value: unknown): void {
    const p = this.pending.shift()
    if (!p) throw new Error('test bug: nothing pending')
    p.d.resolve(value)
  }
  fail(error: unknown): void {
    const p = this.pending.shift()
    if (!p) throw new Error('test bug: nothing pending')
    p.d.reject(error)
  }
}

/** Looks `hash` up and answers it with `value` at once; returns what the cache returned. */
async function primed(store: ManualStore, cache: ReturnType<typeof cachedStore>, hash: string, value: unknown): Promise<unknown> {
  const p = cache.findByHash(hash)
  if (store.pending.length > 0) store.answer(value)
  return p
}

describe('cachedStore: single-flight', () => {
  it('200 concurrent cold lookups of one hash make one store call and all get the record', async () => {
    const inner = new ManualStore()
    const cache = cachedStore(inner)
    const r = record('key_1', 'h1')
    const all = Array.from({ length: 200 }, () => cache.findByHash('h1'))
    expect(inner.count('hash', 'h1')).toBe(1)
    inner.answer(r)
    const got = await Promise.all(all)
    expect(got.every((x) => x === r)).toBe(true)
    expect(inner.count('hash', 'h1')).toBe(1)
    expect(await cache.findByHash('h1')).toBe(r)
    expect(inner.count('hash', 'h1')).toBe(1)
  })

  it('a rejection reaches every waiter and is not cached', async () => {
    const inner = new ManualStore()
    const cache = cachedStore(inner)
    const waiters = Array.from({ length: 5 }, () => cache.findByHash('h1'))
    const boom = new Error('db down')
    inner.fail(boom)
    const results = await Promise.allSettled(waiters)
    expect(results.map((r) => (r.status === 'rejected' ? r.reason : 'fulfilled'))).toEqual([boom, boom, boom, boom, boom])
    expect(cache.size).toBe(0)
    const again = cache.findByHash('h1')
    expect(inner.count('hash', 'h1')).toBe(2)
    inner.answer(undefined)
    expect(await again).toBeUndefined()
  })

  it('a store that throws synchronously rejects the lookup instead of throwing', async () => {
    const cache = cachedStore({
      findByHash() {
        throw new Error('sync boom')
      },
    })
    let thrown = false
    let p: Promise<unknown> | undefined
    try {
      p = cache.findByHash('h1')
    } catch {
      thrown = true
    }
    expect(thrown).toBe(false)
    await expect(p).rejects.toThrow('sync boom')
    expect(cache.size).toBe(0)
  })

  it('does not join a lookup that has been in flight past the join window (a hung store does not poison the hash)', async () => {
    const clock = testClock()
    const inner = new ManualStore()
    const cache = cachedStore(inner, { now: clock.now })
    void cache.findByHash('h1') // hangs: never answered
    clock.advance(999)
    void cache.findByHash('h1')
    expect(inner.count('hash', 'h1')).toBe(1)
    clock.advance(2)
    const fresh = cache.findByHash('h1')
    expect(inner.count('hash', 'h1')).toBe(2)
    const r = record('key_1', 'h1')
    inner.pending[1]!.d.resolve(r)
    expect(await fresh).toBe(r)
    // The hung lookup finally answers with something older: it was superseded, so it is not cached.
    inner.pending[0]!.d.resolve(undefined)
    await settle()
    expect(await cache.findByHash('h1')).toBe(r)
  })
})

describe('cachedStore: expiry', () => {
  it('serves a found record for ttlMs, then asks the store again', async () => {
    const clock = testClock()
    const inner = new ManualStore()
    const cache = cachedStore(inner, { ttlMs: 1_000, now: clock.now })
    const r = record('key_1', 'h1')
    await primed(inner, cache, 'h1', r)
    clock.advance(999)
    expect(await cache.findByHash('h1')).toBe(r)
    expect(inner.count('hash', 'h1')).toBe(1)
    clock.advance(1)
    const p = cache.findByHash('h1')
    expect(inner.count('hash', 'h1')).toBe(2)
    inner.answer(undefined)
    expect(await p).toBeUndefined()
  })

  it('serves a miss for negativeTtlMs only', async () => {
    const clock = testClock()
    const inner = new ManualStore()
    const cache = cachedStore(inner, { negativeTtlMs: 200, now: clock.now })
    await primed(inner, cache, 'h1', undefined)
    clock.advance(199)
    expect(await cache.findByHash('h1')).toBeUndefined()
    expect(inner.count('hash', 'h1')).toBe(1)
    clock.advance(1)
    void cache.findByHash('h1')
    expect(inner.count('hash', 'h1')).toBe(2)
  })

  it('ttl 0 caches nothing but still shares concurrent lookups', async () => {
    const inner = new ManualStore()
    const cache = cachedStore(inner, { ttlMs: 0, negativeTtlMs: 0 })
    const a = cache.findByHash('h1')
    const b = cache.findByHash('h1')
    expect(inner.count('hash', 'h1')).toBe(1)
    inner.answer(record('key_1', 'h1'))
    await Promise.all([a, b])
    expect(cache.size).toBe(0)
    void cache.findByHash('h1')
    expect(inner.count('hash', 'h1')).toBe(2)
  })

  it('a clock that goes backwards expires entries instead of stretching them', async () => {
    const clock = testClock()
    const inner = new ManualStore()
    const cache = cachedStore(inner, { now: clock.now })
    await primed(inner, cache, 'h1', record('key_1', 'h1'))
    clock.set(clock.now() - 60_000)
    void cache.findByHash('h1')
    expect(inner.count('hash', 'h1')).toBe(2)
  })

  it('groups and owners expire after ownerTtlMs (default 5 s), hits and misses alike', async () => {
    const clock = testClock()
    const inner = new ManualStore()
    const cache = cachedStore(inner, { now: clock.now })
    const g = cache.findGroup('g1')
    inner.answer({ id: 'g1', name: 'G', active: true, createdAt: 0 })
    await g
    const o = cache.findOwner('ana')
    inner.answer(undefined)
    await o
    clock.advance(4_999)
    await Promise.all([cache.findGroup('g1'), cache.findOwner('ana')])
    expect([inner.count('group', 'g1'), inner.count('owner', 'ana')]).toEqual([1, 1])
    clock.advance(1)
    void cache.findGroup('g1')
    void cache.findOwner('ana')
    expect([inner.count('group', 'g1'), inner.count('owner', 'ana')]).toEqual([2, 2])
  })
})

describe('cachedStore: bounded memory', () => {
  it('100,000 random unknown keys keep size at or below maxEntries', async () => {
    const lookups = { n: 0 }
    const cache = cachedStore(
      {
        async findByHash() {
          lookups.n++
          return undefined
        },
      },
      { maxEntries: 1_000 },
    )
    let peak = 0
    for (let i = 0; i < 100_000; i++) {
      await cache.findByHash(`unknown-${i}-${Math.random().toString(36).slice(2)}`)
      if (cache.size > peak) peak = cache.size
    }
    expect(lookups.n).toBe(100_000)
    expect(peak).toBe(1_000)
    expect(cache.size).toBe(1_000)
  })

  it('evicts the least recently used entry, not one in constant use', async () => {
    const counts = new Map<string, number>()
    const hot = record('key_hot', 'hot')
    const cache = cachedStore(
      {
        async findByHash(hash) {
          counts.set(hash, (counts.get(hash) ?? 0) + 1)
          return hash === 'hot' ? hot : undefined
        },
      },
      { maxEntries: 4 },
    )
    await cache.findByHash('hot')
    for (let i = 0; i < 50; i++) {
      await cache.findByHash(`cold-${i}`)
      expect(await cache.findByHash('hot')).toBe(hot)
    }
    expect(counts.get('hot')).toBe(1)
    expect(cache.size).toBe(4)
    // The oldest cold entries are gone, the newest are still there.
    await cache.findByHash('cold-0')
    await cache.findByHash('cold-49')
    expect([counts.get('cold-0'), counts.get('cold-49')]).toEqual([2, 1])
  })

  it('bounds keys, groups and owners together', async () => {
    const inner = new ManualStore()
    const cache = cachedStore(inner, { maxEntries: 3 })
    for (let i = 0; i < 4; i++) {
      const a = cache.findGroup(`g${i}`)
      inner.answer({ id: `g${i}`, name: 'G', active: true, createdAt: 0 })
      await a
      const b = cache.findOwner(`o${i}`)
      inner.answer({ active: true })
      await b
      await primed(inner, cache, `h${i}`, undefined)
      expect(cache.size).toBeLessThanOrEqual(3)
    }
    expect(cache.size).toBe(3)
  })
})

describe('cachedStore: options', () => {
  const store: KeyStore = { findByHash: async () => undefined }
  it.each([
    [{ ttlMs: -1 }, RangeError, /^ttlMs: /],
    [{ ttlMs: Number.NaN }, RangeError, /^ttlMs: /],
    [{ ttlMs: Infinity }, RangeError, /^ttlMs: /],
    [{ ttlMs: 86_400_001 }, RangeError, /^ttlMs: /],
    [{ negativeTtlMs: '5' }, RangeError, /^negativeTtlMs: /],
    [{ ownerTtlMs: -5 }, RangeError, /^ownerTtlMs: /],
    [{ maxEntries: 0 }, RangeError, /^maxEntries: /],
    [{ maxEntries: 1.5 }, RangeError, /^maxEntries: /],
    [{ now: 5 }, TypeError, /^now: /],
    [{ ttl: 1000 }, RangeError, /^options: unknown field "ttl"/],
  ])('rejects %j naming the field', (options, type, message) => {
    expect(() => cachedStore(store, options as never)).toThrow(type)
    expect(() => cachedStore(store, options as never)).toThrow(message)
  })

  it('requires a store with findByHash', () => {
    expect(() => cachedStore({} as KeyStore)).toThrow(/^store: /)
    expect(() => cachedStore(null as unknown as KeyStore)).toThrow(TypeError)
  })

  it('does not mutate the options object', () => {
    const options = Object.freeze({ ttlMs: 10 })
    expect(() => cachedStore(store, options)).not.toThrow()
    expect(options).toEqual({ ttlMs: 10 })
  })
})
