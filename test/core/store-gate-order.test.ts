/**
 * The store gate's ordering rules, lookup by lookup: the breaker answers before the peek, the
 * peek before the store call, each kind of lookup asks its own peek and its own find, and a
 * failure (thrown, rejected, timed out, behind an open circuit) is a value that tells the client
 * how long to wait. Counters and fake timers only.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { failed, GROUP, KEY, OWNER, settleWithin, StoreGate, TIMEOUT, within, type Answer, type GateRequest } from '../../src/core/store-gate.js'
import type { KeyGroup, KeyRecord, KeyStore, OwnerRecord } from '../../src/types.js'

const NOW = 1_700_000_000_000
const RECORD = { id: 'k1', hash: 'h1', kind: 'user', active: true, createdAt: NOW } as KeyRecord
const GROUP_REC = { id: 'g1', active: true } as KeyGroup
const OWNER_REC = { active: true } as OwnerRecord
const request = (at = NOW): GateRequest => ({ at, owed: undefined })
const tick = () => Promise.resolve()

/** A store whose every method logs `method(argument)` and then answers as given. */
function logged(methods: Partial<Record<keyof KeyStore, (arg: string) => unknown>>): { store: KeyStore; calls: string[] } {
  const calls: string[] = []
  const store: Record<string, unknown> = {}
  for (const [name, fn] of Object.entries(methods)) {
    store[name] = (arg: string) => {
      calls.push(`${name}(${arg})`)
      return fn(arg)
    }
  }
  return { store: store as unknown as KeyStore, calls }
}
const down = () => Promise.reject(new Error('down'))
const detail = (a: unknown) => (failed(a) ? [a.detail, a.retryAfterSec] : a)

afterEach(() => {
  vi.useRealTimers()
})

describe('each kind of lookup asks its own peek, then its own find', () => {
  it.each([
    ['key', KEY, 'peekByHash', 'findByHash', RECORD],
    ['group', GROUP, 'peekGroup', 'findGroup', GROUP_REC],
    ['owner', OWNER, 'peekOwner', 'findOwner', OWNER_REC],
  ] as const)('%s lookup: a peek that knows answers at once, without the find', (_what, kind, peek, find, value) => {
    const { store, calls } = logged({ findByHash: async () => undefined, [peek]: () => value, [find]: async () => undefined })
    const gate = new StoreGate(store, 1000, undefined, () => NOW)
    expect(gate.lookup(request(), kind, 'x1')).toBe(value)
    expect(calls).toEqual([`${peek}(x1)`])
  })

  it.each([
    ['key', KEY, 'peekByHash', 'findByHash', RECORD],
    ['group', GROUP, 'peekGroup', 'findGroup', GROUP_REC],
    ['owner', OWNER, 'peekOwner', 'findOwner', OWNER_REC],
  ] as const)('%s lookup: a peek that does not know leads to the find', async (_what, kind, peek, find, value) => {
    const { store, calls } = logged({ findByHash: async () => undefined, [peek]: () => undefined, [find]: async () => value })
    const gate = new StoreGate(store, 1000, undefined, () => NOW)
    const a = gate.lookup(request(), kind, 'x1')
    expect(a).toBeInstanceOf(Promise)
    expect(await a).toBe(value)
    expect(calls).toEqual([`${peek}(x1)`, `${find}(x1)`])
  })

  it.each([
    ['key', KEY, 'findByHash', RECORD],
    ['group', GROUP, 'findGroup', GROUP_REC],
    ['owner', OWNER, 'findOwner', OWNER_REC],
  ] as const)('%s lookup: a store without peeks goes straight to the find', async (_what, kind, find, value) => {
    const { store, calls } = logged({ findByHash: async () => RECORD, findGroup: async () => GROUP_REC, findOwner: async () => OWNER_REC })
    const gate = new StoreGate(store, 1000, { threshold: 2, cooldownMs: 1000 }, () => NOW)
    expect(await gate.lookup(request(), kind, 'x1')).toBe(value)
    expect(calls).toEqual([`${find}(x1)`])
  })

  it.each([['group', GROUP], ['owner', OWNER]] as const)('%s lookup: a peek that returns a promise fails closed without calling the find', (_what, kind) => {
    const { store, calls } = logged({
      peekGroup: () => Promise.resolve(GROUP_REC), peekOwner: () => Promise.resolve(OWNER_REC),
      findGroup: async () => GROUP_REC, findOwner: async () => OWNER_REC, findByHash: async () => RECORD,
    })
    const gate = new StoreGate(store, 1000, undefined, () => NOW)
    expect(detail(gate.lookup(request(), kind, 'x1'))).toEqual(['store_error', 1])
    expect(calls).toHaveLength(1)
  })

  it('answers a peeked null group or owner as none, and a found null as the store gave it', async () => {
    const gate = new StoreGate({ peekGroup: () => null, findByHash: async () => null } as unknown as KeyStore, 1000, undefined, () => NOW)
    expect(gate.lookup(request(), GROUP, 'g')).toBeUndefined()
    expect(await gate.lookup(request(), KEY, 'h')).toBeNull()
  })
})

