/**
 * The synchronous store peeks (`KeyStore.peekByHash`, `peekGroup`, `peekOwner`) are a fast path
 * only: whatever a store answers through them, the decision must be the one its asynchronous
 * `find*` methods would have produced. These tests run the same worlds and requests through a
 * store with peeks and through a view of the same store without them, and compare everything a
 * caller can observe.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createAuthorizer, type AuthorizerOptions } from '../../src/authorize.js'
import { generateKey } from '../../src/keys/format.js'
import { hashKey } from '../../src/keys/hash.js'
import { schemes } from '../../src/schemes/index.js'
import { cachedStore } from '../../src/stores/cached.js'
import { KeyManager } from '../../src/stores/manager.js'
import { MemoryKeyStore } from '../../src/stores/memory.js'
import type { AuthRequest, Decision, DecisionEvent, KeyGroup, KeyRecord, KeyStore, OwnerRecord } from '../../src/types.js'
import { testClock } from '../_support/clock.js'
import { deferred, FakeStore, req, settle } from './_helpers.js'

const NOW = 1_700_000_000_000

/** Everything a caller can observe of a decision (the principal as data and as `can()` answers). */
function observable(d: Decision): unknown {
  if (!d.allow) return { ...d }
  const p = d.principal
  return {
    allow: true,
    status: d.status,
    headers: d.headers,
    principal: JSON.parse(JSON.stringify(p)) as unknown,
    can: ['scans:read', 'scans:manage', 'targets:manage', 'global-blackouts:manage'].map((x) => p.can(x)),
  }
}

function event(e: DecisionEvent): unknown {
  const { durationMs: _d, ...rest } = e
  return rest
}

/** `store` without any peek: every lookup goes through the asynchronous methods. */
function asyncView(store: KeyStore): KeyStore {
  return {
    findByHash: (h) => store.findByHash(h),
    findGroup: (id) => store.findGroup!(id),
    findOwner: (id) => store.findOwner!(id),
  }
}

/** `store` with its peeks, counting the asynchronous calls (so a test can see the peeks answered). */
function countingView(store: MemoryKeyStore) {
  const calls = { find: 0 }
  const view: KeyStore = {
    findByHash: (h) => (calls.find++, store.findByHash(h)),
    findGroup: (id) => (calls.find++, store.findGroup(id)),
    findOwner: (id) => (calls.find++, store.findOwner(id)),
    peekByHash: (h) => store.peekByHash(h),
    peekGroup: (id) => store.peekGroup(id),
    peekOwner: (id) => store.peekOwner(id),
  }
  return { view, calls }
}

// ---- random worlds ---------------------------------------------------------------------------

const IPS = ['203.0.113.9', '198.51.100.7', '2001:db8::5', '::ffff:203.0.113.9']
const arbGroup = fc.oneof(
  fc.constant(undefined),
  fc.record({ active: fc.boolean(), tenant: fc.constantFrom(undefined, 'acme', 'other'), allowedIps: fc.constantFrom<string[] | undefined>(undefined, ['203.0.113.0/24'], ['2001:db8::/32']) }),
  fc.constant('missing' as const),
)
const arbOwner = fc.oneof(
  fc.constant(undefined),
  fc.record({ active: fc.boolean(), role: fc.constantFrom(undefined, 'Read Only', 'Product Admin', 'No Such Role') }),
)
const arbKey = fc.record({
  kind: fc.constantFrom('user', 'org', 'tenant', 'bogus'),
  tenant: fc.constantFrom(undefined, 'acme', 'other'),
  owner: fc.constantFrom(undefined, 'ana', 'bob'),
  role: fc.constantFrom(undefined, 'Read Write', 'Read Only', 'Product Admin'),
  scopes: fc.constantFrom<string[] | undefined>(undefined, ['scans:read'], ['scans:manage', 'targets:manage'], ['nonsense']),
  grants: fc.constantFrom<string[] | undefined>(undefined, ['scans.create'], ['scans.create', 'targets.list']),
  allowedIps: fc.constantFrom<string[] | undefined>(undefined, ['203.0.113.0/24'], ['198.51.100.0/24', '2001:db8::/32'], ['not an ip']),
  active: fc.oneof(fc.boolean(), fc.constant(1 as unknown as boolean)),
  expiresAt: fc.constantFrom(undefined, NOW - 1, NOW, NOW + 1, 'soon' as unknown as number),
  rotated: fc.constantFrom('no', 'in-grace', 'past-grace'),
  group: arbGroup,
  ownerRecord: arbOwner,
})
const arbRequest = fc.record({
  key: fc.nat(),
  which: fc.constantFrom('current', 'previous', 'unknown', 'bad-checksum'),
  ip: fc.constantFrom(...IPS, undefined),
  need: fc.constantFrom(undefined, 'scans:read', 'scans:manage', { permission: ['scans:read', 'targets:manage'], operation: 'scans.create' }, { operation: 'targets.list' }),
})
const arbOptions = fc.record({ explicitGrants: fc.boolean(), exposeReasons: fc.boolean(), tenant: fc.constantFrom(undefined, 'acme') })

