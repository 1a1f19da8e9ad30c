import { afterEach, describe, expect, it, vi } from 'vitest'
import { createAuthorizer } from '../../src/authorize.js'
import { KeyManager } from '../../src/stores/manager.js'
import type { LookupMode } from './_helpers.js'
import { testClock } from '../_support/clock.js'
import { FakeStore, req } from './_helpers.js'

afterEach(() => {
  vi.useRealTimers()
})

async function setup(touchIntervalMs?: number) {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
  const clock = testClock()
  const store = new FakeStore()
  const manager = new KeyManager(store, { now: clock.now })
  const a = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
  const b = await manager.issue({ kind: 'user', owner: 'bob', role: 'Read Only' })
  const authorizer = createAuthorizer({ store, now: clock.now, ...(touchIntervalMs === undefined ? {} : { touchIntervalMs }) })
  return { clock, store, a, b, authorizer }
}

describe('last-used tracking (touch)', () => {
  it('is debounced: many uses within touchIntervalMs become one touch per key, with the latest time', async () => {
    const { clock, store, a, b, authorizer } = await setup(1_000)
    for (let i = 0; i < 50; i++) {
      expect((await authorizer.authorize(req(a.key))).allow).toBe(true)
      clock.advance(10)
    }
    for (let i = 0; i < 10; i++) await authorizer.authorize(req(b.key))
    expect(store.calls.touch).toBe(0) // nothing on the request path
    await vi.advanceTimersByTimeAsync(999)
    expect(store.calls.touch).toBe(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(store.touched).toEqual([
      [a.record.id, clock.now() - 10],
      [b.record.id, clock.now()],
    ])
    expect((await store.getKey(a.record.id))?.lastUsedAt).toBe(clock.now() - 10)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('defaults to one write per minute', async () => {
    const { store, a, authorizer } = await setup()
    await authorizer.authorize(req(a.key))
    await vi.advanceTimersByTimeAsync(59_999)
    expect(store.calls.touch).toBe(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(store.calls.touch).toBe(1)
  })

  it('close() writes what is pending at once and leaves no timer behind', async () => {
    const { store, a, authorizer } = await setup(60_000)
    await authorizer.authorize(req(a.key))
    expect(vi.getTimerCount()).toBe(1)
    await authorizer.close()
    expect(store.calls.touch).toBe(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('is not recorded for denied requests', async () => {
    const { store, b, authorizer } = await setup(1_000)
    expect((await authorizer.authorize(req(b.key), 'scans:manage')).allow).toBe(false)
    expect((await authorizer.authorize(req(b.key, '198.51.100.1'), 'scans:read')).allow).toBe(true)
    await authorizer.close()
    expect(store.touched.map(([id]) => id)).toEqual([b.record.id])
  })

  it('touchIntervalMs: 0 turns it off', async () => {
    const { store, a, authorizer } = await setup(0)
    await authorizer.authorize(req(a.key))
    expect(vi.getTimerCount()).toBe(0)
    await authorizer.close()
    expect(store.calls.touch).toBe(0)
  })

  it.each(['reject', 'throw'] as const)('a touch that fails (%s) never changes a decision and surfaces nowhere', async (mode: LookupMode) => {
    const { store, a, b, authorizer } = await setup(100)
    store.touchMode = mode
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown) => unhandled.push(e)
    process.on('unhandledRejection', onUnhandled)
    try {
      for (let round = 0; round < 3; round++) {
        expect((await authorizer.authorize(req(a.key), 'scans:manage')).allow).toBe(true)
        expect((await authorizer.authorize(req(b.key), 'scans:manage')).status).toBe(403)
        await vi.advanceTimersByTimeAsync(100)
      }
      await authorizer.close()
      await new Promise((r) => setImmediate(r))
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
    expect(store.calls.touch).toBe(3)
    expect(unhandled).toEqual([])
  })

  it('a touch that hangs does not hold up decisions', async () => {
    const { store, a, authorizer } = await setup(100)
    store.touchMode = 'hang'
    await authorizer.authorize(req(a.key))
    await vi.advanceTimersByTimeAsync(100)
    expect(store.calls.touch).toBe(1)
    for (let i = 0; i < 5; i++) expect((await authorizer.authorize(req(a.key))).allow).toBe(true)
  })
})
