/**
 * From verified claims to the principal: the default mapping (what mintToken writes), custom
 * mappings for an IdP's claims, and fail-closed handling of claims of the wrong type.
 */
import { describe, expect, it } from 'vitest'
import { schemes } from '../../src/schemes/index.js'
import type { JwtClaims } from '../../src/schemes/jwt.js'
import type { AuthRequest } from '../../src/types.js'
import { asDeny, claims, compact, expectInvalidToken, harness, hs256, AUD, ISS, SECRET } from './_helpers.js'

const scheme = (map?: JwtClaims) => schemes.jwt({ key: SECRET, algorithms: ['HS256'], issuer: ISS, audience: AUD, ...(map ? { claims: map } : {}) })

describe('default mapping', () => {
  const h = harness([scheme()])

  it('maps sub → owner (and keyId when kw_key is absent), kw_* → the other fields', async () => {
    const d = await h.authorize(`Bearer ${hs256(claims({ kw_tenant: 'acme', kw_group: 'g1', kw_grants: ['scans.create'] }))}`)
    expect(d.allow).toBe(true)
    if (d.allow) {
      expect(d.principal).toMatchObject({ keyId: 'ana', owner: 'ana', tenant: 'acme', group: 'g1', role: 'Read Write', kind: 'user', scheme: 'jwt', grants: ['scans.create'] })
    }
    const withKey = await h.authorize(`Bearer ${hs256(claims({ kw_key: 'key_123' }))}`)
    expect(withKey.allow && [withKey.principal.keyId, withKey.principal.owner]).toEqual(['key_123', 'ana'])
  })

  it('bounds the role by scope, given as a space-separated string or an array', async () => {
    for (const scope of ['scans:read  apps:manage', ['scans:read', 'apps:manage']]) {
      const d = await h.authorize(`Bearer ${hs256(claims({ scope }))}`)
      expect(d.allow && d.principal.permissions).toEqual(['apps:manage', 'scans:read'])
    }
  })

  it('grants nothing for OIDC scopes or an empty scope (403), and nothing without a role', async () => {
    for (const extra of [{ scope: 'openid profile email' }, { scope: '' }, { scope: [] }, { kw_role: undefined }, { kw_role: 'No Such Role' }]) {
      const d = asDeny(await h.authorize(`Bearer ${hs256(claims(extra))}`, 'scans:read'))
      expect([d.status, d.code]).toEqual([403, 'insufficient_permission'])
    }
  })

  it('kind org holds every permission; kind user is the default', async () => {
    const org = await h.authorize(`Bearer ${hs256(claims({ kw_kind: 'org', kw_role: undefined }))}`, 'global-blackouts:manage')
    expect(org.allow && org.principal.kind).toBe('org')
    const user = asDeny(await h.authorize(`Bearer ${hs256(claims())}`, 'global-blackouts:manage'))
    expect(user.status).toBe(403)
  })

  it.each([
    ['no sub and no kw_key', { sub: undefined }],
    ['an empty sub', { sub: '' }],
    ['a numeric sub', { sub: 42 }],
    ['a sub over 256 characters', { sub: 'a'.repeat(257) }],
    ['kind "tenant" (grants nothing alone)', { kw_kind: 'tenant' }],
    ['kind "admin"', { kw_kind: 'admin' }],
    ['a numeric tenant', { kw_tenant: 7 }],
    ['a role array', { kw_role: ['Read Write'] }],
    ['grants as a string', { kw_grants: 'scans.create' }],
    ['grants with a non-string', { kw_grants: ['a', 1] }],
    ['scope as a number', { scope: 12 }],
    ['scope as an object', { scope: { 'scans:read': true } }],
    ['null group', { kw_group: null }],
  ])('refuses (invalid_token, fail closed) %s', async (_, extra) => {
    const token = hs256(claims(extra))
    expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
    expect(h.events.at(-1)?.detail).toBe('claims')
  })
})

