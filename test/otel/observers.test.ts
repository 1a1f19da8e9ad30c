/**
 * The two observer hooks `keyward/otel` feeds on, seen directly: the breaker's state changes and
 * the cache's events, and that an observer that throws never changes a decision or a lookup.
 */
import { describe, expect, it } from 'vitest'
import { cachedStore, createAuthorizer, KeyManager, MemoryKeyStore, type BreakerState, type KeyStore } from '../../src/index.js'

async function setup() {
  const memory = new MemoryKeyStore()
  const { key } = await new KeyManager(memory).issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
  const remote = { down: false }
  const network: KeyStore = { findByHash: (h) => (remote.down ? Promise.reject(new Error('down')) : memory.findByHash(h)) }
  const req = { method: 'GET', url: '/scans', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' }
  return { network, remote, req }
}

describe('observer hooks', () => {
  it('tells the breaker observer open, half_open and closed, once each, in order', async () => {
    const { network, remote, req } = await setup()
    const clock = { now: 0 }
    const states: BreakerState[] = []
    const az = createAuthorizer({ store: network, now: () => clock.now, touchIntervalMs: 0, breaker: { threshold: 2, cooldownMs: 100, onStateChange: (s) => states.push(s) } })
    expect((await az.authorize(req, 'scans:read')).allow).toBe(true)
    expect(states).toEqual([]) // closed from the start: no change to tell
    remote.down = true
    for (let i = 0; i < 3; i++) expect((await az.authorize(req, 'scans:read')).status).toBe(503)
    expect(states).toEqual(['open'])
    remote.down = false
    clock.now += 100
    expect((await az.authorize(req, 'scans:read')).allow).toBe(true)
    expect(states).toEqual(['open', 'half_open', 'closed'])
  })

  it('decides and caches the same when an observer throws', async () => {
    const { network, req } = await setup()
    const seen: string[] = []
    const cache = cachedStore(network, {
      observer: (event, space) => {
        seen.push(`${space}:${event}`)
        throw new Error('metrics backend down')
      },
    })
    const az = createAuthorizer({ store: cache, touchIntervalMs: 0, breaker: { onStateChange: () => { throw new Error('x') } } })
    expect((await az.authorize(req, 'scans:read')).allow).toBe(true)
    expect((await az.authorize(req, 'scans:read')).allow).toBe(true)
    cache.invalidate({ type: 'key', id: 'nope', hashes: [] })
    expect(seen).toEqual(['key:miss', 'key:hit', 'key:invalidation'])
  })

  it('counts evictions when the cache is full', async () => {
    const memory = new MemoryKeyStore()
    const manager = new KeyManager(memory)
    const keys = [await manager.issue({ kind: 'org' }), await manager.issue({ kind: 'org' }), await manager.issue({ kind: 'org' })]
    const seen: string[] = []
    const cache = cachedStore(memory, { maxEntries: 2, observer: (event, space) => seen.push(`${space}:${event}`) })
    const az = createAuthorizer({ store: cache, touchIntervalMs: 0 })
    for (const k of keys) await az.authorize({ method: 'GET', headers: { 'x-api-key': k.key } })
    expect(seen.filter((s) => s.endsWith('eviction'))).toEqual(['key:eviction'])
  })
})
