/**
 * keyward/testing as a user's Hono suite uses it: `app.request(path, { headers })`, no server at
 * all. The client address and TLS come from the third argument (the Node bindings that
 * `@hono/node-server` would pass), as the guard reads them.
 */
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { guard } from '../../src/adapters/hono.js'
import type { Authorizer } from '../../src/index.js'
import { kitsClosedAfterEach } from './_support.js'

/** The user's app, AttackForge-like: every operation granted explicitly. */
function buildApp(authorizer: Authorizer): Hono {
  const requireKey = guard(authorizer)
  const app = new Hono()
  app.get('/projects', requireKey({ permission: 'apps:read', operation: 'getProjects' }), (c) =>
    c.json({ projects: [], by: c.get('principal').owner }),
  )
  app.post('/projects', requireKey({ permission: 'apps:manage', operation: 'createProject' }), (c) => c.json({ id: 'p-1' }, 201))
  return app
}

/** What `@hono/node-server` passes as `c.env`: the Node request and its socket. */
const from = (remoteAddress: string, secure = true) => ({ incoming: { socket: { remoteAddress, encrypted: secure } } })

const kit = kitsClosedAfterEach()

describe('Hono routes tested with the kit and app.request', () => {
  it('denies an operation until it is granted, administrators included', async () => {
    const t = kit({ schemes: ['ssapi'], explicitGrants: true, requireTls: true })
    const { key, record } = await t.issueRecord({ owner: 'admin@acme.test', role: 'Product Admin' })
    const app = buildApp(t.authorizer)
    const denied = await app.request('/projects', { headers: t.headersFor(key) }, from('127.0.0.1'))
    expect(denied.status).toBe(403)
    expect(t.lastDecision()).toMatchObject({ reason: 'operation_not_granted', operation: 'getProjects' })
    await t.manager.grant(record.id, ['getProjects'])
    const ok = await app.request('/projects', { headers: t.headersFor(key) }, from('127.0.0.1'))
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ projects: [], by: 'admin@acme.test' })
    const post = await app.request('/projects', { method: 'POST', headers: t.headersFor(key) }, from('127.0.0.1'))
    expect(post.status).toBe(403)
  })

  it('refuses plain HTTP before looking at the key', async () => {
    const t = kit({ schemes: ['ssapi'], explicitGrants: true, requireTls: true })
    const key = await t.issue({ role: 'Product Admin', grants: ['getProjects'] })
    const res = await buildApp(t.authorizer).request('/projects', { headers: t.headersFor(key) }, from('127.0.0.1', false))
    expect(res.status).toBe(403)
    expect(t.lastDecision()).toMatchObject({ reason: 'insecure_transport' })
    expect(t.lastDecision()?.keyId).toBeUndefined()
  })

  it('checks the allowlist against the address the runtime reports', async () => {
    const t = kit({ defaults: { role: 'Read Only' } })
    const key = await t.issue({ allowedIps: ['2001:db8::/32'] })
    const app = buildApp(t.authorizer)
    expect((await app.request('/projects', { headers: t.headersFor(key) }, from('2001:db8::7'))).status).toBe(200)
    expect((await app.request('/projects', { headers: t.headersFor(key) }, from('203.0.113.7'))).status).toBe(403)
    // No bindings at all (plain app.request): no address, so an allowlisted key fails closed.
    expect((await app.request('/projects', { headers: t.headersFor(key) })).status).toBe(403)
    expect(t.decisions().map((e) => e.reason ?? 'allowed')).toEqual(['allowed', 'ip_not_allowed', 'ip_not_allowed'])
  })

  it('works with plain app.request for keys without an allowlist, in every scheme', async () => {
    const t = kit({ defaults: { owner: 'ana@acme.test', role: 'Product Admin' } })
    await t.issue({ kind: 'tenant', tenant: 'acme' })
    const key = await t.issue()
    // A service key (of a tenant with an organization key) only as Contrast's pair.
    const service = await t.issue({ tenant: 'acme' })
    const app = buildApp(t.authorizer)
    for (const headers of [t.headersFor(key), t.headersFor(key, 'bearer'), t.headersFor(service, 'contrast'), await t.headersFor(key, 'jwt')]) {
      const res = await app.request('/projects', { headers })
      expect(res.status).toBe(200)
    }
    expect(t.decisions().map((e) => e.scheme)).toEqual(['api-key', 'bearer', 'contrast', 'jwt'])
  })

  it('takes headersFor output as a Fetch Headers init, as fetch does', async () => {
    const t = kit({ defaults: { role: 'Read Only' } })
    const key = await t.issue()
    const req = new Request('http://localhost/projects', { headers: new Headers(t.headersFor(key, 'basic')) })
    const res = await buildApp(t.authorizer).request(req)
    expect(res.status).toBe(200)
  })
})
