/**
 * What an administrator admitted by `permission` can never obtain through the admin API, end to
 * end (admin HTTP call, then the authorizer the API is protected by):
 * - a key that may one day act with a role beyond the caller's own (its stored role applies once
 *   the owner's directory entry loses its role);
 * - the secret of a key acting for anyone else (issue for another owner, rotate a peer's key);
 * and what no token can do: administer (minted tokens outlive the key they were minted from).
 */
import { describe, expect, it } from 'vitest'
import { cachedStore, createAuthorizer, defineRoles, KeyManager, MemoryKeyStore, mintToken, schemes } from '../../src/index.js'
import { createAdminHandler } from '../../src/admin/index.js'
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

describe('a permission-based administrator cannot create a latent escalation', () => {
  /**
   * Kim administers through her directory role (Key Admin); her key's own stored role is Reader.
   * Any key acting for Kim acts as Key Admin today, and with its stored role once the directory
   * entry loses its role. (The owner's role replaces the key's: `rolePrecedence: 'owner'`.)
   */
  async function setup(): Promise<{ f: Fixture; kim: string }> {
    const f = await fixture({ roles, authorizer: { rolePrecedence: 'owner' }, handler: { permission: 'keys:administer' } })
    await f.manager.setOwner('kim', { role: 'Key Admin', active: true })
    const kim = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'kim', role: 'Reader' })
    return { f, kim: kim.key }
  }

  const manage = (f: Fixture, key: string): Promise<boolean> => f.allowed(key, 'scans:manage')

  it('is a real path: an org key may create it, and the key acts with its stored role once the directory role is gone', async () => {
    const { f } = await setup()
    const r = await f.call(f.acme, 'POST', `${A}/keys`, { kind: 'user', owner: 'kim', role: 'Writer' })
    expect(r.status).toBe(201)
    const { key } = r.json<Issued>()
    expect(await manage(f, key)).toBe(false)
    await f.manager.setOwner('kim', { active: true })
    expect(await manage(f, key)).toBe(true)
  })

  type Case = readonly [label: string, existing: Record<string, unknown> | undefined, method: string, suffix: string, body: Record<string, unknown>]
  const CASES: readonly Case[] = [
    ['creates a key whose stored role is broader than the owner\'s current role', undefined, 'POST', '', { kind: 'user', owner: 'kim', role: 'Writer' }],
    ['creates such a key for a peer whose directory role is narrow', undefined, 'POST', '', { kind: 'user', owner: 'rob', role: 'Writer' }],
    ['raises the stored role of a key whose owner\'s role is narrow', { owner: 'kim', role: 'Reader' }, 'PATCH', '', { role: 'Writer' }],
    ['lifts the scopes that kept a stored role within its rights', { owner: 'kim', role: 'Writer', scopes: ['scans:read'] }, 'PATCH', '', { scopes: null }],
    ['moves a key with a broad stored role to an owner whose directory role is narrow', { owner: 'nobody', role: 'Reader' }, 'PATCH', '', { owner: 'kim', role: 'Writer' }],
    ['grants an operation beyond its own to such a key', { owner: 'kim', role: 'Reader' }, 'POST', '/grants/add', { operations: ['deleteProjects'] }],
  ]

  it.each(CASES)('refuses when it %s: 403 exceeds_caller_rights, nothing written, nothing can act beyond its rights later', async (_l, existing, method, suffix, body) => {
    const { f, kim } = await setup()
    await f.manager.setOwner('rob', { role: 'Reader', active: true })
    const target = existing === undefined ? undefined : await f.manager.issue({ kind: 'user', tenant: 'acme', ...existing } as never)
    const before = target === undefined ? undefined : await snapshot(f, target.record.id)
    const size = f.store.size
    const path = target === undefined ? `${A}/keys` : `${A}/keys/${target.record.id}${suffix}`
    const r = await f.call(kim, method, path, body)
    expect(r.status).toBe(403)
    expect(r.json().code).toBe('exceeds_caller_rights')
    expect(f.store.size).toBe(size)
    if (target !== undefined) expect(await snapshot(f, target.record.id)).toEqual(before)
    // The directory entries lose their roles: no key in the store may now act beyond Kim's rights.
    await f.manager.setOwner('kim', { active: true })
    await f.manager.setOwner('rob', { active: true })
    if (target !== undefined) expect(await manage(f, target.key)).toBe(false)
  })

  it('refuses to touch a key whose stored role exceeds its rights even while the owner\'s role is narrow', async () => {
    const { f, kim } = await setup()
    const latent = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'kim', role: 'Writer' })
    for (const [method, suffix, body] of [['POST', '/deactivate', undefined], ['PATCH', '', { description: 'x' }], ['POST', '/rotate', { graceMs: 0 }]] as const) {
      const r = await f.call(kim, method, `${A}/keys/${latent.record.id}${suffix}`, body)
      expect(r.json().code).toBe('exceeds_caller_rights')
    }
  })

  it('still issues and edits keys within its rights under both roles', async () => {
    const { f, kim } = await setup()
    const r = await f.call(kim, 'POST', `${A}/keys`, { kind: 'user', owner: 'kim', role: 'Reader' })
    expect(r.status).toBe(201)
    const { record, key } = r.json<Issued>()
    expect((await f.call(kim, 'PATCH', `${A}/keys/${record.id}`, { role: 'Key Admin', scopes: ['scans:read'] })).status).toBe(200)
    await f.manager.setOwner('kim', { active: true })
    expect(await f.allowed(key, 'scans:read')).toBe(true)
    expect(await manage(f, key)).toBe(false)
  })
})