type KeySpec = typeof arbKey extends fc.Arbitrary<infer T> ? T : never

interface Built {
  store: MemoryKeyStore
  /** Per key: current plaintext, and the previous one (what a rotated key's grace applies to). */
  keys: { current: string; previous: string }[]
}

async function build(specs: readonly KeySpec[]): Promise<Built> {
  const store = new MemoryKeyStore()
  const keys: Built['keys'] = []
  let n = 0
  for (const s of specs) {
    n++
    const current = generateKey()
    const previous = generateKey()
    const id = `key_${n}`
    let group: string | undefined
    if (s.group === 'missing') group = `gone_${n}`
    else if (s.group !== undefined) {
      group = `grp_${n}`
      const g: KeyGroup = { id: group, name: group, active: s.group.active, createdAt: 0, ...(s.group.tenant ? { tenant: s.group.tenant } : {}), ...(s.group.allowedIps ? { allowedIps: s.group.allowedIps } : {}) }
      await store.insertGroup(g)
    }
    // Owners are per key so that one key's owner record does not decide another's.
    const owner = s.owner === undefined ? undefined : `${s.owner}_${n}`
    if (owner !== undefined && s.ownerRecord !== undefined) {
      const o: OwnerRecord = { active: s.ownerRecord.active, ...(s.ownerRecord.role ? { role: s.ownerRecord.role } : {}) }
      await store.putOwner(owner, o)
    }
    const r: KeyRecord = {
      id,
      hash: hashKey(current),
      kind: s.kind as KeyRecord['kind'],
      active: s.active,
      createdAt: 0,
      ...(s.tenant ? { tenant: s.tenant } : {}),
      ...(owner ? { owner } : {}),
      ...(s.role ? { role: s.role } : {}),
      ...(s.scopes ? { scopes: s.scopes } : {}),
      ...(s.grants ? { grants: s.grants } : {}),
      ...(s.allowedIps ? { allowedIps: s.allowedIps } : {}),
      ...(s.expiresAt !== undefined ? { expiresAt: s.expiresAt } : {}),
      ...(group ? { group } : {}),
      ...(s.rotated === 'no' ? {} : { previousHash: hashKey(previous), previousExpiresAt: s.rotated === 'in-grace' ? NOW + 1000 : NOW }),
    }
    await store.insertKey(r)
    keys.push({ current, previous })
  }
  return { store, keys }
}

function badChecksum(key: string): string {
  const last = key.at(-1) === 'A' ? 'B' : 'A'
  return key.slice(0, -1) + last
}

