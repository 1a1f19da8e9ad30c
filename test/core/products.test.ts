/**
 * The four reference products' rules, through authorize().
 */
import { describe, expect, it } from 'vitest'
import { renderDeny, schemes, type DenyDecision } from '../../src/index.js'
import { harness, seen } from '../_support/core.js'

const contrastAuth = (user: string, key: string) => Buffer.from(`${user}:${key}`).toString('base64')

describe('Rapid7 InsightAppSec: user keys and Org keys', () => {
  it('gives an Org key every permission within its own tenant only', async () => {
    const h = harness()
    const org = await h.issue({ kind: 'org', tenant: 'acme' })
    const acme = h.authorizer({ tenant: () => 'acme' })
    const other = h.authorizer({ tenant: () => 'globex' })
    for (const p of ['global-blackouts:manage', 'vulnerability-comments:administer', 'engines:manage']) {
      expect((await acme({ headers: { 'x-api-key': org.key } }, p)).allow).toBe(true)
      expect(seen(await other({ headers: { 'x-api-key': org.key } }, p)).reason).toBe('tenant_mismatch')
    }
    const d = await acme({ headers: { 'x-api-key': org.key } })
    expect(d.allow && [d.principal.kind, d.principal.role]).toEqual(['org', undefined])
  })

  // The key has no tenant either, so "no tenant" equals "no tenant": only the rule that an
  // unresolved request tenant is a deny can refuse it.
  it.each([
    ['undefined', () => undefined],
    ['a number', () => 7 as unknown as string],
  ])('denies a tenant-less key when the tenant function returns %s', async (_, tenant) => {
    const h = harness()
    const org = await h.issue({ kind: 'org' })
    const user = await h.issue({ kind: 'user', owner: 'u', role: 'Read Only' })
    for (const k of [org, user]) {
      expect(seen(await h.authorizer({ tenant })({ headers: { 'x-api-key': k.key } })).reason).toBe('tenant_mismatch')
    }
    // The same keys pass without a tenant function: the deny above is the tenant rule's.
    expect((await h.authorizer()({ headers: { 'x-api-key': org.key } })).allow).toBe(true)
  })
})

describe('AttackForge SSAPI: explicit grants and HTTPS only', () => {
  it('denies every operation by default, to Org keys and Product Admins too', async () => {
    const h = harness()
    const admin = await h.issue({ kind: 'user', owner: 'root', role: 'Product Admin' })
    const org = await h.issue({ kind: 'org' })
    const auth = h.authorizer({ schemes: [schemes.ssapi()], requireTls: true, explicitGrants: true })
    for (const k of [admin, org]) {
      expect(seen(await auth({ headers: { 'x-ssapi-key': k.key }, secure: true }, { operation: 'getProjects' })).reason).toBe('operation_not_granted')
      await h.manager.grant(k.id, ['getProjects'])
      expect((await auth({ headers: { 'x-ssapi-key': k.key }, secure: true }, { operation: 'getProjects' })).allow).toBe(true)
      expect(seen(await auth({ headers: { 'x-ssapi-key': k.key }, secure: true }, { operation: 'createProject' })).reason).toBe('operation_not_granted')
    }
  })

  it('denies a route that names no operation under explicitGrants', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'org', grants: ['getProjects'] })
    expect(seen(await h.authorizer({ explicitGrants: true })({ headers: { 'x-api-key': k.key } })).reason).toBe('operation_not_granted')
  })

  it('stops an operation at once when its grant is revoked', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'u', role: 'Read Only', grants: ['getProjects', 'getVulns'] })
    const auth = h.authorizer({ explicitGrants: true })
    await h.manager.revokeGrant(k.id, ['getProjects'])
    expect(seen(await auth({ headers: { 'x-api-key': k.key } }, { operation: 'getProjects' })).reason).toBe('operation_not_granted')
    expect((await auth({ headers: { 'x-api-key': k.key } }, { operation: 'getVulns' })).allow).toBe(true)
  })

  it('checks the permission before the grant, and both must pass', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'u', role: 'Read Only', grants: ['updateScan'] })
    const auth = h.authorizer({ explicitGrants: true })
    expect(seen(await auth({ headers: { 'x-api-key': k.key } }, { permission: 'scans:manage', operation: 'updateScan' })).reason).toBe('insufficient_permission')
  })
})

