import { describe, expect, it } from 'vitest'
import { fixture, snapshot, type Fixture, type GroupView, type Issued, type KeyView, type List } from './_fixture.js'

const A = '/admin/api'

/** Every route that takes a key id, with a body that would be valid for a visible key. */
const KEY_ROUTES: [string, string, unknown][] = [
  ['GET', '', undefined],
  ['PATCH', '', { description: 'pwned' }],
  ['DELETE', '', undefined],
  ['POST', '/activate', undefined],
  ['POST', '/deactivate', undefined],
  ['POST', '/rotate', { graceMs: 0 }],
  ['POST', '/grants/add', { operations: ['x'] }],
  ['POST', '/grants/remove', { operations: ['x'] }],
  ['POST', '/allowed-ips/add', { entries: ['10.0.0.1'] }],
  ['POST', '/allowed-ips/remove', { entries: ['10.0.0.1'] }],
]

const GROUP_ROUTES: [string, string, unknown][] = [
  ['GET', '', undefined],
  ['PATCH', '', { name: 'pwned' }],
  ['DELETE', '', undefined],
  ['POST', '/activate', undefined],
  ['POST', '/deactivate', undefined],
]

async function globexWorld(f: Fixture) {
  const group = await f.manager.createGroup({ name: 'Globex partners', tenant: 'globex' })
  const key = await f.manager.issue({ kind: 'user', tenant: 'globex', owner: 'gus', role: 'Read Only', group: group.id, grants: ['x'], allowedIps: ['10.0.0.1', '127.0.0.1'] })
  return { group, key }
}

describe('tenant isolation: another tenant\'s keys are indistinguishable from absent ones', () => {
  it.each(KEY_ROUTES)('%s /keys/{id}%s answers the absent-id 404, byte for byte, and writes nothing', async (method, suffix, body) => {
    const f = await fixture()
    const { key } = await globexWorld(f)
    const before = await snapshot(f, key.record.id)
    const foreign = await f.call(f.acme, method, `${A}/keys/${key.record.id}${suffix}`, body)
    const absent = await f.call(f.acme, method, `${A}/keys/key_0000000000000000${suffix}`, body)
    expect(foreign.status).toBe(404)
    expect(foreign.text).toBe(absent.text)
    expect([...foreign.headers].sort()).toEqual([...absent.headers].sort())
    expect(await snapshot(f, key.record.id)).toEqual(before)
    expect(await f.allowed(key.key)).toBe(true)
    // The owning tenant's admin does see it.
    expect((await f.call(f.globex, 'GET', `${A}/keys/${key.record.id}`)).status).toBe(200)
  })

  it.each(GROUP_ROUTES)('%s /groups/{id}%s answers the absent-id 404, byte for byte, and writes nothing', async (method, suffix, body) => {
    const f = await fixture()
    const { group } = await globexWorld(f)
    const before = await f.store.getGroup(group.id)
    const foreign = await f.call(f.acme, method, `${A}/groups/${group.id}${suffix}`, body)
    const absent = await f.call(f.acme, method, `${A}/groups/grp_0000000000000000${suffix}`, body)
    expect(foreign.status).toBe(404)
    expect(foreign.text).toBe(absent.text)
    expect(await f.store.getGroup(group.id)).toEqual(before)
  })

  it('lists only the caller\'s tenant, for keys and groups', async () => {
    const f = await fixture()
    const { group, key } = await globexWorld(f)
    const mine = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'ana', role: 'Read Only' })
    const keys = (await f.call(f.acme, 'GET', `${A}/keys`)).json<List<KeyView>>().items
    expect(keys.map((k) => k.id).sort()).toEqual([f.acmeId, mine.record.id].sort())
    expect(keys.every((k) => k.tenant === 'acme')).toBe(true)
    expect((await f.call(f.acme, 'GET', `${A}/groups`)).json<List<GroupView>>().items).toEqual([])
    expect((await f.call(f.globex, 'GET', `${A}/groups`)).json<List<GroupView>>().items.map((g) => g.id)).toEqual([group.id])
    expect((await f.call(f.globex, 'GET', `${A}/keys?owner=gus`)).json<List<KeyView>>().items.map((k) => k.id)).toEqual([key.record.id])
  })

  it('filters another tenant\'s name or group down to nothing', async () => {
    const f = await fixture()
    const { group } = await globexWorld(f)
    expect((await f.call(f.acme, 'GET', `${A}/keys?tenant=globex`)).json<List<KeyView>>().items).toEqual([])
    expect((await f.call(f.acme, 'GET', `${A}/keys?group=${group.id}`)).json<List<KeyView>>().items).toEqual([])
    expect((await f.call(f.acme, 'GET', `${A}/keys?tenant=acme`)).json<List<KeyView>>().items.map((k) => k.id)).toEqual([f.acmeId])
  })
})

