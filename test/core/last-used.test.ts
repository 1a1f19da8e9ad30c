/**
 * Last-used times are written in batches, off the request path: one timer per batch, the latest
 * time per key, a bounded number of keys waiting, and a store that fails or hangs on `touch`
 * never surfaces anywhere and never holds `close()` past the store timeout.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Toucher } from '../../src/core/_touch.js'
import { createAuthorizer, KeyManager, MemoryKeyStore, type AuthRequest } from '../../src/index.js'

const NOW = Date.UTC(2030, 0, 1)
const get = (key: string): AuthRequest => ({ method: 'GET', url: '/scans', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' })

afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

describe('the toucher', () => {
  it('writes each key once per batch with its latest time, after the interval', async () => {
    vi.useFakeTimers()
    const writes: [string, number][] = []
    const t = new Toucher(async (id, at) => void writes.push([id, at]), 1000, 500)
    t.record('a', 1)
    t.record('b', 2)
    t.record('a', 3)
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(999)
    expect(writes).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(writes).toEqual([['a', 3], ['b', 2]])
    expect(vi.getTimerCount()).toBe(0)
    // The next use starts the next batch.
    t.record('b', 9)
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(1000)
    expect(writes).toEqual([['a', 3], ['b', 2], ['b', 9]])
  })

  it('does not keep the process alive for its timer', () => {
    vi.useFakeTimers()
    const unref = vi.fn()
    const real = globalThis.setTimeout
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms: number) => Object.assign(real(fn, ms), { unref })) as never)
    new Toucher(async () => {}, 1000, 500).record('a', 1)
    expect(unref).toHaveBeenCalledTimes(1)
  })

  it('keeps at most 100000 keys waiting, still updating those already waiting', async () => {
    const writes = new Map<string, number>()
    const t = new Toucher(async (id, at) => void writes.set(id, at), 60_000, 500)
    for (let i = 0; i < 100_000; i++) t.record(`k${i}`, 1)
    t.record('one-too-many', 1)
    t.record('k7', 2)
    await t.flush()
    expect(writes.size).toBe(100_000)
    expect(writes.has('one-too-many')).toBe(false)
    expect(writes.get('k7')).toBe(2)
    // Once written, there is room again.
    t.record('one-too-many', 3)
    await t.flush()
    expect(writes.get('one-too-many')).toBe(3)
  })

  it('swallows a touch that throws or rejects, and still writes the others', async () => {
    const writes: string[] = []
    const t = new Toucher(async (id) => {
      if (id === 'sync') throw new Error('sync')
      if (id === 'async') return Promise.reject(new Error('async'))
      writes.push(id)
    }, 1000, 500)
    for (const id of ['sync', 'async', 'ok']) t.record(id, 1)
    await expect(t.flush()).resolves.toBeUndefined()
    expect(writes).toEqual(['ok'])
  })

  it('gives up on a hung batch after the store timeout, leaving no timer behind', async () => {
    vi.useFakeTimers()
    const t = new Toucher(() => new Promise<void>(() => {}), 1000, 700)
    t.record('a', 1)
    let done = false
    void t.flush().then(() => (done = true))
    await vi.advanceTimersByTimeAsync(699)
    expect(done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(done).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('clears its give-up timer when the batch is written in time', async () => {
    vi.useFakeTimers()
    const t = new Toucher(async () => {}, 1000, 700)
    t.record('a', 1)
    await t.flush()
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('close()', () => {
  it('returns within storeTimeoutMs when the store hangs on touch, and a failing touch never changes a decision', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const store = new MemoryKeyStore()
    const { key } = await new KeyManager(store, { now: () => NOW - 1 }).issue({ kind: 'org' })
    const touch = vi.spyOn(store, 'touch').mockImplementation(() => new Promise<void>(() => {}))
    const a = createAuthorizer({ store, now: () => NOW, storeTimeoutMs: 300, touchIntervalMs: 1000 })
    expect((await a.authorize(get(key))).allow).toBe(true)
    let closed = false
    void a.close().then(() => (closed = true))
    await vi.advanceTimersByTimeAsync(299)
    expect(closed).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(closed).toBe(true)
    touch.mockImplementation(() => Promise.reject(new Error('down')))
    expect((await a.authorize(get(key))).allow).toBe(true)
    await expect(a.close()).resolves.toBeUndefined()
    expect(touch).toHaveBeenCalledTimes(2)
  })

  it('arms no timer for a store without touch, nor with touchIntervalMs 0', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const inner = new MemoryKeyStore()
    const { key } = await new KeyManager(inner, { now: () => NOW - 1 }).issue({ kind: 'org' })
    const bare = createAuthorizer({ store: { findByHash: (h) => inner.findByHash(h) }, now: () => NOW, touchIntervalMs: 1000 })
    expect((await bare.authorize(get(key))).allow).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
    const off = createAuthorizer({ store: inner, now: () => NOW, touchIntervalMs: 0 })
    expect((await off.authorize(get(key))).allow).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
    const on = createAuthorizer({ store: inner, now: () => NOW, touchIntervalMs: 1000 })
    expect((await on.authorize(get(key))).allow).toBe(true)
    expect(vi.getTimerCount()).toBe(1)
    await on.close()
  })
})
