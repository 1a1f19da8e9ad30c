import { afterEach, describe, expect, it, vi } from 'vitest'
import { createAuthorizer } from '../../src/authorize.js'
import { generateKey } from '../../src/keys/format.js'
import { cachedStore } from '../../src/stores/cached.js'
import { KeyManager } from '../../src/stores/manager.js'
import type { Decision, DecisionEvent, DenyDecision, KeyStore } from '../../src/types.js'
import { testClock } from '../_support/clock.js'
import { FakeStore, req } from './_helpers.js'

afterEach(() => {
  vi.useRealTimers()
})

function expect503(d: Decision): DenyDecision {
  expect(d.allow).toBe(false)
  const deny = d as DenyDecision
  expect([deny.status, deny.code, deny.reason]).toEqual([503, 'service_unavailable', 'store_unavailable'])
  expect(Number(deny.headers['retry-after'])).toBeGreaterThanOrEqual(1)
  expect(deny.headers['www-authenticate']).toBeUndefined()
  return deny
}

async function withKey(fields: Partial<Parameters<KeyManager['issue']>[0]> = {}) {
  const store = new FakeStore()
  const manager = new KeyManager(store)
  const issued = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write', ...fields })
  return { store, manager, ...issued }
}

describe('store timeouts', () => {
  it('a hanging findByHash is 503 with Retry-After after storeTimeoutMs, never 401, never allow', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const { store, key } = await withKey()
    store.mode = 'hang'
    const events: DecisionEvent[] = []
    const authorizer = createAuthorizer({ store, storeTimeoutMs: 500, breaker: false, touchIntervalMs: 0, onDecision: (e) => events.push(e) })
    let decided: Decision | undefined
    void authorizer.authorize(req(key)).then((d) => (decided = d))
    await vi.advanceTimersByTimeAsync(499)
    expect(decided).toBeUndefined()
    await vi.advanceTimersByTimeAsync(1)
    expect503(decided!)
    expect(events[0]?.detail).toBe('timeout')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('the default storeTimeoutMs is 2000', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const { store, key } = await withKey()
    store.mode = 'hang'
    const authorizer = createAuthorizer({ store, breaker: false, touchIntervalMs: 0 })
    let decided: Decision | undefined
    void authorizer.authorize(req(key)).then((d) => (decided = d))
    await vi.advanceTimersByTimeAsync(1_999)
    expect(decided).toBeUndefined()
    await vi.advanceTimersByTimeAsync(1)
    expect503(decided!)
  })

  it('a hanging group or owner lookup is 503 too', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const store = new FakeStore()
    const manager = new KeyManager(store)
    const group = await manager.createGroup({ name: 'G' })
    const inGroup = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write', group: group.id })
    const authorizer = createAuthorizer({ store, storeTimeoutMs: 100, breaker: false, touchIntervalMs: 0 })
    // Let findByHash through, hang what comes after it.
    const findGroup = store.findGroup.bind(store)
    store.findGroup = (id) => (id === group.id ? new Promise(() => {}) : findGroup(id))
    const pending = authorizer.authorize(req(inGroup.key))
    await vi.advanceTimersByTimeAsync(100)
    expect503(await pending)
    store.findGroup = findGroup
    store.findOwner = () => new Promise(() => {})
    const pending2 = authorizer.authorize(req(inGroup.key))
    await vi.advanceTimersByTimeAsync(100)
    expect503(await pending2)
  })

  it.each([
    ['rejects', 'reject'],
    ['throws inside an async method', 'throw'],
  ] as const)('a store that %s is 503', async (_label, mode) => {
    const { store, key } = await withKey()
    store.mode = mode
    const authorizer = createAuthorizer({ store, breaker: false, touchIntervalMs: 0 })
    expect503(await authorizer.authorize(req(key)))
  })

  it('a store that throws synchronously is 503, and so is one that returns garbage instead of a promise', async () => {
    const throwing: KeyStore = {
      findByHash() {
        throw new Error('sync')
      },
    }
    const a = createAuthorizer({ store: throwing, breaker: false })
    expect503(await a.authorize(req(generateKey())))
    // A record-shaped promise that rejects with a non-Error value.
    const weird: KeyStore = { findByHash: () => Promise.reject('not an error') }
    expect503(await createAuthorizer({ store: weird, breaker: false }).authorize(req(generateKey())))
  })

  it('storeTimeoutMs is validated', () => {
    const store = new FakeStore()
    for (const v of [0, -1, Number.NaN, Infinity, 600_001, '100']) {
      expect(() => createAuthorizer({ store, storeTimeoutMs: v as number })).toThrow(/^storeTimeoutMs: /)
    }
  })
})

