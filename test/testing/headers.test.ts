/**
 * headersFor: the headers of every scheme, checked by the real authorizer; Contrast's pair
 * derived from the store; the kit's JWTs (minted on its clock, for the key's current principal);
 * and the mistakes it refuses.
 */
import { describe, expect, it } from 'vitest'
import { schemes } from '../../src/index.js'
import { createTestAuthority } from '../../src/testing/index.js'
import { decide, outcome } from './_support.js'

const KEY_SCHEMES = ['api-key', 'ssapi', 'rest-api-key', 'contrast', 'bearer', 'basic'] as const

async function kitWithKeys() {
  const kit = createTestAuthority({ defaults: { owner: 'ana@acme.test', role: 'Read Write', tenant: 'acme' } })
  const org = await kit.issue({ kind: 'tenant' })
  const key = await kit.issue()
  return { kit, org, key }
}

/**
 * A kit that accepts no Contrast pairs, with a user key of tenant acme: there the key may be used
 * alone, so it may be turned into a token. (Where pairs are accepted, it is a service key.)
 */
async function tokenKit() {
  const kit = createTestAuthority({
    schemes: ['api-key', 'ssapi', 'rest-api-key', 'bearer', 'basic', 'jwt'],
    defaults: { owner: 'ana@acme.test', role: 'Read Write', tenant: 'acme' },
  })
  return { kit, key: await kit.issue() }
}

/** A kit whose keys belong to no tenant: every single-key scheme accepts them alone. */
async function soloKit() {
  const kit = createTestAuthority({ defaults: { owner: 'ana@acme.test', role: 'Read Write' } })
  return { kit, key: await kit.issue() }
}

