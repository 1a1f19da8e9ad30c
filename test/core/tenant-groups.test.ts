/**
 * Tenants and groups through authorize(): a group of another tenant, a group's allowlist edited
 * after its keys were seen, Contrast pairs whose halves lack a tenant, and a store outage in the
 * middle of a pair lookup.
 */
import { describe, expect, it } from 'vitest'
import { hashKey, schemes, type KeyRecord, type KeyStore } from '../../src/index.js'
import { harness, PEPPER, seen } from '../_support/core.js'

const contrastHeaders = (orgKey: string, user: string, key: string) => ({
  'api-key': orgKey,
  authorization: Buffer.from(`${user}:${key}`).toString('base64'),
})

describe('groups', () => {
  it('denies a tenant-less key whose group belongs to a tenant', async () => {
    const h = harness()
    const g = await h.manager.createGroup({ name: 'acme-team', tenant: 'acme' })
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    // Put the key in the group behind the manager's back (the manager refuses it).
    const store: KeyStore = {
      findByHash: async (hash) => {
        const r = await h.store.findByHash(hash)
        return r && ({ ...r, group: g.id } as KeyRecord)
      },
      findGroup: (id) => h.store.findGroup(id),
    }
    expect(seen(await h.authorizer({ store })({ headers: { 'x-api-key': k.key } })).reason).toBe('group_disabled')
    expect((await h.authorizer()({ headers: { 'x-api-key': k.key } })).allow).toBe(true)
  })

  it("applies a group's allowlist edited after its keys were seen, both ways", async () => {
    const h = harness()
    const g = await h.manager.createGroup({ name: 'team', tenant: 'acme' })
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', tenant: 'acme', group: g.id })
    const auth = h.authorizer({ tenant: () => 'acme' })
    const from = (remoteAddress: string) => auth({ headers: { 'x-api-key': k.key }, remoteAddress })
    expect((await from('10.0.0.1')).allow).toBe(true)
    await h.manager.updateGroup(g.id, { allowedIps: ['192.0.2.0/24'] })
    expect(seen(await from('10.0.0.1')).reason).toBe('ip_not_allowed')
    expect((await from('192.0.2.9')).allow).toBe(true)
    await h.manager.updateGroup(g.id, { allowedIps: ['10.0.0.0/8'] })
    expect((await from('10.0.0.1')).allow).toBe(true)
    expect(seen(await from('192.0.2.9')).reason).toBe('ip_not_allowed')
  })
})

describe('Contrast pairs', () => {
  it('denies an organization key without a tenant paired with a tenant-less service key', async () => {
    const h = harness()
    const org = await h.issue({ kind: 'tenant', tenant: 'org-1' })
    const svc = await h.issue({ kind: 'user', owner: 'svc', role: 'Read Only' })
    // Both records lose their tenant: "no tenant" must not match "no tenant".
    const store: KeyStore = {
      findByHash: async (hash) => {
        const r = await h.store.findByHash(hash)
        return r && ({ ...r, tenant: undefined } as KeyRecord)
      },
    }
    const auth = h.authorizer({ store, schemes: [schemes.contrast()] })
    expect(seen(await auth({ headers: contrastHeaders(org.key, 'svc', svc.key) })).reason).toBe('tenant_mismatch')
  })

  it('allows the pair when both halves carry the same tenant (the control)', async () => {
    const h = harness()
    const org = await h.issue({ kind: 'tenant', tenant: 'org-1' })
    const svc = await h.issue({ kind: 'user', owner: 'svc', tenant: 'org-1', role: 'Read Only' })
    const auth = h.authorizer({ schemes: [schemes.contrast()] })
    expect((await auth({ headers: contrastHeaders(org.key, 'svc', svc.key) })).allow).toBe(true)
    expect(seen(await auth({ headers: contrastHeaders(org.key, 'other', svc.key) })).reason).toBe('user_mismatch')
  })

  it.each(['organization', 'service'] as const)('answers 503, not 401, when the %s half cannot be looked up', async (half) => {
    const h = harness()
    const org = await h.issue({ kind: 'tenant', tenant: 'org-1' })
    const svc = await h.issue({ kind: 'user', owner: 'svc', tenant: 'org-1', role: 'Read Only' })
    const down = hashKey(half === 'organization' ? org.key : svc.key, PEPPER)
    for (const failure of ['reject', 'throw'] as const) {
      const store: KeyStore = {
        findByHash: (hash) => {
          if (hash !== down) return h.store.findByHash(hash)
          if (failure === 'throw') throw new Error('connection reset')
          return Promise.reject(new Error('connection reset'))
        },
      }
      const d = seen(await h.authorizer({ store, schemes: [schemes.contrast()] })({ headers: contrastHeaders(org.key, 'svc', svc.key) }))
      expect([failure, d.status, d.reason]).toEqual([failure, 503, 'store_unavailable'])
    }
  })
})