describe('how long a failure tells the client to wait', () => {
  it('is 1 second while the breaker is still counting, then the whole cooldown rounded up once it opens', async () => {
    const gate = new StoreGate({ findByHash: down } as unknown as KeyStore, 1000, { threshold: 2, cooldownMs: 2500 }, () => NOW)
    expect(detail(await gate.lookup(request(), KEY, 'h'))).toEqual(['store_error', 1])
    expect(detail(await gate.lookup(request(), KEY, 'h'))).toEqual(['store_error', 3])
  })

  it('is 1 second for every failure when the breaker is off, and the circuit never opens', async () => {
    const { store, calls } = logged({ findByHash: down })
    const gate = new StoreGate(store, 1000, undefined, () => NOW)
    expect(gate.breaker).toBeUndefined()
    for (let i = 0; i < 8; i++) expect(detail(await gate.lookup(request(), KEY, 'h'))).toEqual(['store_error', 1])
    expect(calls).toHaveLength(8)
  })

  it('while the circuit is open, is the time left of the request\'s own clock, rounded up to seconds', async () => {
    const { store, calls } = logged({ findByHash: down })
    const gate = new StoreGate(store, 1000, { threshold: 1, cooldownMs: 5000 }, () => NOW)
    expect(detail(await gate.lookup(request(), KEY, 'h'))).toEqual(['store_error', 5])
    expect(detail(gate.lookup(request(NOW + 1500), KEY, 'h'))).toEqual(['circuit_open', 4])
    expect(detail(gate.lookup(request(NOW + 4200), KEY, 'h'))).toEqual(['circuit_open', 1])
    expect(calls).toHaveLength(1)
    // The request's time, not the gate's clock (still NOW), decides that the cooldown is over.
    expect(detail(await gate.lookup(request(NOW + 5000), KEY, 'h'))).toEqual(['store_error', 5])
    expect(calls).toHaveLength(2)
  })

  it('refuses group and owner lookups too while the circuit is open, before any peek', async () => {
    const { store, calls } = logged({ findByHash: down, peekGroup: () => GROUP_REC, peekOwner: () => OWNER_REC })
    const gate = new StoreGate(store, 1000, { threshold: 1, cooldownMs: 3000 }, () => NOW)
    await gate.lookup(request(), KEY, 'h')
    calls.length = 0
    expect(detail(gate.lookup(request(), GROUP, 'g'))).toEqual(['circuit_open', 3])
    expect(detail(gate.lookup(request(), OWNER, 'o'))).toEqual(['circuit_open', 3])
    expect(calls).toEqual([])
  })

  it('adds up failures that come within storeTimeoutMs + cooldownMs of each other, and no further apart', async () => {
    let now = NOW
    const fails = (timeoutMs: number) => new StoreGate({ findByHash: down } as unknown as KeyStore, timeoutMs, { threshold: 2, cooldownMs: 3000 }, () => now)
    const near = fails(1000)
    now = NOW
    await near.lookup(request(), KEY, 'h')
    now = NOW + 4000
    expect(detail(await near.lookup(request(now), KEY, 'h'))).toEqual(['store_error', 3])
    const far = fails(1000)
    now = NOW
    await far.lookup(request(), KEY, 'h')
    now = NOW + 4001
    expect(detail(await far.lookup(request(now), KEY, 'h'))).toEqual(['store_error', 1])
  })

  it('tells a timeout from a store error in the failure', async () => {
    vi.useFakeTimers()
    const gate = new StoreGate({ findByHash: () => new Promise(() => {}), findGroup: down } as unknown as KeyStore, 300, undefined, () => NOW)
    const p = gate.lookup(request(), KEY, 'h') as Promise<Answer<KeyRecord>>
    await vi.advanceTimersByTimeAsync(300)
    expect(detail(await p)).toEqual(['timeout', 1])
    expect(detail(await gate.lookup(request(), GROUP, 'g'))).toEqual(['store_error', 1])
  })
})