describe('store peeks decide exactly as the asynchronous lookups', () => {
  it('same decisions and events with and without peeks, for random keys, groups, owners and requests (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbKey, { minLength: 1, maxLength: 6 }), fc.array(arbRequest, { minLength: 1, maxLength: 12 }), arbOptions, async (specs, requests, opts) => {
        const { store, keys } = await build(specs)
        const counting = countingView(store)
        const cache = cachedStore(store, { now: () => NOW })
        const stores: Record<string, KeyStore> = { async: asyncView(store), memory: store, peeking: counting.view, cached: cache }
        const runs: Record<string, unknown[]> = {}
        for (const [name, s] of Object.entries(stores)) {
          const events: DecisionEvent[] = []
          const options: AuthorizerOptions = {
            store: s,
            now: () => NOW,
            touchIntervalMs: 0,
            explicitGrants: opts.explicitGrants,
            exposeReasons: opts.exposeReasons,
            onDecision: (e) => events.push(e),
            ...(opts.tenant ? { tenant: () => opts.tenant } : {}),
          }
          const a = createAuthorizer(options)
          const out: unknown[] = []
          // The cached store is run twice: cold (lookups go to the store) and warm (peeks answer).
          for (let pass = 0; pass < (name === 'cached' ? 2 : 1); pass++) {
            out.length = 0
            events.length = 0
            for (const r of requests) {
              const k = keys[r.key % keys.length]!
              const key = r.which === 'current' ? k.current : r.which === 'previous' ? k.previous : r.which === 'unknown' ? generateKey() : badChecksum(k.current)
              const request: AuthRequest = { method: 'GET', url: '/scans', headers: { 'x-api-key': key }, ...(r.ip ? { remoteAddress: r.ip } : {}) }
              // Decisions and events never hold the key, so a fresh unknown key per run compares fine.
              out.push(observable(await a.authorize(request, r.need)))
            }
            out.push(...events.map(event))
          }
          runs[name] = [...out]
        }
        expect(runs.memory).toEqual(runs.async)
        expect(runs.peeking).toEqual(runs.async)
        expect(runs.cached).toEqual(runs.async)
        // The peeks really answered: no request of the peeking run waited for a lookup.
        expect(counting.calls.find).toBe(0)
      }),
      { numRuns: 150 },
    )
  })

  it('same decisions for Contrast pairs with and without peeks', async () => {
    const store = new MemoryKeyStore()
    const manager = new KeyManager(store, { now: () => NOW })
    const grp = await manager.createGroup({ name: 'ops', tenant: 'acme' })
    const org = await manager.issue({ kind: 'tenant', tenant: 'acme', group: grp.id })
    const other = await manager.issue({ kind: 'tenant', tenant: 'other' })
    const ana = await manager.issue({ kind: 'user', tenant: 'acme', owner: 'ana', role: 'Read Write', allowedIps: ['203.0.113.0/24'] })
    const bob = await manager.issue({ kind: 'user', tenant: 'acme', owner: 'bob', role: 'Read Only' })
    await store.putOwner('bob', { active: false })
    const pairs: [string, string, string][] = [
      [org.key, 'ana', ana.key],
      [org.key, 'bob', bob.key],
      [other.key, 'ana', ana.key],
      [org.key, 'bob', ana.key],
      [ana.key, 'ana', ana.key],
      [org.key, 'ana', generateKey()],
    ]
    const decide = async (s: KeyStore) => {
      const a = createAuthorizer({ store: s, schemes: [schemes.contrast()], now: () => NOW, touchIntervalMs: 0 })
      const out: unknown[] = []
      for (const [tk, user, uk] of pairs) {
        for (const ip of ['203.0.113.9', '198.51.100.7']) {
          const headers = { 'api-key': tk, authorization: Buffer.from(`${user}:${uk}`).toString('base64') }
          out.push(observable(await a.authorize({ method: 'GET', headers, remoteAddress: ip }, 'scans:read')))
        }
      }
      return out
    }
    const counting = countingView(store)
    const withPeek = await decide(counting.view)
    expect(withPeek).toEqual(await decide(asyncView(store)))
    expect(withPeek.filter((d) => (d as { allow: boolean }).allow)).toHaveLength(1)
    expect(counting.calls.find).toBe(0)
  })
})

