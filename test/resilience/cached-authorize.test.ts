import { describe, expect, it } from 'vitest'
import { createAuthorizer } from '../../src/authorize.js'
import { generateKey } from '../../src/keys/format.js'
import { cachedStore } from '../../src/stores/cached.js'
import { KeyManager } from '../../src/stores/manager.js'
import type { Decision, DecisionEvent, DenyDecision } from '../../src/types.js'
import { testClock } from '../_support/clock.js'
import { deferred, FakeStore, req, settle } from './_helpers.js'

function reasonOf(d: Decision): string {
  return d.allow ? 'allow' : (d as DenyDecision).reason
}

async function setup(options: Parameters<typeof cachedStore>[1] = {}) {
  const inner = new FakeStore()
  const cache = cachedStore(inner, options)
  const manager = new KeyManager(cache)
  const events: DecisionEvent[] = []
  const authorizer = createAuthorizer({ store: cache, touchIntervalMs: 0, onDecision: (e) => events.push(e) })
  return { inner, cache, manager, authorizer, events }
}

describe('authorize() through cachedStore', () => {
  it('200 concurrent cold requests for one key make one store lookup, and all are allowed', async () => {
    const { inner, manager, authorizer } = await setup()
    const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    const gate = deferred()
    inner.gate = gate.promise
    const decisions = Array.from({ length: 200 }, () => authorizer.authorize(req(key), 'scans:manage'))
    await settle()
    gate.resolve()
    const all = await Promise.all(decisions)
    expect(all.filter((d) => d.allow).length).toBe(200)
    expect(inner.calls.findByHash).toBe(1)
    await authorizer.authorize(req(key), 'scans:manage')
    expect(inner.calls.findByHash).toBe(1)
  })

  it('a key imported after its miss was cached works on the next request', async () => {
    const { inner, manager, authorizer } = await setup({ negativeTtlMs: 60_000 })
    const key = generateKey()
    expect(reasonOf(await authorizer.authorize(req(key), 'scans:read'))).toBe('unknown_key')
    expect(reasonOf(await authorizer.authorize(req(key), 'scans:read'))).toBe('unknown_key')
    expect(inner.calls.findByHash).toBe(1) // the miss is cached
    await manager.import({ key, kind: 'user', owner: 'ana', role: 'Read Only' })
    expect(reasonOf(await authorizer.authorize(req(key), 'scans:read'))).toBe('allow')
  })

  it('a request after a revoke is denied even though a lookup that read the active key is still in flight', async () => {
    const { inner, manager, authorizer } = await setup()
    const { key, record } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    const gate = deferred()
    inner.gate = gate.promise
    const before = authorizer.authorize(req(key), 'scans:read') // reads the active record, then waits
    await settle()
    inner.gate = undefined
    await manager.deactivate(record.id)
    const after = await authorizer.authorize(req(key), 'scans:read')
    expect(reasonOf(after)).toBe('key_disabled')
    gate.resolve()
    await before // concurrent with the revoke: either answer is acceptable
    await settle()
    expect(reasonOf(await authorizer.authorize(req(key), 'scans:read'))).toBe('key_disabled')
    expect(inner.calls.findByHash).toBe(2)
  })

  it('sees deactivate, rotate, delete, group deactivation and owner lock on the very next request', async () => {
    const { manager, authorizer } = await setup()
    const group = await manager.createGroup({ name: 'Integrations' })
    const a = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write', group: group.id })
    const b = await manager.issue({ kind: 'user', owner: 'bob', role: 'Read Write' })
    const c = await manager.issue({ kind: 'user', owner: 'cy', role: 'Read Write' })
    const d = await manager.issue({ kind: 'user', owner: 'dee', role: 'Read Write' })
    const e = await manager.issue({ kind: 'user', owner: 'eve', role: 'Read Write' })
    const check = async (key: string) => reasonOf(await authorizer.authorize(req(key), 'scans:manage'))
    for (const k of [a, b, c, d, e]) expect(await check(k.key)).toBe('allow')
    // Warm twice, so everything is served from the cache before each write.
    for (const k of [a, b, c, d, e]) expect(await check(k.key)).toBe('allow')

    await manager.deactivateGroup(group.id)
    expect(await check(a.key)).toBe('group_disabled')
    await manager.deactivate(b.record.id)
    expect(await check(b.key)).toBe('key_disabled')
    const rotated = await manager.rotate(c.record.id, { graceMs: 0 })
    expect(await check(c.key)).toBe('key_rotated')
    expect(await check(rotated.key)).toBe('allow')
    await manager.delete(d.record.id)
    expect(await check(d.key)).toBe('unknown_key')
    await manager.setOwner('eve', { active: false })
    expect(await check(e.key)).toBe('owner_disabled')
    await manager.setOwner('eve', { active: true, role: 'Read Only' })
    expect(await check(e.key)).toBe('insufficient_permission')
  })

  it('another instance sees a write at once through invalidate(), and within ttlMs without it', async () => {
    const clock = testClock()
    const inner = new FakeStore()
    const cacheA = cachedStore(inner, { now: clock.now, ttlMs: 30_000 })
    const cacheB = cachedStore(inner, { now: clock.now, ttlMs: 30_000 })
    const cacheC = cachedStore(inner, { now: clock.now, ttlMs: 30_000 })
    const managerA = new KeyManager(cacheA, { now: clock.now, onWrite: (change) => cacheB.invalidate(change) })
    const { key, record } = await managerA.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    const authB = createAuthorizer({ store: cacheB, now: clock.now, touchIntervalMs: 0 })
    const authC = createAuthorizer({ store: cacheC, now: clock.now, touchIntervalMs: 0 })
    expect((await authB.authorize(req(key))).allow).toBe(true)
    expect((await authC.authorize(req(key))).allow).toBe(true)
    await managerA.deactivate(record.id)
    expect(reasonOf(await authB.authorize(req(key)))).toBe('key_disabled') // via the bus
    expect(reasonOf(await authC.authorize(req(key)))).toBe('allow') // no bus: stale…
    clock.advance(29_999)
    expect(reasonOf(await authC.authorize(req(key)))).toBe('allow')
    clock.advance(1)
    expect(reasonOf(await authC.authorize(req(key)))).toBe('key_disabled') // …for at most ttlMs
  })

  it('100,000 random unknown keys keep the cache at maxEntries and are all denied', async () => {
    const { inner, cache, authorizer } = await setup({ maxEntries: 500 })
    let allowed = 0
    let peak = 0
    for (let i = 0; i < 100_000; i++) {
      const d = await authorizer.authorize(req(`legacy-${i.toString(36)}-${Math.random().toString(36).slice(2, 10)}`))
      if (d.allow) allowed++
      if (cache.size > peak) peak = cache.size
    }
    expect(allowed).toBe(0)
    expect(inner.calls.findByHash).toBe(100_000)
    expect(peak).toBe(500)
  })

  it('never hands the key or its hash to onDecision while serving from the cache', async () => {
    const { manager, authorizer, events } = await setup()
    const { key, record } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    await authorizer.authorize(req(key))
    await authorizer.authorize(req(key))
    const text = JSON.stringify(events)
    expect(events.length).toBe(2)
    expect(text).not.toContain(key)
    expect(text).not.toContain(record.hash)
    expect(text).not.toContain('secret=1')
  })
})
