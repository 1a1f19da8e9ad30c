/**
 * The checks on one stored key record, through authorize(): its group (missing, of another
 * tenant, of no tenant), its owner directory entry (none, no directory at all), and a record the
 * store returns for a hash that is neither its hash nor its previous one.
 */
import { describe, expect, it } from 'vitest'
import { hashKey, type KeyGroup, type KeyRecord, type KeyStore, type OwnerRecord } from '../../src/index.js'
import { harness, PEPPER, seen } from '../_support/core.js'

const asKey = (key: string) => ({ headers: { 'x-api-key': key } })

describe('a store that resolves null for a miss', () => {
  // `null` is what a SQL driver hands back for "no row": it means the same as `undefined`.
  it('denies a key whose group the store answers null for with group_disabled, not 503', async () => {
    const h = harness()
    const g = await h.manager.createGroup({ name: 'team' })
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', group: g.id })
    const store: KeyStore = { findByHash: (x) => h.store.findByHash(x), findGroup: async () => null as unknown as KeyGroup }
    expect(seen(await h.authorizer({ store })(asKey(k.key)))).toEqual({ status: 401, code: 'invalid_credentials', reason: 'group_disabled' })
  })

  it('takes null for an owner as no directory entry: the key acts with its own role', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const store: KeyStore = { findByHash: (x) => h.store.findByHash(x), findOwner: async () => null as unknown as OwnerRecord }
    const auth = h.authorizer({ store })
    const d = await auth(asKey(k.key), 'scans:read')
    expect(d.allow && [d.principal.role, d.principal.owner]).toEqual(['Read Only', 'ana'])
    expect(seen(await auth(asKey(k.key), 'scans:manage')).reason).toBe('insufficient_permission')
  })
})

describe('groups', () => {
  it('allows a key of a tenant in a group that belongs to no tenant', async () => {
    const h = harness()
    const g = await h.manager.createGroup({ name: 'shared', allowedIps: ['10.0.0.0/8'] })
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', tenant: 'acme' })
    // The manager keeps a tenant's keys in that tenant's groups; a store may hold any pairing.
    const store: KeyStore = {
      findByHash: async (hash) => {
        const r = await h.store.findByHash(hash)
        return r && ({ ...r, group: g.id } as KeyRecord)
      },
      findGroup: (id) => h.store.findGroup(id),
    }
    const auth = h.authorizer({ store, tenant: () => 'acme' })
    const d = await auth({ ...asKey(k.key), remoteAddress: '10.1.2.3' }, 'scans:read')
    expect(d.allow && [d.principal.tenant, d.principal.group]).toEqual(['acme', g.id])
    // The group still applies: its allowlist holds.
    expect(seen(await auth({ ...asKey(k.key), remoteAddress: '192.0.2.1' }, 'scans:read')).reason).toBe('ip_not_allowed')
  })

  it('denies a key whose group is missing from the store with group_disabled', async () => {
    const h = harness()
    const g = await h.manager.createGroup({ name: 'team' })
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', group: g.id })
    for (const findGroup of [async () => undefined, () => h.store.findGroup('no-such-group')]) {
      const store: KeyStore = { findByHash: (x) => h.store.findByHash(x), findGroup }
      expect(seen(await h.authorizer({ store })(asKey(k.key))).reason).toBe('group_disabled')
    }
  })
})

describe('owners', () => {
  it('makes no owner lookup for a key that has no owner', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'org' })
    const asked: unknown[] = []
    const store: KeyStore = { findByHash: (x) => h.store.findByHash(x), findOwner: async (id) => (asked.push(id), undefined) }
    expect((await h.authorizer({ store })(asKey(k.key))).allow).toBe(true)
    expect(asked).toEqual([])
  })

  it('allows an owned key through a store that keeps no owner directory', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const store: KeyStore = { findByHash: (x) => h.store.findByHash(x) }
    const d = await h.authorizer({ store })(asKey(k.key), 'scans:read')
    expect(d.allow && d.principal.role).toBe('Read Only')
  })
})

describe('the hashes of the record found', () => {
  // A store that answers a lookup with a record of another key (a query that ignores its
  // argument) must not authenticate that key: the record's hashes are compared again.
  it('denies a record whose hash and previous hash both differ from the key presented, even in a grace period', async () => {
    const h = harness()
    const victim = await h.issue({ kind: 'org' })
    const presented = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const record = (await h.store.findByHash(hashKey(victim.key, PEPPER)))!
    for (const over of [{}, { previousHash: 'not-the-presented-hash', previousExpiresAt: h.clock.now() + 3_600_000 }]) {
      const store: KeyStore = { findByHash: async () => ({ ...record, ...over }) as KeyRecord }
      const auth = h.authorizer({ store })
      expect(seen(await auth(asKey(presented.key)))).toEqual({ status: 401, code: 'invalid_credentials', reason: 'key_rotated' })
      expect((await auth(asKey(victim.key))).allow).toBe(true)
    }
  })
})
