/**
 * A Contrast pair is two store lookups (the organization key and the user's service key), then a
 * match, then both records' checks. A store that fails on either lookup is a 503, never a 401
 * and never an allow; the halves must be of the right kinds, of one tenant and of the named user;
 * and the organization key's address lists bind the pair as much as the user key's.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import {
  createAuthorizer, KeyManager, MemoryKeyStore, schemes, type AuthRequest, type DecisionEvent, type KeyRecord, type KeyStore,
} from '../../src/index.js'

const NOW = Date.UTC(2030, 0, 1)
const USER = 'ana@acme.test'
const b64 = (s: string) => Buffer.from(s).toString('base64')
const pairRequest = (orgKey: string, serviceKey: string, user = USER, remoteAddress = '127.0.0.1'): AuthRequest => ({
  method: 'GET', url: '/scans', headers: { 'api-key': orgKey, authorization: b64(`${user}:${serviceKey}`) }, remoteAddress,
})

/**
 * The memory store behind async lookups only (no peek), failing every lookup of a hash in
 * `failing`, and counting the lookups.
 */
function outageStore(inner: MemoryKeyStore, failing: Set<string>, how: 'reject' | 'throw' | 'hang' = 'reject'): KeyStore & { looked: string[] } {
  const looked: string[] = []
  return {
    looked,
    findByHash(hash: string) {
      looked.push(hash)
      if (failing.has(hash)) {
        if (how === 'throw') throw new Error('connection reset')
        if (how === 'hang') return new Promise<never>(() => {})
        return Promise.reject(new Error('connection reset'))
      }
      return inner.findByHash(hash)
    },
    findGroup: (id: string) => inner.findGroup(id),
    findOwner: (id: string) => inner.findOwner(id),
  }
}

let inner: MemoryKeyStore
let manager: KeyManager
let org: { key: string; record: KeyRecord }
let service: { key: string; record: KeyRecord }
beforeEach(async () => {
  inner = new MemoryKeyStore()
  manager = new KeyManager(inner, { now: () => NOW - 1000 })
  org = await manager.issue({ kind: 'tenant', tenant: 'org-1' })
  service = await manager.issue({ kind: 'user', tenant: 'org-1', owner: USER, role: 'Read Write' })
})

function contrast(store: KeyStore, extra: Record<string, unknown> = {}) {
  const events: DecisionEvent[] = []
  const authorizer = createAuthorizer({
    store, schemes: [schemes.contrast()], now: () => NOW, touchIntervalMs: 0, breaker: false, storeTimeoutMs: 50,
    onDecision: (e) => events.push(e), ...extra,
  })
  return { authorizer, events }
}