describe('a peek fails closed', () => {
  async function oneKey() {
    const store = new MemoryKeyStore()
    const { key } = await new KeyManager(store).issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    return { store, key }
  }

  it('a peek that throws is a store failure: 503 store_unavailable, never a lookup, never an allow', async () => {
    const { store, key } = await oneKey()
    let finds = 0
    const s: KeyStore = {
      findByHash: (h) => (finds++, store.findByHash(h)),
      peekByHash: () => {
        throw new Error('peek broke')
      },
    }
    const events: DecisionEvent[] = []
    const a = createAuthorizer({ store: s, touchIntervalMs: 0, onDecision: (e) => events.push(e) })
    const d = await a.authorize(req(key), 'scans:read')
    expect(d).toMatchObject({ allow: false, status: 503, code: 'service_unavailable', reason: 'store_unavailable' })
    expect(d.headers['retry-after']).toBe('1')
    expect(events[0]?.detail).toBe('store_error')
    expect(finds).toBe(0)
  })

  it('throwing peeks count toward the breaker: after the threshold the circuit opens and nothing is peeked', async () => {
    const { store, key } = await oneKey()
    let peeks = 0
    const s: KeyStore = {
      findByHash: (h) => store.findByHash(h),
      peekByHash: () => {
        peeks++
        throw new Error('peek broke')
      },
    }
    const events: DecisionEvent[] = []
    const clock = testClock()
    const a = createAuthorizer({ store: s, touchIntervalMs: 0, now: clock.now, breaker: { threshold: 3, cooldownMs: 5000 }, onDecision: (e) => events.push(e) })
    for (let i = 0; i < 3; i++) expect((await a.authorize(req(key), 'scans:read')).status).toBe(503)
    const d = await a.authorize(req(key), 'scans:read')
    expect(d).toMatchObject({ allow: false, status: 503 })
    expect(d.headers['retry-after']).toBe('5')
    expect(events.at(-1)?.detail).toBe('circuit_open')
    expect(peeks).toBe(3)
  })

  it('a peek that returns a promise fails closed instead of waiting without a timeout', async () => {
    const { store, key } = await oneKey()
    const record = await store.findByHash(hashKey(key))
    const s = {
      findByHash: (h: string) => store.findByHash(h),
      peekByHash: () => Promise.resolve(record),
    } as unknown as KeyStore
    const d = await createAuthorizer({ store: s, touchIntervalMs: 0 }).authorize(req(key), 'scans:read')
    expect(d).toMatchObject({ allow: false, status: 503, reason: 'store_unavailable' })
  })

  it('a peek that is not a function is refused when the authorizer is created', () => {
    const s = { findByHash: async () => undefined, peekByHash: 42 } as unknown as KeyStore
    expect(() => createAuthorizer({ store: s })).toThrow(/store\.peekByHash/)
  })

  it('null from a peek is a known miss: 401 unknown_key without a lookup', async () => {
    let finds = 0
    const s: KeyStore = { findByHash: async () => (finds++, undefined), peekByHash: () => null }
    const d = await createAuthorizer({ store: s, touchIntervalMs: 0 }).authorize(req(generateKey()), 'scans:read')
    expect(d).toMatchObject({ allow: false, status: 401, reason: 'unknown_key' })
    expect(finds).toBe(0)
  })

  it('undefined from a peek hands the lookup to findByHash, with its timeout', async () => {
    const { store, key } = await oneKey()
    let finds = 0
    const s: KeyStore = { findByHash: (h) => (finds++, new Promise(() => void h)), peekByHash: () => undefined }
    const d = await createAuthorizer({ store: s, touchIntervalMs: 0, storeTimeoutMs: 20 }).authorize(req(key), 'scans:read')
    expect(d).toMatchObject({ allow: false, status: 503, reason: 'store_unavailable' })
    expect(finds).toBe(1)
    void store
  })

  it('a MemoryKeyStore subclass that overrides findByHash is asked, not bypassed by the peek', async () => {
    class Down extends MemoryKeyStore {
      override async findByHash(): Promise<KeyRecord | undefined> {
        throw new Error('down')
      }
    }
    const store = new Down()
    const { key } = await new KeyManager(store).issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    expect(store.peekByHash(hashKey(key))).toBeUndefined()
    const d = await createAuthorizer({ store, touchIntervalMs: 0 }).authorize(req(key), 'scans:read')
    expect(d).toMatchObject({ allow: false, status: 503 })
  })

  it('a subclass that overrides findOwner is asked for the owner (here: locked), not the peek', async () => {
    class Locked extends MemoryKeyStore {
      override async findOwner(): Promise<OwnerRecord | undefined> {
        return { active: false }
      }
    }
    const store = new Locked()
    const { key } = await new KeyManager(store).issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    await store.putOwner('ana', { active: true })
    const d = await createAuthorizer({ store, touchIntervalMs: 0 }).authorize(req(key), 'scans:read')
    expect(d).toMatchObject({ allow: false, reason: 'owner_disabled' })
  })
})

