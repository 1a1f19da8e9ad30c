/**
 * cachedStore's contract at its edges: the options it accepts and the messages it refuses the
 * rest with, writes that cannot name what they changed (so everything goes), the forwarded
 * calls that are never cached, and answers that cannot be invalidated by id (so they are never
 * cached).
 */
import { describe, expect, it } from 'vitest'
import { cachedStore } from '../../src/stores/cached.js'
import { MemoryKeyStore } from '../../src/stores/memory.js'
import type { KeyGroup, KeyRecord, KeyStore, ManagedKeyStore, StoreChange } from '../../src/types.js'
import { testClock } from '../_support/clock.js'
import { FakeStore, record } from './_helpers.js'
import { poisoned } from './_spy-store.js'

/** What `run` throws (it must throw). */
function thrown(run: () => unknown): Error {
  try {
    run()
  } catch (e) {
    return e as Error
  }
  throw new Error('expected a throw')
}

const lookupOnly: KeyStore = { findByHash: async () => undefined }
const TTL = 'must be a number of milliseconds from 0 to 86400000'

describe('cachedStore options', () => {
  it.each([
    [{ ttlMs: -1 }, RangeError, `ttlMs: ${TTL}`],
    [{ ttlMs: 86_400_001 }, RangeError, `ttlMs: ${TTL}`],
    [{ negativeTtlMs: Number.NaN }, RangeError, `negativeTtlMs: ${TTL}`],
    [{ negativeTtlMs: '5' }, RangeError, `negativeTtlMs: ${TTL}`],
    [{ ownerTtlMs: Infinity }, RangeError, `ownerTtlMs: ${TTL}`],
    [{ maxEntries: 0 }, RangeError, 'maxEntries: must be an integer from 1 to 10000000'],
    [{ maxEntries: 10_000_001 }, RangeError, 'maxEntries: must be an integer from 1 to 10000000'],
    [{ maxEntries: '5' }, RangeError, 'maxEntries: must be an integer from 1 to 10000000'],
    [{ now: 'clock' }, TypeError, 'now: must be a function'],
    [{ observer: {} }, TypeError, 'observer: must be a function (event, space) => void'],
  ])('refuses %j with a message that says what is accepted', (options, type, message) => {
    const e = thrown(() => cachedStore(lookupOnly, options as never))
    expect(e).toBeInstanceOf(type)
    expect(e.message).toBe(message)
  })

  it.each([[null], [[]], ['ttlMs=10'], [5]])('refuses options %j that are not an object', (options) => {
    const e = thrown(() => cachedStore(lookupOnly, options as never))
    expect(e).toBeInstanceOf(TypeError)
    expect(e.message).toBe('options: must be an object')
  })

  it.each([[null], ['store'], [Object.assign(() => undefined, { findByHash: async () => undefined })], [{ findByHash: 'yes' }]])(
    'refuses a store %s that is not an object with findByHash()',
    (store) => {
      const e = thrown(() => cachedStore(store as never))
      expect(e).toBeInstanceOf(TypeError)
      expect(e.message).toBe('store: is required and must implement findByHash(hash)')
    },
  )

  it('accepts every lifetime from 0 to exactly one day, and from 1 to exactly 10,000,000 entries', () => {
    for (const ms of [0, 86_400_000]) {
      expect(() => cachedStore(lookupOnly, { ttlMs: ms, negativeTtlMs: ms, ownerTtlMs: ms })).not.toThrow()
    }
    for (const maxEntries of [1, 10_000_000]) expect(cachedStore(lookupOnly, { maxEntries }).size).toBe(0)
    expect(cachedStore(lookupOnly, undefined).size).toBe(0)
  })
})