describe('circuit breaker', () => {
  async function broken(threshold = 3, cooldownMs = 1_000) {
    const clock = testClock()
    const { store, key } = await withKey()
    store.mode = 'reject'
    const events: DecisionEvent[] = []
    const authorizer = createAuthorizer({ store, now: clock.now, breaker: { threshold, cooldownMs }, touchIntervalMs: 0, onDecision: (e) => events.push(e) })
    return { clock, store, key, authorizer, events }
  }

  it('after threshold failures, denies fast with 503 without calling the store during the cool-down', async () => {
    const { clock, store, key, authorizer, events } = await broken(3, 1_000)
    for (let i = 0; i < 3; i++) expect503(await authorizer.authorize(req(key)))
    expect(store.calls.findByHash).toBe(3)
    for (let i = 0; i < 20; i++) {
      const d = expect503(await authorizer.authorize(req(key)))
      expect(d.headers['retry-after']).toBe('1')
    }
    expect(store.calls.findByHash).toBe(3)
    expect(events.at(-1)?.detail).toBe('circuit_open')
    clock.advance(999)
    expect503(await authorizer.authorize(req(key)))
    expect(store.calls.findByHash).toBe(3)
  })

  it('after the cool-down lets one probe through; a failed probe reopens the circuit', async () => {
    const { clock, store, key, authorizer } = await broken(2, 1_000)
    for (let i = 0; i < 2; i++) await authorizer.authorize(req(key))
    clock.advance(1_000)
    expect503(await authorizer.authorize(req(key)))
    expect(store.calls.findByHash).toBe(3) // the probe
    for (let i = 0; i < 5; i++) expect503(await authorizer.authorize(req(key)))
    expect(store.calls.findByHash).toBe(3)
  })

  it('while a probe is in flight, other requests are still refused without a store call', async () => {
    const { clock, store, key, authorizer } = await broken(2, 1_000)
    for (let i = 0; i < 2; i++) await authorizer.authorize(req(key))
    clock.advance(1_000)
    store.mode = 'ok'
    let release!: () => void
    store.gate = new Promise<void>((r) => (release = r))
    const probe = authorizer.authorize(req(key))
    const others = await Promise.all(Array.from({ length: 10 }, () => authorizer.authorize(req(key))))
    others.forEach(expect503)
    expect(store.calls.findByHash).toBe(3)
    store.gate = undefined
    release()
    expect((await probe).allow).toBe(true)
  })

  it('recovers: a successful probe closes the circuit and requests flow again', async () => {
    const { clock, store, key, authorizer } = await broken(2, 1_000)
    for (let i = 0; i < 2; i++) await authorizer.authorize(req(key))
    store.mode = 'ok'
    expect503(await authorizer.authorize(req(key))) // still cooling down, store healthy or not
    clock.advance(1_000)
    for (let i = 0; i < 5; i++) expect((await authorizer.authorize(req(key))).allow).toBe(true)
    expect(store.calls.findByHash).toBe(2 + 5)
  })

  it('with breaker: false every request reaches the store', async () => {
    const clock = testClock()
    const { store, key } = await withKey()
    store.mode = 'reject'
    const authorizer = createAuthorizer({ store, now: clock.now, breaker: false, touchIntervalMs: 0 })
    for (let i = 0; i < 10; i++) expect503(await authorizer.authorize(req(key)))
    expect(store.calls.findByHash).toBe(10)
  })

  it('cachedStore over a hung store: once the store is back, the same key works again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const clock = testClock()
    const { store, key } = await withKey()
    const cache = cachedStore(store, { now: clock.now })
    const authorizer = createAuthorizer({ store: cache, now: clock.now, storeTimeoutMs: 200, breaker: { threshold: 2, cooldownMs: 1_000 }, touchIntervalMs: 0 })
    store.mode = 'hang'
    for (let i = 0; i < 2; i++) {
      const p = authorizer.authorize(req(key))
      await vi.advanceTimersByTimeAsync(200)
      clock.advance(200)
      expect503(await p)
    }
    store.mode = 'ok'
    clock.advance(1_000)
    // The hung lookup is still pending in the cache; the probe must not join it.
    expect((await authorizer.authorize(req(key))).allow).toBe(true)
  })
})
