import { describe, expect, it } from 'vitest'
import { createAuthorizer, defineRoles, KeyManager, MemoryKeyStore, renderDeny } from '../../src/index.js'
import { createAdminHandler } from '../../src/admin/index.js'
import { fixture, type Issued, type List, type KeyView } from './_fixture.js'

const A = '/admin/api'

const keyRoles = defineRoles({
  levels: ['read', 'manage', 'administer'],
  roles: {
    'Key Admin': ['keys:administer', 'scans:read'],
    Reader: ['scans:read'],
  },
})

describe('admin calls are authorized by the authorizer', () => {
  it('answers a call without credentials with renderDeny output, byte for byte', async () => {
    const f = await fixture()
    const r = await f.call(null, 'GET', `${A}/keys`)
    const d = await f.authorizer.authorize({ method: 'GET', url: 'http://127.0.0.1/admin/api/keys', headers: {} })
    if (d.allow) throw new Error('expected a deny')
    const expected = renderDeny(d)
    expect(r.status).toBe(401)
    expect(r.text).toBe(expected.body)
    expect(r.headers.get('www-authenticate')).toBe(expected.headers['www-authenticate'])
    expect(r.headers.get('content-type')).toBe('application/problem+json')
  })

  it('refuses an unknown key with 401 invalid_credentials', async () => {
    const f = await fixture()
    const r = await f.call('kw_not-a-real-key-at-all', 'GET', `${A}/keys`)
    expect(r.status).toBe(401)
    expect(r.json().code).toBe('invalid_credentials')
  })

  it('refuses a user key by default, even a Product Admin, with 403 insufficient_permission', async () => {
    const f = await fixture()
    const { key, record } = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'pa', role: 'Product Admin' })
    const r = await f.call(key, 'GET', `${A}/keys`)
    expect(r.status).toBe(403)
    expect(r.json().code).toBe('insufficient_permission')
    expect(f.audit.at(-1)).toMatchObject({ action: 'listKeys', outcome: 'denied', actor: record.id, status: 403 })
  })

  it('admits an org key and tells it who it is', async () => {
    const f = await fixture()
    const r = await f.call(f.acme, 'GET', `${A}/me`)
    expect(r.status).toBe(200)
    expect(r.json<{ keyId: string; kind: string; tenant: string; roles: string[] }>()).toMatchObject({
      keyId: f.acmeId, kind: 'org', tenant: 'acme', roles: ['Product Admin', 'Read Write', 'Read Only'],
    })
  })

  it('refuses a deactivated admin key', async () => {
    const f = await fixture()
    await f.manager.deactivate(f.acmeId)
    expect((await f.call(f.acme, 'GET', `${A}/me`)).status).toBe(401)
  })

  it('with `permission`, admits user keys holding it and names it to those that do not', async () => {
    const f = await fixture({ roles: keyRoles, handler: { permission: 'keys:administer' } })
    const admin = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'kim', role: 'Key Admin' })
    const reader = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'rob', role: 'Reader' })
    expect((await f.call(admin.key, 'GET', `${A}/keys`)).status).toBe(200)
    const denied = await f.call(reader.key, 'GET', `${A}/keys`)
    expect(denied.status).toBe(403)
    expect(denied.json().detail).toBe('The API key lacks the permission "keys:administer".')
    expect((await f.call(f.acme, 'GET', `${A}/keys`)).status).toBe(200)
  })

  it('scopes a tenant-less org key to tenant-less keys (single-tenant deployments)', async () => {
    const f = await fixture()
    const root = await f.manager.issue({ kind: 'org' })
    const plain = await f.manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const list = await f.call(root.key, 'GET', `${A}/keys`)
    expect(list.json<List<KeyView>>().items.map((k) => k.id).sort()).toEqual([root.record.id, plain.record.id].sort())
    expect((await f.call(root.key, 'GET', `${A}/keys/${f.acmeId}`)).status).toBe(404)
    const acmeGroup = await f.manager.createGroup({ name: 'acme only', tenant: 'acme' })
    const plainGroup = await f.manager.createGroup({ name: 'no tenant' })
    expect((await f.call(root.key, 'GET', `${A}/groups`)).json<List<{ id: string }>>().items.map((g) => g.id)).toEqual([plainGroup.id])
    expect((await f.call(root.key, 'GET', `${A}/groups/${acmeGroup.id}`)).status).toBe(404)
    const created = await f.call(root.key, 'POST', `${A}/keys`, { kind: 'user', owner: 'bo', role: 'Read Only' })
    expect(created.status).toBe(201)
    expect(created.json<Issued>().record.tenant).toBeUndefined()
    const refused = await f.call(root.key, 'POST', `${A}/keys`, { kind: 'org', tenant: 'acme' })
    expect(refused.status).toBe(400)
    expect(refused.json().field).toBe('tenant')
  })
})

