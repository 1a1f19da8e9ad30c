/**
 * keyward/testing as a user's Express suite uses it: supertest against an app guarded by the
 * kit's authorizer (supertest serves on 127.0.0.1 and closes after each request).
 */
import express, { type Express } from 'express'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { guard } from '../../src/adapters/express.js'
import { renderDeny, type Authorizer } from '../../src/index.js'
import { kitsClosedAfterEach } from './_support.js'

/** The user's app: it takes the authorizer as a dependency, so tests can hand it the kit's. */
function buildApp(authorizer: Authorizer): Express {
  const requireKey = guard(authorizer)
  const app = express()
  app.get('/scans', requireKey('scans:read'), (req, res) => {
    res.json({ scans: [], by: req.principal?.owner, scheme: req.principal?.scheme })
  })
  app.post('/scans', requireKey('scans:manage'), (req, res) => {
    res.status(201).json({ id: 'scan-1', key: req.principal?.keyId })
  })
  return app
}

const kit = kitsClosedAfterEach()

describe('Express routes tested with the kit', () => {
  it('allows a key whose role permits the route and hands the principal to the handler', async () => {
    const t = kit()
    const { key, record } = await t.issueRecord({ owner: 'ana@acme.test', role: 'Read Write' })
    const app = buildApp(t.authorizer)
    const res = await request(app).post('/scans').set(t.headersFor(key)).expect(201)
    expect(res.body).toEqual({ id: 'scan-1', key: record.id })
    expect(t.lastDecision()).toMatchObject({ allow: true, keyId: record.id, method: 'POST', path: '/scans' })
  })

  it('answers 403 for a role that lacks the permission, and the decision says which', async () => {
    const t = kit()
    const key = await t.issue({ role: 'Read Only' })
    const res = await request(buildApp(t.authorizer)).post('/scans').set(t.headersFor(key)).expect(403)
    expect(res.headers['content-type']).toBe('application/problem+json')
    expect(res.body.code).toBe('insufficient_permission')
    expect(t.lastDecision()).toMatchObject({ reason: 'insufficient_permission', detail: 'scans:manage' })
  })

  it('asserts a denial reason without parsing the response: ip_not_allowed', async () => {
    const t = kit()
    const key = await t.issue({ role: 'Read Only', allowedIps: ['203.0.113.0/24'] })
    await request(buildApp(t.authorizer)).get('/scans').set(t.headersFor(key)).expect(403)
    expect(t.lastDecision()?.reason).toBe('ip_not_allowed')
  })

  it('picks the client address with X-Forwarded-For when the kit trusts loopback as a proxy', async () => {
    const t = kit({ trustProxy: ['127.0.0.1', '::1'] })
    const key = await t.issue({ role: 'Read Only', allowedIps: ['203.0.113.0/24'] })
    const app = buildApp(t.authorizer)
    await request(app).get('/scans').set(t.headersFor(key)).set('X-Forwarded-For', '203.0.113.7').expect(200)
    await request(app).get('/scans').set(t.headersFor(key)).set('X-Forwarded-For', '198.51.100.7').expect(403)
    expect(t.decisions().map((e) => [e.clientIp, e.reason])).toEqual([
      ['203.0.113.7', undefined],
      ['198.51.100.7', 'ip_not_allowed'],
    ])
  })

  it('sends exactly renderDeny\'s response on 401, with the challenge of every kit scheme', async () => {
    const t = kit({ schemes: ['api-key', 'bearer'] })
    const res = await request(buildApp(t.authorizer)).get('/scans').expect(401)
    const deny = await t.authorizer.authorize({ method: 'GET', url: '/scans', headers: {}, remoteAddress: '127.0.0.1' }, 'scans:read')
    if (deny.allow) throw new Error('expected a deny')
    const expected = renderDeny(deny)
    expect(res.text).toBe(expected.body)
    expect(res.headers['www-authenticate']).toBe('ApiKey realm="api", header="X-Api-Key", Bearer realm="api"')
  })

  it.each(['api-key', 'ssapi', 'rest-api-key', 'bearer', 'basic', 'contrast'] as const)('accepts the %s headers over HTTP', async (scheme) => {
    // Contrast takes a service key; a service key never works alone, so the others take a key of no tenant.
    const t = kit({ defaults: { owner: 'ana@acme.test', role: 'Read Only', ...(scheme === 'contrast' ? { tenant: 'acme' } : {}) } })
    if (scheme === 'contrast') await t.issue({ kind: 'tenant' })
    const key = await t.issue()
    const res = await request(buildApp(t.authorizer)).get('/scans').set(t.headersFor(key, scheme)).expect(200)
    expect(res.body).toEqual({ scans: [], by: 'ana@acme.test', scheme })
  })

  it('accepts a kit JWT until it expires on the kit clock', async () => {
    const t = kit()
    const key = await t.issue({ role: 'Read Only' })
    const app = buildApp(t.authorizer)
    const headers = await t.headersFor(key, { scheme: 'jwt', ttlSec: 60 })
    await request(app).get('/scans').set(headers).expect(200)
    t.clock.advance(60_000)
    const res = await request(app).get('/scans').set(headers).expect(401)
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"')
    expect(t.lastDecision()).toMatchObject({ reason: 'invalid_token', detail: 'expired', scheme: 'jwt' })
  })

  it('tests rotation end to end: the old key works through the grace period, then is refused', async () => {
    const t = kit()
    const old = await t.issue({ role: 'Read Only' })
    const app = buildApp(t.authorizer)
    const next = await t.rotate(old, { graceMs: 24 * 3600_000 })
    await request(app).get('/scans').set(t.headersFor(old)).expect(200)
    await request(app).get('/scans').set(t.headersFor(next)).expect(200)
    t.clock.advance(24 * 3600_000)
    await request(app).get('/scans').set(t.headersFor(old)).expect(401)
    await request(app).get('/scans').set(t.headersFor(next)).expect(200)
    expect(t.decisions().map((e) => e.reason ?? 'allowed')).toEqual(['allowed', 'allowed', 'key_rotated', 'allowed'])
  })
})