describe('Ivanti Service Manager: tenants, key groups, allowed IPs', () => {
  it('accepts an imported Reference ID in its tenant and from its extra IPs only', async () => {
    const h = harness()
    const group = await h.manager.createGroup({ name: 'Integrations', tenant: 'tenant-a', allowedIps: ['10.0.0.0/8'] })
    const ref = '3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44'
    await h.manager.import({ key: ref, kind: 'user', owner: 'svc@a', role: 'Read Write', tenant: 'tenant-a', group: group.id, allowedIps: ['10.1.0.0/16'] })
    const auth = (tenant: string) => h.authorizer({ schemes: [schemes.restApiKey()], tenant: () => tenant })
    const req = (ip: string) => ({ headers: { authorization: `rest_api_key=${ref}` }, remoteAddress: ip })
    expect((await auth('tenant-a')(req('10.1.2.3'))).allow).toBe(true)
    // Group allows 10/8 but the key only 10.1/16: both lists must admit the address.
    expect(seen(await auth('tenant-a')(req('10.2.0.1'))).reason).toBe('ip_not_allowed')
    expect(seen(await auth('tenant-b')(req('10.1.2.3'))).reason).toBe('tenant_mismatch')
  })

  it('disables every key of a deactivated group and restores them on activation', async () => {
    const h = harness()
    const g = await h.manager.createGroup({ name: 'G' })
    const a = await h.issue({ kind: 'user', owner: 'a', role: 'Read Only', group: g.id })
    const b = await h.issue({ kind: 'org', group: g.id })
    const auth = h.authorizer()
    await h.manager.deactivateGroup(g.id)
    for (const k of [a, b]) expect(seen(await auth({ headers: { 'x-api-key': k.key } })).reason).toBe('group_disabled')
    await h.manager.activateGroup(g.id)
    for (const k of [a, b]) expect((await auth({ headers: { 'x-api-key': k.key } })).allow).toBe(true)
  })

  it('keeps keys static unless the operator sets an expiry', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'a', role: 'Read Only' })
    h.clock.advance(10 * 365 * 24 * 3600_000)
    expect((await h.authorizer()({ headers: { 'x-api-key': k.key } })).allow).toBe(true)
  })
})

describe('Contrast: organization key plus the user\'s service key', () => {
  async function contrastSetup() {
    const h = harness()
    const org = await h.issue({ kind: 'tenant', tenant: 'org-1' })
    const svc = await h.issue({ kind: 'user', owner: 'ana@acme.test', role: 'Read Write', tenant: 'org-1' })
    const otherOrg = await h.issue({ kind: 'tenant', tenant: 'org-2' })
    const auth = h.authorizer({ schemes: [schemes.contrast()] })
    return { h, org, svc, otherOrg, auth }
  }

  it('accepts the pair with or without the Basic word', async () => {
    const { org, svc, auth } = await contrastSetup()
    for (const authorization of [contrastAuth('ana@acme.test', svc.key), `Basic ${contrastAuth('ana@acme.test', svc.key)}`]) {
      const d = await auth({ headers: { 'api-key': org.key, authorization } }, 'scans:manage')
      expect(d.allow && [d.principal.scheme, d.principal.keyId, d.principal.tenant]).toEqual(['contrast', svc.id, 'org-1'])
    }
  })

  it('gives byte-identical 401s for an unknown key, the wrong user and the wrong organization', async () => {
    const { h, org, svc, otherOrg, auth } = await contrastSetup()
    const other = await h.issue({ kind: 'user', owner: 'bob@acme.test', role: 'Read Write', tenant: 'org-1' })
    const cases = {
      unknown_key: { 'api-key': org.key, authorization: contrastAuth('ana@acme.test', 'kw_0123456789ABCDEFGHIJKLMNOPQRSTUV2jnASr') },
      user_mismatch: { 'api-key': org.key, authorization: contrastAuth('bob@acme.test', svc.key) },
      tenant_mismatch: { 'api-key': otherOrg.key, authorization: contrastAuth('ana@acme.test', svc.key) },
      swapped: { 'api-key': svc.key, authorization: contrastAuth('ana@acme.test', org.key) },
      other_user_key: { 'api-key': org.key, authorization: contrastAuth('ana@acme.test', other.key) },
    }
    const rendered = new Set<string>()
    for (const [name, headers] of Object.entries(cases)) {
      const d = (await auth({ headers })) as DenyDecision
      expect(d.status).toBe(401)
      if (name !== 'swapped' && name !== 'other_user_key') expect(d.reason).toBe(name)
      rendered.add(JSON.stringify(renderDeny(d)))
    }
    expect(rendered.size).toBe(1)
  })

  it('answers a well-formed Authorization that holds no user name or key with 401 and the challenge, and only text that is not Basic with 400', async () => {
    const { org, svc, auth } = await contrastSetup()
    const b64 = (text: string) => Buffer.from(text, 'latin1').toString('base64')
    const wellFormed = [b64('ana@acme.test:'), b64(`:${svc.key}`), b64(`ana@acme.test:not a key`), b64(`ana smith:${svc.key}`), b64(`ana@acme.test:${svc.key}\u00e9`), `Basic ${b64(':')}`]
    for (const authorization of wellFormed) {
      const d = (await auth({ headers: { 'api-key': org.key, authorization } })) as DenyDecision
      expect({ authorization, status: d.status, code: d.code, challenge: d.headers['www-authenticate'] }).toEqual({ authorization, status: 401, code: 'invalid_credentials', challenge: 'Contrast realm="api", header="API-Key"' })
    }
    for (const authorization of [b64('no colon here'), 'Basic !!!', b64('ana\u0001:x')]) {
      expect(seen(await auth({ headers: { 'api-key': org.key, authorization } }))).toMatchObject({ status: 400, code: 'invalid_request' })
    }
  })

  it('denies a locked account with 401', async () => {
    const { h, org, svc, auth } = await contrastSetup()
    await h.manager.setOwner('ana@acme.test', { active: false })
    expect(seen(await auth({ headers: { 'api-key': org.key, authorization: contrastAuth('ana@acme.test', svc.key) } }))).toEqual({ status: 401, code: 'invalid_credentials', reason: 'owner_disabled' })
  })

  it('denies a deactivated organization key', async () => {
    const { h, org, svc, auth } = await contrastSetup()
    await h.manager.deactivate(org.id)
    expect(seen(await auth({ headers: { 'api-key': org.key, authorization: contrastAuth('ana@acme.test', svc.key) } })).reason).toBe('key_disabled')
  })

  it('treats one half alone as missing credentials', async () => {
    const { org, svc, auth } = await contrastSetup()
    expect(seen(await auth({ headers: { 'api-key': org.key } })).reason).toBe('missing_credentials')
    expect(seen(await auth({ headers: { authorization: contrastAuth('ana@acme.test', svc.key) } })).reason).toBe('missing_credentials')
  })

  it('never accepts an organization key on its own through a single-key scheme', async () => {
    const { h, org } = await contrastSetup()
    expect(seen(await h.authorizer()({ headers: { 'x-api-key': org.key } })).reason).toBe('unknown_key')
  })

  it.each([
    ['no colon', Buffer.from('ana').toString('base64')],
    ['Basic with invalid base64', 'Basic !!!!'],
    ['bad base64 padding', 'YWJj='],
  ])('refuses %s in Authorization with 400', async (_, authorization) => {
    const { org, auth } = await contrastSetup()
    expect(seen(await auth({ headers: { 'api-key': org.key, authorization } })).reason).toBe('malformed_credentials')
  })
})

