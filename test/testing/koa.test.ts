/**
 * keyward/testing as a user's Koa suite uses it: supertest against `app.callback()`, with an
 * Ivanti-like setup (tenants in the path, key groups, `rest_api_key=`) and a rate limit on the
 * kit's clock.
 */
import Koa from 'koa'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { guard, type KeywardState } from '../../src/adapters/koa.js'
import type { Authorizer } from '../../src/index.js'
import { kitsClosedAfterEach } from './_support.js'

/** The user's app: GET /tenants/:tenant/incidents, read with `apps:read`. */
function buildApp(authorizer: Authorizer): Koa<KeywardState> {
  const canRead = guard(authorizer)('apps:read')
  const app = new Koa<KeywardState>()
  app.use(canRead)
  app.use((ctx) => {
    ctx.body = { incidents: [], tenant: ctx.state.principal.tenant, group: ctx.state.principal.group ?? null }
  })
  return app
}

const tenantOfPath = (req: { url?: string }) => /^\/tenants\/([^/?]+)/.exec(req.url ?? '')?.[1]

const kit = kitsClosedAfterEach()

describe('Koa routes tested with the kit', () => {
  it('allows a key in its own tenant and refuses it in another, as an unknown key would be', async () => {
    const t = kit({ schemes: ['rest-api-key'], tenant: tenantOfPath, defaults: { role: 'Read Only' } })
    const key = await t.issue({ tenant: 'acme' })
    const server = buildApp(t.authorizer).callback()
    const ok = await request(server).get('/tenants/acme/incidents').set(t.headersFor(key)).expect(200)
    expect(ok.body).toEqual({ incidents: [], tenant: 'acme', group: null })
    const other = await request(server).get('/tenants/globex/incidents').set(t.headersFor(key)).expect(401)
    const strangers = await kit({ seed: 'strangers' }).issue()
    const unknown = await request(server).get('/tenants/globex/incidents').set(t.headersFor(strangers)).expect(401)
    expect(other.text).toBe(unknown.text)
    expect(t.decisions().map((e) => e.reason ?? 'allowed')).toEqual(['allowed', 'tenant_mismatch', 'unknown_key'])
  })

  it('disables every key of a deactivated group, through the kit manager', async () => {
    const t = kit({ schemes: ['rest-api-key'], tenant: tenantOfPath, defaults: { role: 'Read Only', tenant: 'acme' } })
    const group = await t.manager.createGroup({ name: 'Integrations', tenant: 'acme' })
    const key = await t.issue({ group: group.id })
    const server = buildApp(t.authorizer).callback()
    const ok = await request(server).get('/tenants/acme/incidents').set(t.headersFor(key)).expect(200)
    expect(ok.body.group).toBe(group.id)
    await t.manager.deactivateGroup(group.id)
    await request(server).get('/tenants/acme/incidents').set(t.headersFor(key)).expect(401)
    expect(t.lastDecision()?.reason).toBe('group_disabled')
  })

  it('rate-limits per key, and refills when the test advances the clock', async () => {
    const t = kit({ rateLimit: { capacity: 2, refillPerSecond: 0.5 }, defaults: { role: 'Read Only' } })
    const key = await t.issue()
    const server = buildApp(t.authorizer).callback()
    const first = await request(server).get('/').set(t.headersFor(key)).expect(200)
    expect(first.headers['ratelimit-remaining']).toBe('1')
    await request(server).get('/').set(t.headersFor(key)).expect(200)
    const limited = await request(server).get('/').set(t.headersFor(key)).expect(429)
    expect(limited.headers['retry-after']).toBe('2')
    t.clock.advance(2000)
    await request(server).get('/').set(t.headersFor(key)).expect(200)
    expect(t.decisions().map((e) => e.status)).toEqual([200, 200, 429, 200])
  })

  it('shows a locked owner\'s keys stop at once (Contrast), with headers derived from the store', async () => {
    const t = kit({ schemes: ['contrast'], defaults: { owner: 'ana@acme.test', role: 'Read Only', tenant: 'acme' } })
    await t.issue({ kind: 'tenant' })
    const key = await t.issue()
    const server = buildApp(t.authorizer).callback()
    await request(server).get('/').set(t.headersFor(key)).expect(200)
    await t.manager.setOwner('ana@acme.test', { active: false })
    await request(server).get('/').set(t.headersFor(key)).expect(401)
    expect(t.lastDecision()).toMatchObject({ reason: 'owner_disabled', scheme: 'contrast' })
  })
})
