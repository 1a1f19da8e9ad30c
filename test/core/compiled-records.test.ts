/**
 * What the compiled records keep, and for how long: the hot map holds every hash up to its bound
 * and is emptied only when a new hash would pass it; a group's allowlist, a key's permissions and
 * a frozen token identity's grants are derived once per object; an owner role that changes
 * (even to one the key's own record never saw) is never answered from what was derived before.
 */
import { describe, expect, it } from 'vitest'
import { Records } from '../../src/core/records.js'
import { insightAppSecRoles as roles } from '../../src/roles.js'
import type { TokenIdentity } from '../../src/schemes/scheme.js'
import type { KeyGroup, KeyRecord, OwnerRecord } from '../../src/types.js'

const NOW = 1_700_000_000_000
const rec = (over: Partial<KeyRecord>): KeyRecord => ({ id: 'k', hash: 'h', kind: 'user', active: true, createdAt: NOW, ...over }) as KeyRecord

describe('the hot map', () => {
  it('keeps every hash while under its bound', () => {
    const r = new Records(roles, 'key')
    for (let i = 0; i < 10; i++) r.compiledFor(`h${i}`, rec({ id: `k${i}` }), undefined)
    expect(r.hot.size).toBe(10)
  })

  it('is emptied when a new hash would pass the bound, never for a hash it holds', () => {
    const r = new Records(roles, 'key')
    for (let i = 0; i < 10_000; i++) r.compiledFor(`h${i}`, rec({ id: `k${i}` }), undefined)
    expect(r.hot.size).toBe(10_000)
    // A known hash whose record was replaced: refreshed in place.
    const fresh = rec({ id: 'k5', role: 'Read Only' })
    expect(r.compiledFor('h5', fresh, r.hot.get('h5')).record).toBe(fresh)
    expect(r.hot.size).toBe(10_000)
    r.compiledFor('h-new', rec({ id: 'new' }), undefined)
    expect([...r.hot.keys()]).toEqual(['h-new'])
  })
})

describe('derived once per object', () => {
  it("compiles a group's allowlist once per group object", () => {
    const r = new Records(roles, 'key')
    const g = { id: 'g', active: true, allowedIps: ['10.0.0.0/8'] } as KeyGroup
    expect(r.groupAllowlist(g)).toBe(r.groupAllowlist(g))
    expect(r.groupAllowlist({ ...g })).not.toBe(r.groupAllowlist(g))
  })

  it("computes a key's permissions once per owner role, and again when the role changes", () => {
    const r = new Records(roles, 'key')
    const k = rec({ role: 'Read Write', scopes: ['scans:manage', 'apps:read'] })
    const c = r.compile(k)
    const g1 = { id: 'g', active: true } as KeyGroup
    const a = r.subjectOf(k, c, g1, undefined, undefined)
    // A new group object rebuilds the subject but not the permissions.
    const b = r.subjectOf(k, c, { ...g1 }, undefined, undefined)
    expect(b).not.toBe(a)
    expect(b.perms).toBe(a.perms)
    const owner = { role: 'Read Only', active: true } as OwnerRecord
    expect(r.subjectOf(k, c, g1, owner, undefined).perms.has('scans:manage')).toBe(false)
  })

  it('never answers a changed owner role from the permissions derived before, whatever its name', () => {
    for (const precedence of ['key', 'owner'] as const) {
      const r = new Records(roles, precedence)
      const k = rec({ role: 'Read Write' })
      const c = r.compile(k)
      expect(r.subjectOf(k, c, undefined, undefined, undefined).perms.has('scans:read')).toBe(true)
      // A corrupt directory role (the empty string) is a role no matrix has: nothing.
      const s = r.subjectOf(k, c, undefined, { role: '', active: true }, undefined)
      expect(s.perms.has('scans:read')).toBe(false)
      expect(r.subjectOf(k, c, undefined, undefined, undefined).perms.has('scans:read')).toBe(true)
    }
  })

  it("derives a frozen token identity's grants once, with or without scopes and grants", () => {
    const r = new Records(roles, 'key')
    for (const id of [
      Object.freeze({ keyId: 't', kind: 'user', role: 'Read Only' }),
      Object.freeze({ keyId: 't', kind: 'user', role: 'Read Only', scopes: Object.freeze(['scans:read']), grants: Object.freeze(['x']) }),
    ] as TokenIdentity[]) {
      expect(r.tokenSubject(id).grants).toBe(r.tokenSubject(id).grants)
    }
    const open = { keyId: 't', kind: 'user', role: 'Read Only' } as TokenIdentity
    expect(r.tokenSubject(open).grants).not.toBe(r.tokenSubject(open).grants)
  })

  it('gives a token without grants none, and a record whose grants are not an array none', () => {
    const r = new Records(roles, 'key')
    expect(r.tokenSubject(Object.freeze({ keyId: 't', kind: 'user' }) as TokenIdentity).grantList).toEqual([])
    expect(r.compile(rec({ grants: 'getProjects' as never })).grantList).toEqual([])
  })
})
