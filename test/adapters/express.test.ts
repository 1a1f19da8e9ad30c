/**
 * keyward/express on Express 4 and 5: app.use and per-route guards, route-definition errors,
 * preflight, onDeny, and how failures are routed (503 response vs next(err)).
 */
import { createServer, type Server } from 'node:http'
import express5, { type ErrorRequestHandler, type Express } from 'express'
import express4 from 'express4'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { guard } from '../../src/adapters/express.js'
import { createAuthorizer, KeyManager, MemoryKeyStore, renderDeny, type Authorizer, type DenyDecision } from '../../src/index.js'
import { downStore } from './_fixture.js'
import { close, listen } from './_http.js'

let authorizer: Authorizer
let rw = ''
let ro = ''
const servers: Server[] = []

beforeAll(async () => {
  const store = new MemoryKeyStore()
  const m = new KeyManager(store)
  rw = (await m.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })).key
  ro = (await m.issue({ kind: 'user', owner: 'rob', role: 'Read Only' })).key
  authorizer = createAuthorizer({ store, touchIntervalMs: 0 })
})

afterEach(async () => {
  await Promise.all(servers.splice(0).map(close))
})

async function serve(app: Express): Promise<string> {
  const server = createServer(app)
  servers.push(server)
  return listen(server)
}

/** Records errors that reach Express's error handling, and answers 500. */
function errorSink(errors: unknown[]): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    errors.push(err)
    res.status(500).end('error handler')
  }
}

describe.each([
  ['Express 5', express5],
  ['Express 4', express4],
] as const)('%s', (_label, factory) => {
  it('protects every later route with app.use and hands the principal to handlers', async () => {
    const app = factory()
    app.use(guard(authorizer)('apps:read'))
    app.get('/apps', (req, res) => {
      res.json({ owner: req.principal?.owner, can: req.principal?.can('apps:manage') })
    })
    const base = await serve(app)
    const ok = await fetch(`${base}/apps`, { headers: { 'X-Api-Key': ro } })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ owner: 'rob', can: false })
    const denied = await fetch(`${base}/anything-else`)
    expect(denied.status).toBe(401)
  })

  it('guards per route and leaves unguarded routes open', async () => {
    const app = factory()
    const requireKey = guard(authorizer)
    app.get('/health', (_req, res) => {
      res.send('ok')
    })
    app.post('/scans', requireKey('scans:manage'), (req, res) => {
      res.status(201).json({ by: req.principal?.owner })
    })
    const base = await serve(app)
    expect((await fetch(`${base}/health`)).status).toBe(200)
    const created = await fetch(`${base}/scans`, { method: 'POST', headers: { 'X-Api-Key': rw } })
    expect(created.status).toBe(201)
    expect(await created.json()).toEqual({ by: 'ana' })
    const forbidden = await fetch(`${base}/scans`, { method: 'POST', headers: { 'X-Api-Key': ro } })
    expect(forbidden.status).toBe(403)
    expect((await forbidden.json()).detail).toBe('The API key lacks the permission "scans:manage".')
  })

  it('sends exactly renderDeny bytes, without a charset', async () => {
    let decision: DenyDecision | undefined
    const spy = { authorize: async (...a: Parameters<Authorizer['authorize']>) => {
      const d = await authorizer.authorize(...a)
      if (!d.allow) decision = d
      return d
    }, need: authorizer.need }
    const app = factory()
    app.get('/apps', guard(spy)('apps:read'), (_req, res) => {
      res.end()
    })
    const res = await fetch(`${await serve(app)}/apps`, { headers: { 'X-Api-Key': 'kw_nope_nope_nope' } })
    const expected = renderDeny(decision!)
    expect(res.status).toBe(expected.status)
    expect(await res.text()).toBe(expected.body)
    for (const [name, value] of Object.entries(expected.headers)) expect(res.headers.get(name)).toBe(value)
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(expected.body)))
  })

  it('answers a store outage with 503 and never calls the error handler', async () => {
    const errors: unknown[] = []
    const app = factory()
    app.get('/apps', guard(createAuthorizer({ store: downStore() }))('apps:read'), (_req, res) => {
      res.send('reached')
    })
    app.use(errorSink(errors))
    const res = await fetch(`${await serve(app)}/apps`, { headers: { 'X-Api-Key': rw } })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    expect((await res.json()).code).toBe('service_unavailable')
    expect(errors).toEqual([])
  })

  it('passes a rejected authorize (misuse) to next(err), never to the route', async () => {
    const errors: unknown[] = []
    const broken = { authorize: () => Promise.reject(new TypeError('request: must be an object')), need: authorizer.need }
    const app = factory()
    app.get('/apps', guard(broken)('apps:read'), (_req, res) => {
      res.send('reached')
    })
    app.use(errorSink(errors))
    const res = await fetch(`${await serve(app)}/apps`, { headers: { 'X-Api-Key': rw } })
    expect(res.status).toBe(500)
    expect(await res.text()).toBe('error handler')
    expect(errors).toHaveLength(1)
    expect((errors[0] as Error).message).toBe('request: must be an object')
  })

  it('lets a CORS preflight through by default and authorizes it when asked', async () => {
    const app = factory()
    app.options('/open', guard(authorizer)('apps:read'), (req, res) => {
      res.json({ principal: req.principal ?? null })
    })
    app.options('/strict', guard(authorizer, { authorizePreflight: true })('apps:read'), (_req, res) => {
      res.send('reached')
    })
    const base = await serve(app)
    const preflight = { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' }
    const open = await fetch(`${base}/open`, { method: 'OPTIONS', headers: preflight })
    expect(open.status).toBe(200)
    expect(await open.json()).toEqual({ principal: null })
    expect((await fetch(`${base}/strict`, { method: 'OPTIONS', headers: preflight })).status).toBe(401)
    const noMethod = await fetch(`${base}/open`, { method: 'OPTIONS', headers: { Origin: 'https://app.example' } })
    expect(noMethod.status).toBe(401)
  })

  it('renders a custom deny body with onDeny, keeping the status and the challenge', async () => {
    const app = factory()
    const requireKey = guard(authorizer, { onDeny: (d, _req, res) => void res.json({ error: d.code }) })
    app.get('/apps', requireKey('apps:read'), (_req, res) => {
      res.send('reached')
    })
    const res = await fetch(`${await serve(app)}/apps`)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('ApiKey realm="api", header="X-Api-Key"')
    expect(await res.json()).toEqual({ error: 'missing_credentials' })
  })

  it('falls back to the problem document when onDeny sends nothing, and to next(err) when it throws', async () => {
    const errors: unknown[] = []
    const app = factory()
    app.get('/silent', guard(authorizer, { onDeny: async () => {} })('apps:read'), (_req, res) => {
      res.send('reached')
    })
    const boom = () => {
      throw new Error('renderer broke')
    }
    app.get('/throws', guard(authorizer, { onDeny: boom })('apps:read'), (_req, res) => {
      res.send('reached')
    })
    app.use(errorSink(errors))
    const base = await serve(app)
    const silent = await fetch(`${base}/silent`)
    expect(silent.status).toBe(401)
    expect(silent.headers.get('content-type')).toBe('application/problem+json')
    expect((await silent.json()).code).toBe('missing_credentials')
    const throws = await fetch(`${base}/throws`)
    expect(throws.status).toBe(500)
    expect((errors[0] as Error).message).toBe('renderer broke')
  })
})