describe('connection facts (clientInfo) reach the authorizer', () => {
  async function restricted() {
    const f = await fixture({ handler: { clientInfo: () => ({ remoteAddress: '10.9.9.9' }) } })
    const admin = await f.manager.issue({ kind: 'org', tenant: 'acme', allowedIps: ['10.0.0.0/8'] })
    return { f, key: admin.key }
  }

  it('refuses an allowlisted admin key when the address is unknown (fail closed)', async () => {
    const store = new MemoryKeyStore()
    const manager = new KeyManager(store)
    const handler = createAdminHandler({ manager, authorizer: createAuthorizer({ store }) })
    const { key } = await manager.issue({ kind: 'org', tenant: 'acme', allowedIps: ['10.0.0.0/8'] })
    const r = await handler(new Request('http://127.0.0.1/admin/api/me', { headers: { 'x-api-key': key } }))
    expect(r.status).toBe(403)
    expect(((await r.json()) as { code: string }).code).toBe('ip_not_allowed')
  })

  it('uses the clientInfo option when the mount passes nothing', async () => {
    const { f, key } = await restricted()
    expect((await f.call(key, 'GET', `${A}/me`, undefined, { client: null })).status).toBe(200)
  })

  it('prefers the second argument over the clientInfo option', async () => {
    const { f, key } = await restricted()
    const r = await f.call(key, 'GET', `${A}/me`, undefined, { client: { remoteAddress: '192.0.2.1' } })
    expect(r.status).toBe(403)
    expect(r.json().code).toBe('ip_not_allowed')
  })

  it('passes `secure` through, so requireTls refuses plain HTTP and admits TLS', async () => {
    const f = await fixture({ authorizer: { requireTls: true } })
    expect((await f.call(f.acme, 'GET', `${A}/me`, undefined, { client: { secure: false } })).json().code).toBe('insecure_transport')
    expect((await f.call(f.acme, 'GET', `${A}/me`, undefined, { client: { secure: true } })).status).toBe(200)
  })

  it('ignores a second argument of the wrong shape instead of trusting it', async () => {
    const { f, key } = await restricted()
    // e.g. Hono's `mount` passes its env here: no remoteAddress string, so the option applies.
    const r = await f.call(key, 'GET', `${A}/me`, undefined, { client: { remoteAddress: 42 } as unknown as { remoteAddress: string } })
    expect(r.status).toBe(403)
  })
})

describe('explicit grants: each admin route is the operation admin:<operationId>', () => {
  it('denies an org key until the route is granted, and only that route', async () => {
    const f = await fixture({ authorizer: { explicitGrants: true } })
    const denied = await f.call(f.acme, 'GET', `${A}/keys`)
    expect(denied.status).toBe(403)
    expect(denied.json().detail).toBe('The operation "admin:listKeys" has not been granted to the API key.')
    await f.manager.grant(f.acmeId, ['admin:listKeys'])
    expect((await f.call(f.acme, 'GET', `${A}/keys`)).status).toBe(200)
    expect((await f.call(f.acme, 'GET', `${A}/groups`)).status).toBe(403)
  })
})

describe('createAdminHandler validates its options', () => {
  const store = new MemoryKeyStore()
  const manager = new KeyManager(store)
  const authorizer = createAuthorizer({ store })

  it.each([
    ['no manager', { authorizer }, TypeError, /^manager:/],
    ['no authorizer', { manager }, TypeError, /^authorizer:/],
    ['a permission no role holds', { manager, authorizer, permission: 'keys:administer' }, RangeError, /^permission: "keys:administer" is not held by any role/],
    ['a permission that is not a string', { manager, authorizer, permission: 7 }, TypeError, /^permission:/],
    ['a relative base path', { manager, authorizer, basePath: 'admin' }, RangeError, /^basePath:/],
    ['a trailing slash', { manager, authorizer, basePath: '/admin/' }, RangeError, /^basePath:/],
    ['a dot-dot segment', { manager, authorizer, basePath: '/a/../b' }, RangeError, /^basePath:/],
    ['a tiny body limit', { manager, authorizer, maxBodyBytes: 10 }, RangeError, /^maxBodyBytes:/],
    ['a fractional body limit', { manager, authorizer, maxBodyBytes: 1.5 }, TypeError, /^maxBodyBytes:/],
    ['a console scheme it cannot speak', { manager, authorizer, consoleScheme: 'contrast' }, RangeError, /^consoleScheme:/],
    ['a non-function onAudit', { manager, authorizer, onAudit: 'log' }, TypeError, /^onAudit:/],
    ['a non-function clientInfo', { manager, authorizer, clientInfo: {} }, TypeError, /^clientInfo:/],
    ['a non-boolean console', { manager, authorizer, console: 'yes' }, TypeError, /^console:/],
  ])('refuses %s', (_label, options, type, message) => {
    expect(() => createAdminHandler(options as unknown as Parameters<typeof createAdminHandler>[0])).toThrow(type)
    expect(() => createAdminHandler(options as unknown as Parameters<typeof createAdminHandler>[0])).toThrow(message)
  })

  it('never mutates the options it is given', () => {
    const options = Object.freeze({ manager, authorizer, basePath: '/keys-admin', permission: undefined })
    const copy = { ...options }
    expect(() => createAdminHandler(options)).not.toThrow()
    expect(options).toEqual(copy)
  })

  it('throws a TypeError for something that is not a Request (misuse, not input)', async () => {
    const handler = createAdminHandler({ manager, authorizer })
    await expect(handler({ url: '/admin/api/me' } as unknown as Request)).rejects.toThrow(/^request:/)
  })
})
