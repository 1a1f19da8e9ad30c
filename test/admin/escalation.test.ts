import { describe, expect, it } from 'vitest'
import { defineRoles } from '../../src/index.js'
import { fixture, snapshot, type Fixture, type Issued } from './_fixture.js'

const A = '/admin/api'

const roles = defineRoles({
  levels: ['read', 'manage', 'administer'],
  roles: {
    'Key Admin': ['keys:administer', 'scans:read'],
    Reader: ['scans:read'],
    Writer: ['scans:manage'],
  },
})

describe('the key in use cannot change itself', () => {
  it.each([
    ['PATCH', '', { description: 'mine now' }],
    ['DELETE', '', undefined],
    ['POST', '/deactivate', undefined],
    ['POST', '/activate', undefined],
    ['POST', '/grants/add', { operations: ['admin:everything'] }],
    ['POST', '/grants/remove', { operations: ['x'] }],
    ['POST', '/allowed-ips/add', { entries: ['10.0.0.1'] }],
    ['POST', '/allowed-ips/remove', { entries: ['10.0.0.1'] }],
  ])('%s /keys/{own id}%s is 403 self_modification and writes nothing', async (method, suffix, body) => {
    const f = await fixture()
    const before = await snapshot(f, f.acmeId)
    const r = await f.call(f.acme, method, `${A}/keys/${f.acmeId}${suffix}`, body)
    expect(r.status).toBe(403)
    expect(r.json().code).toBe('self_modification')
    expect(await snapshot(f, f.acmeId)).toEqual(before)
  })

  it('may rotate itself: the new key administers, the old one stops after the grace', async () => {
    const f = await fixture()
    const r = await f.call(f.acme, 'POST', `${A}/keys/${f.acmeId}/rotate`, { graceMs: 1000 })
    expect(r.status).toBe(200)
    const { key } = r.json<Issued>()
    expect((await f.call(key, 'GET', `${A}/me`)).status).toBe(200)
    f.clock.advance(1000)
    expect((await f.call(f.acme, 'GET', `${A}/me`)).status).toBe(401)
  })

  it('cannot deactivate or re-address its own group, but may rename it', async () => {
    const f = await fixture()
    const g = await f.manager.createGroup({ name: 'Admins', tenant: 'acme' })
    const admin = await f.manager.issue({ kind: 'org', tenant: 'acme', group: g.id })
    expect((await f.call(admin.key, 'POST', `${A}/groups/${g.id}/deactivate`)).json().code).toBe('self_modification')
    expect((await f.call(admin.key, 'PATCH', `${A}/groups/${g.id}`, { active: false })).json().code).toBe('self_modification')
    expect((await f.call(admin.key, 'PATCH', `${A}/groups/${g.id}`, { allowedIps: ['192.0.2.1'] })).json().code).toBe('self_modification')
    expect((await f.store.getGroup(g.id))?.active).toBe(true)
    expect((await f.call(admin.key, 'PATCH', `${A}/groups/${g.id}`, { name: 'Administrators' })).status).toBe(200)
    // Another org admin can still do it.
    expect((await f.call(f.acme, 'POST', `${A}/groups/${g.id}/deactivate`)).status).toBe(200)
  })
})

