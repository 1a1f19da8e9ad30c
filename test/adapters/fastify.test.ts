/**
 * keyward/fastify: the plugin (declared `principal`, `requireKey`, `config.keyward`), the hook
 * through `fastify.inject()` and over real HTTP on 127.0.0.1, and the path the core is handed:
 * the one Fastify's router routes on, whatever the target's spelling.
 */
import type { Server } from 'node:http'
import { connect } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { guard, keywardPlugin } from '../../src/adapters/fastify.js'
import { createAuthorizer, KeyManager, MemoryKeyStore, renderDeny, type Authorizer, type Decision } from '../../src/index.js'
import { close, listen } from './_http.js'

const apps: FastifyInstance[] = []
const authorizers: Authorizer[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
  await Promise.all(authorizers.splice(0).map((a) => a.close()))
})

async function setup(extra: Partial<Parameters<typeof createAuthorizer>[0]> = {}) {
  const store = new MemoryKeyStore()
  const m = new KeyManager(store)
  const rw = (await m.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })).key
  const ro = (await m.issue({ kind: 'user', owner: 'rob', role: 'Read Only' })).key
  const acme = (await m.issue({ kind: 'org', tenant: 'acme' })).key
  const decisions: Decision[] = []
  const authorizer = createAuthorizer({ store, touchIntervalMs: 0, ...extra })
  authorizers.push(authorizer)
  const spy: Authorizer = { ...authorizer, authorize: async (r, n) => {
    const d = await authorizer.authorize(r, n)
    decisions.push(d)
    return d
  } }
  return { store, m, rw, ro, acme, authorizer, spy, decisions }
}

function app(options?: FastifyServerOptions): FastifyInstance {
  const a = Fastify(options)
  apps.push(a)
  return a
}

describe('the plugin', () => {
  it('declares request.principal as null on routes it does not guard, and sets it where a hook allows', async () => {
    const s = await setup()
    const a = app()
    await a.register(keywardPlugin, { authorizer: s.authorizer })
    a.get('/open', async (request) => ({ principal: request.principal }))
    a.get('/scans', { onRequest: a.requireKey('scans:read') }, async (request) => ({ by: request.principal?.kind }))
    expect((await a.inject('/open')).json()).toEqual({ principal: null })
    const ok = await a.inject({ url: '/scans', headers: { 'x-api-key': s.ro } })
    expect(ok.statusCode).toBe(200)
    expect(ok.json()).toEqual({ by: 'user' })
    expect((await a.inject('/scans')).statusCode).toBe(401)
  })

  it('guards routes by config.keyward, also those registered before the plugin', async () => {
    const s = await setup()
    const a = app()
    a.get('/early', { config: { keyward: 'scans:manage' } }, async (request) => ({ by: request.principal?.keyId ?? null }))
    await a.register(keywardPlugin, { authorizer: s.authorizer })
    a.get('/late', { config: { keyward: 'scans:manage' } }, async (request) => ({ by: request.principal?.keyId ?? null }))
    a.get('/any', { config: { keyward: true } }, async (request) => ({ by: request.principal?.keyId ?? null }))
    for (const url of ['/early', '/late']) {
      expect({ url, status: (await a.inject(url)).statusCode }).toEqual({ url, status: 401 })
      expect({ url, status: (await a.inject({ url, headers: { 'x-api-key': s.ro } })).statusCode }).toEqual({ url, status: 403 })
      expect({ url, status: (await a.inject({ url, headers: { 'x-api-key': s.rw } })).statusCode }).toEqual({ url, status: 200 })
    }
    expect((await a.inject('/any')).statusCode).toBe(401)
    expect((await a.inject({ url: '/any', headers: { 'x-api-key': s.ro } })).statusCode).toBe(200)
    // The HEAD route Fastify adds for each GET carries the same need.
    expect((await a.inject({ method: 'HEAD', url: '/late' })).statusCode).toBe(401)
    expect((await a.inject({ method: 'HEAD', url: '/early', headers: { 'x-api-key': s.ro } })).statusCode).toBe(403)
    // Fastify's 404 runs the plugin's hook too, and is still a plain 404.
    expect((await a.inject('/nowhere')).statusCode).toBe(404)
  })

  it('refuses an unknown permission in config.keyward when the route is added, and unknown plugin options', async () => {
    const s = await setup()
    const a = app()
    await a.register(keywardPlugin, { authorizer: s.authorizer })
    expect(() => a.get('/x', { config: { keyward: 'scan:read' } }, async () => 'x')).toThrow(/scan/)
    const b = app()
    await expect(b.register(keywardPlugin, { authorizer: s.authorizer, authorizePreflite: true } as never)).rejects.toThrow(/unknown field "authorizePreflite" \(did you mean "authorizePreflight"\?\)/)
    const c = app()
    await expect(c.register(keywardPlugin, {} as never)).rejects.toThrow(/^authorizer: /)
  })
})