describe('only the owner or an org administrator obtains a key\'s secret', () => {
  /** The InsightAppSec matrix with `permission: 'apps:read'`: every Read Only user administers. */
  async function setup(): Promise<{ f: Fixture; ana: { key: string; id: string }; bob: { key: string; id: string } }> {
    const f = await fixture({ handler: { permission: 'apps:read' } })
    const ana = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'ana', role: 'Read Only' })
    const bob = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'bob', role: 'Read Only' })
    return { f, ana: { key: ana.key, id: ana.record.id }, bob: { key: bob.key, id: bob.record.id } }
  }

  it('refuses a peer\'s rotation with 403 not_key_owner: no secret, the peer\'s key unchanged and still working', async () => {
    const { f, ana, bob } = await setup()
    const before = await snapshot(f, bob.id)
    const r = await f.call(ana.key, 'POST', `${A}/keys/${bob.id}/rotate`, { graceMs: 0 })
    expect(r.status).toBe(403)
    expect(r.json().code).toBe('not_key_owner')
    expect(r.text).not.toMatch(/"key"/)
    expect(await snapshot(f, bob.id)).toEqual(before)
    expect(await f.allowed(bob.key, 'apps:read')).toBe(true)
  })

  it('refuses to issue a key acting for another owner, and to hand one of its keys to another owner', async () => {
    const { f, ana } = await setup()
    const size = f.store.size
    const issued = await f.call(ana.key, 'POST', `${A}/keys`, { kind: 'user', owner: 'bob', role: 'Read Only' })
    expect(issued.status).toBe(403)
    expect(issued.json().code).toBe('not_key_owner')
    expect(f.store.size).toBe(size)
    const own = (await f.call(ana.key, 'POST', `${A}/keys`, { kind: 'user', owner: 'ana', role: 'Read Only' })).json<Issued>()
    const moved = await f.call(ana.key, 'PATCH', `${A}/keys/${own.record.id}`, { owner: 'bob' })
    expect(moved.status).toBe(403)
    expect(moved.json().code).toBe('not_key_owner')
    expect((await snapshot(f, own.record.id))?.owner).toBe('ana')
  })

  it('rotates its own keys, the one in use included, and receives the new secret', async () => {
    const { f, ana } = await setup()
    const other = (await f.call(ana.key, 'POST', `${A}/keys`, { kind: 'user', owner: 'ana', role: 'Read Only' })).json<Issued>()
    const r1 = await f.call(ana.key, 'POST', `${A}/keys/${other.record.id}/rotate`, { graceMs: 0 })
    expect(r1.status).toBe(200)
    expect(await f.allowed(r1.json<Issued>().key, 'apps:read')).toBe(true)
    const r2 = await f.call(ana.key, 'POST', `${A}/keys/${ana.id}/rotate`, { graceMs: 0 })
    expect(r2.status).toBe(200)
    expect(await f.allowed(r2.json<Issued>().key, 'apps:read')).toBe(true)
    expect(await f.allowed(ana.key, 'apps:read')).toBe(false)
  })

  it('may still deactivate and delete a peer\'s key within its rights (no secret involved)', async () => {
    const { f, ana, bob } = await setup()
    expect((await f.call(ana.key, 'POST', `${A}/keys/${bob.id}/deactivate`)).status).toBe(200)
    expect(await f.allowed(bob.key, 'apps:read')).toBe(false)
    expect((await f.call(ana.key, 'DELETE', `${A}/keys/${bob.id}`)).status).toBe(204)
  })

  it('an org administrator rotates anyone\'s key and issues keys for anyone', async () => {
    const { f, bob } = await setup()
    expect((await f.call(f.acme, 'POST', `${A}/keys/${bob.id}/rotate`, { graceMs: 0 })).status).toBe(200)
    expect((await f.call(f.acme, 'POST', `${A}/keys`, { kind: 'user', owner: 'bob', role: 'Read Only' })).status).toBe(201)
  })
})

