/**
 * Corrupt owner entries and grants, as a store may hold them (a hand edit, another writer): a
 * corrupt owner role is no role (the key holds nothing), a corrupt active flag locks the owner,
 * and grants that are not strings grant nothing while the strings beside them still count.
 */
import { describe, expect, it } from 'vitest'
import type { KeyRecord, KeyStore, OwnerRecord } from '../../src/index.js'
import { harness, seen } from '../_support/core.js'

const asKey = (key: string) => ({ headers: { 'x-api-key': key } })

describe('a corrupt owner entry', () => {
  it.each<[string, Record<string, unknown>]>([
    ['a role that is a number', { role: 42 }],
    ['a role that is null', { role: null }],
    ['a per-product map that is null', { roles: null, role: 'Product Admin' }],
  ])('gives the key nothing when the owner has %s, under either precedence', async (_, entry) => {
    const h = harness()
    await h.store.putOwner('ana', { active: true, ...entry } as unknown as OwnerRecord)
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    for (const rolePrecedence of ['key', 'owner'] as const) {
      const auth = h.authorizer({ rolePrecedence })
      expect(seen(await auth(asKey(k.key), 'scans:read')).reason).toBe('insufficient_permission')
    }
    // The control: the same key under an owner without a role acts with its own.
    await h.store.putOwner('ana', { active: true })
    expect((await h.authorizer()(asKey(k.key), 'scans:read')).allow).toBe(true)
  })

  it.each<[string, unknown]>([
    ['the string "true"', 'true'],
    ['1', 1],
    ['missing', undefined],
  ])('locks the owner when its active flag is %s', async (_, active) => {
    const h = harness()
    await h.store.putOwner('ana', { role: 'Read Only', active } as unknown as OwnerRecord)
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    expect(seen(await h.authorizer()(asKey(k.key), 'scans:read')).reason).toBe('owner_disabled')
  })
})

describe('corrupt grants', () => {
  async function withGrants(keyGrants: unknown, ownerGrants?: unknown) {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    if (ownerGrants !== undefined) await h.store.putOwner('ana', { active: true, grants: ownerGrants } as unknown as OwnerRecord)
    const store: KeyStore = {
      findByHash: async (hash) => {
        const r = await h.store.findByHash(hash)
        return r && ({ ...r, grants: keyGrants } as KeyRecord)
      },
      findOwner: (id) => h.store.findOwner(id),
    }
    const auth = h.authorizer({ store, explicitGrants: true })
    return (operation: string) => auth(asKey(k.key), { operation })
  }

  it('denies every operation to a key whose grants are not an array', async () => {
    const op = await withGrants('getProjects')
    expect(seen(await op('getProjects')).reason).toBe('operation_not_granted')
  })

  it('keeps the string grants of a key beside ones that are not strings', async () => {
    const op = await withGrants([42, 'getProjects', null])
    const d = await op('getProjects')
    expect(d.allow && d.principal.grants).toEqual(['getProjects'])
    expect(seen(await op('42')).reason).toBe('operation_not_granted')
  })

  it('merges only the string grants of the owner with the key\'s own', async () => {
    const op = await withGrants(['getVulns'], [7, 'getProjects', { op: 'x' }])
    const d = await op('getProjects')
    expect(d.allow && [...d.principal.grants].sort()).toEqual(['getProjects', 'getVulns'])
    expect(seen(await op('7')).reason).toBe('operation_not_granted')
  })

  it('ignores owner grants that are not an array', async () => {
    const op = await withGrants(['getVulns'], 'getProjects')
    expect(seen(await op('getProjects')).reason).toBe('operation_not_granted')
    const d = await op('getVulns')
    expect(d.allow && d.principal.grants).toEqual(['getVulns'])
  })
})
