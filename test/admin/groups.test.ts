import { describe, expect, it } from 'vitest'
import { fixture, type GroupView, type Issued, type List } from './_fixture.js'

const A = '/admin/api'

describe('key groups', () => {
  it('creates, shows, lists, edits and deletes a group', async () => {
    const f = await fixture()
    const created = await f.call(f.acme, 'POST', `${A}/groups`, { name: 'Integrations', description: 'CI and partners' })
    expect(created.status).toBe(201)
    const g = created.json<GroupView>()
    expect(g).toMatchObject({ name: 'Integrations', description: 'CI and partners', tenant: 'acme', active: true })
    expect(created.headers.get('location')).toBe(`/admin/api/groups/${g.id}`)
    expect((await f.call(f.acme, 'GET', `${A}/groups/${g.id}`)).json<GroupView>()).toEqual(g)
    expect((await f.call(f.acme, 'GET', `${A}/groups`)).json<List<GroupView>>().items).toEqual([g])
    const edited = await f.call(f.acme, 'PATCH', `${A}/groups/${g.id}`, { name: 'Partners', description: null, allowedIps: ['198.51.100.0/24'] })
    expect(edited.json<GroupView>()).toMatchObject({ name: 'Partners', allowedIps: ['198.51.100.0/24'] })
    expect(edited.json<GroupView>().description).toBeUndefined()
    expect((await f.call(f.acme, 'DELETE', `${A}/groups/${g.id}`)).status).toBe(204)
    expect((await f.call(f.acme, 'GET', `${A}/groups/${g.id}`)).status).toBe(404)
  })

  it('deactivating a group refuses its keys; activating it admits them again', async () => {
    const f = await fixture()
    const g = (await f.call(f.acme, 'POST', `${A}/groups`, { name: 'CI' })).json<GroupView>()
    const { key } = (await f.call(f.acme, 'POST', `${A}/keys`, { kind: 'user', owner: 'ci', role: 'Read Only', group: g.id })).json<Issued>()
    expect(await f.allowed(key)).toBe(true)
    expect((await f.call(f.acme, 'POST', `${A}/groups/${g.id}/deactivate`)).json<GroupView>().active).toBe(false)
    expect(await f.allowed(key)).toBe(false)
    expect((await f.call(f.acme, 'POST', `${A}/groups/${g.id}/activate`)).json<GroupView>().active).toBe(true)
    expect(await f.allowed(key)).toBe(true)
  })

  it('refuses to delete a group that still has keys: 409 in words, nothing deleted', async () => {
    const f = await fixture()
    const g = (await f.call(f.acme, 'POST', `${A}/groups`, { name: 'CI' })).json<GroupView>()
    await f.call(f.acme, 'POST', `${A}/keys`, { kind: 'user', owner: 'ci', role: 'Read Only', group: g.id })
    const r = await f.call(f.acme, 'DELETE', `${A}/groups/${g.id}`)
    expect(r.status).toBe(409)
    expect(r.json()).toMatchObject({ code: 'conflict', detail: 'The group still has keys; move or delete them first.' })
    expect(await f.store.getGroup(g.id)).toBeDefined()
  })

  it.each([
    ['no name', { description: 'x' }, 'name'],
    ['an empty name', { name: '' }, 'name'],
    ['a name with a newline', { name: 'a\nb' }, 'name'],
    ['a host-bits CIDR', { name: 'n', allowedIps: ['10.1.0.0/8'] }, 'allowedIps[0]'],
    ['a non-boolean active', { name: 'n', active: 'yes' }, 'active'],
    ['an unknown field', { name: 'n', id: 'grp_mine' }, 'body'],
  ])('refuses a group with %s: 400 naming %s, nothing created', async (_label, body, field) => {
    const f = await fixture()
    const r = await f.call(f.acme, 'POST', `${A}/groups`, body)
    expect(r.status).toBe(400)
    expect(r.json().field).toBe(field)
    expect(await f.manager.listGroups()).toEqual([])
  })
})

describe('audit events', () => {
  it('reports success with actor, tenant, action and target; failures with their code', async () => {
    const f = await fixture()
    const { record } = (await f.call(f.acme, 'POST', `${A}/keys`, { kind: 'org' })).json<Issued>()
    expect(f.audit.at(-1)).toEqual({
      at: f.clock.now(), action: 'createKey', outcome: 'success', status: 201, actor: f.acmeId, actorKind: 'org', tenant: 'acme', target: record.id,
    })
    await f.call(null, 'GET', `${A}/keys`)
    expect(f.audit.at(-1)).toEqual({ at: f.clock.now(), action: 'listKeys', outcome: 'denied', status: 401, code: 'missing_credentials' })
    await f.call(f.acme, 'POST', `${A}/keys/${record.id}/rotate`, { graceMs: -1 })
    expect(f.audit.at(-1)).toMatchObject({ action: 'rotateKey', outcome: 'invalid', status: 400, target: record.id, code: 'invalid_field' })
    const g = (await f.call(f.acme, 'POST', `${A}/groups`, { name: 'g' })).json<GroupView>()
    await f.call(f.acme, 'POST', `${A}/keys`, { kind: 'org', group: g.id })
    await f.call(f.acme, 'DELETE', `${A}/groups/${g.id}`)
    expect(f.audit.at(-1)).toMatchObject({ action: 'deleteGroup', outcome: 'conflict', status: 409, target: g.id })
  })

  it('emits nothing for console assets and the OpenAPI document', async () => {
    const f = await fixture()
    for (const p of ['/admin/', '/admin/console.js', '/admin/console.css', '/admin/openapi.json']) {
      expect((await f.call(null, 'GET', p)).status).toBe(200)
    }
    expect(f.audit).toEqual([])
  })

  it('answers normally when the audit sink throws', async () => {
    const f = await fixture({ handler: { onAudit: () => { throw new Error('sink down') } } })
    expect((await f.call(f.acme, 'POST', `${A}/groups`, { name: 'g' })).status).toBe(201)
  })
})
