/**
 * cachedStore under pressure, through KeyManager and the authorizer over a store whose lookups
 * answer only when released: a lookup that cannot be registered because the in-flight table is
 * full, lookups in flight during clear(), and a superseded lookup settling late. In each, the
 * answer read before a change must not be cached after it: a request that starts once the change
 * has settled sees the change.
 */
import { describe, expect, it } from 'vitest'
import { createAuthorizer, hashKey, KeyManager } from '../../src/index.js'
import { cachedStore } from '../../src/stores/cached.js'
import { testClock } from '../_support/clock.js'
import { record, req, settle } from './_helpers.js'
import { SlowStore, type LookupKind } from './_slow-store.js'

const LEGACY = '3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44'

function setup(maxEntries = 100) {
  const clock = testClock()
  const slow = new SlowStore()
  slow.slow = new Set()
  const cache = cachedStore(slow, { maxEntries, now: clock.now })
  const manager = new KeyManager(cache, { now: clock.now })
  const authorizer = createAuthorizer({ store: cache, now: clock.now, touchIntervalMs: 0 })
  const ask = (key: string) => authorizer.authorize(req(key))
  const slowDown = (...kinds: LookupKind[]) => (slow.slow = new Set(kinds))
  return { clock, slow, cache, manager, ask, slowDown }
}

describe('cachedStore: the in-flight table at maxEntries', () => {
  it('does not cache the miss of a lookup it could not register, once the key is imported', async () => {
    const t = setup(2)
    const a = await t.manager.issue({ kind: 'org' })
    const b = await t.manager.issue({ kind: 'org' })
    t.slowDown('key')
    const work = [t.ask(a.key), t.ask(b.key), t.ask(LEGACY)] // the third finds the table full
    await settle()
    t.slowDown()
    await t.manager.import({ key: LEGACY, kind: 'org' })
    await t.slow.drain(work)
    expect((await work[2]!).allow).toBe(false) // it started before the import
    expect((await t.ask(LEGACY)).allow).toBe(true)
  })

  it('does not cache the record of a lookup it could not register, once the key is revoked', async () => {
    const t = setup(2)
    const [a, b, k] = [await t.manager.issue({ kind: 'org' }), await t.manager.issue({ kind: 'org' }), await t.manager.issue({ kind: 'org' })]
    t.slowDown('key')
    const work = [t.ask(a.key), t.ask(b.key), t.ask(k.key)]
    await settle()
    await t.manager.deactivate(k.record.id)
    await t.slow.drain(work)
    t.slowDown()
    const after = await t.ask(k.key)
    expect(after.allow ? 'allowed' : after.reason).toBe('key_disabled')
  })
})

describe('cachedStore: clear() with lookups in flight', () => {
  it.each([
    ['group', 'group_disabled'],
    ['owner', 'owner_disabled'],
  ] as const)('does not cache a %s answer read before clear()', async (kind, reason) => {
    const t = setup()
    const g = await t.manager.createGroup({ name: 'team' })
    await t.manager.setOwner('ana', { active: true })
    const k = await t.manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only', group: g.id })
    t.slowDown(kind)
    const first = t.ask(k.key)
    await settle()
    expect(t.slow.waiting(kind)).toBe(true)
    // Changed behind the cache's back (another writer), then the cache is cleared (as a bus
    // reconnect does): the answer in flight is from before the change.
    if (kind === 'group') await t.slow.inner.updateGroup({ ...(await t.slow.inner.getGroup(g.id))!, active: false })
    else await t.slow.inner.putOwner('ana', { active: false })
    t.cache.clear()
    await t.slow.drain([first])
    t.slowDown()
    const after = await t.ask(k.key)
    expect(after.allow ? 'allowed' : after.reason).toBe(reason)
  })

  it('does not cache a miss read before clear()', async () => {
    const t = setup()
    t.slowDown('key')
    const first = t.ask(LEGACY)
    await settle()
    const hash = hashKey(LEGACY)
    await t.slow.inner.insertKey(record('key_legacy', hash, { kind: 'org', owner: undefined, role: undefined }))
    t.cache.clear()
    await t.slow.drain([first])
    t.slowDown()
    expect((await t.ask(LEGACY)).allow).toBe(true)
  })

  it('does not cache a group or owner entry across clear()', async () => {
    const t = setup()
    const g = await t.manager.createGroup({ name: 'team' })
    await t.manager.setOwner('ana', { active: true })
    const k = await t.manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only', group: g.id })
    expect((await t.ask(k.key)).allow).toBe(true)
    await t.slow.inner.updateGroup({ ...(await t.slow.inner.getGroup(g.id))!, active: false })
    t.cache.clear()
    expect((await t.ask(k.key)).allow ? 'allowed' : 'denied').toBe('denied')
    await t.slow.inner.updateGroup({ ...(await t.slow.inner.getGroup(g.id))!, active: true })
    await t.slow.inner.putOwner('ana', { active: false })
    t.cache.clear()
    const d = await t.ask(k.key)
    expect(d.allow ? 'allowed' : d.reason).toBe('owner_disabled')
  })
})

describe('cachedStore: a superseded lookup settling', () => {
  it('leaves the lookup that replaced it reachable by invalidation', async () => {
    const t = setup()
    t.slowDown('key')
    const first = t.ask(LEGACY)
    await settle()
    t.clock.advance(1_500) // past the window in which a request joins a lookup in flight
    const second = t.ask(LEGACY)
    await settle()
    expect(t.slow.pending.length).toBe(2)
    t.slow.releaseAt(0) // the superseded lookup settles first
    expect((await first).allow).toBe(false)
    // The key is registered by another instance; its change names the hash.
    const hash = hashKey(LEGACY)
    await t.slow.inner.insertKey(record('key_legacy', hash, { kind: 'org', owner: undefined, role: undefined }))
    t.cache.invalidate({ type: 'key', id: 'key_legacy', hashes: [hash] })
    t.slow.releaseAt(0)
    expect((await second).allow).toBe(false) // it read the store before the insert
    t.slowDown()
    expect((await t.ask(LEGACY)).allow).toBe(true)
  })
})
