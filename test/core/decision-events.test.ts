/**
 * What `onDecision` receives: exactly the fields a request decided (optional ones absent, never
 * `undefined`), the path without query or fragment, a bounded method, and the detail of a deny.
 */
import { describe, expect, it } from 'vitest'
import { harness } from '../_support/core.js'

async function eventFor(url: string | undefined) {
  const h = harness()
  await h.authorizer()({ url, headers: {} })
  return h.events.at(-1)!
}

describe('the logged path', () => {
  it.each([
    ['a query', '/api/scans?api_key=secret', '/api/scans'],
    ['a query at the start', '?api_key=secret', ''],
    ['a fragment', '/api/scans#api_key=secret', '/api/scans'],
    ['a fragment at the start', '#api_key=secret', ''],
    ['a fragment before a "?"', '/api/scans#frag?api_key=secret', '/api/scans'],
    ['a query holding a "#"', '/api/scans?api_key=se#cret', '/api/scans'],
    ['an absolute URL', 'https://api.example.test/v1/keys?api_key=secret', '/v1/keys'],
    ['an absolute URL without a path', 'https://api.example.test?api_key=secret', '/'],
    ['an absolute URL with a nine-letter scheme', 'abcdefghi://api.example.test/v1', '/v1'],
  ])('leaves out %s', async (_, url, path) => {
    expect((await eventFor(url)).path).toBe(path)
  })

  it.each([
    ['"://" at the start (no scheme name)', '://api.example.test/v1'],
    ['"://" after a ten-letter word', 'abcdefghij://api.example.test/v1'],
    ['"://" deep in the path', '/proxy/to/https://api.example.test/v1'],
  ])('keeps a path with %s as it is', async (_, url) => {
    expect((await eventFor(url)).path).toBe(url)
  })

  it('cuts a path longer than 2048 characters to 2048', async () => {
    const long = `/${'a'.repeat(4000)}`
    expect((await eventFor(long)).path).toBe(long.slice(0, 2048))
    const exact = `/${'b'.repeat(2047)}`
    expect((await eventFor(exact)).path).toBe(exact)
  })

  it('has no path when the request has no URL', async () => {
    expect('path' in (await eventFor(undefined))).toBe(false)
  })
})

describe('the event fields', () => {
  it('carries only the fields a deny before any key lookup decided', async () => {
    const h = harness()
    await h.authorizer()({ method: 'GET', url: '/api/scans', headers: {}, remoteAddress: undefined })
    expect(Object.keys(h.events.at(-1)!).sort()).toEqual(['allow', 'at', 'code', 'durationMs', 'method', 'path', 'reason', 'status'])
    expect(h.events.at(-1)).toMatchObject({ allow: false, status: 401, code: 'missing_credentials', reason: 'missing_credentials', at: h.clock.now() })
  })

  it('carries no code or reason on an allow, and the key, tenant, scheme, address and operation it decided', async () => {
    const h = harness()
    const { key, id } = await h.issue({ kind: 'org', tenant: 't', grants: ['listScans'] })
    const d = await h.authorizer({ tenant: () => 't' })({ method: 'GET', url: '/x', headers: { 'x-api-key': key }, remoteAddress: '192.0.2.7' }, { operation: 'listScans' })
    expect(d.allow).toBe(true)
    const e = h.events.at(-1)!
    expect(Object.keys(e).sort()).toEqual(['allow', 'at', 'clientIp', 'durationMs', 'keyId', 'method', 'operation', 'path', 'scheme', 'status', 'tenant'])
    expect(e).toMatchObject({ allow: true, status: 200, keyId: id, tenant: 't', scheme: 'api-key', clientIp: '192.0.2.7', operation: 'listScans', method: 'GET', path: '/x' })
  })

  it('logs at most 32 characters of the method, and none that is not a string', async () => {
    const h = harness()
    const auth = h.authorizer()
    await auth({ method: 'M'.repeat(100), headers: {} })
    expect(h.events.at(-1)!.method).toBe('M'.repeat(32))
    await auth({ method: 42 as unknown as string, headers: {} })
    expect(h.events.at(-1)!.method).toBe('')
  })

  it('names the missing permission or operation as the detail of a 403, and says when the route names no operation', async () => {
    const h = harness()
    const { key } = await h.issue({ kind: 'user', owner: 'a', role: 'Read Only' })
    const auth = h.authorizer({ explicitGrants: true })
    await auth({ headers: { 'x-api-key': key } }, { permission: 'scans:manage', operation: 'updateScan' })
    expect(h.events.at(-1)).toMatchObject({ reason: 'insufficient_permission', detail: 'scans:manage' })
    await auth({ headers: { 'x-api-key': key } }, { operation: 'updateScan' })
    expect(h.events.at(-1)).toMatchObject({ reason: 'operation_not_granted', detail: 'updateScan' })
    await auth({ headers: { 'x-api-key': key } })
    expect(h.events.at(-1)).toMatchObject({ reason: 'operation_not_granted', detail: 'route names no operation' })
  })

  it('gives no detail to a deny that has none', async () => {
    const h = harness()
    const { key, id } = await h.issue({ kind: 'user', owner: 'a', role: 'Read Only' })
    await h.manager.deactivate(id)
    await h.authorizer()({ headers: { 'x-api-key': key } })
    expect(h.events.at(-1)!.reason).toBe('key_disabled')
    expect('detail' in h.events.at(-1)!).toBe(false)
  })
})
