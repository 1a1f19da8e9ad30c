/**
 * cachedStore's bookkeeping, seen from outside: which names an invalidation of a key id drops
 * (every hash cached for that key now, and nothing cached for another key), which lookups in
 * flight are still cached when they answer (a slow one that nothing superseded; one that a
 * failed, older lookup of the same name must not unhook), and which entry the shared recency
 * order drops first across keys, groups and owners.
 */
import { describe, expect, it } from 'vitest'
import { createAuthorizer, hashKey, KeyManager, MemoryKeyStore } from '../../src/index.js'
import { cachedStore } from '../../src/stores/cached.js'
import type { Decision, DenyDecision, KeyRecord, KeyStore, StoreChange } from '../../src/types.js'
import { testClock } from '../_support/clock.js'
import { deferred, record, req, settle, type Deferred } from './_helpers.js'
import { SlowStore } from './_slow-store.js'

const LEGACY = '3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44'
const HOUR = 3_600_000

function reasonOf(d: Decision): string {
  return d.allow ? 'allow' : (d as DenyDecision).reason
}

describe('cachedStore: what an invalidation of a key id drops', () => {
  it('a one-step revoke (by id alone) denies the current key after the cached entry of its previous hash expired', async () => {
    const clock = testClock()
    const inner = new MemoryKeyStore() // has revokeKey: the cache learns the revoke by key id alone
    const cache = cachedStore(inner, { ttlMs: 10_000, now: clock.now })
    const manager = new KeyManager(cache, { now: clock.now })
    const authorizer = createAuthorizer({ store: cache, now: clock.now, touchIntervalMs: 0 })
    const first = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    const rotated = await manager.rotate(first.record.id, { graceMs: HOUR })
    expect(reasonOf(await authorizer.authorize(req(first.key)))).toBe('allow') // cached under the previous hash
    clock.advance(5_000)
    expect(reasonOf(await authorizer.authorize(req(rotated.key)))).toBe('allow') // cached under the current hash
    clock.advance(5_000)
    // The previous hash's entry expires (and is looked up again); the current one is still fresh.
    expect(reasonOf(await authorizer.authorize(req(first.key)))).toBe('allow')
    await manager.deactivate(first.record.id)
    expect(reasonOf(await authorizer.authorize(req(rotated.key)))).toBe('key_disabled')
    expect(reasonOf(await authorizer.authorize(req(first.key)))).toBe('key_disabled')
  })

  it('a late change about a deleted key does not drop the entry of a key since imported with the same plaintext', async () => {
    const slow = new SlowStore()
    slow.slow = new Set()
    const cache = cachedStore(slow, { now: testClock().now })
    const manager = new KeyManager(cache)
    const hash = hashKey(LEGACY)
    const old = await manager.import({ key: LEGACY, kind: 'org' })
    expect((await cache.findByHash(hash))?.id).toBe(old.id)
    await manager.delete(old.id)
    const again = await manager.import({ key: LEGACY, kind: 'org' })
    expect((await cache.findByHash(hash))?.id).toBe(again.id)
    const calls = slow.calls.key
    cache.invalidate({ type: 'key', id: old.id } as StoreChange) // from another instance, delivered late
    expect(cache.peekByHash(hash)?.id).toBe(again.id)
    expect((await cache.findByHash(hash))?.id).toBe(again.id)
    expect(slow.calls.key).toBe(calls)
  })

  it('a change to a key made before a lookup of it began does not stop that lookup from being cached', async () => {
    const slow = new SlowStore()
    await slow.inner.insertKey(record('key_1', 'h1'))
    const cache = cachedStore(slow, { now: testClock().now })
    cache.invalidate({ type: 'key', id: 'key_1' } as StoreChange)
    const p = cache.findByHash('h1')
    cache.invalidate({ type: 'key', id: 'key_2' } as StoreChange) // during the lookup, about another key
    await slow.drain([p])
    expect(cache.peekByHash('h1')?.id).toBe('key_1')
  })

  it('after clear(), a lookup during which another key changed is still cached', async () => {
    const slow = new SlowStore()
    await slow.inner.insertKey(record('key_1', 'h1'))
    const cache = cachedStore(slow, { now: testClock().now })
    cache.clear()
    const p = cache.findByHash('h1')
    cache.invalidate({ type: 'key', id: 'key_2' } as StoreChange)
    await slow.drain([p])
    expect(cache.peekByHash('h1')?.id).toBe('key_1')
  })

  it('requests that join after a change to another key share the answer even when answers are not cached (ttlMs 0)', async () => {
    const slow = new SlowStore()
    await slow.inner.insertKey(record('key_1', 'h1'))
    const cache = cachedStore(slow, { ttlMs: 0, now: testClock().now })
    const first = cache.findByHash('h1')
    cache.invalidate({ type: 'key', id: 'key_2' } as StoreChange)
    const joined = [cache.findByHash('h1'), cache.findByHash('h1')]
    await slow.drain([first, ...joined])
    for (const j of joined) expect((await j)?.id).toBe('key_1')
    expect(slow.calls.key).toBe(1)
  })
})

