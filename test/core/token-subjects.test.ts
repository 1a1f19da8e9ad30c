/**
 * What a verified token identity may do, whatever scheme verified it: scopes the role matrix
 * does not know (OIDC's `openid`) are left out and the rest still bound the role, scopes naming
 * one resource twice grant nothing, an org token shows no role, and what is derived from an
 * identity is computed again when the identity could have changed.
 */
import { describe, expect, it } from 'vitest'
import { schemes, type Scheme } from '../../src/index.js'
import type { TokenIdentity } from '../../src/schemes/scheme.js'
import { harness, seen } from '../_support/core.js'

/** A scheme that reads `X-Token` and verifies it to whatever `identityOf` answers. */
function tokenScheme(identityOf: (token: string) => TokenIdentity): Scheme {
  const base = schemes.apiKeyHeader({ header: 'X-Token', name: 'idp' })
  return {
    ...base,
    extract(values) {
      const x = base.extract(values)
      return x?.type === 'key' ? { type: 'token', token: x.key, sources: x.sources } : x
    },
    verify: async (token) => ({ ok: true, identity: identityOf(token) }),
  }
}

function authWith(identityOf: (token: string) => TokenIdentity, options: object = {}) {
  const h = harness()
  const auth = h.authorizer({ schemes: [tokenScheme(identityOf)], ...options })
  return (need?: Parameters<typeof auth>[1], token = 't') => auth({ headers: { 'x-token': token } }, need)
}

const user = (over: Partial<TokenIdentity> = {}): TokenIdentity => Object.freeze({ keyId: 'tok-1', kind: 'user', owner: 'ana', role: 'Read Write', ...over })

describe('token scopes', () => {
  it('leaves out scopes the role matrix does not know, and the rest still bound the role', async () => {
    const auth = authWith(() => user({ scopes: Object.freeze(['openid', 'scans:read', 'profile']) }))
    expect((await auth('scans:read')).allow).toBe(true)
    expect(seen(await auth('scans:manage')).reason).toBe('insufficient_permission')
    expect(seen(await auth('apps:read')).reason).toBe('insufficient_permission')
  })

  it('grants nothing for scopes that name one resource twice', async () => {
    const auth = authWith(() => user({ scopes: Object.freeze(['scans:read', 'scans:manage']) }))
    expect(seen(await auth('scans:read')).reason).toBe('insufficient_permission')
  })

  it('applies the role alone when the token carries no scopes', async () => {
    const auth = authWith(() => user())
    expect((await auth('scans:manage')).allow).toBe(true)
  })
})

describe('the checks after a token is verified', () => {
  it('denies a token of another tenant with tenant_mismatch', async () => {
    const auth = authWith(() => user({ tenant: 'globex' }), { tenant: () => 'acme' })
    expect(seen(await auth('scans:read')).reason).toBe('tenant_mismatch')
    const own = authWith(() => user({ tenant: 'acme' }), { tenant: () => 'acme' })
    expect((await own('scans:read')).allow).toBe(true)
  })

  it('denies a route that names no operation under explicitGrants, whatever grants the identity holds', async () => {
    // A scheme's identity may carry anything: even a grant that is not a string opens nothing.
    const auth = authWith(() => user({ grants: Object.freeze([undefined as unknown as string, 'getProjects']) }), { explicitGrants: true })
    expect(seen(await auth('scans:read')).reason).toBe('operation_not_granted')
    expect((await auth({ permission: 'scans:read', operation: 'getProjects' })).allow).toBe(true)
  })
})

describe('the principal of a token', () => {
  it('shows no role for an org token, and the role of a user token', async () => {
    const org = await authWith(() => user({ kind: 'org', role: 'Read Only' }))('global-blackouts:manage')
    expect(org.allow && [org.principal.kind, org.principal.role]).toEqual(['org', undefined])
    const u = await authWith(() => user())('scans:read')
    expect(u.allow && [u.principal.kind, u.principal.role, u.principal.keyId, u.principal.owner]).toEqual(['user', 'Read Write', 'tok-1', 'ana'])
  })

  it('holds the grants the token carries, and none without', async () => {
    const withGrants = authWith(() => user({ grants: Object.freeze(['getProjects']) }), { explicitGrants: true })
    expect((await withGrants({ operation: 'getProjects' })).allow).toBe(true)
    const without = authWith(() => user(), { explicitGrants: true })
    expect(seen(await without({ operation: 'getProjects' })).reason).toBe('operation_not_granted')
  })
})

describe('what is derived from an identity', () => {
  // A scheme that hands back the same identity object each time, changing it in between.
  it.each<[string, (scopes: string[], grants: string[]) => TokenIdentity]>([
    ['an identity that is not frozen', (scopes, grants) => ({ keyId: 'k', kind: 'user', role: 'Read Write', scopes, grants })],
    ['a frozen identity whose scopes are not frozen', (scopes, grants) => Object.freeze({ keyId: 'k', kind: 'user', role: 'Read Write', scopes, grants: Object.freeze(grants) }) as TokenIdentity],
    ['a frozen identity whose grants are not frozen', (scopes, grants) => Object.freeze({ keyId: 'k', kind: 'user', role: 'Read Write', scopes: Object.freeze(scopes), grants }) as TokenIdentity],
  ])('is computed again for %s', async (_, make) => {
    const scopes = ['scans:manage']
    const grants = ['getProjects']
    const id = make(scopes, grants)
    const auth = authWith(() => id, { explicitGrants: true })
    expect((await auth({ permission: 'scans:manage', operation: 'getProjects' })).allow).toBe(true)
    // Only a mutable part can change: change both arrays in place where they are not frozen.
    if (!Object.isFrozen(scopes)) scopes.splice(0, 1, 'apps:read')
    if (!Object.isFrozen(grants)) grants.splice(0, 1, 'getVulns')
    const again = await auth({ permission: 'scans:manage', operation: 'getProjects' })
    expect(again.allow).toBe(false)
  })
})
