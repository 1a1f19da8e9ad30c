/**
 * What `cachedStore` tells its observer (`CachedStoreOptions.observer`, what `keyward/otel`
 * counts): one event per lookup or answering peek, in the right space, evictions by the space
 * they left, and an invalidation for every write and `invalidate()`.
 */
import { describe, expect, it } from 'vitest'
import { createAuthorizer, hashKey, KeyManager, MemoryKeyStore } from '../../src/index.js'
import { cachedStore, type CacheEvent, type CacheSpace } from '../../src/stores/cached.js'
import type { KeyStore } from '../../src/types.js'
import { testClock } from '../_support/clock.js'
import { record, req } from './_helpers.js'

async function setup(maxEntries = 100) {
  const clock = testClock()
  const inner = new MemoryKeyStore()
  const seen: string[] = []
  const cache = cachedStore(inner, { maxEntries, now: clock.now, observer: (event: CacheEvent, space: CacheSpace) => seen.push(`${space}:${event}`) })
  await inner.insertKey(record('key_1', 'h1'))
  await inner.insertGroup({ id: 'g1', name: 'G', active: true, createdAt: 0 })
  await inner.putOwner('ana', { active: true })
  /** The events told since the last call. */
  const told = () => seen.splice(0)
  return { clock, inner, cache, told }
}

describe('cachedStore observer: lookups', () => {
  it('tells miss for a lookup that goes to the store, then hit or negative_hit for one answered from the cache', async () => {
    const { cache, told } = await setup()
    await cache.findByHash('h1')
    await cache.findByHash('h-unknown')
    expect(told()).toEqual(['key:miss', 'key:miss'])
    await cache.findByHash('h1')
    await cache.findByHash('h-unknown')
    expect(told()).toEqual(['key:hit', 'key:negative_hit'])
  })

  it('tells each event in the space of the lookup: group and owner', async () => {
    const { cache, told } = await setup()
    await cache.findGroup('g1')
    await cache.findGroup('g-unknown')
    await cache.findOwner('ana')
    await cache.findOwner('bob')
    expect(told()).toEqual(['group:miss', 'group:miss', 'owner:miss', 'owner:miss'])
    await cache.findGroup('g1')
    await cache.findGroup('g-unknown')
    await cache.findOwner('ana')
    await cache.findOwner('bob')
    expect(told()).toEqual(['group:hit', 'group:negative_hit', 'owner:hit', 'owner:negative_hit'])
  })

  it('a peek that answers is a hit or a negative_hit; a peek with nothing cached tells nothing (the find that follows does)', async () => {
    const { cache, told } = await setup()
    expect([cache.peekByHash('h1'), cache.peekGroup('g1'), cache.peekOwner('ana')]).toEqual([undefined, undefined, undefined])
    expect(told()).toEqual([])
    await Promise.all([cache.findByHash('h1'), cache.findByHash('h-unknown'), cache.findGroup('g1'), cache.findGroup('g-unknown'), cache.findOwner('ana'), cache.findOwner('bob')])
    told()
    expect(cache.peekByHash('h1')?.id).toBe('key_1')
    expect(cache.peekByHash('h-unknown')).toBeNull()
    expect(cache.peekGroup('g1')?.id).toBe('g1')
    expect(cache.peekGroup('g-unknown')).toBeNull()
    expect(cache.peekOwner('ana')?.active).toBe(true)
    expect(cache.peekOwner('bob')).toBeNull()
    expect(told()).toEqual(['key:hit', 'key:negative_hit', 'group:hit', 'group:negative_hit', 'owner:hit', 'owner:negative_hit'])
  })

  it('tells nothing for group and owner lookups the wrapped store does not have', async () => {
    const seen: string[] = []
    const bare: KeyStore = { findByHash: async () => undefined }
    const cache = cachedStore(bare, { observer: (event, space) => seen.push(`${space}:${event}`) })
    expect(await cache.findGroup('g1')).toBeUndefined()
    expect(await cache.findOwner('ana')).toBeUndefined()
    expect([cache.peekGroup('g1'), cache.peekOwner('ana')]).toEqual([null, null])
    expect(seen).toEqual([])
  })

  it('an authorized request is counted once per lookup it makes: miss when cold, hit when warm', async () => {
    const clock = testClock()
    const inner = new MemoryKeyStore()
    const seen: string[] = []
    const cache = cachedStore(inner, { now: clock.now, observer: (event, space) => seen.push(`${space}:${event}`) })
    const manager = new KeyManager(inner, { now: clock.now })
    const group = await manager.createGroup({ name: 'team' })
    await manager.setOwner('ana', { active: true })
    const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only', group: group.id })
    const authorizer = createAuthorizer({ store: cache, now: clock.now, touchIntervalMs: 0 })
    expect((await authorizer.authorize(req(key), 'scans:read')).allow).toBe(true)
    expect([...seen].sort()).toEqual(['group:miss', 'key:miss', 'owner:miss'])
    seen.length = 0
    expect((await authorizer.authorize(req(key), 'scans:read')).allow).toBe(true)
    expect([...seen].sort()).toEqual(['group:hit', 'key:hit', 'owner:hit'])
  })
})

