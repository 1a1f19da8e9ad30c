import { describe, expect, it } from 'vitest'
import { fixture, snapshot, type Issued, type KeyView, type List } from './_fixture.js'

const A = '/admin/api'
const USER = { kind: 'user', owner: 'ana@acme.test', role: 'Read Only', description: 'CI pipeline' }

describe('creating a key', () => {
  it('returns the plaintext once, with no-store and a Location, and the key works', async () => {
    const f = await fixture()
    const r = await f.call(f.acme, 'POST', `${A}/keys`, USER)
    expect(r.status).toBe(201)
    expect(r.headers.get('cache-control')).toBe('no-store')
    const { key, record } = r.json<Issued>()
    expect(r.headers.get('location')).toBe(`/admin/api/keys/${record.id}`)
    expect(record).toMatchObject({ kind: 'user', tenant: 'acme', owner: 'ana@acme.test', role: 'Read Only', active: true })
    expect(await f.allowed(key)).toBe(true)
    expect(await f.allowed(key, 'scans:manage')).toBe(false)
  })

  it('never shows the plaintext or any hash again: not in show, list, audit', async () => {
    const f = await fixture()
    const { key, record } = (await f.call(f.acme, 'POST', `${A}/keys`, USER)).json<Issued>()
    await f.call(f.acme, 'POST', `${A}/keys/${record.id}/rotate`, { graceMs: 60_000 })
    const stored = await f.store.getKey(record.id)
    const secrets = [key, stored!.hash, stored!.previousHash!]
    const shown = [(await f.call(f.acme, 'GET', `${A}/keys/${record.id}`)).text, (await f.call(f.acme, 'GET', `${A}/keys`)).text, JSON.stringify(f.audit)]
    for (const text of shown) for (const s of secrets) expect(text).not.toContain(s)
    const view = (await f.call(f.acme, 'GET', `${A}/keys/${record.id}`)).json<Record<string, unknown>>()
    expect(Object.keys(view)).not.toContain('hash')
    expect(Object.keys(view)).not.toContain('previousHash')
    expect(view.previousExpiresAt).toBe(f.clock.now() + 60_000)
  })

  it('does not show a field a store adds to its records unless it is whitelisted', async () => {
    const f = await fixture()
    const { record } = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'x', role: 'Read Only' })
    const original = f.store.getKey.bind(f.store)
    f.store.getKey = async (id) => {
      const r = await original(id)
      return r && ({ ...r, secretSauce: 's3cr3t', hash: r.hash } as typeof r)
    }
    const text = (await f.call(f.acme, 'GET', `${A}/keys/${record.id}`)).text
    expect(text).not.toContain('s3cr3t')
    expect(text).not.toContain(record.hash)
  })

  it.each([
    ['an unknown role', { ...USER, role: 'Root' }, 'role'],
    ['a user key without owner', { kind: 'user', role: 'Read Only' }, 'owner'],
    ['a bad allowlist entry', { ...USER, allowedIps: ['10.0.0.1/8'] }, 'allowedIps[0]'],
    ['an expiry in the past', { ...USER, expiresAt: 1 }, 'expiresAt'],
    ['an expiry as a string', { ...USER, expiresAt: '2031-01-01' }, 'expiresAt'],
    ['a role on an org key', { kind: 'org', role: 'Read Only' }, 'role'],
    ['an unknown field', { ...USER, hash: 'x' }, 'body'],
    ['a bad kind', { ...USER, kind: 'root' }, 'kind'],
    ['a bad rate limit', { ...USER, rateLimit: { capacity: 0, refillPerSecond: 1 } }, 'rateLimit.capacity'],
  ])('refuses %s with 400 naming the field, and writes nothing', async (_label, body, field) => {
    const f = await fixture()
    const size = f.store.size
    const r = await f.call(f.acme, 'POST', `${A}/keys`, body)
    expect(r.status).toBe(400)
    expect(r.headers.get('content-type')).toBe('application/problem+json')
    expect(r.json()).toMatchObject({ code: 'invalid_field', field, status: 400 })
    expect(r.json().detail.startsWith(`${field}: `)).toBe(true)
    expect(f.store.size).toBe(size)
    expect(f.audit.at(-1)).toMatchObject({ action: 'createKey', outcome: 'invalid', status: 400 })
  })
})