describe('the hook', () => {
  it('sends renderDeny byte for byte, headers included, through inject()', async () => {
    const s = await setup()
    const a = app()
    a.decorateRequest('principal', null)
    a.post('/scans', { onRequest: guard(s.spy)('scans:manage') }, async () => 'ran')
    for (const headers of [{}, { 'x-api-key': s.ro }, { 'x-api-key': 'k'.repeat(600) }]) {
      const r = await a.inject({ method: 'POST', url: '/scans', headers })
      const d = s.decisions.at(-1)!
      expect(d.allow).toBe(false)
      const expected = renderDeny(d as Extract<Decision, { allow: false }>)
      expect(r.statusCode).toBe(expected.status)
      expect(r.body).toBe(expected.body)
      for (const [name, value] of Object.entries(expected.headers)) expect({ name, value: r.headers[name] }).toEqual({ name, value })
      expect(r.headers['content-length']).toBe(String(Buffer.byteLength(expected.body)))
    }
  })

  it('hands the core the socket address, not request.ip under trustProxy', async () => {
    const s = await setup()
    const lan = (await s.m.issue({ kind: 'user', owner: 'lia', role: 'Read Only', allowedIps: ['10.0.0.0/8'] })).key
    // Fastify trusts every proxy here; keyward trusts none, so X-Forwarded-For is not believed.
    const a = app({ trustProxy: true })
    a.decorateRequest('principal', null)
    a.get('/apps', { onRequest: guard(s.authorizer)('apps:read') }, async (request) => ({ ip: request.ip }))
    await a.ready()
    const base = await listen(a.server)
    const r = await fetch(`${base}/apps`, { headers: { 'x-api-key': lan, 'x-forwarded-for': '10.1.2.3' } })
    expect(r.status).toBe(403)
    expect(await r.json()).toMatchObject({ code: 'ip_not_allowed' })
  })

  it('lets a CORS preflight through without a principal, and authorizes it when asked to', async () => {
    const s = await setup()
    const a = app()
    a.decorateRequest('principal', null)
    const pre = { origin: 'https://app.test', 'access-control-request-method': 'GET' }
    a.options('/apps', { onRequest: guard(s.authorizer)('apps:read') }, async (request) => ({ principal: request.principal }))
    a.options('/strict', { onRequest: guard(s.authorizer, { authorizePreflight: true })('apps:read') }, async () => 'ran')
    expect((await a.inject({ method: 'OPTIONS', url: '/apps', headers: pre })).json()).toEqual({ principal: null })
    expect((await a.inject({ method: 'OPTIONS', url: '/apps' })).statusCode).toBe(401)
    expect((await a.inject({ method: 'OPTIONS', url: '/strict', headers: pre })).statusCode).toBe(401)
  })

  it('adds the allow headers to the route’s reply, and lets onDeny render, falling back when it sends nothing', async () => {
    const s = await setup({ rateLimiter: (await import('../../src/index.js')).tokenBucket({ capacity: 5, refillPerSecond: 1 }) })
    const a = app()
    a.decorateRequest('principal', null)
    const custom = guard(s.authorizer, { onDeny: (d, _req, reply) => void reply.send({ error: d.code }) })
    const silent = guard(s.authorizer, { onDeny: () => undefined })
    a.get('/c', { onRequest: custom('apps:read') }, async () => 'ok')
    a.get('/s', { onRequest: silent('apps:read') }, async () => 'ok')
    const ok = await a.inject({ url: '/c', headers: { 'x-api-key': s.ro } })
    expect(ok.statusCode).toBe(200)
    expect(ok.headers['ratelimit-remaining']).toBeDefined()
    const c = await a.inject('/c')
    expect(c.statusCode).toBe(401)
    expect(c.json()).toEqual({ error: 'missing_credentials' })
    expect(c.headers['www-authenticate']).toMatch(/realm="api"/)
    const sd = await a.inject('/s')
    expect(sd.headers['content-type']).toBe('application/problem+json')
    expect(sd.json()).toMatchObject({ code: 'missing_credentials' })
    expect(() => guard(s.authorizer, { ondeny: () => undefined } as never)).toThrow(/unknown field "ondeny" \(did you mean "onDeny"\?\)/)
  })
})

