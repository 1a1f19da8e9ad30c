/**
 * tenantFromHost / tenantFromPath: the same answer from every header shape the core accepts
 * (Fetch Headers, Node records with string or array values, Node's flat rawHeaders), and no
 * tenant (so a deny) from whatever cannot be read with certainty.
 */
import { describe, expect, it } from 'vitest'
import { schemes, tenantFromHost, tenantFromPath, type AuthRequest } from '../../src/index.js'
import { harness, seen } from '../_support/core.js'

type Fields = readonly (readonly [string, string])[]

/** The same fields in each header shape the core accepts. */
const shapes: [string, (f: Fields) => AuthRequest['headers']][] = [
  ['Fetch Headers', (f) => new Headers(f.map(([n, v]) => [n, v] as [string, string]))],
  ['a Node record of strings', (f) => Object.fromEntries(f.map(([n, v]) => [n.toLowerCase(), v]))],
  ['a record with arrays and mixed-case names', (f) => Object.fromEntries(f.map(([n, v]) => [n, [v]]))],
  ["Node's rawHeaders", (f) => f.flat()],
]

const req = (headers: AuthRequest['headers'], url = '/'): AuthRequest => ({ method: 'GET', url, headers })

describe.each(shapes)('tenantFromHost over %s', (_, shape) => {
  const byDomain = tenantFromHost({ domain: 'example.test' })
  const byHost = tenantFromHost({ hosts: { 'itsm.acme.example': 'acme' } })
  const whole = tenantFromHost()

  it.each([
    ['tenant-a.example.test', 'tenant-a', undefined, 'tenant-a.example.test'],
    ['Tenant-A.EXAMPLE.test', 'tenant-a', undefined, 'tenant-a.example.test'],
    ['tenant-a.example.test:8443', 'tenant-a', undefined, 'tenant-a.example.test'],
    ['tenant-a.example.test.', 'tenant-a', undefined, 'tenant-a.example.test'],
    [' \ttenant-a.example.test ', 'tenant-a', undefined, 'tenant-a.example.test'],
    ['ITSM.acme.example:443', undefined, 'acme', 'itsm.acme.example'],
    ['example.test', undefined, undefined, 'example.test'],
    ['a.b.example.test', undefined, undefined, 'a.b.example.test'],
    ['evilexample.test', undefined, undefined, 'evilexample.test'],
    ['tenant-a.example.test.evil', undefined, undefined, 'tenant-a.example.test.evil'],
    ['[::1]:8080', undefined, undefined, '[::1]'],
    ['tenant_a.example.test', undefined, undefined, undefined],
    ['tenant-a.example.test/x', undefined, undefined, undefined],
    ['user@tenant-a.example.test', undefined, undefined, undefined],
    ['tenant-a.example.test:80:80', undefined, undefined, undefined],
    ['', undefined, undefined, undefined],
    ['tënant.example.test', undefined, undefined, undefined],
  ])('Host %j → domain %j, hosts %j, whole %j', (host, domain, hosts, all) => {
    const r = req(shape([['Host', host]]))
    expect([byDomain(r), byHost(r), whole(r)]).toEqual([domain, hosts, all])
  })

  it('finds no tenant without a Host field', () => {
    const r = req(shape([['X-Api-Key', 'k']]))
    expect([byDomain(r), whole(r)]).toEqual([undefined, undefined])
  })
})

describe('tenantFromHost and repeated Host fields', () => {
  it.each([
    ['rawHeaders', ['Host', 'tenant-a.example.test', 'host', 'tenant-b.example.test']],
    ['an array value', { host: ['tenant-a.example.test', 'tenant-b.example.test'] }],
    ['two names differing in case', { Host: 'tenant-a.example.test', host: 'tenant-b.example.test' }],
  ] as const)('finds no tenant in two Host fields given as %s (RFC 9112 §3.2)', (_, headers) => {
    expect(tenantFromHost({ domain: 'example.test' })(req(headers as AuthRequest['headers']))).toBeUndefined()
  })

  it('finds no tenant in a Fetch Headers that joined two Host values', () => {
    const h = new Headers()
    h.append('Host', 'tenant-a.example.test')
    h.append('Host', 'tenant-b.example.test')
    expect(tenantFromHost()(req(h))).toBeUndefined()
  })
})