describe('editing a key', () => {
  async function withKey() {
    const f = await fixture()
    const { key, record } = (await f.call(f.acme, 'POST', `${A}/keys`, USER)).json<Issued>()
    return { f, key, id: record.id }
  }

  it('updates description, role, scopes and expiry, and clears them with null', async () => {
    const { f, key, id } = await withKey()
    const later = f.clock.now() + 86_400_000
    const r = await f.call(f.acme, 'PATCH', `${A}/keys/${id}`, { description: 'nightly', role: 'Read Write', scopes: ['scans:manage'], expiresAt: later })
    expect(r.status).toBe(200)
    expect(r.json<KeyView>()).toMatchObject({ description: 'nightly', role: 'Read Write', scopes: ['scans:manage'], expiresAt: later })
    expect(await f.allowed(key, 'scans:manage')).toBe(true)
    expect(await f.allowed(key, 'apps:read')).toBe(false)
    const cleared = (await f.call(f.acme, 'PATCH', `${A}/keys/${id}`, { description: null, scopes: null, expiresAt: null })).json<KeyView>()
    expect(cleared.description).toBeUndefined()
    expect(cleared.scopes).toBeUndefined()
    expect(cleared.expiresAt).toBeUndefined()
    expect(await f.allowed(key, 'apps:read')).toBe(true)
  })

  it('refuses an invalid patch with 400 and leaves the key exactly as it was', async () => {
    const { f, id } = await withKey()
    const before = await snapshot(f, id)
    const r = await f.call(f.acme, 'PATCH', `${A}/keys/${id}`, { description: 'ok', role: 'Nope' })
    expect(r.status).toBe(400)
    expect(r.json().field).toBe('role')
    expect(await snapshot(f, id)).toEqual(before)
  })

  it('deactivates and activates: the key is refused, then accepted', async () => {
    const { f, key, id } = await withKey()
    expect((await f.call(f.acme, 'POST', `${A}/keys/${id}/deactivate`)).json<KeyView>().active).toBe(false)
    expect(await f.allowed(key)).toBe(false)
    expect((await f.call(f.acme, 'POST', `${A}/keys/${id}/activate`)).json<KeyView>().active).toBe(true)
    expect(await f.allowed(key)).toBe(true)
  })

  it('deletes: 204, then 404, and the key is refused', async () => {
    const { f, key, id } = await withKey()
    const r = await f.call(f.acme, 'DELETE', `${A}/keys/${id}`)
    expect(r.status).toBe(204)
    expect(r.text).toBe('')
    expect((await f.call(f.acme, 'GET', `${A}/keys/${id}`)).status).toBe(404)
    expect((await f.call(f.acme, 'DELETE', `${A}/keys/${id}`)).status).toBe(404)
    expect(await f.allowed(key)).toBe(false)
  })

  it('adds and removes grants and allowed addresses', async () => {
    const { f, key, id } = await withKey()
    expect((await f.call(f.acme, 'POST', `${A}/keys/${id}/grants/add`, { operations: ['getProjects', 'GET /files'] })).json<KeyView>().grants).toEqual(['getProjects', 'GET /files'])
    expect((await f.call(f.acme, 'POST', `${A}/keys/${id}/grants/remove`, { operations: ['getProjects'] })).json<KeyView>().grants).toEqual(['GET /files'])
    expect((await f.call(f.acme, 'POST', `${A}/keys/${id}/allowed-ips/add`, { entries: ['10.0.0.0/8'] })).json<KeyView>().allowedIps).toEqual(['10.0.0.0/8'])
    expect(await f.allowed(key)).toBe(false)
    await f.call(f.acme, 'POST', `${A}/keys/${id}/allowed-ips/add`, { entries: ['127.0.0.1'] })
    expect(await f.allowed(key)).toBe(true)
    const removed = (await f.call(f.acme, 'POST', `${A}/keys/${id}/allowed-ips/remove`, { entries: ['127.0.0.1', '10.0.0.0/8'] })).json<KeyView>()
    expect(removed.allowedIps).toEqual([])
    expect(await f.allowed(key)).toBe(false)
    const bad = await f.call(f.acme, 'POST', `${A}/keys/${id}/allowed-ips/add`, { entries: ['127.1'] })
    expect(bad.json()).toMatchObject({ status: 400, field: 'entries[0]' })
    const lifted = (await f.call(f.acme, 'PATCH', `${A}/keys/${id}`, { allowedIps: null })).json<KeyView>()
    expect(lifted.allowedIps).toBeUndefined()
    expect(await f.allowed(key)).toBe(true)
  })
})

