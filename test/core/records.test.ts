/**
 * Compiled records: one rule for what a credential may do (`permissionsFor`), compiled data
 * reused per record object, and a corrupt stored field granting nothing.
 */
import { describe, expect, it } from 'vitest'
import { allowlistHas, Records } from '../../src/core/records.js'
import { createNetPolicy } from '../../src/net/proxy.js'
import { insightAppSecRoles as roles } from '../../src/roles.js'
import type { KeyGroup, KeyRecord } from '../../src/types.js'

const NOW = 1_700_000_000_000
const rec = (over: Partial<KeyRecord>): KeyRecord => ({ id: 'k', hash: 'h', kind: 'user', active: true, createdAt: NOW, ...over }) as KeyRecord
const can = (set: { has(p: string): boolean }, p: string) => set.has(p)

describe('Records.permissionsFor', () => {
  const r = new Records(roles, 'key')
  it('gives an org key every permission, whatever role it names', () => {
    expect(can(r.permissionsFor('org', 'Read Only', undefined), 'global-blackouts:manage')).toBe(true)
  })
  it('gives a user key its role, and nothing for an unknown or missing role', () => {
    expect(can(r.permissionsFor('user', 'Read Write', undefined), 'scans:manage')).toBe(true)
    expect(can(r.permissionsFor('user', 'No Such Role', undefined), 'scans:read')).toBe(false)
    expect(can(r.permissionsFor('user', undefined, undefined), 'scans:read')).toBe(false)
    expect(can(r.permissionsFor('tenant', 'Product Admin', undefined), 'scans:read')).toBe(true)
  })
  it('narrows by scopes, never widens', () => {
    const scopes = roles.toSet(['scans:manage', 'global-blackouts:manage'], 'scopes')
    const p = r.permissionsFor('user', 'Read Only', scopes)
    expect(can(p, 'scans:read')).toBe(true)
    expect(can(p, 'scans:manage')).toBe(false)
    expect(can(p, 'global-blackouts:manage')).toBe(false)
    expect(can(p, 'apps:read')).toBe(false)
  })
})

describe('Records.compile and subjects', () => {
  it('compiles a record object once and a replaced object again', () => {
    const r = new Records(roles, 'key')
    const a = rec({ allowedIps: ['10.0.0.0/8'] })
    expect(r.compile(a)).toBe(r.compile(a))
    expect(r.compile({ ...a })).not.toBe(r.compile(a))
  })
  it('makes a corrupt allowlist admit nobody and corrupt scopes grant nothing', () => {
    const r = new Records(roles, 'key')
    const c = r.compile(rec({ role: 'Product Admin', allowedIps: ['not an ip'], scopes: ['nope:read'] }))
    expect(c.allow).toBeDefined()
    const addr = createNetPolicy(undefined).clientAddress('10.0.0.1', undefined).addr!
    expect(allowlistHas(r.compile(rec({ allowedIps: ['10.0.0.0/8'] })).allow!, addr)).toBe(true)
    expect(allowlistHas(c.allow!, addr)).toBe(false)
    const s = r.subjectOf(c.record, c, undefined, undefined, undefined)
    expect(s.perms.has('scans:read')).toBe(false)
  })
  it('rebuilds the subject when the owner role or the group object changes, and reuses it otherwise', () => {
    const r = new Records(roles, 'owner')
    const k = rec({ role: 'Read Only', group: 'g' })
    const c = r.compile(k)
    const g1 = { id: 'g', active: true } as KeyGroup
    const s1 = r.subjectOf(k, c, g1, undefined, undefined)
    expect(r.subjectOf(k, c, g1, undefined, undefined)).toBe(s1)
    const admin = { role: 'Product Admin', active: true }
    const s2 = r.subjectOf(k, c, g1, admin, undefined)
    expect(s2).not.toBe(s1)
    expect(s2.perms.has('global-blackouts:manage')).toBe(true)
    expect(r.subjectOf(k, c, g1, { ...admin }, undefined)).toBe(s2)
    expect(r.subjectOf(k, c, { ...g1 }, admin, undefined)).not.toBe(s2)
  })
  it('keeps the hot map bounded', () => {
    const r = new Records(roles, 'key')
    for (let i = 0; i < 10_001; i++) r.compiledFor(`h${i}`, rec({ id: `k${i}` }), undefined)
    expect(r.hot.size).toBeLessThanOrEqual(10_000)
  })
})
