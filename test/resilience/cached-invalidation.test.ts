import { describe, expect, it } from 'vitest'
import { cachedStore } from '../../src/stores/cached.js'
import type { StoreChange } from '../../src/stores/manager.js'
import type { KeyRecord, KeyStore } from '../../src/types.js'
import { deferred, FakeStore, record, settle, type Deferred } from './_helpers.js'

/** findByHash answers from `records`, but only when the test releases the call. */
class PausedStore implements KeyStore {
  readonly records = new Map<string, KeyRecord>()
  readonly calls: { hash: string; read: KeyRecord | undefined; release: Deferred<void> }[] = []
  async findByHash(hash: string): Promise<KeyRecord | undefined> {
    // Read first, answer later: exactly what a slow database round trip does.
    const read = this.records.get(hash)
    const release = deferred()
    this.calls.push({ hash, read, release })
    await release.promise
    return read
  }
}

describe('cachedStore: invalidate()', () => {
  it('drops entries by hash, by key id, by group id and by owner id', async () => {
    const inner = new FakeStore()
    await inner.inner.insertKey(record('key_1', 'h1', { previousHash: 'h0', previousExpiresAt: Date.now() + 60_000 }))
    await inner.inner.insertGroup({ id: 'g1', name: 'G', active: true, createdAt: 0 })
    await inner.inner.putOwner('ana', { active: true })
    const cache = cachedStore(inner)
    const warm = async () => {
      await Promise.all([cache.findByHash('h1'), cache.findByHash('h0'), cache.findByHash('nope'), cache.findGroup('g1'), cache.findOwner('ana')])
    }
    await warm()
    expect(cache.size).toBe(5)
    cache.invalidate({ type: 'key', id: 'someone-else', hashes: ['nope'] })
    expect(cache.size).toBe(4)
    // By id alone: both hashes cached for key_1 go.
    cache.invalidate({ type: 'key', id: 'key_1', hashes: [] })
    expect(cache.size).toBe(2)
    cache.invalidate({ type: 'group', id: 'g1' })
    cache.invalidate({ type: 'owner', id: 'ana' })
    expect(cache.size).toBe(0)
    const before = { ...inner.calls }
    await warm()
    expect(inner.calls.findByHash - before.findByHash).toBe(3)
    expect(inner.calls.findGroup - before.findGroup).toBe(1)
    expect(inner.calls.findOwner - before.findOwner).toBe(1)
  })

  it('accepts a change without hashes (another instance that only knows the id)', async () => {
    const inner = new FakeStore()
    await inner.inner.insertKey(record('key_1', 'h1'))
    const cache = cachedStore(inner)
    await cache.findByHash('h1')
    cache.invalidate({ type: 'key', id: 'key_1' } as unknown as StoreChange)
    expect(cache.size).toBe(0)
  })

  it.each([
    [null, /^change: /],
    [{ type: 'key', hashes: [] }, /^change\.id: /],
    [{ type: 'key', id: 'k', hashes: 'h1' }, /^change\.hashes: /],
    [{ type: 'key', id: 'k', hashes: ['h1', 7] }, /^change\.hashes\[1\]: /],
    [{ type: 'tenant', id: 'k' }, /^change\.type: /],
  ])('a malformed change %j drops everything and throws a TypeError naming the field', async (change, message) => {
    const inner = new FakeStore()
    await inner.inner.insertKey(record('key_1', 'h1'))
    const cache = cachedStore(inner)
    await cache.findByHash('h1')
    expect(() => cache.invalidate(change as unknown as StoreChange)).toThrow(TypeError)
    expect(cache.size).toBe(0)
    await cache.findByHash('h1')
    expect(() => cache.invalidate(change as unknown as StoreChange)).toThrow(message)
  })
})

