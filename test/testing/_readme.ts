/**
 * The "Testing your routes" README examples, verbatim: the README's code blocks are these
 * strings. `readme.test.ts` type-checks them and runs them with Vitest in a scratch project that
 * imports `keyward` by its package name, as a user's project would.
 */

export const EXPRESS = `import express from 'express'
import request from 'supertest'
import { afterEach, beforeEach, expect, it } from 'vitest'
import type { Authorizer } from 'keyward'
import { guard } from 'keyward/express'
import { createTestAuthority, type TestAuthority } from 'keyward/testing'

// Your app, built from the authorizer it is given: production passes one on its real store.
function buildApp(authorizer: Authorizer) {
  const requireKey = guard(authorizer)
  const app = express()
  app.get('/scans', requireKey('scans:read'), (req, res) => {
    res.json({ scans: [], owner: req.principal?.owner })
  })
  app.post('/scans', requireKey('scans:manage'), (req, res) => {
    res.status(201).json({ id: 'scan-1' })
  })
  return app
}

let kit: TestAuthority
beforeEach(() => {
  kit = createTestAuthority()
})
afterEach(() => kit.close())

it('lets a Read Only key list scans', async () => {
  const key = await kit.issue({ owner: 'ana@acme.test', role: 'Read Only' })
  const res = await request(buildApp(kit.authorizer)).get('/scans').set(kit.headersFor(key)).expect(200)
  expect(res.body.owner).toBe('ana@acme.test')
})

it('does not let a Read Only key start a scan', async () => {
  const key = await kit.issue({ role: 'Read Only' })
  const res = await request(buildApp(kit.authorizer)).post('/scans').set(kit.headersFor(key)).expect(403)
  expect(res.body.code).toBe('insufficient_permission')
})

it('refuses a key used from outside its allowlist', async () => {
  const key = await kit.issue({ role: 'Read Write', allowedIps: ['203.0.113.0/24'] })
  await request(buildApp(kit.authorizer)).get('/scans').set(kit.headersFor(key)).expect(403)
  expect(kit.lastDecision()?.reason).toBe('ip_not_allowed')
})
`

export const KOA = `import Koa from 'koa'
import request from 'supertest'
import { afterAll, afterEach, expect, it } from 'vitest'
import type { Authorizer } from 'keyward'
import { guard, type KeywardState } from 'keyward/koa'
import { createTestAuthority } from 'keyward/testing'

function buildApp(authorizer: Authorizer) {
  const app = new Koa<KeywardState>()
  app.use(guard(authorizer)('apps:read'))
  app.use((ctx) => {
    ctx.body = { incidents: [], tenant: ctx.state.principal.tenant }
  })
  return app
}

// Configured as production configures its authorizer: the scheme, and where the tenant comes from.
const kit = createTestAuthority({
  schemes: ['rest-api-key'],
  tenant: (req) => req.url?.split('/')[2], // /tenants/<tenant>/...
  defaults: { role: 'Read Only' },
})
afterEach(() => kit.clearDecisions())
afterAll(() => kit.close())

it('accepts a key in its own tenant only', async () => {
  const key = await kit.issue({ tenant: 'acme' })
  const server = buildApp(kit.authorizer).callback()
  await request(server).get('/tenants/acme/incidents').set(kit.headersFor(key)).expect(200)
  await request(server).get('/tenants/globex/incidents').set(kit.headersFor(key)).expect(401)
  expect(kit.decisions().map((d) => d.reason)).toEqual([undefined, 'tenant_mismatch'])
})

it('stops every key of a deactivated key group', async () => {
  const group = await kit.manager.createGroup({ name: 'Integrations', tenant: 'acme' })
  const key = await kit.issue({ tenant: 'acme', group: group.id })
  await kit.manager.deactivateGroup(group.id)
  const server = buildApp(kit.authorizer).callback()
  await request(server).get('/tenants/acme/incidents').set(kit.headersFor(key)).expect(401)
  expect(kit.lastDecision()?.reason).toBe('group_disabled')
})
`