describe('cachedStore writes that cannot name what they changed', () => {
  async function warm() {
    const inner = new FakeStore()
    await inner.inner.insertKey(record('key_1', 'h1'))
    await inner.inner.insertGroup({ id: 'g1', name: 'G', active: true, createdAt: 0 })
    await inner.inner.putOwner('ana', { active: true })
    const cache = cachedStore(inner, { now: testClock().now })
    await Promise.all([cache.findByHash('h1'), cache.findByHash('h-unknown'), cache.findGroup('g1'), cache.findOwner('ana')])
    expect(cache.size).toBe(4)
    return { inner, cache }
  }

  it('a key written without a readable id drops everything, whether the store takes it or not', async () => {
    const { cache } = await warm()
    await cache.insertKey({ hash: 'h-new' } as unknown as KeyRecord).catch(() => undefined)
    expect(cache.size).toBe(0)
  })

  it('a group written as null drops everything, whatever the store answers', async () => {
    for (const write of [(c: ManagedKeyStore) => c.insertGroup(null as never), (c: ManagedKeyStore) => c.updateGroup(null as never)]) {
      const { cache } = await warm()
      await write(cache).catch(() => undefined)
      expect(cache.size).toBe(0)
    }
  })

  it('an update with a null guard that the store accepts resolves, and drops the key by its record', async () => {
    const { inner, cache } = await warm()
    inner.updateKey = async () => undefined
    await expect(cache.updateKey(record('key_1', 'h1'), null as never)).resolves.toBeUndefined()
    expect(cache.peekByHash('h1')).toBeUndefined()
    expect(cache.size).toBe(3)
  })

  it('a key, group or owner deleted by an id that is not a string drops everything', async () => {
    for (const write of [
      (c: ManagedKeyStore) => c.deleteKey(7 as never),
      (c: ManagedKeyStore) => c.deleteGroup(7 as never),
      (c: ManagedKeyStore) => c.updateGroup({ name: 'G' } as unknown as KeyGroup),
      (c: ReturnType<typeof cachedStore>) => c.deleteOwner(7 as never),
    ]) {
      const { cache } = await warm()
      await write(cache).catch(() => undefined)
      expect(cache.size).toBe(0)
    }
  })

  it('a group inserted through the cache replaces its cached miss', async () => {
    const inner = new FakeStore()
    const cache = cachedStore(inner, { now: testClock().now })
    expect(await cache.findGroup('g1')).toBeUndefined()
    await cache.insertGroup({ id: 'g1', name: 'G', active: true, createdAt: 0 })
    expect((await cache.findGroup('g1'))?.active).toBe(true)
  })

  it('a write drops cached misses under the new hash and under the previous hash it keeps in grace', async () => {
    const inner = new FakeStore()
    const cache = cachedStore(inner, { now: testClock().now })
    expect(await cache.findByHash('h0')).toBeUndefined()
    expect(await cache.findByHash('h1')).toBeUndefined()
    await cache.insertKey(record('key_1', 'h1', { previousHash: 'h0', previousExpiresAt: Date.UTC(2100, 0) }))
    expect((await cache.findByHash('h0'))?.id).toBe('key_1')
    expect((await cache.findByHash('h1'))?.id).toBe('key_1')
  })
})