describe('rotation with grace', () => {
  it('keeps the old key working until the grace ends, then denies it as key_rotated', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'a', role: 'Read Only' })
    const { key: fresh } = await h.manager.rotate(k.id, { graceMs: 60_000 })
    h.issued.push(fresh)
    const auth = h.authorizer()
    expect((await auth({ headers: { 'x-api-key': k.key } })).allow).toBe(true)
    expect((await auth({ headers: { 'x-api-key': fresh } })).allow).toBe(true)
    h.clock.advance(60_000)
    expect(seen(await auth({ headers: { 'x-api-key': k.key } })).reason).toBe('key_rotated')
    const d = await auth({ headers: { 'x-api-key': fresh } })
    expect(d.allow && d.principal.keyId).toBe(k.id)
  })

  it('applies edits to both keys during the grace period', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'a', role: 'Read Only' })
    const { key: fresh } = await h.manager.rotate(k.id, { graceMs: 60_000 })
    await h.manager.deactivate(k.id)
    const auth = h.authorizer()
    expect(seen(await auth({ headers: { 'x-api-key': k.key } })).reason).toBe('key_disabled')
    expect(seen(await auth({ headers: { 'x-api-key': fresh } })).reason).toBe('key_disabled')
  })

  it('ends an earlier grace at once when the key is rotated again', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'a', role: 'Read Only' })
    const second = await h.manager.rotate(k.id, { graceMs: 60_000 })
    await h.manager.rotate(k.id, { graceMs: 60_000 })
    const auth = h.authorizer()
    expect(seen(await auth({ headers: { 'x-api-key': k.key } })).reason).toBe('unknown_key')
    expect((await auth({ headers: { 'x-api-key': second.key } })).allow).toBe(true)
  })

  it('with a zero grace, stops the old key immediately', async () => {
    const h = harness()
    const k = await h.issue({ kind: 'user', owner: 'a', role: 'Read Only' })
    await h.manager.rotate(k.id, { graceMs: 0 })
    expect(seen(await h.authorizer()({ headers: { 'x-api-key': k.key } })).reason).toBe('key_rotated')
  })
})
