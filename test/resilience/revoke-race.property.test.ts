/**
 * Random schedules of writes (through the cache, or elsewhere with their changes delivered later
 * in a random shape), invalidations and concurrent requests against a store whose lookups answer
 * in a random order. The model tracks, for every plaintext key, when a revoke of it reached the
 * store and when it settled for this cache; every request must agree with it:
 * - started after the revoke settled: denied;
 * - never revoked at all: allowed.
 * Revokes are never undone here (no activate), so "after it settled" needs no further case.
 * A second property runs the same under pressure: a cache of a few entries (so the in-flight
 * table fills and entries are evicted), a cache clock that moves (so join windows close and
 * entries expire while lookups are in flight), and a store with the one-step revokes.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createAuthorizer } from '../../src/authorize.js'
import { cachedStore, type CachedStore } from '../../src/stores/cached.js'
import { KeyManager, type StoreChange } from '../../src/stores/manager.js'
import type { Decision } from '../../src/types.js'
import { testClock } from '../_support/clock.js'
import { req, settle } from './_helpers.js'
import { OneStepSlowStore, SlowStore } from './_slow-store.js'

const OWNERS = ['ana', 'bob'] as const
const KEYS = 2
const HOUR = 3_600_000

type WriteOp = 'deactivate' | 'delete' | 'rotateNoGrace' | 'rotateGrace' | 'removeIp' | 'describe' | 'grant' | 'groupOff' | 'ownerLock'
type Shape = 'asIs' | 'idOnly' | 'emptyHashes' | 'clear'

type Command =
  | { t: 'request'; key: number; plain: number; again: boolean }
  | { t: 'release'; index: number }
  | { t: 'write'; op: WriteOp; key: number; local: boolean }
  | { t: 'deliver'; shape: Shape }
  | { t: 'noise'; key: number; clear: boolean }
  | { t: 'tick' }
  | { t: 'age'; ms: number }

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('request' as const), key: fc.nat(KEYS - 1), plain: fc.nat(3), again: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('release' as const), index: fc.nat(7) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('write' as const),
      // Writes that keep the key usable come up more often, so that revokes meet live keys.
      op: fc.constantFrom<WriteOp>('deactivate', 'delete', 'rotateNoGrace', 'rotateGrace', 'rotateGrace', 'removeIp', 'describe', 'describe', 'grant', 'grant', 'groupOff', 'ownerLock'),
      key: fc.nat(KEYS - 1),
      local: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('deliver' as const), shape: fc.constantFrom<Shape>('asIs', 'idOnly', 'emptyHashes', 'clear') }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('noise' as const), key: fc.nat(KEYS - 1), clear: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ t: 'tick' as const }) },
)

/** The commands under pressure: the above, and the cache clock moving past join windows. */
const pressed: fc.Arbitrary<Command> = fc.oneof(
  { weight: 14, arbitrary: command },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('age' as const), ms: fc.constantFrom(1, 500, 999, 1_000, 1_500) }) },
)

/** The cache and store a run uses: defaults, or under pressure. */
interface Pressure {
  maxEntries?: number
  oneStep?: boolean
}

/** One revoke, as the model knows it. */
interface Mark {
  /** Step at which the write completed in the store. */
  readonly inStore: number
  /** Step from which it holds for this cache (written through it, or its change delivered). */
  settled: number
}

interface Plain {
  readonly key: string
  /** Revokes of this plaintext alone (rotations). */
  readonly marks: Mark[]
}

interface ModelKey {
  id: string
  owner: string
  group: string
  /** Oldest first; the last one is the current key. */
  plains: Plain[]
  /** Revokes of the key as a whole, whichever plaintext presents it (a key rotated later included). */
  readonly marks: Mark[]
  deleted: boolean
}

interface Pending {
  change: StoreChange
  /** Revokes that settle when this change is delivered. */
  marks: Mark[]
}

interface Asked {
  plain: Plain
  key: ModelKey
  step: number
  decision: Promise<Decision>
}

const deliver = (cache: CachedStore, change: StoreChange, shape: Shape): void => {
  if (shape === 'clear') return cache.clear()
  if (change.type !== 'key' || shape === 'asIs') return cache.invalidate(change)
  cache.invalidate(shape === 'idOnly' ? ({ type: 'key', id: change.id } as StoreChange) : { type: 'key', id: change.id, hashes: [] })
}