describe('the breaker sees a peek as an immediate answer, exactly as the asynchronous path', () => {
  /** A store that can be made to fail, with or without peeks, over the same records. */
  function switchable(inner: MemoryKeyStore, withPeek: boolean) {
    const state = { down: false }
    const s: KeyStore = {
      findByHash: (h) => (state.down ? Promise.reject(new Error('down')) : inner.findByHash(h)),
      findGroup: (id) => inner.findGroup(id),
      findOwner: (id) => inner.findOwner(id),
    }
    if (withPeek) {
      s.peekByHash = (h) => {
        if (state.down) throw new Error('down')
        return inner.peekByHash(h)
      }
      s.peekOwner = (id) => inner.peekOwner(id)
      s.peekGroup = (id) => inner.peekGroup(id)
    }
    return { s, state }
  }

  async function scenario(withPeek: boolean) {
    const inner = new MemoryKeyStore()
    const manager = new KeyManager(inner)
    const org = await manager.issue({ kind: 'tenant', tenant: 'acme' })
    const ana = await manager.issue({ kind: 'user', tenant: 'acme', owner: 'ana', role: 'Read Write' })
    const { s, state } = switchable(inner, withPeek)
    const clock = testClock()
    const contrast = createAuthorizer({ store: s, schemes: [schemes.contrast()], now: clock.now, touchIntervalMs: 0, breaker: { threshold: 2, cooldownMs: 1000 } })
    const single = createAuthorizer({ store: s, now: clock.now, touchIntervalMs: 0, breaker: { threshold: 2, cooldownMs: 1000 } })
    const pairReq: AuthRequest = { method: 'GET', headers: { 'api-key': org.key, authorization: Buffer.from(`ana:${ana.key}`).toString('base64') } }
    // Key ids are random per scenario: compare the decisions without them.
    const seen = (d: Decision) => (d.allow ? { status: d.status, role: d.principal.role } : observable(d))
    const out: unknown[] = []
    const open = async (a: typeof single, r: AuthRequest) => {
      state.down = true
      for (let i = 0; i < 2; i++) out.push(seen(await a.authorize(r, 'scans:read')))
      state.down = false
      out.push(seen(await a.authorize(r, 'scans:read'))) // circuit open
      clock.advance(1001) // half-open: the next lookup is the probe
    }
    // A pair in a half-open circuit: its second lookup comes before the probe's answer is counted.
    await open(contrast, pairReq)
    out.push(seen(await contrast.authorize(pairReq, 'scans:read')))
    out.push(seen(await contrast.authorize(pairReq, 'scans:read')))
    // Two requests started in one tick in a half-open circuit.
    await open(single, req(ana.key))
    out.push(...(await Promise.all([single.authorize(req(ana.key), 'scans:read'), single.authorize(req(ana.key), 'scans:read')])).map(seen))
    out.push(seen(await single.authorize(req(ana.key), 'scans:read')))
    return out
  }

  it('same decisions through opening, half-open probes and recovery', async () => {
    const withPeek = await scenario(true)
    expect(withPeek).toEqual(await scenario(false))
    // The scenario does reach the interesting states: 503s, and allows once recovered.
    const statuses = withPeek.map((d) => (d as { status: number }).status)
    expect(statuses).toContain(503)
    expect(statuses.at(-1)).toBe(200)
  })
})