describe('tenant isolation: creations land in the caller\'s tenant only', () => {
  it('forces the caller\'s tenant on keys and groups created without one', async () => {
    const f = await fixture()
    const key = await f.call(f.acme, 'POST', `${A}/keys`, { kind: 'org', description: 'second admin' })
    expect(key.status).toBe(201)
    expect(key.json<Issued>().record.tenant).toBe('acme')
    expect((await f.store.getKey(key.json<Issued>().record.id))?.tenant).toBe('acme')
    const group = await f.call(f.acme, 'POST', `${A}/groups`, { name: 'Ops' })
    expect(group.json<GroupView>().tenant).toBe('acme')
  })

  it.each([
    ['an org key', { kind: 'org', tenant: 'globex' }],
    ['a user key', { kind: 'user', tenant: 'globex', owner: 'eve', role: 'Product Admin' }],
    ['a tenant key', { kind: 'tenant', tenant: 'globex' }],
  ])('refuses %s in another tenant with 400 naming tenant, writing nothing', async (_label, body) => {
    const f = await fixture()
    const size = f.store.size
    const r = await f.call(f.acme, 'POST', `${A}/keys`, body)
    expect(r.status).toBe(400)
    expect(r.json()).toMatchObject({ code: 'invalid_field', field: 'tenant', detail: "tenant: must be omitted or equal to the caller's tenant" })
    expect(f.store.size).toBe(size)
  })

  it('accepts the caller\'s own tenant spelled out', async () => {
    const f = await fixture()
    expect((await f.call(f.acme, 'POST', `${A}/keys`, { kind: 'org', tenant: 'acme' })).status).toBe(201)
  })

  it('refuses a group in another tenant', async () => {
    const f = await fixture()
    const r = await f.call(f.acme, 'POST', `${A}/groups`, { name: 'Sneaky', tenant: 'globex' })
    expect(r.status).toBe(400)
    expect(r.json().field).toBe('tenant')
    expect(await f.manager.listGroups({ tenant: 'globex' })).toEqual([])
  })

  it('answers another tenant\'s group id in a key body exactly like an absent one', async () => {
    const f = await fixture()
    const { group } = await globexWorld(f)
    const mine = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'ana', role: 'Read Only' })
    const size = f.store.size
    const create = (g: string) => f.call(f.acme, 'POST', `${A}/keys`, { kind: 'user', owner: 'ana', role: 'Read Only', group: g })
    const foreign = await create(group.id)
    const absent = await create('grp_0000000000000000')
    expect(foreign.status).toBe(400)
    expect(foreign.text).toBe(absent.text)
    expect(foreign.json()).toMatchObject({ field: 'group', detail: 'group: no such group' })
    expect(f.store.size).toBe(size)
    const patch = (g: string) => f.call(f.acme, 'PATCH', `${A}/keys/${mine.record.id}`, { group: g })
    const pf = await patch(group.id)
    expect(pf.text).toBe((await patch('grp_0000000000000000')).text)
    expect((await f.store.getKey(mine.record.id))?.group).toBeUndefined()
  })

  it('reports a cross-tenant probe to the audit log as not_found, with the probed id', async () => {
    const f = await fixture()
    const { key } = await globexWorld(f)
    await f.call(f.acme, 'POST', `${A}/keys/${key.record.id}/deactivate`)
    expect(f.audit.at(-1)).toEqual({
      at: f.clock.now(), action: 'deactivateKey', outcome: 'not_found', status: 404,
      actor: f.acmeId, actorKind: 'org', tenant: 'acme', target: key.record.id, code: 'not_found',
    })
  })
})