describe('a store outage during a Contrast pair lookup', () => {
  it.each([
    ['the organization key', 'reject'],
    ['the service key', 'reject'],
    ['the organization key', 'throw'],
    ['the service key', 'throw'],
    ['the organization key', 'hang'],
    ['the service key', 'hang'],
    ['both keys', 'reject'],
  ] as const)('is 503 store_unavailable when the lookup of %s fails (%s), never 401', async (which, how) => {
    const failing = new Set<string>()
    if (which !== 'the service key') failing.add(org.record.hash)
    if (which !== 'the organization key') failing.add(service.record.hash)
    const store = outageStore(inner, failing, how)
    const { authorizer, events } = contrast(store)
    const d = await authorizer.authorize(pairRequest(org.key, service.key), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.code, d.reason, d.headers['retry-after']]).toEqual([503, 'service_unavailable', 'store_unavailable', '1'])
    expect(events.at(-1)?.detail).toBe(how === 'hang' ? 'timeout' : 'store_error')
  })

  it('is 503 whichever half fails even when the other half is unknown', async () => {
    // A wrong organization key with a failing service key lookup: the failure decides, as the
    // client cannot be told its organization key is wrong while the store cannot answer.
    const store = outageStore(inner, new Set([service.record.hash]))
    const { authorizer } = contrast(store)
    const other = await new KeyManager(new MemoryKeyStore()).issue({ kind: 'tenant', tenant: 'org-1' })
    const d = await authorizer.authorize(pairRequest(other.key, service.key), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([503, 'store_unavailable'])
  })

  it('counts a failing half with the breaker, so the next pair is refused without a store call', async () => {
    const store = outageStore(inner, new Set([service.record.hash]))
    const { authorizer, events } = contrast(store, { breaker: { threshold: 1, cooldownMs: 4000 } })
    const first = await authorizer.authorize(pairRequest(org.key, service.key), 'scans:read')
    expect(first.allow ? 'allow' : [first.status, first.headers['retry-after']]).toEqual([503, '4'])
    store.looked.length = 0
    const second = await authorizer.authorize(pairRequest(org.key, service.key), 'scans:read')
    expect(second.allow ? 'allow' : [second.status, second.reason]).toEqual([503, 'store_unavailable'])
    expect(events.at(-1)?.detail).toBe('circuit_open')
    expect(store.looked).toEqual([])
  })

  it('looks up both halves even when the first is unknown, so a wrong half costs what a wrong whole does', async () => {
    const store = outageStore(inner, new Set())
    const { authorizer } = contrast(store)
    const stranger = await new KeyManager(new MemoryKeyStore()).issue({ kind: 'tenant', tenant: 'org-1' })
    const d = await authorizer.authorize(pairRequest(stranger.key, service.key), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([401, 'unknown_key'])
    expect(store.looked).toEqual([stranger.record.hash, service.record.hash])
  })
})

describe('matching the halves of a Contrast pair', () => {
  it('allows the pair as the service key, in its tenant', async () => {
    const { authorizer } = contrast(inner)
    const d = await authorizer.authorize(pairRequest(org.key, service.key), 'scans:read')
    expect(d.allow && [d.principal.keyId, d.principal.scheme, d.principal.tenant]).toEqual([service.record.id, 'contrast', 'org-1'])
  })

  it.each([
    ['the halves swapped', () => [service.key, org.key]],
    ['the organization key twice', () => [org.key, org.key]],
    ['the service key twice', () => [service.key, service.key]],
  ] as const)('denies %s as an unknown key', async (_what, halves) => {
    const { authorizer } = contrast(inner)
    const [a, b] = halves() as [string, string]
    const d = await authorizer.authorize(pairRequest(a, b), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([401, 'unknown_key'])
  })

  it('denies an org-wide key in the organization half as an unknown key', async () => {
    const orgWide = await manager.issue({ kind: 'org', tenant: 'org-1' })
    const { authorizer } = contrast(inner)
    const d = await authorizer.authorize(pairRequest(orgWide.key, service.key), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([401, 'unknown_key'])
  })

  it('denies another user name with user_mismatch, reporting the service key', async () => {
    const { authorizer, events } = contrast(inner)
    const d = await authorizer.authorize(pairRequest(org.key, service.key, 'bob@acme.test'), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([401, 'user_mismatch'])
    expect(events.at(-1)).toMatchObject({ keyId: service.record.id, tenant: 'org-1' })
  })

  it('denies an organization key of another tenant with tenant_mismatch', async () => {
    const other = await manager.issue({ kind: 'tenant', tenant: 'org-2' })
    const { authorizer } = contrast(inner)
    const d = await authorizer.authorize(pairRequest(other.key, service.key), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([401, 'tenant_mismatch'])
  })

  it('denies a pair whose halves both have no tenant: no tenant is never a match', async () => {
    // Records as a store might hold them (written by other tooling): a tenant-kind key and a
    // user key, neither with a tenant.
    const loose = new MemoryKeyStore()
    const looseManager = new KeyManager(loose, { now: () => NOW - 1000 })
    const a = await looseManager.issue({ kind: 'tenant', tenant: 'x' })
    const b = await looseManager.issue({ kind: 'user', owner: USER, role: 'Read Write' })
    const { tenant: _t, ...tenantless } = (await loose.getKey(a.record.id))!
    await loose.updateKey(tenantless as KeyRecord)
    expect((await loose.findByHash(a.record.hash))?.tenant).toBeUndefined()
    const { authorizer } = contrast(loose)
    const d = await authorizer.authorize(pairRequest(a.key, b.key), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([401, 'tenant_mismatch'])
  })
})

describe('the address lists of a Contrast pair', () => {
  const outside = '198.51.100.7'
  it.each([
    ['the organization key', async () => manager.update(org.record.id, { allowedIps: ['127.0.0.0/8'] })],
    ['the service key', async () => manager.update(service.record.id, { allowedIps: ['127.0.0.0/8'] })],
    ['the organization key\'s group', async () => {
      const g = await manager.createGroup({ name: 'org-net', tenant: 'org-1', allowedIps: ['127.0.0.0/8'] })
      await manager.update(org.record.id, { group: g.id })
    }],
    ['the service key\'s group', async () => {
      const g = await manager.createGroup({ name: 'user-net', tenant: 'org-1', allowedIps: ['127.0.0.0/8'] })
      await manager.update(service.record.id, { group: g.id })
    }],
  ] as const)('bind the pair when %s has one', async (_which, restrict) => {
    await restrict()
    const { authorizer } = contrast(inner)
    const inside = await authorizer.authorize(pairRequest(org.key, service.key), 'scans:read')
    expect(inside.allow).toBe(true)
    const d = await authorizer.authorize(pairRequest(org.key, service.key, USER, outside), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([403, 'ip_not_allowed'])
  })

  it('checks the organization key\'s record too: a deactivated organization key denies the pair', async () => {
    await manager.deactivate(org.record.id)
    const { authorizer } = contrast(inner)
    const d = await authorizer.authorize(pairRequest(org.key, service.key), 'scans:read')
    expect(d.allow).toBe(false)
    expect(d.status).toBe(401)
  })
})

const badChecksum = (key: string) => key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A')

describe('a Contrast pair before and after its lookups', () => {
  it.each([
    ['the organization key', () => [badChecksum(org.key), service.key]],
    ['the service key', () => [org.key, badChecksum(service.key)]],
  ] as const)('denies a wrong checksum in %s with bad_checksum, looking nothing up', async (_which, halves) => {
    const store = outageStore(inner, new Set())
    const { authorizer } = contrast(store)
    const [a, b] = halves() as [string, string]
    const d = await authorizer.authorize(pairRequest(a, b), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([401, 'bad_checksum'])
    expect(store.looked).toEqual([])
  })

  it('decides a pair whose halves are both in memory without waiting, and one with a half in the store after it', async () => {
    const { authorizer, events } = contrast(inner)
    const p = authorizer.authorize(pairRequest(org.key, service.key), 'scans:read')
    expect(events).toHaveLength(1)
    expect((await p).allow).toBe(true)
    // The service key's record only in the store: decided once the lookup answered.
    const half: KeyStore = {
      findByHash: (h) => inner.findByHash(h),
      peekByHash: (h) => (h === org.record.hash ? inner.peekByHash(h) : undefined),
      findGroup: (id) => inner.findGroup(id),
      findOwner: (id) => inner.findOwner(id),
    }
    const late = contrast(half)
    const q = late.authorizer.authorize(pairRequest(org.key, service.key), 'scans:read')
    expect(late.events).toHaveLength(0)
    expect((await q).allow).toBe(true)
  })

  it('is 503 when reading the organization record fails once, even if a second read would succeed', async () => {
    let reads = 0
    const flaky: KeyStore = {
      async findByHash(h) {
        const r = await inner.findByHash(h)
        if (h !== org.record.hash || r === undefined) return r
        return Object.defineProperty({ ...r }, 'kind', {
          enumerable: true,
          get() {
            if (reads++ === 0) throw new Error('connection reset')
            return 'tenant'
          },
        })
      },
      findGroup: (id) => inner.findGroup(id),
      findOwner: (id) => inner.findOwner(id),
    }
    const { authorizer } = contrast(flaky)
    const d = await authorizer.authorize(pairRequest(org.key, service.key), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([503, 'store_unavailable'])
  })

  it('denies a pair in another tenant than the request addresses, and allows it in its own', async () => {
    const other = contrast(inner, { tenant: () => 'org-2' })
    const d = await other.authorizer.authorize(pairRequest(org.key, service.key), 'scans:read')
    expect(d.allow ? 'allow' : [d.status, d.reason]).toEqual([401, 'tenant_mismatch'])
    const none = contrast(inner, { tenant: () => undefined })
    const n = await none.authorizer.authorize(pairRequest(org.key, service.key), 'scans:read')
    expect(n.allow ? 'allow' : [n.status, n.reason]).toEqual([401, 'tenant_mismatch'])
    const own = contrast(inner, { tenant: () => 'org-1' })
    expect((await own.authorizer.authorize(pairRequest(org.key, service.key), 'scans:read')).allow).toBe(true)
  })

  it('lets an org key that has an owner and a tenant work alone next to Contrast: only a user key is a half', async () => {
    const orgWide = await manager.issue({ kind: 'org', tenant: 'org-1' })
    const withOwner: KeyStore = {
      findByHash: async (h) => {
        const r = await inner.findByHash(h)
        return r && r.id === orgWide.record.id ? { ...r, owner: USER } : r
      },
    }
    const a = createAuthorizer({ store: withOwner, schemes: [schemes.contrast(), schemes.apiKeyHeader()], now: () => NOW, touchIntervalMs: 0 })
    const d = await a.authorize({ method: 'GET', url: '/scans', headers: { 'x-api-key': orgWide.key }, remoteAddress: '127.0.0.1' }, 'scans:read')
    expect(d.allow && d.principal.keyId).toBe(orgWide.record.id)
  })
})