async function run(commands: Command[], pressure: Pressure = {}): Promise<void> {
  const store = pressure.oneStep === true ? new OneStepSlowStore() : new SlowStore()
  store.slow = new Set()
  const clock = testClock()
  const seed = new KeyManager(store.inner, { now: clock.now })
  // Both keys share a group; each has its own owner.
  const group = (await seed.createGroup({ name: 'Integrations' })).id
  for (const o of OWNERS) await seed.setOwner(o, { role: 'Read Write', active: true })
  const keys: ModelKey[] = []
  for (let i = 0; i < KEYS; i++) {
    const owner = OWNERS[i % OWNERS.length]!
    const { key, record } = await seed.issue({ kind: 'user', owner, role: 'Read Only', group, allowedIps: ['203.0.113.0/24'] })
    keys.push({ id: record.id, owner, group, plains: [{ key, marks: [] }], marks: [], deleted: false })
  }
  store.slow = new Set(['key', 'group', 'owner'])
  const cacheClock = testClock()
  const cache = cachedStore(store, { now: cacheClock.now, ...(pressure.maxEntries === undefined ? {} : { maxEntries: pressure.maxEntries }) })
  const authorizer = createAuthorizer({ store: cache, now: clock.now, touchIntervalMs: 0, breaker: false, storeTimeoutMs: 600_000 })
  const local = new KeyManager(cache, { now: clock.now })
  const queue: Pending[] = []
  const elsewhere = new KeyManager(store, { now: clock.now, onWrite: (change) => queue.push({ change, marks: [] }) })
  const asked: Asked[] = []

  const affected = (k: ModelKey, op: WriteOp): ModelKey[] =>
    op === 'groupOff' ? keys.filter((o) => o.group === k.group) : op === 'ownerLock' ? keys.filter((o) => o.owner === k.owner) : [k]

  async function write(step: number, op: WriteOp, k: ModelKey, viaCache: boolean): Promise<void> {
    if (k.deleted) return
    const m = viaCache ? local : elsewhere
    const queued = queue.length
    const mark: Mark = { inStore: step, settled: viaCache ? step : Infinity }
    let marked = true
    switch (op) {
      case 'deactivate':
      case 'delete':
      case 'removeIp':
      case 'groupOff':
      case 'ownerLock':
        if (op === 'deactivate') await m.deactivate(k.id)
        else if (op === 'delete') await m.delete(k.id)
        else if (op === 'removeIp') await m.removeAllowedIps(k.id, ['203.0.113.0/24'])
        else if (op === 'groupOff') await m.deactivateGroup(k.group)
        else await m.setOwner(k.owner, { role: 'Read Write', active: false })
        if (op === 'delete') k.deleted = true
        for (const o of affected(k, op)) o.marks.push(mark)
        break
      case 'rotateNoGrace':
      case 'rotateGrace': {
        const { key } = await m.rotate(k.id, { graceMs: op === 'rotateGrace' ? HOUR : 0 })
        // With a grace, only the current key survives as the previous one; without, none does.
        for (const p of op === 'rotateGrace' ? k.plains.slice(0, -1) : k.plains) p.marks.push(mark)
        k.plains.push({ key, marks: [] })
        break
      }
      case 'describe':
        await m.update(k.id, { description: `step ${step}` })
        marked = false
        break
      case 'grant':
        await m.grant(k.id, [`op${step}`])
        marked = false
        break
    }
    if (!viaCache && marked) {
      // Every write that revokes emits one change; the revoke settles when it is delivered.
      expect(queue.length).toBe(queued + 1)
      queue.at(-1)!.marks.push(mark)
    }
  }

  try {
    for (let step = 0; step < commands.length; step++) {
      const c = commands[step]!
      switch (c.t) {
        case 'request': {
          // `again`: the same plaintext as the previous request (races need two requests for one key).
          const last = asked.at(-1)
          const k = c.again && last !== undefined ? last.key : keys[c.key]!
          const plain = c.again && last !== undefined ? last.plain : k.plains[c.plain % k.plains.length]!
          asked.push({ plain, key: k, step, decision: authorizer.authorize(req(plain.key), 'scans:read') })
          break
        }
        case 'release':
          store.releaseAt(c.index)
          break
        case 'write':
          await write(step, c.op, keys[c.key]!, c.local)
          break
        case 'deliver': {
          const next = queue.shift()
          if (next === undefined) break
          deliver(cache, next.change, c.shape)
          for (const m of next.marks) m.settled = step
          break
        }
        case 'noise':
          if (c.clear) cache.clear()
          else cache.invalidate({ type: 'key', id: keys[c.key]!.id } as StoreChange)
          break
        case 'tick':
          await settle()
          break
        case 'age':
          cacheClock.advance(c.ms)
          break
      }
    }
    await store.drain(asked.map((a) => a.decision))
    for (const a of asked) {
      const d = await a.decision
      const marks = [...a.plain.marks, ...a.key.marks]
      const settledAt = Math.min(...marks.map((m) => m.settled))
      if (a.step > settledAt) expect(d.allow, `request at step ${a.step}, revoke settled at step ${settledAt}`).toBe(false)
      if (marks.length === 0) expect(d.allow, `request at step ${a.step} of a key never revoked`).toBe(true)
    }
  } finally {
    await authorizer.close()
  }
}

describe('cachedStore under random schedules of writes, invalidations and slow lookups', () => {
  it('never allows a request that starts after a revoke settled, and always allows a key never revoked', async () => {
    await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }), (commands) => run(commands)), { numRuns: 2000 })
  }, 120_000)

  it('the same with a few entries, a moving cache clock and one-step revokes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(pressed, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), (commands, maxEntries, oneStep) =>
        run(commands, { maxEntries, oneStep }),
      ),
      { numRuns: 1000 },
    )
  }, 120_000)
})