describe('tenantFromPath', () => {
  it.each([
    [{}, '/acme/api/odata/x', 'acme'],
    [undefined, '/acme', 'acme'],
    [{ segment: 2 }, '/api/ng/org-1/applications?expand=x', 'org-1'],
    [{ segment: 2 }, '/api/ng/org-1?x=1', 'org-1'],
    [{ segment: 2 }, '/api/ng', undefined],
    [{ segment: 2 }, '/api/ng//applications', undefined],
    [{}, '/?tenant=acme', undefined],
    [{}, '/#acme', undefined],
    [{}, 'acme/api', undefined],
    [{}, 'http://acme/api', undefined],
  ])('%j reads %j as %j', (options, url, tenant) => {
    expect(tenantFromPath(options)(req({}, url))).toBe(tenant)
  })

  it('finds no tenant without a URL', () => {
    expect(tenantFromPath()({ method: 'GET', headers: {} })).toBeUndefined()
  })
})

describe('their options', () => {
  it.each([
    [() => tenantFromHost({ domian: 'example.test' } as never), RangeError, /unknown field "domian" \(did you mean "domain"\?\)/],
    [() => tenantFromHost({ domain: 'example.test', hosts: {} }), RangeError, /either domain or hosts/],
    [() => tenantFromHost({ domain: 'https://example.test' }), RangeError, /domain/],
    [() => tenantFromHost({ domain: 'example.test:443' }), RangeError, /domain/],
    [() => tenantFromHost({ domain: 7 } as never), TypeError, /domain/],
    [() => tenantFromHost({ hosts: { 'acme.example:443': 'acme' } }), RangeError, /hosts/],
    [() => tenantFromHost({ hosts: { 'acme.example': '' } }), TypeError, /hosts/],
    [() => tenantFromHost({ hosts: [] } as never), TypeError, /hosts/],
    [() => tenantFromHost('example.test' as never), TypeError, /options/],
    [() => tenantFromPath({ segmnet: 1 } as never), RangeError, /did you mean "segment"/],
    [() => tenantFromPath({ segment: -1 }), RangeError, /segment/],
    [() => tenantFromPath({ segment: 1.5 }), RangeError, /segment/],
    [() => tenantFromPath({ segment: '1' } as never), TypeError, /segment/],
  ] as const)('refuses a bad option (%#)', (make, type, message) => {
    expect(make).toThrow(type)
    expect(make).toThrow(message)
  })

  it('accepts hosts as a Map', () => {
    const t = tenantFromHost({ hosts: new Map([['itsm.acme.example', 'acme']]) })
    expect(t(req({ host: 'itsm.acme.example' }))).toBe('acme')
  })
})

describe('as the tenant function of an authorizer', () => {
  it('allows a key on its tenant host and denies it on another, like an unknown key', async () => {
    const h = harness()
    const ref = '3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44'
    await h.manager.import({ key: ref, kind: 'user', owner: 'svc', role: 'Read Write', tenant: 'tenant-a' })
    const auth = h.authorizer({ schemes: [schemes.restApiKey()], tenant: tenantFromHost({ domain: 'example.test' }) })
    const call = (host: string) => auth({ headers: ['Host', host, 'Authorization', `rest_api_key=${ref}`] })
    expect((await call('tenant-a.example.test')).allow).toBe(true)
    expect(seen(await call('tenant-b.example.test'))).toEqual({ status: 401, code: 'invalid_credentials', reason: 'tenant_mismatch' })
    expect(seen(await call('127.0.0.1'))).toEqual({ status: 401, code: 'invalid_credentials', reason: 'tenant_mismatch' })
  })
})
