/**
 * What a user key may do given its owner's directory entry: role precedence (the key never
 * exceeds its owner, and by default never exceeds its own role), a role per product, grants per
 * user, and `describe()` ("my access"), through authorize() on every key-backed path.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createAuthorizer, defineRoles, insightAppSecRoles, KeyManager, MemoryKeyStore, readHeader, type AuthRequest } from '../../src/index.js'
import { harness, PEPPER, seen } from '../_support/core.js'

const ROLES = ['Product Admin', 'Read Write', 'Read Only'] as const
const PERMS = insightAppSecRoles.all.list().flatMap((p) => {
  const [r] = p.split(':')
  return ['read', 'manage', 'administer'].map((l) => `${r}:${l}`).filter((x) => insightAppSecRoles.lookup(x))
})
const has = (role: string | undefined, p: string): boolean => role !== undefined && insightAppSecRoles.permissionsOf(role)!.has(p)

describe('rolePrecedence', () => {
  it('never lets a key exceed its own role or its owner\'s under the default, and follows the owner under owner', async () => {
    const h = harness()
    const keys = new Map<string, string>()
    for (const kr of [...ROLES, undefined]) {
      for (const or of [...ROLES, undefined]) {
        const owner = `u-${kr ?? 'none'}-${or ?? 'none'}`.replaceAll(' ', '_')
        if (or !== undefined) await h.manager.setOwner(owner, { role: or, active: true })
        const { key } = await h.issue({ kind: 'user', owner, ...(kr === undefined ? {} : { role: kr }) })
        keys.set(owner, key)
      }
    }
    const byDefault = h.authorizer()
    const byOwner = h.authorizer({ rolePrecedence: 'owner' })
    const byKey = h.authorizer({ rolePrecedence: 'key' })
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROLES, undefined), fc.constantFrom(...ROLES, undefined), fc.constantFrom(...PERMS), async (kr, or, p) => {
        const key = keys.get(`u-${kr ?? 'none'}-${or ?? 'none'}`.replaceAll(' ', '_'))!
        const req = { headers: { 'x-api-key': key } }
        const keyWins = or === undefined ? has(kr, p) : kr === undefined ? has(or, p) : has(kr, p) && has(or, p)
        const ownerWins = or === undefined ? has(kr, p) : has(or, p)
        expect((await byDefault(req, p as never)).allow).toBe(keyWins)
        expect((await byKey(req, p as never)).allow).toBe(keyWins)
        expect((await byOwner(req, p as never)).allow).toBe(ownerWins)
      }),
      { numRuns: 300 },
    )
  })

  it('denies a Self Service key write access its owner\'s directory role would give (Ivanti In Role is per key)', async () => {
    const roles = defineRoles({ levels: ['read', 'write'], roles: { 'Self Service': ['incidents:read'], Administrator: ['incidents:write'] } })
    const store = new MemoryKeyStore()
    const manager = new KeyManager(store, { roles })
    await manager.setOwner('svc@acme', { role: 'Administrator', active: true })
    const { key } = await manager.issue({ kind: 'user', owner: 'svc@acme', role: 'Self Service' })
    const auth = createAuthorizer({ store, roles })
    const req: AuthRequest = { method: 'POST', headers: { 'x-api-key': key } }
    expect(seen(await auth.authorize(req, 'incidents:write'))).toMatchObject({ status: 403, code: 'insufficient_permission' })
    const d = await auth.authorize(req, 'incidents:read')
    expect(d.allow && d.principal.role).toBe('Self Service')
    const admin = await manager.issue({ kind: 'user', owner: 'svc@acme', role: 'Administrator' })
    expect((await auth.authorize({ ...req, headers: { 'x-api-key': admin.key } }, 'incidents:write')).allow).toBe(true)
  })

  it('caps a key at its owner\'s role when the owner is demoted, under either precedence', async () => {
    const h = harness()
    await h.manager.setOwner('ana', { role: 'Product Admin', active: true })
    const { key } = await h.issue({ kind: 'user', owner: 'ana', role: 'Product Admin' })
    for (const rolePrecedence of ['key', 'owner'] as const) {
      const auth = h.authorizer({ rolePrecedence })
      await h.manager.setOwner('ana', { role: 'Product Admin', active: true })
      expect((await auth({ headers: { 'x-api-key': key } }, 'scans:manage')).allow).toBe(true)
      await h.manager.setOwner('ana', { role: 'Read Only', active: true })
      expect(seen(await auth({ headers: { 'x-api-key': key } }, 'scans:manage'))).toMatchObject({ status: 403, code: 'insufficient_permission' })
    }
  })

  it('refuses an unknown precedence naming the field', () => {
    const h = harness()
    expect(() => createAuthorizer({ store: h.store, rolePrecedence: 'owners' as never })).toThrow(/rolePrecedence/)
  })
})

describe('a role per product', () => {
  async function setup() {
    const h = harness()
    await h.manager.setOwner('cy', { roles: { appsec: 'Read Write', vm: 'Read Only' }, active: true })
    await h.manager.setOwner('di', { role: 'Read Only', roles: { appsec: 'Product Admin' }, active: true })
    const cy = await h.issue({ kind: 'user', owner: 'cy' })
    const di = await h.issue({ kind: 'user', owner: 'di' })
    const org = await h.issue({ kind: 'org', owner: 'cy' })
    return { h, cy, di, org }
  }

  it('lets a user key act with its owner\'s role in the product the route names', async () => {
    const { h, cy } = await setup()
    const auth = h.authorizer({ rolePrecedence: 'owner' })
    const req = { headers: { 'x-api-key': cy.key } }
    expect((await auth(req, { permission: 'scans:manage', product: 'appsec' })).allow).toBe(true)
    expect(seen(await auth(req, { permission: 'scans:manage', product: 'vm' }))).toMatchObject({ status: 403, code: 'insufficient_permission' })
    expect((await auth(req, { permission: 'scans:read', product: 'vm' })).allow).toBe(true)
  })

  it('gives nothing in a product the owner has no role in, nor on a route naming no product, when the owner has no single role', async () => {
    const { h, cy } = await setup()
    for (const rolePrecedence of ['key', 'owner'] as const) {
      const auth = h.authorizer({ rolePrecedence })
      const req = { headers: { 'x-api-key': cy.key } }
      expect(seen(await auth(req, { permission: 'scans:read', product: 'idr' }))).toMatchObject({ status: 403, code: 'insufficient_permission' })
      expect(seen(await auth(req, 'scans:read'))).toMatchObject({ status: 403, code: 'insufficient_permission' })
    }
  })

  it('falls back to the owner\'s single role in products its map does not name', async () => {
    const { h, di } = await setup()
    const auth = h.authorizer({ rolePrecedence: 'owner' })
    const req = { headers: { 'x-api-key': di.key } }
    expect((await auth(req, { permission: 'global-blackouts:manage', product: 'appsec' })).allow).toBe(true)
    expect(seen(await auth(req, { permission: 'scans:manage', product: 'vm' }))).toMatchObject({ status: 403 })
    expect((await auth(req, { permission: 'scans:read', product: 'vm' })).allow).toBe(true)
  })

  it('lets an Org key reach every product', async () => {
    const { h, org } = await setup()
    const auth = h.authorizer()
    for (const product of ['appsec', 'vm', 'idr']) {
      expect((await auth({ headers: { 'x-api-key': org.key } }, { permission: 'global-blackouts:manage', product })).allow).toBe(true)
    }
  })

  it('treats a corrupt per-product entry as no role', async () => {
    const h = harness()
    await h.store.putOwner('eve', { roles: 'Product Admin' as never, active: true })
    await h.store.putOwner('fay', { roles: { appsec: 42 } as never, role: 'Product Admin', active: true })
    const eve = await h.issue({ kind: 'user', owner: 'eve', role: 'Product Admin' })
    const fay = await h.issue({ kind: 'user', owner: 'fay', role: 'Product Admin' })
    const auth = h.authorizer({ rolePrecedence: 'owner' })
    expect((await auth({ headers: { 'x-api-key': eve.key } }, { permission: 'scans:read', product: 'appsec' })).allow).toBe(false)
    expect((await auth({ headers: { 'x-api-key': fay.key } }, { permission: 'scans:read', product: 'appsec' })).allow).toBe(false)
  })

  it('refuses an invalid product in a need and in a directory entry, naming the field', async () => {
    const h = harness()
    const a = createAuthorizer({ store: h.store })
    expect(() => a.need({ permission: 'scans:read', product: '' })).toThrow(/need\.product/)
    expect(() => a.need({ permission: 'scans:read', product: '__proto__' })).toThrow(/need\.product/)
    await expect(h.manager.setOwner('x', { roles: { 'a b': 'Read Only' }, active: true })).rejects.toThrow(/roles/)
    await expect(h.manager.setOwner('x', { roles: { appsec: 'Reader' }, active: true })).rejects.toThrow(/roles\["appsec"\]/)
    await expect(h.manager.setOwner('x', { role: 'Read Only', rights: [], active: true } as never)).rejects.toThrow(/rights/)
  })
})

describe('grants per user', () => {
  it('holds the owner\'s grants for every key of the owner, merged with the key\'s own, and drops them when revoked', async () => {
    const h = harness()
    await h.manager.setOwner('ana', { grants: ['getProjects'], active: true })
    const a = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const b = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', grants: ['getVulnerabilities'] })
    const other = await h.issue({ kind: 'user', owner: 'bob', role: 'Read Only' })
    const auth = h.authorizer({ explicitGrants: true })
    const op = (operation: string) => ({ operation })
    expect((await auth({ headers: { 'x-api-key': a.key } }, op('getProjects'))).allow).toBe(true)
    expect((await auth({ headers: { 'x-api-key': b.key } }, op('getProjects'))).allow).toBe(true)
    expect((await auth({ headers: { 'x-api-key': b.key } }, op('getVulnerabilities'))).allow).toBe(true)
    expect(seen(await auth({ headers: { 'x-api-key': a.key } }, op('getVulnerabilities')))).toMatchObject({ status: 403, code: 'operation_not_granted' })
    expect(seen(await auth({ headers: { 'x-api-key': other.key } }, op('getProjects')))).toMatchObject({ status: 403, code: 'operation_not_granted' })
    await h.manager.setOwner('ana', { active: true })
    expect(seen(await auth({ headers: { 'x-api-key': a.key } }, op('getProjects')))).toMatchObject({ status: 403, code: 'operation_not_granted' })
  })
})

describe('describe()', () => {
  it('answers "my access" under explicitGrants with role, permissions and grants, and never the key or its hash', async () => {
    const h = harness()
    await h.manager.setOwner('ana', { roles: { appsec: 'Read Write' }, grants: ['getProjects'], active: true })
    const { key, id } = await h.issue({ kind: 'user', owner: 'ana', grants: ['getScans'] })
    const a = createAuthorizer({ store: h.store, pepper: PEPPER, explicitGrants: true, rolePrecedence: 'owner' })
    const req: AuthRequest = { method: 'GET', url: '/api/me', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' }
    expect((await a.authorize(req)).allow).toBe(false)
    const d = await a.describe(req, { product: 'appsec' })
    if (!d.allow) throw new Error(`denied: ${d.reason}`)
    expect({ keyId: d.principal.keyId, role: d.principal.role, grants: [...d.principal.grants].sort() }).toEqual({ keyId: id, role: 'Read Write', grants: ['getProjects', 'getScans'] })
    expect(d.principal.permissions).toContain('scans:manage')
    const text = JSON.stringify(d)
    const record = await h.manager.get(id)
    expect(text).not.toContain(key)
    expect(text).not.toContain(record!.hash)
  })

  it('denies as a route would: unknown key 401, another tenant 401, and refuses unknown options', async () => {
    const h = harness()
    const { key } = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', tenant: 't1' })
    const a = createAuthorizer({ store: h.store, pepper: PEPPER, tenant: (_r, header) => header('x-tenant') })
    const req = (tenant: string, k = key): AuthRequest => ({ method: 'GET', headers: { 'x-api-key': k, 'x-tenant': tenant } })
    expect((await a.describe(req('t1'))).allow).toBe(true)
    expect(seen(await a.describe(req('t2')))).toMatchObject({ status: 401, code: 'invalid_credentials', reason: 'tenant_mismatch' })
    expect(seen(await a.describe(req('t1', 'kw_nope')))).toMatchObject({ status: 401 })
    await expect(a.describe(req('t1'), { products: 'x' } as never)).rejects.toThrow(/products/)
  })
})

describe('the header reader of user callbacks', () => {
  const shapes: [string, AuthRequest['headers']][] = [
    ['a Node record', { 'x-tenant': ' acme\t' }],
    ['a Node record with an array value', { 'X-Tenant': ['acme'] }],
    ['Node rawHeaders', ['Host', 'x', 'X-TENANT', 'acme']],
    ['a Fetch Headers', new Headers({ 'x-tenant': 'acme' })],
  ]
  for (const [what, headers] of shapes) {
    it(`reads one header case-insensitively from ${what}`, async () => {
      expect(readHeader({ method: 'GET', headers }, 'x-Tenant')).toBe('acme')
      const h = harness()
      const { key } = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', tenant: 'acme' })
      const auth = h.authorizer({ tenant: (_request, header) => header('X-Tenant') })
      const withKey = Array.isArray(headers) ? [...headers, 'x-api-key', key] : headers instanceof Headers ? new Headers([...headers, ['x-api-key', key]]) : { ...headers, 'x-api-key': key }
      expect((await auth({ headers: withKey }, 'scans:read')).allow).toBe(true)
    })
  }

  it('reads a repeated or absent header as undefined, so the request matches no tenant', async () => {
    expect(readHeader({ method: 'GET', headers: { 'x-tenant': ['acme', 'globex'] } }, 'x-tenant')).toBeUndefined()
    expect(readHeader({ method: 'GET', headers: ['x-tenant', 'acme', 'X-Tenant', 'globex'] }, 'x-tenant')).toBeUndefined()
    expect(readHeader({ method: 'GET', headers: {} }, 'x-tenant')).toBeUndefined()
    const h = harness()
    const { key } = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', tenant: 'acme' })
    const auth = h.authorizer({ tenant: (_request, header) => header('x-tenant') })
    expect(seen(await auth({ headers: { 'x-api-key': key, 'x-tenant': ['acme', 'acme'] } }, 'scans:read'))).toMatchObject({ status: 401, reason: 'tenant_mismatch' })
  })

  it('refuses a name that is not a header field name', () => {
    expect(() => readHeader({ method: 'GET', headers: {} }, 'x tenant')).toThrow(TypeError)
    expect(() => readHeader({ method: 'GET', headers: {} }, '')).toThrow(TypeError)
  })
})

describe('extending a preset', () => {
  it('adds a Trial role that reads what Read Only reads, without changing the preset', () => {
    const roles = insightAppSecRoles.extend({ roles: { Trial: 'Read Only', Triage: ['vulnerabilities:manage', 'scans:read'] } })
    expect(roles.permissionsOf('Trial')!.list()).toEqual(insightAppSecRoles.permissionsOf('Read Only')!.list())
    expect(roles.permissionsOf('Trial')!.has('scans:manage')).toBe(false)
    expect(roles.names).toEqual([...insightAppSecRoles.names, 'Trial', 'Triage'])
    expect(insightAppSecRoles.has('Trial')).toBe(false)
    const again = defineRoles({ ...roles.definition, roles: { ...roles.definition.roles, Auditor: ['files:read'] } })
    expect(again.permissionsOf('Auditor')!.list()).toEqual(['files:read'])
  })

  it('refuses to redefine a role, to copy an unknown one, or an unknown field', () => {
    expect(() => insightAppSecRoles.extend({ roles: { 'Read Only': ['scans:manage'] } })).toThrow(/already a role/)
    expect(() => insightAppSecRoles.extend({ roles: { Trial: 'Read-Only' } })).toThrow(/unknown role/)
    expect(() => insightAppSecRoles.extend({ roles: {}, levels: [] } as never)).toThrow(/levels/)
  })
})