describe('cachedStore: a revoke is never undone by an older lookup', () => {
  it('a lookup that read the record before a write completes after it: not cached, and not joined by later requests', async () => {
    const inner = new PausedStore()
    const old = record('key_1', 'h1')
    inner.records.set('h1', old)
    const cache = cachedStore(inner)
    const early = cache.findByHash('h1') // reads `old`, then waits
    // The revoke: the store changes, and the write's change reaches the cache.
    const revoked = { ...old, active: false }
    inner.records.set('h1', revoked)
    cache.invalidate({ type: 'key', id: 'key_1', hashes: ['h1'] })
    // A request after the revoke must not join the stale lookup.
    const late = cache.findByHash('h1')
    expect(inner.calls.length).toBe(2)
    inner.calls[0]!.release.resolve() // the stale read completes last…
    expect(await early).toBe(old) // …its own waiters were concurrent with the write: either answer is fine
    inner.calls[1]!.release.resolve()
    expect(await late).toBe(revoked)
    await settle()
    // And the cache holds the revoked record, not the one read before the write.
    expect(await cache.findByHash('h1')).toBe(revoked)
    expect(inner.calls.length).toBe(2)
  })

  it('the stale lookup loses even when it completes after the fresh one', async () => {
    const inner = new PausedStore()
    const old = record('key_1', 'h1')
    inner.records.set('h1', old)
    const cache = cachedStore(inner)
    const early = cache.findByHash('h1')
    const revoked = { ...old, active: false }
    inner.records.set('h1', revoked)
    cache.invalidate({ type: 'key', id: 'key_1', hashes: ['h1'] })
    const late = cache.findByHash('h1')
    inner.calls[1]!.release.resolve()
    expect(await late).toBe(revoked)
    inner.calls[0]!.release.resolve()
    await early
    await settle()
    expect(await cache.findByHash('h1')).toBe(revoked)
  })

  it('a change that names only the key id still beats a lookup in flight by an older hash', async () => {
    const inner = new PausedStore()
    const old = record('key_1', 'h-old')
    inner.records.set('h-old', old)
    const cache = cachedStore(inner)
    const early = cache.findByHash('h-old')
    inner.records.delete('h-old') // e.g. rotated with no grace elsewhere
    cache.invalidate({ type: 'key', id: 'key_1', hashes: ['h-new'] })
    inner.calls[0]!.release.resolve()
    await early
    await settle()
    expect(cache.size).toBe(0)
    const again = cache.findByHash('h-old')
    expect(inner.calls.length).toBe(2)
    inner.calls[1]!.release.resolve()
    expect(await again).toBeUndefined()
  })

  it('a change to another key does not stop a lookup from being cached', async () => {
    const inner = new PausedStore()
    inner.records.set('h1', record('key_1', 'h1'))
    const cache = cachedStore(inner)
    const p = cache.findByHash('h1')
    cache.invalidate({ type: 'key', id: 'key_2', hashes: ['h2'] })
    inner.calls[0]!.release.resolve()
    await p
    expect(cache.size).toBe(1)
  })

  it('when too many keys changed during a lookup to tell, it is not cached (fail safe)', async () => {
    const inner = new PausedStore()
    inner.records.set('h1', record('key_1', 'h1'))
    const cache = cachedStore(inner)
    const p = cache.findByHash('h1')
    for (let i = 0; i < 300; i++) cache.invalidate({ type: 'key', id: `other_${i}`, hashes: [] })
    inner.calls[0]!.release.resolve()
    await p
    expect(cache.size).toBe(0)
  })

  it('clear() detaches lookups in flight', async () => {
    const inner = new PausedStore()
    inner.records.set('h1', record('key_1', 'h1'))
    const cache = cachedStore(inner)
    const p = cache.findByHash('h1')
    cache.clear()
    void cache.findByHash('h1')
    expect(inner.calls.length).toBe(2)
    inner.calls[0]!.release.resolve()
    await p
    await settle()
    expect(cache.size).toBe(0)
  })

  it('a group or owner change beats their lookups in flight', async () => {
    const inner = new FakeStore()
    await inner.inner.insertGroup({ id: 'g1', name: 'G', active: true, createdAt: 0 })
    await inner.inner.putOwner('ana', { active: true })
    const gate = deferred()
    inner.gate = gate.promise
    const cache = cachedStore(inner)
    const g = cache.findGroup('g1')
    const o = cache.findOwner('ana')
    await settle()
    await inner.inner.updateGroup({ id: 'g1', name: 'G', active: false, createdAt: 0 })
    await inner.inner.putOwner('ana', { active: false })
    cache.invalidate({ type: 'group', id: 'g1' })
    cache.invalidate({ type: 'owner', id: 'ana' })
    inner.gate = undefined
    gate.resolve()
    expect((await g)?.active).toBe(true)
    expect((await o)?.active).toBe(true)
    await settle()
    expect((await cache.findGroup('g1'))?.active).toBe(false)
    expect((await cache.findOwner('ana'))?.active).toBe(false)
  })
})