describe('headersFor, key schemes', () => {
  it.each(KEY_SCHEMES)('presents the key in %s, and the authorizer accepts it under that scheme', async (scheme) => {
    // Contrast takes a service key (user key of a tenant with an organization key); the others a key of no tenant.
    const { kit, key } = scheme === 'contrast' ? await kitWithKeys() : await soloKit()
    const d = await decide(kit, kit.headersFor(key, scheme), 'scans:manage')
    expect(outcome(d)).toBe(`allow:${scheme}`)
    expect(d.allow && d.principal.owner).toBe('ana@acme.test')
  })

  it.each(KEY_SCHEMES.filter((s) => s !== 'contrast'))('never accepts a Contrast service key alone in %s', async (scheme) => {
    const { kit, key } = await kitWithKeys()
    expect(outcome(await decide(kit, kit.headersFor(key, scheme), 'scans:manage'))).toBe('deny:unknown_key')
    await expect(kit.headersFor(key, 'jwt')).rejects.toThrow(/^key: cannot be turned into a token: the kit denies it \(unknown_key\)/)
  })

  it('spells each scheme as its documentation does', async () => {
    const { kit, org, key } = await kitWithKeys()
    const b64 = (s: string) => Buffer.from(s).toString('base64')
    expect(kit.headersFor(key)).toEqual({ 'x-api-key': key })
    expect(kit.headersFor(key, 'ssapi')).toEqual({ 'x-ssapi-key': key })
    expect(kit.headersFor(key, 'rest-api-key')).toEqual({ authorization: `rest_api_key=${key}` })
    expect(kit.headersFor(key, 'bearer')).toEqual({ authorization: `Bearer ${key}` })
    expect(kit.headersFor(key, 'basic')).toEqual({ authorization: `Basic ${b64(`${key}:`)}` })
    expect(kit.headersFor(key, { scheme: 'basic', user: 'api' })).toEqual({ authorization: `Basic ${b64(`api:${key}`)}` })
    expect(kit.headersFor(key, 'contrast')).toEqual({ 'api-key': org, authorization: b64(`ana@acme.test:${key}`) })
  })

  it('accepts the key as the Basic password too', async () => {
    const { kit, key } = await soloKit()
    expect(outcome(await decide(kit, kit.headersFor(key, { scheme: 'basic', user: 'api' })))).toBe('allow:basic')
  })

  it('defaults to the first configured key scheme, and follows a custom header', async () => {
    const custom = createTestAuthority({ schemes: ['jwt', schemes.apiKeyHeader({ header: 'X-Acme-Key' }), 'bearer'] })
    const key = await custom.issue({ role: 'Read Only' })
    expect(custom.headersFor(key)).toEqual({ 'x-acme-key': key })
    expect(custom.headersFor(key, 'api-key')).toEqual({ 'x-acme-key': key })
    expect(outcome(await decide(custom, custom.headersFor(key)))).toBe('allow:api-key')
    const ssapiOnly = createTestAuthority({ schemes: ['ssapi'] })
    expect(Object.keys(ssapiOnly.headersFor('kw_test_x'))).toEqual(['x-ssapi-key'])
  })

  it('takes a configured scheme object, e.g. one with its own name', async () => {
    const partner = schemes.apiKeyHeader({ header: 'X-Partner-Key', name: 'partner' })
    const kit = createTestAuthority({ schemes: ['api-key', partner] })
    const key = await kit.issue({ role: 'Read Only' })
    expect(kit.headersFor(key, partner)).toEqual({ 'x-partner-key': key })
    expect(kit.headersFor(key, { scheme: partner })).toEqual({ 'x-partner-key': key })
    expect(outcome(await decide(kit, kit.headersFor(key, partner)))).toBe('allow:partner')
  })

  it('builds headers of a scheme the kit does not accept, which the authorizer then ignores', async () => {
    const kit = createTestAuthority({ schemes: ['api-key'] })
    const key = await kit.issue({ role: 'Read Only' })
    const d = await decide(kit, kit.headersFor(key, 'bearer'))
    expect(d).toMatchObject({ allow: false, status: 401, reason: 'missing_credentials' })
    expect(d.headers['www-authenticate']).toBe('ApiKey realm="api", header="X-Api-Key"')
  })

  it('builds headers for any string, so tests can send unknown and malformed keys', async () => {
    const { kit, key } = await kitWithKeys()
    const typo = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`
    expect(outcome(await decide(kit, kit.headersFor(typo)))).toBe('deny:bad_checksum')
    expect(outcome(await decide(kit, kit.headersFor('not a key')))).toBe('deny:malformed_credentials')
  })
})

describe('headersFor, Contrast', () => {
  it('pairs the service key with its owner and the latest organization key of its tenant', async () => {
    const { kit, key } = await kitWithKeys()
    const newer = await kit.issue({ kind: 'tenant' })
    expect(kit.headersFor(key, 'contrast')['api-key']).toBe(newer)
    await kit.issue({ kind: 'tenant', tenant: 'globex' })
    expect(kit.headersFor(key, 'contrast')['api-key']).toBe(newer)
  })

  it('reads the owner as it is now, after an update through the manager', async () => {
    const { kit, key } = await kitWithKeys()
    const [record] = await kit.manager.list({ kind: 'user' })
    await kit.manager.update(record!.id, { owner: 'bob@acme.test' })
    expect(kit.headersFor(key, 'contrast').authorization).toBe(Buffer.from(`bob@acme.test:${key}`).toString('base64'))
    expect(outcome(await decide(kit, kit.headersFor(key, 'contrast')))).toBe('allow:contrast')
  })

  it('follows a rotated organization key, and skips a deleted one', async () => {
    const { kit, org, key } = await kitWithKeys()
    const rotated = await kit.rotate(org, { graceMs: 0 })
    expect(kit.headersFor(key, 'contrast')['api-key']).toBe(rotated)
    expect(outcome(await decide(kit, kit.headersFor(key, 'contrast')))).toBe('allow:contrast')
    const [orgRecord] = await kit.manager.list({ kind: 'tenant' })
    await kit.manager.delete(orgRecord!.id)
    expect(() => kit.headersFor(key, 'contrast')).toThrow(/^organizationKey: is required: the kit issued no organization key for tenant "acme"/)
  })

  it('lets a test send the wrong user or the wrong organization, and the authorizer refuses both alike', async () => {
    const { kit, key } = await kitWithKeys()
    const otherOrg = await kit.issue({ kind: 'tenant', tenant: 'globex' })
    const wrongUser = await decide(kit, kit.headersFor(key, { scheme: 'contrast', user: 'mallory@acme.test' }))
    const wrongOrg = await decide(kit, kit.headersFor(key, { scheme: 'contrast', organizationKey: otherOrg }))
    expect([outcome(wrongUser), outcome(wrongOrg)]).toEqual(['deny:user_mismatch', 'deny:tenant_mismatch'])
    expect(wrongUser.allow === false && wrongOrg.allow === false && [wrongUser.status, wrongUser.code, wrongOrg.status, wrongOrg.code]).toEqual([
      401, 'invalid_credentials', 401, 'invalid_credentials',
    ])
  })

  it('asks for what it cannot derive', async () => {
    const kit = createTestAuthority({ defaults: { role: 'Read Only' } })
    const noTenant = await kit.issue()
    expect(() => kit.headersFor(noTenant, 'contrast')).toThrow(/^organizationKey: is required: the key has no tenant/)
    const { key } = await kitWithKeys()
    expect(() => kit.headersFor(key, 'contrast')).toThrow(/^user: is required: the key is not a user key of this kit/)
    expect(kit.headersFor(key, { scheme: 'contrast', user: 'ana', organizationKey: 'kw_test_org' })).toEqual({
      'api-key': 'kw_test_org',
      authorization: Buffer.from(`ana:${key}`).toString('base64'),
    })
  })
})

describe('headersFor, JWT', () => {
  it('mints a token the kit accepts, carrying the key\'s principal', async () => {
    const { kit, key } = await tokenKit()
    const headers = await kit.headersFor(key, 'jwt')
    expect(headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/)
    const d = await decide(kit, headers, 'scans:manage')
    expect(outcome(d)).toBe('allow:jwt')
    expect(d.allow && [d.principal.owner, d.principal.tenant, d.principal.role, d.principal.keyId]).toEqual([
      'ana@acme.test', 'acme', 'Read Write', (await kit.manager.list({ kind: 'user' }))[0]!.id,
    ])
  })

  it('mints for the principal as it is now: the owner\'s current role and the key\'s scopes', async () => {
    const { kit } = await tokenKit()
    const key = await kit.issue({ owner: 'rob@acme.test', role: 'Read Write', scopes: ['scans:manage', 'apps:read'] })
    await kit.manager.setOwner('rob@acme.test', { role: 'Read Only', active: true })
    const d = await decide(kit, await kit.headersFor(key, 'jwt'))
    expect(d.allow && d.principal.permissions).toEqual(['apps:read', 'scans:read'])
  })

  it('expires on the kit clock after ttlSec, with no tolerance', async () => {
    const { kit, key } = await tokenKit()
    const headers = await kit.headersFor(key, { scheme: 'jwt', ttlSec: 60 })
    kit.clock.advance(59_999)
    expect(outcome(await decide(kit, headers))).toBe('allow:jwt')
    kit.clock.advance(1)
    expect(outcome(await decide(kit, headers))).toBe('deny:invalid_token')
    expect(kit.lastDecision()?.detail).toBe('expired')
  })

  it('is not accepted by another kit, nor where the jwt scheme is not configured', async () => {
    const { kit, key } = await tokenKit()
    const headers = await kit.headersFor(key, 'jwt')
    const other = createTestAuthority()
    expect(outcome(await decide(other, headers))).toBe('deny:invalid_token')
    // Without the jwt scheme, a JWT is just a bearer key: unknown, or (this one, over 512
    // characters with Read Write's permissions in `scope`) too long for a key.
    const noJwt = createTestAuthority({ schemes: ['api-key', 'bearer'] })
    expect(outcome(await decide(noJwt, headers))).toBe('deny:malformed_credentials')
    const short = await kit.headersFor(await kit.issue({ role: 'Read Only', scopes: ['scans:read'] }), 'jwt')
    expect(outcome(await decide(noJwt, short))).toBe('deny:unknown_key')
  })

  it('refuses to mint for a key the kit would deny, and ignores allowlists (a token has no address)', async () => {
    const { kit } = await tokenKit()
    const listed = await kit.issue({ allowedIps: ['203.0.113.0/24'] })
    expect(outcome(await decide(kit, await kit.headersFor(listed, 'jwt')))).toBe('allow:jwt')
    const { key, record } = await kit.issueRecord()
    await kit.manager.deactivate(record.id)
    await expect(kit.headersFor(key, 'jwt')).rejects.toThrow(/^key: cannot be turned into a token: the kit denies it \(key_disabled\)/)
    await expect(kit.headersFor('kw_test_nope', 'jwt')).rejects.toThrow(/\(malformed_credentials\)|\(unknown_key\)/)
    await expect(kit.headersFor(listed, { scheme: 'jwt', ttlSec: 0 })).rejects.toThrow(/^ttlSec/)
  })

  it('records no decision of its own while minting', async () => {
    const { kit, key } = await tokenKit()
    await kit.headersFor(key, 'jwt')
    expect(kit.decisions()).toEqual([])
  })
})

describe('headersFor, misuse', () => {
  it('refuses wrong arguments, naming them', async () => {
    const { kit, key } = await tokenKit()
    const call = (...args: unknown[]) => () => (kit.headersFor as (...a: unknown[]) => unknown)(...args)
    expect(call(undefined)).toThrow(/^key: must be a string/)
    expect(call(key, 'cookie')).toThrow(/^scheme: unknown scheme "cookie"/)
    expect(call(key, { scheme: 'cookie' })).toThrow(/^options\.scheme: unknown scheme "cookie"/)
    expect(call(key, { schema: 'bearer' })).toThrow(/^options: unknown field "schema"/)
    expect(call(key, 42)).toThrow(/^scheme: must be a scheme name or a scheme/)
    expect(call(key, { scheme: 'bearer', user: 'ana' })).toThrow(/^user: applies to the contrast and basic schemes only/)
    expect(call(key, { scheme: 'basic', organizationKey: 'x' })).toThrow(/^organizationKey: applies to the contrast scheme only/)
    expect(call(key, { scheme: 'bearer', ttlSec: 5 })).toThrow(/^ttlSec: applies to the jwt scheme only/)
    const tokensOnly = createTestAuthority({ schemes: ['jwt'] })
    expect(() => tokensOnly.headersFor(key)).toThrow(/^scheme: is required: the kit has no key scheme configured/)
  })
})
