/**
 * Half of a Contrast pair never authenticates alone. Where an authorizer accepts Contrast pairs,
 * a user key that belongs to a tenant and has an owner (what the pair check accepts as the user
 * half: a service key) is accepted only together with its organization key, never through another
 * scheme, whatever other schemes are configured.
 */
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { createAuthorizer, generateKey, KeyManager, MemoryKeyStore, schemes, type AuthRequest, type Scheme } from '../../src/index.js'

const NOW = Date.UTC(2030, 0, 1)
const b64 = (s: string) => Buffer.from(s).toString('base64')

const SINGLE: Record<string, () => Scheme> = {
  'api-key': () => schemes.apiKeyHeader(),
  ssapi: () => schemes.ssapi(),
  'rest-api-key': () => schemes.restApiKey(),
  bearer: () => schemes.bearer(),
  basic: () => schemes.basic(),
}

let store: MemoryKeyStore
let manager: KeyManager
let org: { key: string; id: string }
let service = ''
let soloKey = ''
let orgWide = ''
beforeAll(async () => {
  store = new MemoryKeyStore()
  manager = new KeyManager(store, { now: () => NOW - 1000 })
  const o = await manager.issue({ kind: 'tenant', tenant: 'org-1' })
  org = { key: o.key, id: o.record.id }
  service = (await manager.issue({ kind: 'user', tenant: 'org-1', owner: 'ana@acme.test', role: 'Read Write' })).key
  soloKey = (await manager.issue({ kind: 'user', owner: 'bob', role: 'Read Write' })).key
  orgWide = (await manager.issue({ kind: 'org', tenant: 'org-1' })).key
})

const request = (headers: Record<string, string>): AuthRequest => ({ method: 'GET', url: '/scans', headers, remoteAddress: '127.0.0.1' })

/** Every way to present the service key without its organization key. */
const halfPresentations = (key: string, user: string, wrongOrg: string): Record<string, string>[] => [
  { 'x-api-key': key },
  { 'x-ssapi-key': key },
  { authorization: `rest_api_key=${key}` },
  { authorization: `Bearer ${key}` },
  { authorization: `Basic ${b64(`${key}:`)}` },
  { authorization: `Basic ${b64(`${user}:${key}`)}` },
  { authorization: b64(`${user}:${key}`) },
  { 'api-key': wrongOrg, authorization: b64(`ana@acme.test:${key}`) },
]

describe('half a Contrast pair', () => {
  it('never authenticates alone, for any set of schemes configured next to Contrast', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(Object.keys(SINGLE)),
        fc.nat(),
        fc.string({ unit: fc.constantFrom('a', 'n', '@', '.', 'x', '-'), maxLength: 16 }),
        fc.nat({ max: 7 }),
        async (names, at, user, which) => {
          const list = names.map((n) => SINGLE[n]!())
          list.splice(at % (list.length + 1), 0, schemes.contrast())
          const authorizer = createAuthorizer({ store, schemes: list, now: () => NOW, touchIntervalMs: 0 })
          const headers = halfPresentations(service, user, generateKey())[which]!
          const d = await authorizer.authorize(request(headers), 'scans:read')
          expect(d.allow).toBe(false)
          // The whole pair is still accepted, as Contrast.
          const whole = await authorizer.authorize(request({ 'api-key': org.key, authorization: b64(`ana@acme.test:${service}`) }), 'scans:read')
          expect(whole.allow && whole.principal.scheme).toBe('contrast')
        },
      ),
      { numRuns: 150 },
    )
  })

  it.each(Object.keys(SINGLE))('denies a service key presented alone through %s next to Contrast as an unknown key', async (name) => {
    const authorizer = createAuthorizer({ store, schemes: [SINGLE[name]!(), schemes.contrast()], now: () => NOW, touchIntervalMs: 0 })
    const header = halfPresentations(service, 'anyone', '')[Object.keys(SINGLE).indexOf(name)]!
    const d = await authorizer.authorize(request(header), 'scans:read')
    expect(d.allow ? 200 : [d.status, d.code, d.reason]).toEqual([401, 'invalid_credentials', 'unknown_key'])
  })

  it('still denies the service key alone after the organization key is deactivated', async () => {
    const authorizer = createAuthorizer({ store, schemes: [schemes.contrast(), schemes.apiKeyHeader(), schemes.basic()], now: () => NOW, touchIntervalMs: 0 })
    await manager.deactivate(org.id)
    try {
      for (const h of halfPresentations(service, 'x', org.key)) expect((await authorizer.authorize(request(h), 'scans:read')).allow).toBe(false)
      const whole = await authorizer.authorize(request({ 'api-key': org.key, authorization: b64(`ana@acme.test:${service}`) }), 'scans:read')
      expect(whole.allow).toBe(false)
    } finally {
      await manager.activate(org.id)
    }
  })

  it('lets keys that are no half of a pair work alone next to Contrast: org keys and keys of no tenant', async () => {
    const authorizer = createAuthorizer({ store, schemes: [schemes.contrast(), schemes.apiKeyHeader(), schemes.basic()], now: () => NOW, touchIntervalMs: 0 })
    for (const key of [soloKey, orgWide]) {
      expect((await authorizer.authorize(request({ 'x-api-key': key }), 'scans:read')).allow).toBe(true)
      expect((await authorizer.authorize(request({ authorization: `Basic ${b64(`${key}:`)}` }), 'scans:read')).allow).toBe(true)
    }
  })

  it('reads an Authorization that is both Contrast and Basic as Contrast when API-Key is present, else as Basic', async () => {
    const authorizer = createAuthorizer({ store, schemes: [schemes.basic(), schemes.contrast()], now: () => NOW, touchIntervalMs: 0 })
    // Without API-Key, a value with the Basic word is Basic (which never carries a service key
    // alone); a bare one is only Contrast's half, so nothing is there.
    const cases: [string, string][] = [
      [b64(`ana@acme.test:${service}`), 'missing_credentials'],
      [`Basic ${b64(`ana@acme.test:${service}`)}`, 'unknown_key'],
    ]
    for (const [auth, aloneReason] of cases) {
      const paired = await authorizer.authorize(request({ 'api-key': org.key, authorization: auth }), 'scans:read')
      expect(paired.allow && paired.principal.scheme).toBe('contrast')
      const alone = await authorizer.authorize(request({ authorization: auth }), 'scans:read')
      expect(alone.allow ? 200 : [alone.status, alone.reason]).toEqual([401, aloneReason])
    }
    const basicOnly = await authorizer.authorize(request({ authorization: `Basic ${b64(`api:${soloKey}`)}` }), 'scans:read')
    expect(basicOnly.allow && basicOnly.principal.scheme).toBe('basic')
  })
})