describe('rotating a key', () => {
  it('returns a new plaintext with no-store; the old key works until the grace ends', async () => {
    const f = await fixture()
    const { key: old, record } = (await f.call(f.acme, 'POST', `${A}/keys`, USER)).json<Issued>()
    const r = await f.call(f.acme, 'POST', `${A}/keys/${record.id}/rotate`, { graceMs: 1500 })
    expect(r.status).toBe(200)
    expect(r.headers.get('cache-control')).toBe('no-store')
    const { key: fresh, record: after } = r.json<Issued>()
    expect(fresh).not.toBe(old)
    expect(after.id).toBe(record.id)
    expect(await f.allowed(old)).toBe(true)
    expect(await f.allowed(fresh)).toBe(true)
    f.clock.advance(1500)
    expect(await f.allowed(old)).toBe(false)
    expect(await f.allowed(fresh)).toBe(true)
  })

  it('refuses a rotation without graceMs, naming it, and keeps the old key alone', async () => {
    const f = await fixture()
    const { key, record } = (await f.call(f.acme, 'POST', `${A}/keys`, USER)).json<Issued>()
    const before = await snapshot(f, record.id)
    const r = await f.call(f.acme, 'POST', `${A}/keys/${record.id}/rotate`, {})
    expect(r.json()).toMatchObject({ status: 400, field: 'graceMs' })
    expect(await snapshot(f, record.id)).toEqual(before)
    expect(await f.allowed(key)).toBe(true)
  })
})

describe('listing keys', () => {
  it('filters by group, owner, kind and active, oldest first', async () => {
    const f = await fixture()
    const g = await f.manager.createGroup({ name: 'CI', tenant: 'acme' })
    f.clock.advance(1)
    const a = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'ana', role: 'Read Only', group: g.id })
    f.clock.advance(1)
    const b = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'bob', role: 'Read Only', active: false })
    const ids = async (q: string) => (await f.call(f.acme, 'GET', `${A}/keys${q}`)).json<List<KeyView>>().items.map((k) => k.id)
    expect(await ids('')).toEqual([f.acmeId, a.record.id, b.record.id])
    expect(await ids(`?group=${g.id}`)).toEqual([a.record.id])
    expect(await ids('?owner=bob')).toEqual([b.record.id])
    expect(await ids('?kind=org')).toEqual([f.acmeId])
    expect(await ids('?active=false')).toEqual([b.record.id])
    expect(await ids('?kind=user&active=true')).toEqual([a.record.id])
  })

  it.each([
    ['?active=yes', 'active'],
    ['?kind=root', 'kind'],
    ['?colour=red', 'colour'],
    ['?owner=a&owner=b', 'owner'],
  ])('refuses %s with 400 naming %s', async (q, field) => {
    const f = await fixture()
    const r = await f.call(f.acme, 'GET', `${A}/keys${q}`)
    expect(r.status).toBe(400)
    expect(r.json().field).toBe(field)
  })
})
