/**
 * keyward/hono: the typed principal, the connection address (@hono/node-server and the
 * clientInfo option for other runtimes), response headers on allow, preflight, onDeny, errors.
 */
import type { Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { Hono } from 'hono'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { guard, type KeywardEnv } from '../../src/adapters/hono.js'
import { createAuthorizer, KeyManager, MemoryKeyStore, tokenBucket, type AuthRequest, type Authorizer } from '../../src/index.js'
import { downStore } from './_fixture.js'
import { close, listen } from './_http.js'

let store: MemoryKeyStore
let authorizer: Authorizer
let rw = ''
let local = ''
const servers: Server[] = []

beforeAll(async () => {
  store = new MemoryKeyStore()
  const m = new KeyManager(store)
  rw = (await m.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })).key
  local = (await m.issue({ kind: 'user', owner: 'lou', role: 'Read Only', allowedIps: ['127.0.0.1/32'] })).key
  authorizer = createAuthorizer({ store, touchIntervalMs: 0 })
})

afterEach(async () => {
  await Promise.all(servers.splice(0).map(close))
})

async function serve(app: { fetch: (req: Request, env?: unknown) => Response | Promise<Response> }): Promise<string> {
  const server = createAdaptorServer({ fetch: app.fetch }) as Server
  servers.push(server)
  return listen(server)
}

/** Wraps the authorizer to record the request each adapter builds. */
function recording(seen: AuthRequest[], a: Authorizer = authorizer) {
  return { authorize: (req: AuthRequest, need?: Parameters<Authorizer['authorize']>[1]) => (seen.push(req), a.authorize(req, need)), need: a.need }
}

describe('keyward/hono on @hono/node-server', () => {
  it('gives per-route handlers the principal, typed, through c.get', async () => {
    const app = new Hono()
    app.get('/apps', guard(authorizer)('apps:read'), (c) => c.json({ keyId: c.get('principal').keyId, owner: c.get('principal').owner }))
    const res = await fetch(`${await serve(app)}/apps`, { headers: { 'X-Api-Key': rw } })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ owner: 'ana' })
  })

  it('works app-wide with new Hono<KeywardEnv>() and app.use', async () => {
    const app = new Hono<KeywardEnv>()
    app.use(guard(authorizer)('apps:read'))
    app.get('/apps', (c) => c.text(c.get('principal').role ?? ''))
    const base = await serve(app)
    expect(await (await fetch(`${base}/apps`, { headers: { 'X-Api-Key': rw } })).text()).toBe('Read Write')
    expect((await fetch(`${base}/apps`)).status).toBe(401)
  })

  it('reads the address getConnInfo reports and the path with its query, like Express', async () => {
    const seen: AuthRequest[] = []
    const app = new Hono()
    app.get('/apps', guard(recording(seen))('apps:read'), (c) => c.text(getConnInfo(c).remote.address ?? ''))
    const res = await fetch(`${await serve(app)}/apps?page=2`, { headers: { 'X-Api-Key': local } })
    expect(res.status).toBe(200)
    expect(seen[0]!.remoteAddress).toBe(await res.text())
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/apps?page=2', secure: false })
  })

  it('adds rate-limit headers even to a raw Response from the route', async () => {
    const limited = createAuthorizer({ store, touchIntervalMs: 0, rateLimiter: tokenBucket({ capacity: 5, refillPerSecond: 1, now: () => 0 }) })
    const app = new Hono()
    app.get('/apps', guard(limited)('apps:read'), () => new Response('raw', { headers: { 'content-type': 'text/plain' } }))
    const res = await fetch(`${await serve(app)}/apps`, { headers: { 'X-Api-Key': rw } })
    expect(await res.text()).toBe('raw')
    expect(res.headers.get('ratelimit-limit')).toBe('5')
    expect(res.headers.get('ratelimit-remaining')).toBe('4')
  })

  it('answers a store outage with 503 and a misused authorizer with onError', async () => {
    const app = new Hono()
    const errors: unknown[] = []
    app.onError((e, c) => (errors.push(e), c.text('error handler', 500)))
    app.get('/down', guard(createAuthorizer({ store: downStore() }))('apps:read'), (c) => c.text('reached'))
    app.get('/misused', guard({ authorize: () => Promise.reject(new Error('misused')), need: authorizer.need })(), (c) => c.text('reached'))
    const base = await serve(app)
    const down = await fetch(`${base}/down`, { headers: { 'X-Api-Key': rw } })
    expect(down.status).toBe(503)
    expect(down.headers.get('retry-after')).toBe('1')
    expect(errors).toEqual([])
    const misused = await fetch(`${base}/misused`, { headers: { 'X-Api-Key': rw } })
    expect(await misused.text()).toBe('error handler')
    expect((errors[0] as Error).message).toBe('misused')
  })

  it('lets a CORS preflight through by default and authorizes it when asked', async () => {
    const app = new Hono()
    app.options('/open', guard(authorizer)('apps:read'), (c) => c.json({ principal: c.get('principal') ?? null }))
    app.options('/strict', guard(authorizer, { authorizePreflight: true })('apps:read'), (c) => c.text('reached'))
    const base = await serve(app)
    const preflight = { Origin: 'https://app.example', 'Access-Control-Request-Method': 'PUT' }
    const open = await fetch(`${base}/open`, { method: 'OPTIONS', headers: preflight })
    expect(await open.json()).toEqual({ principal: null })
    expect((await fetch(`${base}/strict`, { method: 'OPTIONS', headers: preflight })).status).toBe(401)
  })

  it('renders a custom deny with onDeny, keeping status and challenge, and falls back if it returns no Response', async () => {
    const app = new Hono()
    app.get('/custom', guard(authorizer, { onDeny: (d, c) => c.json({ error: d.code }) })('apps:read'), (c) => c.text('reached'))
    app.get('/nothing', guard(authorizer, { onDeny: (() => undefined) as never })('apps:read'), (c) => c.text('reached'))
    const base = await serve(app)
    const custom = await fetch(`${base}/custom`)
    expect(custom.status).toBe(401)
    expect(custom.headers.get('www-authenticate')).toBe('ApiKey realm="api", header="X-Api-Key"')
    expect(await custom.json()).toEqual({ error: 'missing_credentials' })
    const nothing = await fetch(`${base}/nothing`)
    expect(nothing.status).toBe(401)
    expect((await nothing.json()).code).toBe('missing_credentials')
  })
})