describe('an administrator admitted by `permission` cannot escalate', () => {
  async function setup(): Promise<{ f: Fixture; kim: string; kimId: string }> {
    const f = await fixture({ roles, handler: { permission: 'keys:administer' } })
    const kim = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'kim', role: 'Key Admin', grants: ['getProjects'] })
    return { f, kim: kim.key, kimId: kim.record.id }
  }

  it('issues user keys within its own rights', async () => {
    const { f, kim } = await setup()
    // Keys acting for its own owner: any other owner's key would be a secret acting as someone else.
    const r = await f.call(kim, 'POST', `${A}/keys`, { kind: 'user', owner: 'kim', role: 'Reader', grants: ['getProjects'] })
    expect(r.status).toBe(201)
    // Scopes can bring a broader role down to what the admin holds.
    expect((await f.call(kim, 'POST', `${A}/keys`, { kind: 'user', owner: 'kim', role: 'Key Admin', scopes: ['scans:read'] })).status).toBe(201)
    // A second key with its own rights, administration included, is not an escalation.
    expect((await f.call(kim, 'POST', `${A}/keys`, { kind: 'user', owner: 'kim', role: 'Key Admin' })).status).toBe(201)
  })

  it.each([
    ['an org key', { kind: 'org' }],
    ['a tenant key', { kind: 'tenant' }],
    ['a user key with a broader role', { kind: 'user', owner: 'ci', role: 'Writer' }],
    ['a user key with a grant it lacks', { kind: 'user', owner: 'ci', role: 'Reader', grants: ['deleteProjects'] }],
  ])('refuses %s with 403 exceeds_caller_rights, writing nothing', async (_label, body) => {
    const { f, kim } = await setup()
    const size = f.store.size
    const r = await f.call(kim, 'POST', `${A}/keys`, body)
    expect(r.status).toBe(403)
    expect(r.json().code).toBe('exceeds_caller_rights')
    expect(f.store.size).toBe(size)
  })

  it('refuses a key acting for an owner whose directory role is broader', async () => {
    const { f, kim } = await setup()
    await f.manager.setOwner('boss', { role: 'Writer', active: true })
    const r = await f.call(kim, 'POST', `${A}/keys`, { kind: 'user', owner: 'boss', role: 'Reader' })
    expect(r.json().code).toBe('exceeds_caller_rights')
  })

  it('cannot touch an org key or a broader user key, but can read them', async () => {
    const { f, kim } = await setup()
    const writer = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'w', role: 'Writer' })
    for (const id of [f.acmeId, writer.record.id]) {
      const before = await snapshot(f, id)
      expect((await f.call(kim, 'GET', `${A}/keys/${id}`)).status).toBe(200)
      for (const [method, suffix, body] of [
        ['POST', '/rotate', { graceMs: 0 }], ['POST', '/deactivate', undefined], ['DELETE', '', undefined], ['PATCH', '', { description: 'x' }],
        ['POST', '/allowed-ips/add', { entries: ['10.0.0.1'] }],
      ] as const) {
        const r = await f.call(kim, method, `${A}/keys/${id}${suffix}`, body)
        expect(r.json().code).toBe('exceeds_caller_rights')
      }
      expect(await snapshot(f, id)).toEqual(before)
    }
  })

  it('cannot widen a key it manages beyond its own rights', async () => {
    const { f, kim } = await setup()
    const { record } = (await f.call(kim, 'POST', `${A}/keys`, { kind: 'user', owner: 'kim', role: 'Reader' })).json<Issued>()
    const before = await snapshot(f, record.id)
    expect((await f.call(kim, 'PATCH', `${A}/keys/${record.id}`, { role: 'Writer' })).json().code).toBe('exceeds_caller_rights')
    // Within its rights, but a key whose secret it holds would then act as someone else.
    expect((await f.call(kim, 'PATCH', `${A}/keys/${record.id}`, { owner: 'boss' })).json().code).toBe('not_key_owner')
    await f.manager.setOwner('boss2', { role: 'Writer', active: true })
    expect((await f.call(kim, 'PATCH', `${A}/keys/${record.id}`, { owner: 'boss2' })).json().code).toBe('exceeds_caller_rights')
    expect((await f.call(kim, 'POST', `${A}/keys/${record.id}/grants/add`, { operations: ['deleteProjects'] })).json().code).toBe('exceeds_caller_rights')
    expect((await f.call(kim, 'POST', `${A}/keys/${record.id}/grants/add`, { operations: ['getProjects'] })).status).toBe(200)
    expect((await snapshot(f, record.id))?.role).toBe(before?.role)
  })

  it('may create and delete groups, but not edit or (de)activate them', async () => {
    const { f, kim } = await setup()
    const g = await f.call(kim, 'POST', `${A}/groups`, { name: 'Mine' })
    expect(g.status).toBe(201)
    const id = g.json<{ id: string }>().id
    expect((await f.call(kim, 'POST', `${A}/groups/${id}/deactivate`)).json().code).toBe('exceeds_caller_rights')
    expect((await f.call(kim, 'POST', `${A}/groups/${id}/activate`)).json().code).toBe('exceeds_caller_rights')
    expect((await f.call(kim, 'PATCH', `${A}/groups/${id}`, { name: 'x' })).json().code).toBe('exceeds_caller_rights')
    expect((await f.call(kim, 'DELETE', `${A}/groups/${id}`)).status).toBe(204)
  })
})