export const HONO = `import { Hono } from 'hono'
import { expect, it } from 'vitest'
import type { Authorizer } from 'keyward'
import { guard } from 'keyward/hono'
import { createTestAuthority } from 'keyward/testing'

function buildApp(authorizer: Authorizer) {
  const requireKey = guard(authorizer)
  const app = new Hono()
  app.get('/projects', requireKey({ permission: 'apps:read', operation: 'getProjects' }), (c) => c.json({ projects: [] }))
  return app
}

// app.request's third argument is what @hono/node-server hands the app: here, a TLS connection.
const overTls = { incoming: { socket: { remoteAddress: '198.51.100.7', encrypted: true } } }

it('denies every operation until it is granted, administrators included', async () => {
  const kit = createTestAuthority({ schemes: ['ssapi'], requireTls: true, explicitGrants: true })
  const { key, record } = await kit.issueRecord({ role: 'Product Admin' })
  const app = buildApp(kit.authorizer)

  const denied = await app.request('/projects', { headers: kit.headersFor(key) }, overTls)
  expect(denied.status).toBe(403)
  expect(kit.lastDecision()?.reason).toBe('operation_not_granted')

  await kit.manager.grant(record.id, ['getProjects'])
  const allowed = await app.request('/projects', { headers: kit.headersFor(key) }, overTls)
  expect(allowed.status).toBe(200)

  const plainHttp = await app.request('/projects', { headers: kit.headersFor(key) })
  expect(plainHttp.status).toBe(403)
  expect(kit.lastDecision()?.reason).toBe('insecure_transport')
})
`

export const CLOCK = `import express from 'express'
import request from 'supertest'
import { expect, it } from 'vitest'
import { guard } from 'keyward/express'
import { createTestAuthority } from 'keyward/testing'

const kit = createTestAuthority() // its clock stands at 2030-01-01T00:00:00Z until a test moves it
const app = express()
app.get('/scans', guard(kit.authorizer)('scans:read'), (req, res) => {
  res.json([])
})

it('refuses a key from the moment it expires', async () => {
  const key = await kit.issue({ role: 'Read Only', expiresAt: kit.clock.now() + 3600_000 })
  await request(app).get('/scans').set(kit.headersFor(key)).expect(200)
  kit.clock.advance(3600_000)
  await request(app).get('/scans').set(kit.headersFor(key)).expect(401)
  expect(kit.lastDecision()?.reason).toBe('key_expired')
})

it('keeps a rotated key working through its grace period, and no longer', async () => {
  const old = await kit.issue({ role: 'Read Only' })
  const next = await kit.rotate(old, { graceMs: 24 * 3600_000 })
  await request(app).get('/scans').set(kit.headersFor(old)).expect(200)
  kit.clock.advance(24 * 3600_000)
  await request(app).get('/scans').set(kit.headersFor(old)).expect(401)
  expect(kit.lastDecision()?.reason).toBe('key_rotated')
  await request(app).get('/scans').set(kit.headersFor(next)).expect(200)
})

it('accepts a token minted from a key until its lifetime is over', async () => {
  const key = await kit.issue({ role: 'Read Only' })
  const headers = await kit.headersFor(key, { scheme: 'jwt', ttlSec: 60 })
  await request(app).get('/scans').set(headers).expect(200)
  kit.clock.advance(60_000)
  await request(app).get('/scans').set(headers).expect(401)
  expect(kit.lastDecision()).toMatchObject({ scheme: 'jwt', reason: 'invalid_token', detail: 'expired' })
})
`

/** Every snippet, by the file name it runs as, with the tests it must report as passed. */
export const SNIPPETS = {
  'express.test.ts': {
    code: EXPRESS,
    tests: ['does not let a Read Only key start a scan', 'lets a Read Only key list scans', 'refuses a key used from outside its allowlist'],
  },
  'koa.test.ts': { code: KOA, tests: ['accepts a key in its own tenant only', 'stops every key of a deactivated key group'] },
  'hono.test.ts': { code: HONO, tests: ['denies every operation until it is granted, administrators included'] },
  'clock.test.ts': {
    code: CLOCK,
    tests: [
      'accepts a token minted from a key until its lifetime is over',
      'keeps a rotated key working through its grace period, and no longer',
      'refuses a key from the moment it expires',
    ],
  },
} as const