describe('cachedStore: which lookups in flight are cached when they answer', () => {
  it('a slow lookup that nothing superseded is cached when it answers, though other lookups began meanwhile', async () => {
    const clock = testClock()
    const slow = new SlowStore()
    await slow.inner.insertKey(record('key_1', 'h1'))
    const cache = cachedStore(slow, { now: clock.now })
    const p = cache.findByHash('h1')
    clock.advance(1_500) // past the join window: it would no longer be joined
    void cache.findByHash('h2')
    await settle()
    slow.releaseAt(0)
    expect((await p)?.id).toBe('key_1')
    expect(cache.peekByHash('h1')?.id).toBe('key_1')
  })

  it('a lookup that answers after the clock went back behind its start is not cached', async () => {
    const clock = testClock()
    const slow = new SlowStore()
    await slow.inner.insertKey(record('key_1', 'h1'))
    const cache = cachedStore(slow, { now: clock.now })
    const start = clock.now()
    const p = cache.findByHash('h1')
    await settle()
    clock.set(start - 10)
    await slow.drain([p])
    expect(cache.size).toBe(0)
    clock.set(start + 1)
    void cache.findByHash('h1')
    expect(slow.calls.key).toBe(2)
  })

  it('an older lookup that fails after a newer one replaced it leaves the newer one to invalidation', async () => {
    const clock = testClock()
    const calls: Deferred<KeyRecord | undefined>[] = []
    const store: KeyStore = {
      findByHash: () => {
        const d = deferred<KeyRecord | undefined>()
        calls.push(d)
        return d.promise
      },
    }
    const cache = cachedStore(store, { now: clock.now })
    const older = cache.findByHash('h1')
    clock.advance(1_000)
    const newer = cache.findByHash('h1') // the older lookup is past the join window: replaced
    expect(calls.length).toBe(2)
    calls[0]!.reject(new Error('connection reset'))
    await expect(older).rejects.toThrow('connection reset')
    // The key is created elsewhere; its change names the hash the newer lookup is reading.
    cache.invalidate({ type: 'key', id: 'key_1', hashes: ['h1'] })
    calls[1]!.resolve(undefined) // it read the store before the key existed
    expect(await newer).toBeUndefined()
    await settle()
    const after = cache.findByHash('h1')
    expect(calls.length).toBe(3) // the miss was not cached
    calls[2]!.resolve(record('key_1', 'h1'))
    expect((await after)?.id).toBe('key_1')
  })
})

describe('cachedStore: answers of null', () => {
  it('a store that answers null: the lookup answers null from the cache, the peek leaves it to the lookup', async () => {
    let finds = 0
    const store: KeyStore = { findByHash: async () => (finds++, null as never), findOwner: async () => (finds++, null as never) }
    const cache = cachedStore(store, { now: testClock().now })
    expect(await cache.findByHash('h1')).toBeNull()
    expect(await cache.findOwner('ana')).toBeNull()
    expect([cache.peekByHash('h1'), cache.peekOwner('ana')]).toEqual([undefined, undefined])
    expect(await cache.findByHash('h1')).toBeNull()
    expect(await cache.findOwner('ana')).toBeNull()
    expect(finds).toBe(2)
  })
})

describe('cachedStore: one recency order across keys, groups and owners', () => {
  it('a key used again once it aged is kept over a group not used since, when an owner needs room', async () => {
    const inner = new MemoryKeyStore()
    await inner.insertKey(record('key_1', 'h1'))
    await inner.insertGroup({ id: 'g1', name: 'G', active: true, createdAt: 0 })
    await inner.putOwner('o1', { active: true })
    await inner.putOwner('o2', { active: true })
    const cache = cachedStore(inner, { maxEntries: 3, now: testClock().now })
    await cache.findByHash('h1')
    await cache.findGroup('g1')
    await cache.findOwner('o1')
    await cache.findByHash('h1') // two entries are younger than it: moved to the young end
    await cache.findOwner('o2') // one entry too many: the least recently used goes
    expect(cache.peekByHash('h1')?.id).toBe('key_1')
    expect(cache.peekGroup('g1')).toBeUndefined()
    expect([cache.peekOwner('o1')?.active, cache.peekOwner('o2')?.active]).toEqual([true, true])
  })
})
