/**
 * Stored data that is corrupt (a bad migration, a hand edit, another writer) fails closed: each
 * field below is changed alone on a record that is otherwise allowed, and the request is denied
 * for that field's reason. Never an allow, never a rejection of `authorize()`.
 */
import { describe, expect, it } from 'vitest'
import { hashKey, schemes, type KeyGroup, type KeyRecord, type KeyStore } from '../../src/index.js'
import { harness, PEPPER, seen } from '../_support/core.js'

type Patch = Record<string, unknown>

/** A store over the harness's that hands out each record with `patch` applied (a fresh object each time). */
async function corrupted(keyPatch: Patch | ((hash: string) => Patch), groupPatch: Patch = {}) {
  const h = harness()
  const g = await h.manager.createGroup({ name: 'team', tenant: 'acme' })
  const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', tenant: 'acme', group: g.id })
  const store: KeyStore = {
    findByHash: async (hash) => {
      const r = await h.store.findByHash(hash)
      return r && ({ ...r, ...(typeof keyPatch === 'function' ? keyPatch(hash) : keyPatch) } as KeyRecord)
    },
    findGroup: async (id) => {
      const r = await h.store.findGroup(id)
      return r && ({ ...r, ...groupPatch } as KeyGroup)
    },
  }
  const auth = h.authorizer({ store, tenant: () => 'acme' })
  return { auth: (need?: string) => auth({ headers: { 'x-api-key': k.key }, remoteAddress: '10.1.2.3' }, need) }
}

describe('corrupt stored data fails closed', () => {
  it('allows the unaltered record (the control for every case below)', async () => {
    const { auth } = await corrupted({}, {})
    expect((await auth('scans:read')).allow).toBe(true)
  })

  it.each<[string, Patch, Patch, string]>([
    ["a key's allowedIps that does not compile", { allowedIps: ['10.1.2.3', 'not-an-address'] }, {}, 'ip_not_allowed'],
    ["a key's allowedIps that is not an array", { allowedIps: '10.1.2.3' }, {}, 'ip_not_allowed'],
    ["a group's allowedIps that does not compile", {}, { allowedIps: ['10.0.0.0/33'] }, 'ip_not_allowed'],
    ["a group's allowedIps that is not an array", {}, { allowedIps: '10.0.0.0/8' }, 'ip_not_allowed'],
    ['scopes naming an unknown permission', { scopes: ['scans:read', 'scans:everything'] }, {}, 'insufficient_permission'],
    ['scopes that are not an array', { scopes: 'scans:read' }, {}, 'insufficient_permission'],
    ['scopes holding a non-string', { scopes: ['scans:read', 42] }, {}, 'insufficient_permission'],
    ['scopes naming one resource twice', { scopes: ['scans:read', 'scans:manage'] }, {}, 'insufficient_permission'],
    ['an expiresAt that is a Date in the future', { expiresAt: new Date(Date.UTC(2099, 0, 1)) }, {}, 'key_expired'],
    ['an expiresAt that is an ISO string in the future', { expiresAt: '2099-01-01T00:00:00Z' }, {}, 'key_expired'],
    ['an expiresAt that is NaN', { expiresAt: Number.NaN }, {}, 'key_expired'],
    ['an expiresAt that is null', { expiresAt: null }, {}, 'key_expired'],
    ['an active flag that is the string "true"', { active: 'true' }, {}, 'key_disabled'],
    ['an active flag that is 1', { active: 1 }, {}, 'key_disabled'],
    ['a group active flag that is the string "true"', {}, { active: 'true' }, 'group_disabled'],
    ['a group of another tenant', {}, { tenant: 'globex' }, 'group_disabled'],
    ['an unknown kind', { kind: 'admin' }, {}, 'unknown_key'],
    ['a missing kind', { kind: undefined }, {}, 'unknown_key'],
    ['the tenant kind (half of a pair, never a key alone)', { kind: 'tenant' }, {}, 'unknown_key'],
  ])('denies %s', async (_, keyPatch, groupPatch, reason) => {
    const { auth } = await corrupted(keyPatch, groupPatch)
    expect(seen(await auth('scans:read')).reason).toBe(reason)
  })

  // The record is found under its previous hash: the key presented is the rotated-out one.
  it.each<[string, unknown]>([
    ['missing', undefined],
    ['a Date in the future', new Date(Date.UTC(2099, 0, 1))],
    ['an ISO string in the future', '2099-01-01T00:00:00Z'],
    ['NaN', Number.NaN],
    ['in the past', Date.UTC(2020, 0, 1)],
  ])('denies a matching previous hash whose previousExpiresAt is %s', async (_, until) => {
    const rotatedAway = (grace: unknown) => (hash: string) => ({ hash: hashKey('kw_the_new_key', PEPPER), previousHash: hash, previousExpiresAt: grace })
    const { auth: rotated } = await corrupted(rotatedAway(until))
    // The control: the same record with a numeric grace end still to come allows.
    const { auth: inGrace } = await corrupted(rotatedAway(Date.UTC(2099, 0, 1)))
    expect((await inGrace('scans:read')).allow).toBe(true)
    expect(seen(await rotated('scans:read')).reason).toBe('key_rotated')
  })

  it.each<[string, unknown]>([
    ['null', null],
    ['undefined', undefined],
  ])('takes a store that resolves %s for a miss as an unknown key', async (_, miss) => {
    const h = harness()
    const k = await h.issue({ kind: 'org' })
    const store = { findByHash: async () => miss as KeyRecord | undefined }
    for (const scheme of [schemes.apiKeyHeader(), schemes.bearer()]) {
      const headers = scheme.name === 'bearer' ? { authorization: `Bearer ${k.key}` } : { 'x-api-key': k.key }
      expect(seen(await h.authorizer({ store, schemes: [scheme] })({ headers })).reason).toBe('unknown_key')
    }
  })
})
