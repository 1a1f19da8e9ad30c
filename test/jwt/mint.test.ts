/**
 * Minting at the edge (`mintToken`) and verifying inward (`schemes.jwt`): the inner service
 * rebuilds the same principal (permissions, tenant, grants) without the key or a key store; a
 * revoked key stops minting at once; a minted token lives `ttlSec` (+ the verifier's clock
 * tolerance) and no longer.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { createAuthorizer, type Authorizer } from '../../src/authorize.js'
import { hashKey } from '../../src/keys/hash.js'
import { schemes } from '../../src/schemes/index.js'
import { KeyManager } from '../../src/stores/manager.js'
import { MemoryKeyStore } from '../../src/stores/memory.js'
import { mintToken, type MintTokenOptions } from '../../src/tokens.js'
import type { AuthRequest, Principal } from '../../src/types.js'
import { testClock } from '../_support/clock.js'
import { asDeny, ecKeys, expectInvalidToken, T0 } from './_helpers.js'

const signing = ecKeys()
const clock = testClock()
const mintOptions = (extra: Partial<MintTokenOptions> = {}): MintTokenOptions => ({
  key: signing.privateKey, algorithm: 'ES256', issuer: 'https://edge.test', audience: 'scans-service', ttlSec: 120, now: clock.now, ...extra,
})
const req = (headers: AuthRequest['headers'], tenant = 'acme'): AuthRequest => ({ method: 'POST', url: `/t/${tenant}/scans`, headers, remoteAddress: '127.0.0.1' })
const tenantOf = (r: AuthRequest) => r.url?.split('/')[2]

let store: MemoryKeyStore
let manager: KeyManager
let edge: Authorizer
let inner: Authorizer

beforeEach(() => {
  clock.set(T0)
  store = new MemoryKeyStore()
  manager = new KeyManager(store, { now: clock.now })
  edge = createAuthorizer({ store, schemes: [schemes.apiKeyHeader()], tenant: tenantOf, now: clock.now })
  inner = createAuthorizer({
    store: new MemoryKeyStore(), // the inner service has no keys at all
    schemes: [schemes.bearer(), schemes.jwt({ key: signing.publicKey, algorithms: ['ES256'], issuer: 'https://edge.test', audience: 'scans-service', typ: 'keyward+jwt' })],
    tenant: tenantOf,
    explicitGrants: true,
    now: clock.now,
  })
})

async function principalFor(key: string, need?: string): Promise<Principal> {
  const d = await edge.authorize(req({ 'x-api-key': key }), need)
  if (!d.allow) throw new Error(`edge denied: ${d.reason}`)
  return d.principal
}

const view = (p: Principal) => ({ keyId: p.keyId, kind: p.kind, tenant: p.tenant, owner: p.owner, role: p.role, group: p.group, grants: [...p.grants], permissions: [...p.permissions] })

describe('a minted token rebuilds the same principal inward', () => {
  it('for a user key in a group, narrowed by scopes, with grants', async () => {
    const group = await manager.createGroup({ name: 'ci', tenant: 'acme' })
    const { key } = await manager.issue({
      kind: 'user', tenant: 'acme', group: group.id, owner: 'ana@acme.test', role: 'Product Admin',
      scopes: ['scans:manage', 'targets:read', 'apps:read'], grants: ['scans.create', 'scans.list'],
    })
    const p = await principalFor(key)
    const token = await mintToken(p, mintOptions())
    const d = await inner.authorize(req({ authorization: `Bearer ${token}` }), { permission: 'scans:manage', operation: 'scans.create' })
    expect(d.allow).toBe(true)
    if (!d.allow) return
    expect(view(d.principal)).toEqual(view(p))
    expect(d.principal.scheme).toBe('jwt')
    // Narrowed stays narrowed: the Product Admin role is not re-widened inward.
    expect(d.principal.can('targets:manage')).toBe(false)
    expect(asDeny(await inner.authorize(req({ authorization: `Bearer ${token}` }), { permission: 'targets:manage', operation: 'scans.create' })).status).toBe(403)
    // Grants travel: an operation not granted is refused inward too.
    expect(asDeny(await inner.authorize(req({ authorization: `Bearer ${token}` }), { operation: 'scans.delete' })).code).toBe('operation_not_granted')
  })

  it('for an Org key: every permission of the matrix, in its tenant only', async () => {
    const { key } = await manager.issue({ kind: 'org', tenant: 'acme', grants: ['everything'] })
    const p = await principalFor(key)
    const token = await mintToken(p, mintOptions())
    const d = await inner.authorize(req({ authorization: `Bearer ${token}` }), { permission: 'global-blackouts:manage', operation: 'everything' })
    expect(d.allow && view(d.principal)).toEqual(view(p))
    const other = asDeny(await inner.authorize(req({ authorization: `Bearer ${token}` }, 'globex'), { operation: 'everything' }))
    expect([other.status, other.reason]).toEqual([401, 'tenant_mismatch'])
  })

  it('for a user key with no permissions left: the token grants nothing', async () => {
    const { key } = await manager.issue({ kind: 'user', tenant: 'acme', owner: 'cy', role: 'Read Only', scopes: [] })
    const p = await principalFor(key)
    expect(p.permissions).toEqual([])
    const token = await mintToken(p, mintOptions())
    const d = asDeny(await inner.authorize(req({ authorization: `Bearer ${token}` }), { permission: 'scans:read', operation: 'x' }))
    expect(d.status).toBe(403)
  })

  it('is refused by a service it was not minted for (audience), and by a non-minted-token verifier typ', async () => {
    const { key } = await manager.issue({ kind: 'user', tenant: 'acme', owner: 'ana', role: 'Read Only' })
    const token = await mintToken(await principalFor(key), mintOptions())
    const billing = createAuthorizer({
      store: new MemoryKeyStore(),
      schemes: [schemes.jwt({ key: signing.publicKey, algorithms: ['ES256'], issuer: 'https://edge.test', audience: 'billing', typ: 'keyward+jwt' })],
      now: clock.now,
    })
    expectInvalidToken(await billing.authorize(req({ authorization: `Bearer ${token}` })), token)
  })
})

describe('what a minted token carries', () => {
  it('holds the principal and never the key, its hash or the metadata', async () => {
    const { key, record } = await manager.issue({ kind: 'user', tenant: 'acme', owner: 'ana', role: 'Read Only', metadata: { note: 'private-note' } })
    const token = await mintToken(await principalFor(key), mintOptions({ kid: 'edge-1' }))
    const [h, pl] = token.split('.') as [string, string]
    const header = JSON.parse(Buffer.from(h, 'base64url').toString())
    const payload = JSON.parse(Buffer.from(pl, 'base64url').toString())
    expect(header).toEqual({ alg: 'ES256', typ: 'keyward+jwt', kid: 'edge-1' })
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'kw_key', 'kw_kind', 'kw_role', 'kw_tenant', 'scope', 'sub'])
    expect(payload).toMatchObject({ iss: 'https://edge.test', aud: 'scans-service', sub: 'ana', kw_key: record.id, kw_kind: 'user', kw_tenant: 'acme', kw_role: 'Read Only' })
    expect(payload.exp - payload.iat).toBe(120)
    expect(payload.iat).toBe(T0 / 1000)
    const text = Buffer.from(pl, 'base64url').toString() + token
    for (const secret of [key, record.hash, hashKey(key), 'private-note']) expect(text).not.toContain(secret)
  })

  it('gives each token its own jti', async () => {
    const { key } = await manager.issue({ kind: 'user', tenant: 'acme', owner: 'ana', role: 'Read Only' })
    const p = await principalFor(key)
    const jtis = new Set<string>()
    for (let i = 0; i < 5; i++) jtis.add(JSON.parse(Buffer.from((await mintToken(p, mintOptions())).split('.')[1]!, 'base64url').toString()).jti)
    expect(jtis.size).toBe(5)
  })
})

describe('revocation and lifetime', () => {
  it('a revoked key stops minting at once; minted tokens live ttlSec plus the clock tolerance', async () => {
    const { key, record } = await manager.issue({ kind: 'user', tenant: 'acme', owner: 'ana', role: 'Read Write' })
    const token = await mintToken(await principalFor(key, 'scans:manage'), mintOptions({ ttlSec: 120 }))
    await manager.deactivate(record.id)

    // At once: the edge denies the key, so there is no principal to mint from.
    const denied = asDeny(await edge.authorize(req({ 'x-api-key': key }), 'scans:manage'))
    expect([denied.status, denied.reason]).toEqual([401, 'key_disabled'])

    // The token already minted keeps working inward until exp (+60 s tolerance), not after.
    const use = () => inner.authorize(req({ authorization: `Bearer ${token}` }), { permission: 'scans:manage', operation: 'x' })
    clock.set(T0 + 119_000)
    expect(asDeny(await use()).code).toBe('operation_not_granted') // authenticated: only the grant is missing
    clock.set(T0 + 179_000)
    expect(asDeny(await use()).code).toBe('operation_not_granted')
    clock.set(T0 + 181_000)
    expectInvalidToken(await use(), token)
  })

  it('refuses to mint from a principal that a token authenticated (no renewal past revocation)', async () => {
    const { key } = await manager.issue({ kind: 'user', tenant: 'acme', owner: 'ana', role: 'Read Write', grants: ['x'] })
    const token = await mintToken(await principalFor(key), mintOptions())
    const d = await inner.authorize(req({ authorization: `Bearer ${token}` }), { operation: 'x' })
    expect(d.allow).toBe(true)
    if (!d.allow) return
    await expect(mintToken(d.principal, mintOptions())).rejects.toThrow(RangeError)
    await expect(mintToken(d.principal, mintOptions())).rejects.toThrow(/^principal: was authenticated by a token/)
  })
})