describe('guard() validation', () => {
  it('throws at route definition when the need names an unknown permission', () => {
    const requireKey = guard(authorizer)
    expect(() => requireKey('scans:destroy')).toThrow(RangeError)
    expect(() => requireKey('scans:destroy')).toThrow(/need\.permission\[0\]/)
    expect(() => requireKey('vulns:read')).toThrow('need.permission[0]: "vulns:read" is not a permission of the role matrix')
    expect(() => requireKey({ permission: 'scans:read', extra: 1 } as never)).toThrow(/need: unknown field "extra"/)
  })

  it('refuses a missing authorizer, bad options and unknown option names, naming the field', () => {
    expect(() => guard(undefined as never)).toThrow(TypeError)
    expect(() => guard({} as never)).toThrow(/^authorizer: /)
    expect(() => guard(authorizer, { onDenied: () => {} } as never)).toThrow('options: unknown field "onDenied" (did you mean "onDeny"?)')
    expect(() => guard(authorizer, { authorizePreflight: 'yes' } as never)).toThrow('authorizePreflight: must be a boolean')
    expect(() => guard(authorizer, { onDeny: 'json' } as never)).toThrow('onDeny: must be a function')
    expect(() => guard(authorizer, null as never)).toThrow('options: must be an object')
  })

  it('does not mutate or keep the caller\'s options', async () => {
    const options = { authorizePreflight: false }
    const requireKey = guard(authorizer, Object.freeze(options))
    expect(options).toEqual({ authorizePreflight: false })
    // Changing the object later does not change the guard.
    const mutable = { authorizePreflight: false }
    const later = guard(authorizer, mutable)('apps:read')
    mutable.authorizePreflight = true
    const app = express5()
    app.options('/x', later, (_req, res) => {
      res.send('reached')
    })
    const base = await serve(app)
    const res = await fetch(`${base}/x`, { method: 'OPTIONS', headers: { Origin: 'https://a.example', 'Access-Control-Request-Method': 'GET' } })
    expect(await res.text()).toBe('reached')
    expect(typeof requireKey).toBe('function')
  })
})