describe('what a request owes the breaker after a store failure', () => {
  /** A gate that has seen one failed store call, whose peeks now know everything. */
  async function troubled() {
    let fail = true
    const store = {
      peekByHash: () => (fail ? undefined : RECORD),
      findByHash: () => (fail ? down() : Promise.resolve(RECORD)),
      peekGroup: () => GROUP_REC,
      peekOwner: () => OWNER_REC,
    } as unknown as KeyStore
    const gate = new StoreGate(store, 1000, { threshold: 5, cooldownMs: 1000 }, () => NOW)
    expect(failed(await gate.lookup(request(), KEY, 'h'))).toBe(true)
    fail = false
    return { gate, success: vi.spyOn(gate.breaker!, 'success') }
  }

  it('lets the second key of a pair answer at once, under the debt of the first', async () => {
    const { gate, success } = await troubled()
    const r = request()
    expect(gate.lookup(r, KEY, 'h1')).toBe(RECORD)
    const debt = r.owed
    expect(gate.lookup(r, KEY, 'h2')).toBe(RECORD)
    expect(r.owed).toBe(debt)
    await tick()
    expect(success).toHaveBeenCalledTimes(1)
    expect(success).toHaveBeenCalledWith(false)
  })

  it('makes an owner lookup wait for the report, as a group lookup does', async () => {
    const { gate, success } = await troubled()
    const r = request()
    gate.lookup(r, KEY, 'h1')
    const o = gate.lookup(r, OWNER, 'ana')
    expect(o).toBeInstanceOf(Promise)
    expect(success).not.toHaveBeenCalled()
    await tick()
    expect(success).toHaveBeenCalledTimes(1)
    expect(await o).toBe(OWNER_REC)
  })

  it('lets a group lookup go at once once the debt is paid', async () => {
    const { gate } = await troubled()
    const r = request()
    gate.lookup(r, KEY, 'h1')
    const paidDebt = r.owed!
    await tick()
    expect(paidDebt.paid).toBe(true)
    expect(gate.lookup(r, GROUP, 'g')).toBe(GROUP_REC)
  })

  it('owes nothing without a breaker, even after failures', async () => {
    let fail = true
    const store = { peekByHash: () => (fail ? undefined : RECORD), findByHash: down, peekGroup: () => GROUP_REC } as unknown as KeyStore
    const gate = new StoreGate(store, 1000, undefined, () => NOW)
    expect(failed(await gate.lookup(request(), KEY, 'h'))).toBe(true)
    fail = false
    const r = request()
    expect(gate.lookup(r, KEY, 'h')).toBe(RECORD)
    expect(r.owed).toBeUndefined()
    expect(gate.lookup(r, GROUP, 'g')).toBe(GROUP_REC)
  })

  it('still owes after an immediate answer from the store: only an answer that was waited for clears the trouble', async () => {
    let mode: 'fail' | 'fast' = 'fail'
    const store = {
      findByHash: () => (mode === 'fail' ? down() : Promise.resolve(RECORD)),
      peekGroup: () => GROUP_REC,
    } as unknown as KeyStore
    const gate = new StoreGate(store, 1000, { threshold: 5, cooldownMs: 1000 }, () => NOW)
    await gate.lookup(request(), KEY, 'h')
    mode = 'fast'
    expect(await gate.lookup(request(), KEY, 'h')).toBe(RECORD)
    const r = request()
    expect(gate.lookup(r, GROUP, 'g')).toBe(GROUP_REC)
    expect(r.owed).toEqual({ paid: false })
  })

  it('reports an answer that was waited for as a real success, one that was not as an immediate one', async () => {
    vi.useFakeTimers()
    let release: (v: KeyRecord) => void = () => {}
    let slow = false
    const store = {
      findByHash: () => (slow ? new Promise<KeyRecord>((res) => (release = res)) : Promise.resolve(RECORD)),
    } as unknown as KeyStore
    const gate = new StoreGate(store, 1000, { threshold: 5, cooldownMs: 1000 }, () => NOW)
    const success = vi.spyOn(gate.breaker!, 'success')
    expect(await gate.lookup(request(), KEY, 'h')).toBe(RECORD)
    expect(success).toHaveBeenLastCalledWith(false)
    slow = true
    const p = gate.lookup(request(), KEY, 'h')
    await tick()
    await tick()
    release(RECORD)
    expect(await p).toBe(RECORD)
    expect(success).toHaveBeenLastCalledWith(true)
  })
})

describe('the one timeout mechanism', () => {
  it('reports a rejection as (false, reason, waited) and a late one with waited true', async () => {
    vi.useFakeTimers()
    const done = vi.fn()
    const boom = new Error('boom')
    settleWithin(Promise.reject(boom), 1000, done)
    await tick()
    await tick()
    expect(done).toHaveBeenCalledWith(false, boom, false)
    let fail: (e: unknown) => void = () => {}
    const late = vi.fn()
    settleWithin(new Promise((_res, rej) => (fail = rej)), 1000, late)
    await tick()
    fail(boom)
    await tick()
    expect(late).toHaveBeenCalledWith(false, boom, true)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('times out after exactly ms and never reports the late answer', async () => {
    vi.useFakeTimers()
    const done = vi.fn()
    let release: (v: number) => void = () => {}
    settleWithin(new Promise<number>((res) => (release = res)), 400, done)
    await vi.advanceTimersByTimeAsync(399)
    expect(done).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(done).toHaveBeenCalledWith(false, TIMEOUT, true)
    release(1)
    await tick()
    expect(done).toHaveBeenCalledTimes(1)
  })

  it('within() resolves with the value and rejects with the reason', async () => {
    expect(await within(Promise.resolve(5), 100)).toBe(5)
    const boom = new Error('boom')
    await expect(within(Promise.reject(boom), 100)).rejects.toBe(boom)
  })
})
