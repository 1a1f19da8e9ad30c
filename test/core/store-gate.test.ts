/**
 * The store gate's own rules: the order of breaker, peek and store call, what is owed to the
 * breaker after a peeked answer, and the one timeout mechanism. Counters and fake timers only.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { failed, failure, GROUP, KEY, settleWithin, StoreGate, TIMEOUT, within, type GateRequest } from '../../src/core/store-gate.js'
import type { KeyGroup, KeyRecord, KeyStore } from '../../src/types.js'

const NOW = 1_700_000_000_000
const RECORD = { id: 'k1', hash: 'h1', kind: 'user', active: true, createdAt: NOW } as KeyRecord
const GROUP_REC = { id: 'g1', active: true } as KeyGroup

function counting(store: Partial<KeyStore>): { store: KeyStore; calls: string[] } {
  const calls: string[] = []
  const wrap: Record<string, unknown> = {}
  for (const [name, fn] of Object.entries(store)) {
    wrap[name] = (...args: unknown[]) => {
      calls.push(name)
      return (fn as (...a: unknown[]) => unknown)(...args)
    }
  }
  return { store: wrap as unknown as KeyStore, calls }
}
const request = (): GateRequest => ({ at: NOW, owed: undefined })
const tick = () => Promise.resolve()

afterEach(() => {
  vi.useRealTimers()
})

describe('StoreGate.lookup', () => {
  it('answers a peeked record synchronously without calling findByHash', () => {
    const { store, calls } = counting({ peekByHash: () => RECORD, findByHash: async () => undefined })
    const gate = new StoreGate(store, 1000, { threshold: 1, cooldownMs: 1000 }, () => NOW)
    expect(gate.lookup(request(), KEY, 'h1')).toBe(RECORD)
    expect(calls).toEqual(['peekByHash'])
  })

  it('turns a peeked null into "no such record", not a failure', () => {
    const gate = new StoreGate({ peekByHash: () => null, findByHash: async () => RECORD } as unknown as KeyStore, 1000, undefined, () => NOW)
    expect(gate.lookup(request(), KEY, 'h1')).toBeUndefined()
  })

  it('refuses at once while the circuit is open, touching neither peek nor store', async () => {
    const { store, calls } = counting({ peekByHash: () => undefined, findByHash: () => Promise.reject(new Error('down')) })
    const gate = new StoreGate(store, 1000, { threshold: 1, cooldownMs: 5000 }, () => NOW)
    const first = await gate.lookup(request(), KEY, 'h1')
    expect(failed(first) && first.detail).toBe('store_error')
    calls.length = 0
    const second = gate.lookup(request(), KEY, 'h1')
    expect(second instanceof Promise).toBe(false)
    expect(failed(second) && second.detail).toBe('circuit_open')
    expect(failed(second) && second.retryAfterSec).toBe(5)
    expect(calls).toEqual([])
  })

  it('fails closed when a peek throws or returns a promise, and counts it with the breaker', () => {
    for (const peek of [() => { throw new Error('x') }, () => Promise.resolve(RECORD)]) {
      const gate = new StoreGate({ peekByHash: peek, findByHash: async () => RECORD } as unknown as KeyStore, 1000, { threshold: 1, cooldownMs: 3000 }, () => NOW)
      const a = gate.lookup(request(), KEY, 'h1')
      expect(failed(a) && a.detail).toBe('store_error')
      expect(gate.breaker!.isOpen(NOW)).toBe(true)
    }
  })

  it('owes nothing for a peeked answer while no store call has failed', () => {
    const gate = new StoreGate({ peekByHash: () => RECORD, findByHash: async () => RECORD } as unknown as KeyStore, 1000, { threshold: 3, cooldownMs: 1000 }, () => NOW)
    const r = request()
    gate.lookup(r, KEY, 'h1')
    expect(r.owed).toBeUndefined()
  })

  it('after a failure, reports a peeked answer one microtask later, and a group lookup of the same request waits for that report', async () => {
    let fail = true
    const store = {
      peekByHash: () => (fail ? undefined : RECORD),
      findByHash: () => Promise.reject(new Error('down')),
      peekGroup: () => GROUP_REC,
      findGroup: async () => GROUP_REC,
    } as unknown as KeyStore
    const gate = new StoreGate(store, 1000, { threshold: 5, cooldownMs: 1000 }, () => NOW)
    expect(failed(await gate.lookup(request(), KEY, 'h1'))).toBe(true)
    fail = false
    const success = vi.spyOn(gate.breaker!, 'success')
    const r = request()
    expect(gate.lookup(r, KEY, 'h1')).toBe(RECORD)
    const first = r.owed
    expect(first).toEqual({ paid: false })
    expect(success).not.toHaveBeenCalled()
    const g = gate.lookup(r, GROUP, 'g1')
    expect(g).toBeInstanceOf(Promise)
    await tick()
    expect(success).toHaveBeenCalledTimes(1)
    expect(success).toHaveBeenCalledWith(false)
    expect(await g).toBe(GROUP_REC)
    expect(first!.paid).toBe(true)
    // The group's own peeked answer is owed in its turn (the store has not really answered yet).
    expect(r.owed).not.toBe(first)
  })

  it('a real answer after waiting clears the trouble: later peeked answers owe nothing', async () => {
    vi.useFakeTimers()
    let mode: 'fail' | 'slow' = 'fail'
    let release: (v: KeyRecord) => void = () => {}
    const store = {
      findByHash: () => (mode === 'fail' ? Promise.reject(new Error('down')) : new Promise<KeyRecord>((res) => (release = res))),
      peekGroup: () => GROUP_REC,
      findGroup: async () => GROUP_REC,
    } as unknown as KeyStore
    const gate = new StoreGate(store, 1000, { threshold: 5, cooldownMs: 1000 }, () => NOW)
    await gate.lookup(request(), KEY, 'h1')
    mode = 'slow'
    const p = gate.lookup(request(), KEY, 'h1')
    await tick()
    await tick()
    release(RECORD)
    expect(await p).toBe(RECORD)
    const r = request()
    expect(gate.lookup(r, GROUP, 'g1')).toBe(GROUP_REC)
    expect(r.owed).toBeUndefined()
  })

  it('times a pending call out after storeTimeoutMs and ignores its late answer', async () => {
    vi.useFakeTimers()
    let release: (v: KeyRecord) => void = () => {}
    const store = { findByHash: () => new Promise<KeyRecord>((res) => (release = res)) } as unknown as KeyStore
    const gate = new StoreGate(store, 250, undefined, () => NOW)
    const p = gate.lookup(request(), KEY, 'h1') as Promise<unknown>
    let settled: unknown = 'pending'
    void p.then((v) => (settled = v))
    await vi.advanceTimersByTimeAsync(249)
    expect(settled).toBe('pending')
    await vi.advanceTimersByTimeAsync(1)
    expect(failed(settled) && settled.detail).toBe('timeout')
    release(RECORD)
    await tick()
    expect(failed(settled)).toBe(true)
  })

  it('turns a find that throws synchronously into a failure, never a throw', async () => {
    const gate = new StoreGate({ findByHash: () => { throw new Error('sync') } } as unknown as KeyStore, 1000, undefined, () => NOW)
    const a = await gate.lookup(request(), KEY, 'h1')
    expect(failed(a) && a.detail).toBe('store_error')
  })
})

describe('failures', () => {
  it('are known by identity: an answer shaped like a failure is not one', () => {
    expect(failed(failure(1, 'x'))).toBe(true)
    expect(failed({ retryAfterSec: 1, detail: 'x' })).toBe(false)
    expect(failed(undefined)).toBe(false)
    const revoked = Proxy.revocable({}, {})
    revoked.revoke()
    expect(failed(revoked.proxy)).toBe(false)
  })
})

describe('settleWithin', () => {
  it('arms no timer for a promise already settled', async () => {
    vi.useFakeTimers()
    const done = vi.fn()
    settleWithin(Promise.resolve(7), 1000, done)
    await tick()
    await tick()
    expect(done).toHaveBeenCalledWith(true, 7, false)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('reports waited, clears its timer, and calls back exactly once', async () => {
    vi.useFakeTimers()
    const done = vi.fn()
    let release: (v: number) => void = () => {}
    settleWithin(new Promise<number>((res) => (release = res)), 1000, done)
    await tick()
    expect(vi.getTimerCount()).toBe(1)
    release(3)
    await tick()
    expect(done).toHaveBeenCalledWith(true, 3, true)
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(2000)
    expect(done).toHaveBeenCalledTimes(1)
  })

  it('within() rejects with TIMEOUT when the deadline passes first', async () => {
    vi.useFakeTimers()
    const p = within(new Promise(() => {}), 100)
    const seen = p.catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(100)
    expect(await seen).toBe(TIMEOUT)
  })
})