describe('cachedStore peeks never return what a lookup would not', () => {
  it('after invalidate() (a write made elsewhere) the peek has nothing, and the next request sees the revoke', async () => {
    const inner = new MemoryKeyStore()
    const elsewhere = new KeyManager(inner) // another instance's manager: writes bypass this cache
    const cache = cachedStore(inner)
    const { key, record } = await elsewhere.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    const a = createAuthorizer({ store: cache, touchIntervalMs: 0 })
    expect((await a.authorize(req(key), 'scans:read')).allow).toBe(true)
    const hash = hashKey(key)
    expect(cache.peekByHash(hash)).toMatchObject({ id: record.id, active: true })
    await elsewhere.deactivate(record.id)
    // Not yet invalidated: the cache still serves the record it holds (both paths agree).
    expect(cache.peekByHash(hash)).toMatchObject({ active: true })
    cache.invalidate({ type: 'key', id: record.id, hashes: [hash] })
    expect(cache.peekByHash(hash)).toBeUndefined()
    expect(await a.authorize(req(key), 'scans:read')).toMatchObject({ allow: false, reason: 'key_disabled' })
    expect(cache.peekByHash(hash)).toMatchObject({ active: false })
  })

  it('a write through a KeyManager on the cache drops the entry before the write returns', async () => {
    const inner = new MemoryKeyStore()
    const cache = cachedStore(inner)
    const manager = new KeyManager(cache)
    const { key, record } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    const a = createAuthorizer({ store: cache, touchIntervalMs: 0 })
    expect((await a.authorize(req(key), 'scans:read')).allow).toBe(true)
    await manager.deactivate(record.id)
    expect(cache.peekByHash(hashKey(key))).toBeUndefined()
    expect(await a.authorize(req(key), 'scans:read')).toMatchObject({ allow: false, reason: 'key_disabled' })
  })

  it('a lookup that read the active key before a revoke is never peeked after it', async () => {
    const inner = new FakeStore()
    const cache = cachedStore(inner)
    const manager = new KeyManager(cache)
    const { key, record } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    const a = createAuthorizer({ store: cache, touchIntervalMs: 0 })
    const gate = deferred()
    inner.gate = gate.promise
    const before = a.authorize(req(key), 'scans:read') // reads the active record, then waits
    await settle()
    inner.gate = undefined
    await manager.deactivate(record.id)
    gate.resolve()
    await before // concurrent with the revoke: either answer is acceptable
    await settle()
    expect(cache.peekByHash(hashKey(key))).toBeUndefined()
    expect(await a.authorize(req(key), 'scans:read')).toMatchObject({ allow: false, reason: 'key_disabled' })
  })

  it('an expired entry is not peeked; a cached miss is null; a lookup in flight is undefined', async () => {
    const clock = testClock()
    const inner = new FakeStore()
    const cache = cachedStore(inner, { ttlMs: 1000, negativeTtlMs: 1000, now: clock.now })
    const { key } = await new KeyManager(cache).issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    const hash = hashKey(key)
    const unknown = hashKey(generateKey())
    expect(cache.peekByHash(hash)).toBeUndefined()
    const gate = deferred()
    inner.gate = gate.promise
    const pending = cache.findByHash(hash)
    expect(cache.peekByHash(hash)).toBeUndefined() // in flight: not known synchronously
    gate.resolve()
    inner.gate = undefined
    await pending
    await cache.findByHash(unknown)
    expect(cache.peekByHash(hash)).toMatchObject({ hash })
    expect(cache.peekByHash(unknown)).toBeNull()
    clock.advance(1000)
    expect(cache.peekByHash(hash)).toBeUndefined()
    expect(cache.peekByHash(unknown)).toBeUndefined()
  })

  it('groups and owners: a cached owner lock is seen by the peek; no findOwner underneath is a known miss', async () => {
    const inner = new MemoryKeyStore()
    const cache = cachedStore(inner)
    await inner.putOwner('ana', { active: false, role: 'Read Only' })
    expect(cache.peekOwner('ana')).toBeUndefined()
    await cache.findOwner('ana')
    expect(cache.peekOwner('ana')).toEqual({ active: false, role: 'Read Only' })
    await cache.putOwner('ana', { active: true })
    expect(cache.peekOwner('ana')).toBeUndefined()
    const bare = cachedStore({ findByHash: async () => undefined })
    expect(bare.peekOwner('ana')).toBeNull()
    expect(bare.peekGroup('g')).toBeNull()
    expect(await bare.findOwner('ana')).toBeUndefined()
  })
})