describe('cachedStore calls that are forwarded, never cached', () => {
  it('a write the wrapped store lacks rejects with a TypeError naming the store and the method', async () => {
    const cache = cachedStore(lookupOnly)
    const e = await cache.insertKey(record('k', 'h')).catch((error: unknown) => error as Error)
    expect(e).toBeInstanceOf(TypeError)
    expect((e as Error).message).toBe('store: the wrapped store does not implement insertKey()')
  })

  it('updateKey and updateGroup without a guard reach the store as calls without one', async () => {
    const inner = new FakeStore()
    const arities: number[] = []
    inner.updateKey = async function (...args: unknown[]) {
      arities.push(args.length)
    } as FakeStore['updateKey']
    inner.updateGroup = async function (...args: unknown[]) {
      arities.push(args.length)
    } as FakeStore['updateGroup']
    const cache = cachedStore(inner)
    const r = record('key_1', 'h1')
    const g = { id: 'g1', name: 'G', active: true, createdAt: 0 }
    await cache.updateKey(r)
    await cache.updateKey(r, r)
    await cache.updateGroup(g)
    await cache.updateGroup(g, g)
    expect(arities).toEqual([1, 2, 1, 2])
  })

  it('consumeCredits reaches the wrapped store every time', async () => {
    const inner = new MemoryKeyStore()
    await inner.insertKey(record('key_1', 'h1'))
    const seen: [string, number, number][] = []
    const store = Object.assign(Object.create(inner) as MemoryKeyStore, {
      consumeCredits: (id: string, cost: number, at: number) => (seen.push([id, cost, at]), inner.consumeCredits(id, cost, at)),
    })
    const cache = cachedStore(store)
    expect(await cache.consumeCredits('key_1', 1, 1_000)).toEqual({ allowed: true })
    expect(await cache.consumeCredits('key_1', 2, 2_000)).toEqual({ allowed: true })
    expect(await cache.consumeCredits('key_missing', 1, 3_000)).toBeUndefined()
    expect(seen).toEqual([['key_1', 1, 1_000], ['key_1', 2, 2_000], ['key_missing', 1, 3_000]])
  })

  it('consumeCredits on a store without it rejects with a TypeError (the authorizer then fails closed)', async () => {
    const p = cachedStore(lookupOnly).consumeCredits('key_1', 1, 0)
    await expect(p).rejects.toThrow(TypeError)
    await expect(p).rejects.toThrow('cachedStore: the wrapped store has no consumeCredits()')
  })

  it('has no one-step revokes when the wrapped store has none (KeyManager then uses a compare-and-swap)', () => {
    const cache = cachedStore(new FakeStore())
    expect([cache.revokeKey, cache.revokeGroup, cache.narrowGroupIps]).toEqual([undefined, undefined, undefined])
    const full = cachedStore(new MemoryKeyStore())
    expect([typeof full.revokeKey, typeof full.revokeGroup, typeof full.narrowGroupIps]).toEqual(['function', 'function', 'function'])
  })
})

describe('cachedStore answers that cannot be invalidated by id', () => {
  function counting(answer: unknown) {
    const calls = { key: 0, group: 0, owner: 0 }
    const store: KeyStore = {
      findByHash: async () => (calls.key++, answer as KeyRecord),
      findGroup: async () => (calls.group++, answer as KeyGroup),
      findOwner: async () => (calls.owner++, answer as never),
    }
    return { calls, cache: cachedStore(store, { now: testClock().now }) }
  }

  it.each([
    ['a record whose id is not a string', { ...record('key_1', 'h1'), id: 7 }],
    ['a record whose fields throw when read', poisoned(record('key_1', 'h1'))],
  ])('%s is answered every time and never cached', async (_name, answer) => {
    const { calls, cache } = counting(answer)
    expect(await cache.findByHash('h1')).toBe(answer)
    expect(await cache.findByHash('h1')).toBe(answer)
    expect(calls.key).toBe(2)
    expect(cache.size).toBe(0)
  })

  it('a group or owner that is not an object is answered every time and never cached', async () => {
    const { calls, cache } = counting('yes')
    for (let i = 0; i < 2; i++) {
      expect(await cache.findGroup('g1')).toBe('yes')
      expect(await cache.findOwner('ana')).toBe('yes')
    }
    expect([calls.group, calls.owner]).toEqual([2, 2])
    expect(cache.size).toBe(0)
  })
})

describe('cachedStore invalidate(): what a malformed change is told', () => {
  it.each([
    [null, 'change: must be { type, id, hashes? }'],
    ['key:key_1', 'change: must be { type, id, hashes? }'],
    [{ type: 'key', hashes: [] }, 'change.id: must be a string'],
    [{ type: 'key', id: 'k', hashes: 'h1' }, 'change.hashes: must be an array of strings'],
    [{ type: 'key', id: 'k', hashes: ['h1', 7] }, 'change.hashes[1]: must be a string'],
    [{ type: 'tenant', id: 'k' }, `change.type: must be 'key', 'group' or 'owner', got "tenant"`],
  ])('%j: a TypeError that says what is expected', (change, message) => {
    const e = thrown(() => cachedStore(lookupOnly).invalidate(change as unknown as StoreChange))
    expect(e).toBeInstanceOf(TypeError)
    expect(e.message).toBe(message)
  })
})