describe('keyward/hono on other runtimes (no Node request in c.env)', () => {
  it('takes the address and TLS state from clientInfo', async () => {
    const tls = createAuthorizer({ store, requireTls: true, touchIntervalMs: 0 })
    const app = new Hono()
    const info = guard(tls, { clientInfo: () => ({ remoteAddress: '127.0.0.1', secure: true }) })
    app.get('/apps', info('apps:read'), (c) => c.text(c.get('principal').owner ?? ''))
    const res = await app.request('/apps', { headers: { 'X-Api-Key': local } })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('lou')
  })

  it('fails closed without clientInfo: no address denies an allowlisted key, no TLS denies under requireTls', async () => {
    const app = new Hono()
    app.get('/apps', guard(authorizer)('apps:read'), (c) => c.text('reached'))
    app.get('/tls', guard(createAuthorizer({ store, requireTls: true, touchIntervalMs: 0 }))('apps:read'), (c) => c.text('reached'))
    const ip = await app.request('/apps', { headers: { 'X-Api-Key': local } })
    expect(ip.status).toBe(403)
    expect((await ip.json()).code).toBe('ip_not_allowed')
    expect((await app.request('/apps', { headers: { 'X-Api-Key': rw } })).status).toBe(200)
    expect((await app.request('/tls', { headers: { 'X-Api-Key': rw } })).status).toBe(403)
  })

  it('still rejects a repeated credential that Fetch Headers joined into one value', async () => {
    const app = new Hono()
    app.get('/apps', guard(authorizer)('apps:read'), (c) => c.text('reached'))
    const headers = new Headers([['X-Api-Key', rw], ['X-Api-Key', rw]])
    const res = await app.request('/apps', { headers })
    expect(res.status).toBe(400)
    expect((await res.json()).code).toBe('invalid_request')
  })

  it('refuses a clientInfo that is not a function, and unknown permissions at definition', () => {
    expect(() => guard(authorizer, { clientInfo: {} } as never)).toThrow('clientInfo: must be a function')
    expect(() => guard(authorizer)({ permission: 'vulnerabilities:write' })).toThrow(RangeError)
  })
})
