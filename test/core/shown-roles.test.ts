/**
 * The role a key's principal shows is the one whose permissions apply: none for an Org key, the
 * key's own without an owner entry, the owner's under `rolePrecedence: 'owner'` (or when the key
 * has none), the key's under `'key'`; and a corrupt directory role shows, and gives, nothing.
 */
import { describe, expect, it } from 'vitest'
import type { KeyRecord, KeyStore, OwnerRecord } from '../../src/index.js'
import { harness, seen } from '../_support/core.js'

type Precedence = 'key' | 'owner'

async function principalRole(key: { role?: string }, owner: Record<string, unknown> | undefined, rolePrecedence: Precedence, product?: string) {
  const h = harness()
  if (owner !== undefined) await h.store.putOwner('ana', { active: true, ...owner } as unknown as OwnerRecord)
  const k = await h.issue({ kind: 'user', owner: 'ana', ...key })
  const d = await h.authorizer({ rolePrecedence })({ headers: { 'x-api-key': k.key } }, product === undefined ? undefined : { product })
  expect(d.allow).toBe(true)
  return d.allow ? d.principal.role : 'denied'
}

describe('the role a principal shows', () => {
  it.each<[string, { role?: string }, Record<string, unknown> | undefined, Precedence, string | undefined]>([
    ["the key's own without an owner entry, under 'owner'", { role: 'Read Only' }, undefined, 'owner', 'Read Only'],
    ["the key's own without an owner entry, under 'key'", { role: 'Read Only' }, undefined, 'key', 'Read Only'],
    ["the owner's under 'owner'", { role: 'Read Only' }, { role: 'Product Admin' }, 'owner', 'Product Admin'],
    ["the key's own under 'key'", { role: 'Read Only' }, { role: 'Product Admin' }, 'key', 'Read Only'],
    ["the owner's under 'key' for a key without a role", {}, { role: 'Read Write' }, 'key', 'Read Write'],
    ["the key's own under 'owner' when the owner entry has no role", { role: 'Read Only' }, {}, 'owner', 'Read Only'],
  ])('is %s', async (_, key, owner, precedence, shown) => {
    expect(await principalRole(key, owner, precedence)).toBe(shown)
  })

  it.each<[string, Record<string, unknown>]>([
    ['no role for the product and no single role', { roles: { vm: 'Read Only' } }],
    ['a per-product role that is a number', { roles: { appsec: 42 } }],
    ['a single role that is a number', { role: 42 }],
  ])('is none when the owner has %s', async (_, owner) => {
    for (const precedence of ['key', 'owner'] as const) expect(await principalRole({}, owner, precedence, 'appsec')).toBeUndefined()
    expect(await principalRole({ role: 'Read Only' }, owner, 'owner', 'appsec')).toBeUndefined()
  })

  it('is none for an Org key, even one whose record names a role', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'org' })
    const store: KeyStore = {
      findByHash: async (hash) => {
        const r = await h.store.findByHash(hash)
        return r && ({ ...r, role: 'Read Only' } as KeyRecord)
      },
    }
    const d = await h.authorizer({ store })({ headers: { 'x-api-key': k.key } }, 'global-blackouts:manage')
    expect(d.allow && [d.principal.kind, d.principal.role]).toEqual(['org', undefined])
  })
})

describe('a corrupt per-product map', () => {
  it.each<[string, unknown]>([
    ['a number', 42],
    ['a string', 'Product Admin'],
  ])('that is %s gives nothing, not the single role beside it', async (_, roles) => {
    const h = harness()
    await h.store.putOwner('ana', { active: true, role: 'Product Admin', roles } as unknown as OwnerRecord)
    const k = await h.issue({ kind: 'user', owner: 'ana' })
    const auth = h.authorizer({ rolePrecedence: 'owner' })
    expect(seen(await auth({ headers: { 'x-api-key': k.key } }, { permission: 'scans:read', product: 'appsec' })).reason).toBe('insufficient_permission')
  })

  it('is not read for a route that names no product, even under a product named "undefined"', async () => {
    const h = harness()
    await h.store.putOwner('ana', { active: true, roles: { undefined: 'Product Admin' } } as unknown as OwnerRecord)
    const k = await h.issue({ kind: 'user', owner: 'ana' })
    const auth = h.authorizer({ rolePrecedence: 'owner' })
    expect(seen(await auth({ headers: { 'x-api-key': k.key } }, 'scans:read')).reason).toBe('insufficient_permission')
  })
})