describe('cachedStore: writes and management reads', () => {
  it('forwards writes and invalidates what they touch, even when the write fails', async () => {
    const inner = new FakeStore()
    const cache = cachedStore(inner)
    const r = record('key_1', 'h1')
    expect(await cache.findByHash('h1')).toBeUndefined() // a cached miss
    await cache.insertKey(r)
    expect((await cache.findByHash('h1'))?.id).toBe('key_1')
    await cache.updateKey({ ...r, active: false })
    expect((await cache.findByHash('h1'))?.active).toBe(false)
    await expect(cache.updateKey(record('key_missing', 'hx'))).rejects.toThrow()
    await cache.findByHash('h1')
    expect(await cache.deleteKey('key_1')).toBe(true)
    expect(await cache.findByHash('h1')).toBeUndefined()
    await cache.insertGroup({ id: 'g1', name: 'G', active: true, createdAt: 0 })
    expect((await cache.findGroup('g1'))?.active).toBe(true)
    await cache.updateGroup({ id: 'g1', name: 'G', active: false, createdAt: 0 })
    expect((await cache.findGroup('g1'))?.active).toBe(false)
    expect(await cache.deleteGroup('g1')).toBe(true)
    expect(await cache.findGroup('g1')).toBeUndefined()
    await cache.putOwner('ana', { active: true })
    expect((await cache.findOwner('ana'))?.active).toBe(true)
    await cache.putOwner('ana', { active: false })
    expect((await cache.findOwner('ana'))?.active).toBe(false)
    expect(await cache.deleteOwner('ana')).toBe(true)
    expect(await cache.findOwner('ana')).toBeUndefined()
  })

  it('a lookup that reads the old record while a write is under way is dropped when the write completes', async () => {
    const inner = new FakeStore()
    const old = record('key_1', 'h1')
    await inner.inner.insertKey(old)
    const commit = deferred()
    const slowUpdate = inner.updateKey.bind(inner)
    inner.updateKey = async (r) => {
      await commit.promise // the write is in progress; the row is not changed yet
      return slowUpdate(r)
    }
    const cache = cachedStore(inner)
    const write = cache.updateKey({ ...old, active: false })
    expect((await cache.findByHash('h1'))?.active).toBe(true) // concurrent with the write: old is fine
    commit.resolve()
    await write
    expect((await cache.findByHash('h1'))?.active).toBe(false)
  })

  it('forwards the compare-and-swap guard of updateKey/updateGroup, and still invalidates when it refuses', async () => {
    const inner = new FakeStore()
    const cache = cachedStore(inner)
    const r = record('key_1', 'h1')
    await cache.insertKey(r)
    const stale = { ...r, description: 'read before someone else wrote' }
    await cache.updateKey({ ...r, active: false }, r)
    expect((await cache.findByHash('h1'))?.active).toBe(false)
    await expect(cache.updateKey({ ...r, active: true }, stale)).rejects.toThrow(/changed by another writer/)
    expect((await cache.findByHash('h1'))?.active).toBe(false)
    const g = { id: 'g1', name: 'G', active: true, createdAt: 0 }
    await cache.insertGroup(g)
    await expect(cache.updateGroup({ ...g, active: false }, { ...g, name: 'other' })).rejects.toThrow(/changed by another writer/)
    await cache.updateGroup({ ...g, active: false }, g)
    expect((await cache.findGroup('g1'))?.active).toBe(false)
  })

  it('management reads go to the inner store every time', async () => {
    const inner = new FakeStore()
    const cache = cachedStore(inner)
    await inner.inner.insertKey(record('key_1', 'h1'))
    await cache.findByHash('h1')
    await inner.inner.updateKey(record('key_1', 'h1', { description: 'changed behind the cache' }))
    expect((await cache.getKey('key_1'))?.description).toBe('changed behind the cache')
    expect((await cache.listKeys())[0]?.description).toBe('changed behind the cache')
    await inner.inner.insertGroup({ id: 'g1', name: 'G', active: true, createdAt: 0 })
    expect((await cache.getGroup('g1'))?.name).toBe('G')
    expect((await cache.listGroups()).length).toBe(1)
  })

  it('a write or management read the inner store lacks rejects with a TypeError naming the method', async () => {
    const cache = cachedStore({ findByHash: async () => undefined })
    for (const [name, call] of [
      ['insertKey', () => cache.insertKey(record('k', 'h'))],
      ['updateKey', () => cache.updateKey(record('k', 'h'))],
      ['deleteKey', () => cache.deleteKey('k')],
      ['insertGroup', () => cache.insertGroup({ id: 'g', name: 'G', active: true, createdAt: 0 })],
      ['putOwner', () => cache.putOwner('ana', { active: true })],
      ['deleteOwner', () => cache.deleteOwner('ana')],
      ['getKey', () => cache.getKey('k')],
      ['listGroups', () => cache.listGroups()],
    ] as const) {
      await expect(call()).rejects.toThrow(TypeError)
      await expect(call()).rejects.toThrow(`${name}()`)
    }
  })

  it('touch reaches the inner store and leaves cached entries alone', async () => {
    const inner = new FakeStore()
    await inner.inner.insertKey(record('key_1', 'h1'))
    const cache = cachedStore(inner)
    await cache.findByHash('h1')
    await cache.touch('key_1', 123)
    expect(inner.touched).toEqual([['key_1', 123]])
    expect((await inner.getKey('key_1'))?.lastUsedAt).toBe(123)
    await cache.findByHash('h1')
    expect([cache.size, inner.calls.findByHash]).toEqual([1, 1])
  })

  it('lookups the inner store lacks answer undefined (a group then disables its keys), and touch is forwarded', async () => {
    const touched: [string, number][] = []
    const cache = cachedStore({ findByHash: async () => undefined, touch: async (id, at) => void touched.push([id, at]) })
    expect(await cache.findGroup('g1')).toBeUndefined()
    expect(await cache.findOwner('ana')).toBeUndefined()
    await cache.touch('key_1', 42)
    expect(touched).toEqual([['key_1', 42]])
    await expect(cachedStore({ findByHash: async () => undefined }).touch('key_1', 1)).resolves.toBeUndefined()
  })
})