/** Writes a raw request (fetch and node:http normalise odd targets) and reads status and body. */
function raw(base: string, target: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const { port } = new URL(base)
  const head = [`GET ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close', ...Object.entries(headers).map(([n, v]) => `${n}: ${v}`)]
  return new Promise((resolve, reject) => {
    let data = ''
    const sock = connect(Number(port), '127.0.0.1', () => sock.end(`${head.join('\r\n')}\r\n\r\n`))
    sock.setEncoding('latin1')
    sock.on('data', (c: string) => (data += c))
    sock.on('error', reject)
    sock.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), body: data.slice(data.indexOf('\r\n\r\n') + 4) }))
  })
}

describe('the path the core sees is the path Fastify routes on', () => {
  // A tenant taken from the path's last segment, decoded as Fastify decodes a param.
  const TARGETS = [
    '/t/acme', '/t/globex', '/t/%61cme', '/t/acme/', '/t//acme', '//t/acme', '/t/globex#/acme', '/t/globex;/acme', '/t/globex?/acme',
    '/t/globex%2F..%2Facme', '/t/..%2Facme', '/t/%2e%2e', '/t/..', '/t/globex/../acme', '/t/globex\\..\\acme', '/t/ac%25me',
    'http://other.test/t/acme', 'http://other.test/t/globex#/acme',
  ]

  it.each([
    ['default router options', {}],
    ['ignoreDuplicateSlashes, ignoreTrailingSlash, useSemicolonDelimiter', { routerOptions: { ignoreDuplicateSlashes: true, ignoreTrailingSlash: true, useSemicolonDelimiter: true } }],
  ] as const)('%s: the tenant callback and request.params agree on every spelling, over raw HTTP', async (_name, options) => {
    const seen: (string | undefined)[] = []
    const s = await setup({
      tenant: (req) => {
        const path = (req.url ?? '').split('?')[0]!
        const t = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1))
        seen.push(t)
        return t
      },
    })
    const a = app(options as FastifyServerOptions)
    a.decorateRequest('principal', null)
    a.get('/t/:tenant', { onRequest: guard(s.authorizer)('apps:read') }, async (request) => ({ param: (request.params as { tenant: string }).tenant }))
    await a.ready()
    const base = await listen(a.server as Server)
    try {
      let served = 0
      for (const target of TARGETS) {
        seen.length = 0
        const r = await raw(base, target, { 'X-Api-Key': s.acme })
        if (r.status !== 200) {
          expect({ target, status: r.status }).not.toEqual({ target, status: 500 })
          continue
        }
        served++
        const { param } = JSON.parse(r.body) as { param: string }
        // Allowed for tenant acme: the route then acts for acme, never for another tenant.
        expect({ target, core: seen, param }).toEqual({ target, core: ['acme'], param: 'acme' })
      }
      expect(served).toBeGreaterThanOrEqual(3)
      // A target whose route param is another tenant is denied, not served for acme.
      expect((await raw(base, '/t/globex', { 'X-Api-Key': s.acme })).status).toBe(401)
    } finally {
      await close(a.server)
    }
  })

  it('hands the core the routed path with its query, after rewriteUrl', async () => {
    const urls: (string | undefined)[] = []
    const s = await setup({ tenant: (req) => (urls.push(req.url), 'acme') })
    const a = app({ rewriteUrl: (req) => (req.url ?? '/').replace(/^\/v1\//, '/') })
    a.decorateRequest('principal', null)
    a.get('/t/:tenant', { onRequest: guard(s.authorizer)('apps:read') }, async () => 'ok')
    expect((await a.inject({ url: '/v1/t/%61cme?x=%61', headers: { 'x-api-key': s.acme } })).statusCode).toBe(200)
    expect(urls).toEqual(['/t/acme?x=%61'])
  })
})