describe('tokens never administer', () => {
  const secret = new Uint8Array(32).fill(7)
  const jwt = () => schemes.jwt({ key: secret, algorithms: ['HS256'], issuer: 'edge', audience: 'admin' })

  async function setup(cached: boolean) {
    const memory = new MemoryKeyStore()
    const store = cached ? cachedStore(memory, { ttlMs: 60_000, negativeTtlMs: 60_000 }) : memory
    const manager = new KeyManager(store)
    const authorizer = createAuthorizer({ store, schemes: [schemes.apiKeyHeader(), jwt()], touchIntervalMs: 0 })
    const handler = createAdminHandler({ manager, authorizer })
    const admin = await manager.issue({ kind: 'org', tenant: 'acme' })
    const d = await authorizer.authorize({ method: 'GET', url: '/admin/api/me', headers: { 'x-api-key': admin.key } })
    if (!d.allow) throw new Error('the org key must be allowed')
    const token = await mintToken(d.principal, { key: secret, algorithm: 'HS256', issuer: 'edge', audience: 'admin', ttlSec: 3600 })
    const call = async (headers: Record<string, string>, method = 'GET', path = '/admin/api/me', body?: unknown) => {
      const init: RequestInit = { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) } }
      if (body !== undefined) init.body = JSON.stringify(body)
      const r = await handler(new Request(`http://127.0.0.1${path}`, init), { remoteAddress: '127.0.0.1' })
      return { status: r.status, headers: r.headers, body: (await r.json()) as { code: string } }
    }
    return { manager, authorizer, admin, token, call }
  }

  it.each([false, true])('refuses a token minted from an org key after the key is revoked (cachedStore: %s)', async (cached) => {
    const { manager, authorizer, admin, token, call } = await setup(cached)
    expect((await call({ 'x-api-key': admin.key })).status).toBe(200)
    // The authorizer itself still accepts the token: it is signed and unexpired.
    expect((await authorizer.authorize({ method: 'GET', headers: { authorization: `Bearer ${token}` } })).allow).toBe(true)
    await manager.delete(admin.record.id)
    expect((await call({ 'x-api-key': admin.key })).status).toBe(401)
    for (const [method, path, body] of [['GET', '/admin/api/me', undefined], ['POST', '/admin/api/keys', { kind: 'org' }]] as const) {
      const r = await call({ authorization: `Bearer ${token}` }, method, path, body)
      expect(r.status).toBe(401)
      expect(r.body.code).toBe('invalid_credentials')
      expect(r.headers.get('www-authenticate')).toContain('ApiKey')
    }
    expect(await manager.list({ tenant: 'acme' })).toEqual([])
  })

  it('refuses a token even while its key is live: only a key looked up in the store administers', async () => {
    const { token, call } = await setup(false)
    const r = await call({ authorization: `Bearer ${token}` }, 'POST', '/admin/api/keys', { kind: 'org' })
    expect(r.status).toBe(401)
    expect(r.body.code).toBe('invalid_credentials')
  })

  it('refuses, when the handler is created, an authorizer that accepts tokens only', () => {
    const store = new MemoryKeyStore()
    const authorizer = createAuthorizer({ store, schemes: [jwt()] })
    expect(() => createAdminHandler({ manager: new KeyManager(store), authorizer })).toThrow(/^authorizer: accepts only tokens/)
  })
})