describe('custom mapping for an identity provider', () => {
  it('reads the claims you name, and nothing from the defaults you replaced', async () => {
    const h = harness([scheme({ keyId: 'client_id', owner: 'email', tenant: 'org_id', role: 'app_role', scopes: 'permissions', grants: 'ops', kind: false, group: false })])
    const payload = claims({
      client_id: 'app-7', email: 'ana@acme.test', org_id: 'acme', app_role: 'Product Admin', permissions: ['targets:manage', 'scans:read'], ops: ['x'],
      // Default names, now ignored:
      kw_kind: 'org', kw_tenant: 'evil', kw_role: 'Read Only', kw_group: 'g', scope: 'openid',
    })
    const d = await h.authorize(`Bearer ${hs256(payload)}`, 'targets:manage')
    expect(d.allow).toBe(true)
    if (!d.allow) return
    expect(d.principal).toMatchObject({ keyId: 'app-7', owner: 'ana@acme.test', tenant: 'acme', role: 'Product Admin', kind: 'user', grants: ['x'] })
    expect(d.principal.group).toBeUndefined()
    expect(d.principal.permissions).toEqual(['scans:read', 'targets:manage'])
  })

  it('scopes: false uses the whole role even when the IdP sends OIDC scopes', async () => {
    const h = harness([scheme({ scopes: false })])
    expect((await h.authorize(`Bearer ${hs256(claims({ scope: 'openid profile' }))}`, 'scans:manage')).allow).toBe(true)
  })

  it('kind: false never lets a token claim to be an Org key', async () => {
    const h = harness([scheme({ kind: false })])
    const d = asDeny(await h.authorize(`Bearer ${hs256(claims({ kw_kind: 'org' }))}`, 'global-blackouts:manage'))
    expect(d.status).toBe(403)
  })

  it('looks claims up as own properties only (no prototype names)', async () => {
    const tenantOf = (r: AuthRequest) => r.url?.split('/')[1]
    const h = harness([scheme({ tenant: 'constructor', role: 'toString' })], { tenant: tenantOf })
    // Absent: tenant is undefined, not Object.prototype.constructor, so the tenant check fails.
    const missing = asDeny(await h.authorize(`Bearer ${hs256(claims())}`, undefined, { url: '/acme/scans' }))
    expect(missing.reason).toBe('tenant_mismatch')
    // Present in the JSON: an own property like any other.
    const present = hs256(`{"iss":"${ISS}","aud":"${AUD}","sub":"ana","exp":${claims().exp},"constructor":"acme","__proto__":"x"}`)
    expect((await h.authorize(`Bearer ${present}`, undefined, { url: '/acme/scans' })).allow).toBe(true)
  })
})

describe('tenant', () => {
  const tenantOf = (r: AuthRequest) => r.url?.split('/')[1]
  const h = harness([scheme()], { tenant: tenantOf })

  it('is compared with the request tenant like a key\'s', async () => {
    const token = hs256(claims({ kw_tenant: 'acme' }))
    expect((await h.authorize(`Bearer ${token}`, 'scans:read', { url: '/acme/scans' })).allow).toBe(true)
    const d = asDeny(await h.authorize(`Bearer ${token}`, 'scans:read', { url: '/globex/scans' }))
    expect([d.status, d.code, d.reason]).toEqual([401, 'invalid_credentials', 'tenant_mismatch'])
    const none = asDeny(await h.authorize(`Bearer ${hs256(claims())}`, 'scans:read', { url: '/acme/scans' }))
    expect(none.reason).toBe('tenant_mismatch')
  })

  it('is the verified one: a tenant added to an unsigned copy does not count', async () => {
    const token = hs256(claims({ kw_tenant: 'acme' }))
    const forged = compact({ alg: 'HS256' }, claims({ kw_tenant: 'globex' }), () => token.split('.')[2]!)
    expectInvalidToken(await h.authorize(`Bearer ${forged}`, 'scans:read', { url: '/globex/scans' }), forged)
  })
})