describe('cachedStore observer: evictions and invalidations', () => {
  it('tells an eviction in the space of the entry that left, across spaces', async () => {
    const { cache, told } = await setup(1)
    await cache.findGroup('g1')
    await cache.findOwner('ana') // the group goes
    await cache.findByHash('h1') // the owner goes
    await cache.findGroup('g1') // the key goes
    expect(told().filter((e) => e.endsWith(':eviction'))).toEqual(['group:eviction', 'owner:eviction', 'key:eviction'])
    expect(cache.size).toBe(1)
  })

  it('tells an invalidation in the space of every invalidate() and every write through the cache', async () => {
    const { cache, told } = await setup()
    cache.invalidate({ type: 'key', id: 'key_1', hashes: ['h1'] })
    cache.invalidate({ type: 'group', id: 'g1' })
    cache.invalidate({ type: 'owner', id: 'ana' })
    expect(told()).toEqual(['key:invalidation', 'group:invalidation', 'owner:invalidation'])
    const manager = new KeyManager(cache)
    const { record: issued } = await manager.issue({ kind: 'org' })
    await manager.deactivate(issued.id)
    await manager.deactivateGroup('g1')
    await manager.setOwner('ana', { active: false })
    await manager.removeOwner('ana')
    expect(told()).toEqual(['key:invalidation', 'key:invalidation', 'group:invalidation', 'owner:invalidation', 'owner:invalidation'])
  })

  it('a malformed change drops everything without telling an invalidation it could not name', async () => {
    const { cache, told } = await setup()
    await cache.findByHash('h1')
    told()
    expect(() => cache.invalidate({ type: 'key' } as never)).toThrow(TypeError)
    expect(told()).toEqual([])
    expect(cache.size).toBe(0)
  })
})

describe('cachedStore observer: never changes a lookup', () => {
  it('an observer that throws changes no answer, no caching and no invalidation', async () => {
    const inner = new MemoryKeyStore()
    await inner.insertKey(record('key_1', hashKey('k1')))
    let calls = 0
    const counting: KeyStore = { findByHash: (h) => (calls++, inner.findByHash(h)) }
    const cache = cachedStore(counting, {
      maxEntries: 1,
      observer: () => {
        throw new Error('metrics backend down')
      },
    })
    expect((await cache.findByHash(hashKey('k1')))?.id).toBe('key_1')
    expect((await cache.findByHash(hashKey('k1')))?.id).toBe('key_1')
    expect(cache.peekByHash(hashKey('k1'))?.id).toBe('key_1')
    expect(calls).toBe(1)
    cache.invalidate({ type: 'key', id: 'key_1', hashes: [] })
    expect(cache.size).toBe(0)
    expect((await cache.findByHash(hashKey('k1')))?.id).toBe('key_1')
    expect(calls).toBe(2)
    expect(await cache.findByHash('h-unknown')).toBeUndefined() // evicts the key
    expect(cache.size).toBe(1)
    expect((await cache.findByHash(hashKey('k1')))?.id).toBe('key_1')
    expect(calls).toBe(4)
  })
})
