/**
 * Each adapter hands the core exactly the path its framework routes on: a tenant function that
 * reads the path, the operation checked under explicit grants and the route that runs must all
 * see one path, whatever dot segments, encoded dots, empty segments, encoded slashes or
 * backslashes the request target carries. Requests are written byte for byte on a raw socket, so
 * nothing is normalised on the client side.
 */
import { createServer, type Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import express5 from 'express'
import express4 from 'express4'
import { Hono } from 'hono'
import Koa from 'koa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { guard as expressGuard } from '../../src/adapters/express.js'
import { guard as honoGuard } from '../../src/adapters/hono.js'
import { guard as koaGuard } from '../../src/adapters/koa.js'
import { createAuthorizer, KeyManager, MemoryKeyStore, schemes, type Authorizer, type DecisionEvent } from '../../src/index.js'
import { FRAMEWORKS, type Framework } from './_apps.js'
import { close, listen, send } from './_http.js'

const NOW = Date.UTC(2030, 0, 1)
const OPERATION = 'ListApplications'

/** What one request left behind: the path each party saw. */
interface Seen {
  tenantFn: string[]
  events: DecisionEvent[]
  routed: string[]
}

/** The path part of a request target (what routers match; the query is not part of it). */
const pathPart = (url: string): string => url.split('?')[0]!

function authorizerFor(store: MemoryKeyStore, seen: Seen): Authorizer {
  return createAuthorizer({
    store,
    now: () => NOW,
    touchIntervalMs: 0,
    explicitGrants: true,
    // As examples/contrast.ts reads it: the organization is the path segment after /api/ng/.
    tenant: (req) => {
      seen.tenantFn.push(pathPart(req.url ?? ''))
      return /^\/api\/ng\/([^/?]+)/.exec(req.url ?? '')?.[1]
    },
    onDecision: (e) => seen.events.push(e),
  })
}

function build(framework: Framework, authorizer: Authorizer, seen: Seen): Server {
  const need = { operation: OPERATION }
  if (framework === 'koa') {
    const app = new Koa()
    app.silent = true
    const mw = koaGuard(authorizer)(need)
    app.use(async (ctx, next) => {
      const m = /^\/api\/ng\/([^/]+)\/applications$/.exec(ctx.path)
      if (ctx.method !== 'GET' || !m) return next()
      await mw(ctx, async () => {
        seen.routed.push(ctx.path)
        ctx.body = { org: decodeURIComponent(m[1]!) }
      })
    })
    return createServer(app.callback())
  }
  if (framework === 'hono') {
    const app = new Hono()
    app.get('/api/ng/:org/applications', honoGuard(authorizer)(need), (c) => {
      seen.routed.push(c.req.path)
      return c.json({ org: c.req.param('org') })
    })
    return createAdaptorServer({ fetch: app.fetch }) as Server
  }
  const app = (framework === 'express4' ? express4 : express5)()
  app.get('/api/ng/:org/applications', expressGuard(authorizer)(need), (req, res) => {
    seen.routed.push(req.path)
    res.json({ org: req.params.org })
  })
  return createServer(app)
}

// Every target addresses ORG-B's applications in some spelling a router may normalise, while a
// naive reading of the raw target says ORG-A (or nothing at all).
const TARGETS = [
  '/api/ng/ORG-A/../ORG-B/applications',
  '/api/ng/ORG-A/%2e%2e/ORG-B/applications',
  '/api/ng/ORG-A/%2E%2E/ORG-B/applications',
  '/api/ng/ORG-A/.%2e/ORG-B/applications',
  '/api/ng/ORG-A/./../ORG-B/applications',
  '/api/ng/ORG-A/..%2fORG-B/applications',
  '/api/ng/ORG-A%2f..%2fORG-B/applications',
  '/api/ng/ORG-A\\..\\ORG-B/applications',
  '/api/ng/ORG-A/..\\ORG-B/applications',
  '/api/ng/ORG-A//../ORG-B/applications',
  '/api/ng//ORG-B/applications',
  '//api/ng/ORG-A/../ORG-B/applications',
  '/api/ng/ORG-A/../ORG-B/applications?x=1',
  '/x/../api/ng/ORG-B/applications',
  'http://127.0.0.1/api/ng/ORG-B/applications',
] as const

describe.each(FRAMEWORKS)('%s: the path the core sees is the path the framework routes on', (framework) => {
  const seen: Seen = { tenantFn: [], events: [], routed: [] }
  let base = ''
  let server: Server
  let keyA = ''
  beforeAll(async () => {
    const store = new MemoryKeyStore()
    const m = new KeyManager(store, { now: () => NOW - 1000 })
    keyA = (await m.issue({ kind: 'user', tenant: 'ORG-A', owner: 'ana', role: 'Read Only', grants: [OPERATION] })).key
    server = build(framework, authorizerFor(store, seen), seen)
    base = await listen(server)
  })
  afterAll(() => close(server))

  it('allows the key in its own organization through a plain path', async () => {
    const res = await send(base, { method: 'GET', path: '/api/ng/ORG-A/applications', headers: [['X-Api-Key', keyA]], via: 'socket' })
    expect([res.status, JSON.parse(res.body)]).toEqual([200, { org: 'ORG-A' }])
  })

  it.each(TARGETS)('never lets an ORG-A key reach ORG-B, and all parties see one path: %s', async (target) => {
    seen.tenantFn.length = 0
    seen.events.length = 0
    seen.routed.length = 0
    const res = await send(base, { method: 'GET', path: target, headers: [['X-Api-Key', keyA]], via: 'socket' })
    // Cross-tenant is never allowed: a response from the route names the key's own organization.
    if (res.status === 200) expect(JSON.parse(res.body)).toEqual({ org: 'ORG-A' })
    else expect(seen.events.every((e) => !e.allow)).toBe(true)
    // Whenever the route ran, the tenant function and the decision event saw the routed path,
    // and the operation authorized was that route's.
    if (seen.routed.length > 0) {
      expect(seen.tenantFn).toEqual(seen.routed)
      expect(seen.events.map((e) => [e.path, e.operation, e.allow])).toEqual([[seen.routed[0], OPERATION, true]])
    }
    // Whenever the guard ran, the tenant function read a path that starts at the root, as routers do.
    for (const p of seen.tenantFn) expect(p.startsWith('/')).toBe(true)
  })
})
