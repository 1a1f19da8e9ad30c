/**
 * The admin handler mounted in each framework, over real HTTP on 127.0.0.1: Hono (the Fetch
 * handler itself, with `app.all`), Express 5 and Express 4 (`adminMiddleware` from
 * keyward/express), Koa (`adminMiddleware` from keyward/koa) and Fastify (`adminPlugin` from
 * keyward/fastify). The same admin session through
 * each must give the same statuses, headers and bodies, byte for byte once the random ids and
 * keys are replaced by placeholders. Then what only a mount can get wrong: the mount path, the
 * body limit on a streamed body, repeated header fields, the peer address, a body parser that
 * got there first, and request targets the URL parser would read differently from the router.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http'
import { connect } from 'node:net'
import type { ErrorRequestHandler } from 'express'
import Fastify from 'fastify'
import Koa from 'koa'
import { afterEach, describe, expect, it } from 'vitest'
import { adminMiddleware as expressAdmin } from '../../src/adapters/express.js'
import { adminPlugin as fastifyAdmin } from '../../src/adapters/fastify.js'
import { adminMiddleware as koaAdmin } from '../../src/adapters/koa.js'
import { CONSOLE_CSP } from '../../src/admin/_http.js'
import type { AdminHandler, ClientInfo } from '../../src/admin/index.js'
import { parseKey } from '../../src/index.js'
import { close, listen } from '../adapters/_http.js'
import { fixture, type Fixture, type GroupView, type Issued } from './_fixture.js'
import { EXPRESS, MOUNTS, serve, servers, type Mount } from './_mounts.js'

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => close(s)))
})

interface Reply {
  status: number
  headers: Record<string, string>
  body: string
}

/** What the comparison looks at: every header the handler sets, and the framing. */
const COMPARED = [
  'content-type', 'content-length', 'content-security-policy', 'cache-control', 'x-content-type-options', 'referrer-policy',
  'x-frame-options', 'www-authenticate', 'allow', 'location',
] as const

function pick(get: (name: string) => string | null | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const h of COMPARED) {
    const v = get(h)
    if (typeof v === 'string') out[h] = v
  }
  return out
}

interface Send {
  key?: string | null
  body?: unknown
  raw?: string
  contentType?: string
}

async function call(base: string, method: string, path: string, o: Send = {}): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (o.key) headers['x-api-key'] = o.key
  const payload = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body))
  if (payload !== undefined) headers['content-type'] = o.contentType ?? 'application/json'
  const r = await fetch(base + path, { method, headers, ...(payload === undefined ? {} : { body: payload }) })
  return { status: r.status, headers: pick((h) => r.headers.get(h)), body: await r.text() }
}

/** A request through node:http with header fields as given (repeats kept), optional body. */
function rawCall(base: string, method: string, path: string, fields: readonly string[], body?: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(base + path, { method, headers: ['Host', new URL(base).host, ...fields], agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: pick((h) => joined(res.headers, h)), body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

function joined(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v.join(', ') : v
}

/** Writes the request bytes as given (fetch and node:http normalise or refuse odd targets). */
function socketCall(base: string, head: string): Promise<number> {
  const { port } = new URL(base)
  return new Promise((resolve, reject) => {
    let data = ''
    const s = connect(Number(port), '127.0.0.1', () => s.end(`${head}\r\nConnection: close\r\n\r\n`))
    s.setEncoding('latin1')
    s.on('data', (c: string) => (data += c))
    s.on('error', reject)
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)))
  })
}

/**
 * Replaces what is random per run: ids in order of appearance (`<key_1>`, `<grp_1>`), and
 * plaintext keys (`<kw key>`, after checking that each one is a well-formed key).
 */
function normaliser(): (text: string) => string {
  const ids = new Map<string, string>()
  return (text) =>
    text
      .replace(/\bkw_[0-9A-Za-z]{38}\b/g, (k) => {
        expect(parseKey(k), `a malformed key in a response: ${k.slice(0, 3)}…`).toBeDefined()
        return '<kw key>'
      })
      // A key's stored start is random per run too (a prefix and 4 characters, never a key).
      .replace(/"start":"kw_[0-9A-Za-z]{4}"/g, '"start":"<kw start>"')
      .replace(/\b(key|grp)_[0-9A-Za-z]{16}\b/g, (id, kind: string) => {
        if (!ids.has(id)) ids.set(id, `<${kind}_${[...ids.values()].filter((v) => v.startsWith(`<${kind}_`)).length + 1}>`)
        return ids.get(id)!
      })
}

interface Step extends Reply {
  step: string
}

/** One admin session: what an operator does in the console, plus the errors a client can cause. */
async function session(base: string, f: Fixture): Promise<Step[]> {
  const norm = normaliser()
  const steps: Step[] = []
  const A = '/admin/api'
  const record = (step: string, r: Reply): Reply => {
    const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, norm(v)]))
    steps.push({ step, status: r.status, headers, body: norm(r.body) })
    return r
  }
  const key = f.acme
  record('console page', await call(base, 'GET', '/admin/'))
  record('console page without the slash', await call(base, 'GET', '/admin'))
  record('console script', await call(base, 'GET', '/admin/console.js'))
  record('console styles', await call(base, 'GET', '/admin/console.css'))
  record('openapi.json', await call(base, 'GET', '/admin/openapi.json'))
  record('no key', await call(base, 'GET', `${A}/me`))
  record('session', await call(base, 'GET', `${A}/me`, { key }))
  const group = JSON.parse(record('create group', await call(base, 'POST', `${A}/groups`, { key, body: { name: 'Integrations', description: 'CI' } })).body) as GroupView
  const issued = JSON.parse(
    record('issue key', await call(base, 'POST', `${A}/keys`, { key, body: { kind: 'user', owner: 'ci@acme.test', role: 'Read Only', group: group.id, description: 'CI' } })).body,
  ) as Issued
  const id = issued.record.id
  record('show key', await call(base, 'GET', `${A}/keys/${id}`, { key }))
  record('rotate key', await call(base, 'POST', `${A}/keys/${id}/rotate`, { key, body: { graceMs: 60_000 } }))
  record('deactivate key (no body)', await call(base, 'POST', `${A}/keys/${id}/deactivate`, { key }))
  record('another tenant reads it', await call(base, 'GET', `${A}/keys/${id}`, { key: f.globex }))
  record('another tenant edits it', await call(base, 'PATCH', `${A}/keys/${id}`, { key: f.globex, body: { description: 'mine' } }))
  record('missing owner', await call(base, 'POST', `${A}/keys`, { key, body: { kind: 'user', role: 'Read Only' } }))
  record('unknown field', await call(base, 'POST', `${A}/groups`, { key, body: { name: 'x', colour: 'red' } }))
  record('malformed JSON', await call(base, 'POST', `${A}/groups`, { key, raw: '{"name":' }))
  record('not JSON', await call(base, 'POST', `${A}/groups`, { key, raw: '{"name":"g"}', contentType: 'text/plain' }))
  record('over the body limit', await call(base, 'POST', `${A}/groups`, { key, body: { name: 'g', description: 'x'.repeat(70_000) } }))
  record('wrong method', await call(base, 'PUT', `${A}/keys/${id}`, { key }))
  record('list the group', await call(base, 'GET', `${A}/keys?group=${group.id}`, { key }))
  record('unknown query parameter', await call(base, 'GET', `${A}/keys?colour=red`, { key }))
  record('repeated X-Api-Key', await rawCall(base, 'GET', `${A}/me`, ['X-Api-Key', key, 'X-Api-Key', key]))
  record('delete key', await call(base, 'DELETE', `${A}/keys/${id}`, { key }))
  record('deleted key', await call(base, 'GET', `${A}/keys/${id}`, { key }))
  record('unknown route', await call(base, 'GET', `${A}/nope`, { key }))
  return steps
}

describe('the same admin session through every mount', () => {
  it('gives identical statuses, headers and bodies through Hono, Express 5, Express 4, Koa and Fastify', async () => {
    const runs = new Map<Mount, Step[]>()
    for (const mount of MOUNTS) {
      const f = await fixture()
      runs.set(mount, await session(await serve(mount, f.handler), f))
      expect(f.errors).toEqual([])
    }
    const hono = runs.get('hono')!
    // The reference run is itself right, so agreeing with it means something.
    expect(hono.map((s) => `${s.step}: ${s.status}`)).toEqual([
      'console page: 200', 'console page without the slash: 200', 'console script: 200', 'console styles: 200', 'openapi.json: 200',
      'no key: 401', 'session: 200', 'create group: 201', 'issue key: 201', 'show key: 200', 'rotate key: 200',
      'deactivate key (no body): 200', 'another tenant reads it: 404', 'another tenant edits it: 404', 'missing owner: 400',
      'unknown field: 400', 'malformed JSON: 400', 'not JSON: 415', 'over the body limit: 413', 'wrong method: 405',
      'list the group: 200', 'unknown query parameter: 400', 'repeated X-Api-Key: 400', 'delete key: 204', 'deleted key: 404',
      'unknown route: 404',
    ])
    const page = hono[0]!
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.headers['content-security-policy']).toBe(CONSOLE_CSP)
    expect(page.headers['cache-control']).toBe('no-store')
    expect(hono.find((s) => s.step === 'issue key')!.body).toMatch(/^\{"key":"<kw key>","record":\{"id":"<key_2>"/)
    expect(hono.find((s) => s.step === 'issue key')!.headers.location).toBe('/admin/api/keys/<key_2>')
    expect(hono.find((s) => s.step === 'no key')!.headers['www-authenticate']).toMatch(/^ApiKey /i)
    for (const mount of MOUNTS) expect({ mount, steps: runs.get(mount) }).toEqual({ mount, steps: hono })
  }, 60_000)

  it.each(MOUNTS)('%s writes the handler’s response back byte for byte, every header included', async (mount) => {
    const f = await fixture()
    const base = await serve(mount, f.handler)
    for (const path of ['/admin/', '/admin/console.js', '/admin/openapi.json', '/admin/api/nope']) {
      const direct = await f.handler(new Request(`${base}${path}`), { remoteAddress: '127.0.0.1', secure: false })
      const expected = Buffer.from(await direct.arrayBuffer())
      const over = await fetch(base + path)
      expect(over.status).toBe(direct.status)
      for (const [name, value] of direct.headers) expect({ name, value: over.headers.get(name) }).toEqual({ name, value })
      expect(Buffer.from(await over.arrayBuffer()).equals(expected)).toBe(true)
      expect(over.headers.get('content-length')).toBe(String(expected.byteLength))
    }
  })
})

describe('mount path', () => {
  it.each(MOUNTS)('%s serves a handler under a sub-path, with the full path reaching the handler', async (mount) => {
    const f = await fixture({ handler: { basePath: '/internal/keys' } })
    const base = await serve(mount, f.handler, '/internal/keys')
    const page = await call(base, 'GET', '/internal/keys/')
    expect(page.status).toBe(200)
    expect(page.body).toContain('<script src="/internal/keys/console.js" defer></script>')
    expect((await call(base, 'GET', '/internal/keys/console.js')).headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect((await call(base, 'GET', '/internal/keys/api/me', { key: f.acme })).status).toBe(200)
    const created = await call(base, 'POST', '/internal/keys/api/groups', { key: f.acme, body: { name: 'g' } })
    expect(created.status).toBe(201)
    // The old path is not the admin's: the app's own 404 answers it.
    const old = await call(base, 'GET', '/admin/api/me', { key: f.acme })
    expect(old).toMatchObject({ status: 404, body: 'not admin' })
    expect((await call(base, 'GET', '/internal/keysmith', { key: f.acme })).body).toBe('not admin')
  })

  it.each(['express5', 'express4'] as const)('%s: nested routers keep the whole mount path (req.baseUrl is not lost)', async (mount) => {
    const f = await fixture({ handler: { basePath: '/internal/keys' } })
    const seen: string[] = []
    const spy: AdminHandler = (request, client) => {
      seen.push(new URL(request.url).pathname)
      return f.handler(request, client)
    }
    const app = EXPRESS[mount]()
    const router = EXPRESS[mount].Router()
    router.use('/keys', expressAdmin(spy))
    app.use('/internal', router)
    const server = createServer(app)
    servers.push(server)
    const base = await listen(server)
    expect((await call(base, 'GET', '/internal/keys/api/me', { key: f.acme })).status).toBe(200)
    expect(seen).toEqual(['/internal/keys/api/me'])
  })

  it('koa passes every request outside the base path on, untouched, to the next middleware', async () => {
    const f = await fixture()
    let called = 0
    const spy: AdminHandler = (request, client) => {
      called++
      return f.handler(request, client)
    }
    const app = new Koa()
    app.use(koaAdmin(spy))
    app.use(async (ctx) => {
      // The admin mount did not read the body: the next middleware still can.
      let body = ''
      for await (const chunk of ctx.req) body += String(chunk)
      ctx.body = { path: ctx.path, body }
    })
    const server = createServer(app.callback())
    servers.push(server)
    const base = await listen(server)
    for (const path of ['/', '/administrator', '/api/admin', '/x/admin/api/me']) {
      const r = await fetch(base + path, { method: 'POST', body: 'hello' })
      expect(await r.json()).toEqual({ path, body: 'hello' })
    }
    expect(called).toBe(0)
    expect((await call(base, 'GET', '/admin/api/me', { key: f.acme })).status).toBe(200)
    expect(called).toBe(1)
  })
})

describe('what reaches the handler', () => {
  it.each(MOUNTS)('%s passes the method, the full URL with its query, every header field and the socket facts', async (mount) => {
    const f = await fixture()
    const seen: { method: string; url: string; trace: string | null; client: ClientInfo | undefined }[] = []
    const spy: AdminHandler = (request, client) => {
      seen.push({ method: request.method, url: request.url, trace: request.headers.get('x-trace'), client })
      return f.handler(request, client)
    }
    const base = await serve(mount, spy)
    const r = await rawCall(base, 'GET', '/admin/api/keys?kind=user', ['X-Api-Key', f.acme, 'X-Trace', 'a', 'X-Trace', 'b'])
    expect(r.status).toBe(200)
    expect(seen).toEqual([{ method: 'GET', url: `${base}/admin/api/keys?kind=user`, trace: 'a, b', client: { remoteAddress: '127.0.0.1', secure: false } }])
  })

  it.each(MOUNTS)('%s: a repeated credential field reaches the authorizer as two values, and is refused (400)', async (mount) => {
    const f = await fixture()
    const base = await serve(mount, f.handler)
    // Positive control: one field is allowed.
    expect((await rawCall(base, 'GET', '/admin/api/me', ['X-Api-Key', f.acme])).status).toBe(200)
    const twice = await rawCall(base, 'GET', '/admin/api/me', ['X-Api-Key', f.acme, 'X-Api-Key', f.globex])
    expect(twice.status).toBe(400)
    expect(JSON.parse(twice.body)).toMatchObject({ code: 'invalid_request' })
  })

  it.each(MOUNTS)('%s: the peer address reaches the authorizer, so an admin key outside its allowlist is refused', async (mount) => {
    const f = await fixture()
    const elsewhere = (await f.manager.issue({ kind: 'org', tenant: 'acme', allowedIps: ['10.0.0.0/8'] })).key
    const here = (await f.manager.issue({ kind: 'org', tenant: 'acme', allowedIps: ['127.0.0.1'] })).key
    const base = await serve(mount, f.handler)
    const refused = await call(base, 'GET', '/admin/api/me', { key: elsewhere })
    expect(refused.status).toBe(403)
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'ip_not_allowed' })
    // Without the address both would be refused: this one proves it is 127.0.0.1 that arrived.
    expect((await call(base, 'GET', '/admin/api/me', { key: here })).status).toBe(200)
  })
})

describe('request bodies', () => {
  it.each(MOUNTS)('%s answers 413 to a streamed body over the limit before the client has finished sending it', async (mount) => {
    const f = await fixture()
    const base = await serve(mount, f.handler)
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${base}/admin/api/groups`, {
        method: 'POST',
        agent: false,
        headers: { 'x-api-key': f.acme, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      })
      req.on('response', (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
        req.destroy()
      })
      req.on('error', (e) => {
        if (!req.destroyed) reject(e)
      })
      // 80 KiB, and the request is never ended: only a mount that stops reading can answer.
      req.write(`{"name":"g","description":"${'x'.repeat(80 * 1024)}`)
    })
    expect(status).toBe(413)
    expect(await f.manager.listGroups()).toEqual([])
    // The server is still serving.
    expect((await call(base, 'GET', '/admin/api/me', { key: f.acme })).status).toBe(200)
  })

  it.each(['express5', 'express4'] as const)('%s: a body already read by express.json() is refused (500, KEYWARD_BODY_CONSUMED), never re-serialised', async (mount) => {
    const f = await fixture()
    const errors: unknown[] = []
    const app = EXPRESS[mount]()
    app.use(EXPRESS[mount].json())
    app.use('/admin', expressAdmin(f.handler))
    const onError: ErrorRequestHandler = (err, _req, res, _next) => {
      errors.push(err)
      res.status(500).end('error')
    }
    app.use(onError)
    const server = createServer(app)
    servers.push(server)
    const base = await listen(server)
    const r = await call(base, 'POST', '/admin/api/groups', { key: f.acme, body: { name: 'g' } })
    expect(r.status).toBe(500)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ code: 'KEYWARD_BODY_CONSUMED', status: 500 })
    expect(String((errors[0] as Error).message)).toContain('before any body parser')
    expect(await f.manager.listGroups()).toEqual([])
    // Calls without a body still work behind the parser, including an empty declared body.
    expect((await call(base, 'GET', '/admin/api/me', { key: f.acme })).status).toBe(200)
    const own = (await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'x@acme.test', role: 'Read Only' })).record.id
    expect((await call(base, 'POST', `/admin/api/keys/${own}/deactivate`, { key: f.acme, raw: '' })).status).toBe(200)
    expect(errors).toHaveLength(1)
  })

  it.each(['express5', 'express4'] as const)('%s: mounted before express.json(), it works while the parser serves the other routes', async (mount) => {
    const f = await fixture()
    const app = EXPRESS[mount]()
    app.use('/admin', expressAdmin(f.handler))
    app.use(EXPRESS[mount].json())
    app.post('/echo', (req, res) => {
      res.json(req.body)
    })
    const server = createServer(app)
    servers.push(server)
    const base = await listen(server)
    expect((await call(base, 'POST', '/admin/api/groups', { key: f.acme, body: { name: 'g' } })).status).toBe(201)
    expect(JSON.parse((await call(base, 'POST', '/echo', { body: { a: 1 } })).body)).toEqual({ a: 1 })
  })

  it('koa: a body already read by an earlier middleware is refused (500, KEYWARD_BODY_CONSUMED)', async () => {
    const f = await fixture()
    const errors: unknown[] = []
    const app = new Koa()
    app.silent = true
    app.on('error', (e: unknown) => errors.push(e))
    app.use(async (ctx, next) => {
      // What koa-bodyparser does: read the stream whole.
      if (ctx.get('content-type') === 'application/json') for await (const _ of ctx.req) void _
      await next()
    })
    app.use(koaAdmin(f.handler))
    const server = createServer(app.callback())
    servers.push(server)
    const base = await listen(server)
    const r = await call(base, 'POST', '/admin/api/groups', { key: f.acme, body: { name: 'g' } })
    expect(r.status).toBe(500)
    expect(r.body).toBe('Internal Server Error')
    expect(errors).toMatchObject([{ code: 'KEYWARD_BODY_CONSUMED' }])
    expect(await f.manager.listGroups()).toEqual([])
    expect((await call(base, 'GET', '/admin/api/me', { key: f.acme })).status).toBe(200)
  })
})

describe('fastify body parsing', () => {
  it('keeps Fastify’s parsers and bodyLimit off the admin routes, and on the app’s own routes', async () => {
    const f = await fixture()
    const app = Fastify({ bodyLimit: 64 })
    await app.register(fastifyAdmin(f.handler))
    app.post('/echo', async (request) => request.body)
    await app.ready()
    servers.push(app.server)
    const base = await listen(app.server)
    // Over Fastify's 64-byte bodyLimit, under the handler's own limit: the handler read it.
    const description = 'x'.repeat(200)
    const created = await call(base, 'POST', '/admin/api/groups', { key: f.acme, body: { name: 'g', description } })
    expect(created.status).toBe(201)
    expect(JSON.parse(created.body)).toMatchObject({ name: 'g', description })
    // A type Fastify has no parser for reaches the handler, which answers it itself.
    expect((await call(base, 'POST', '/admin/api/groups', { key: f.acme, raw: '{"name":"g"}', contentType: 'text/plain' })).status).toBe(415)
    // The rest of the app still parses JSON, and still enforces its bodyLimit.
    expect(JSON.parse((await call(base, 'POST', '/echo', { body: { a: 1 } })).body)).toEqual({ a: 1 })
    expect((await call(base, 'POST', '/echo', { body: { a: 'x'.repeat(100) } })).status).toBe(413)
  })

  it('refuses to start under a prefix, since the handler’s basePath is the whole path', async () => {
    const f = await fixture()
    const app = Fastify()
    await expect(app.register(fastifyAdmin(f.handler), { prefix: '/internal' })).rejects.toThrow(/^prefix: /)
    await app.close()
  })
})

describe('requests a mount cannot pass on faithfully', () => {
  it.each(['express5', 'express4', 'koa', 'fastify'] as const)('%s refuses, with 400 and without calling the handler, targets and hosts the URL parser would read differently', async (mount) => {
    const f = await fixture()
    let called = 0
    const spy: AdminHandler = (request, client) => {
      called++
      return f.handler(request, client)
    }
    const base = await serve(mount, spy)
    const get = (target: string, host = '127.0.0.1') => socketCall(base, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nX-Api-Key: ${f.acme}`)
    // Positive control: the same raw request with a plain target is served.
    expect(await get('/admin/api/me')).toBe(200)
    expect(called).toBe(1)
    for (const target of ['/admin/x/../api/me', '/admin/api/./me', '/admin/x/%2e%2E/api/me', '/admin/x/.%2e/api/me', '/admin/x\\..\\api/me']) {
      expect({ target, status: await get(target) }).toEqual({ target, status: 400 })
    }
    for (const host of ['evil.test/admin?', 'a@b', '']) expect({ host, status: await get('/admin/api/me', host) }).toEqual({ host, status: 400 })
    expect(await socketCall(base, `TRACE /admin/api/me HTTP/1.1\r\nHost: 127.0.0.1`)).toBe(400)
    expect(called).toBe(1)
    // An absolute-form target is read by its path; its authority is not used.
    expect(await get(`http://other.test/admin/api/me`)).toBe(200)
    expect(called).toBe(2)
  })
})

describe('creating a mount', () => {
  it('checks its arguments at once, naming the field, and leaves the options untouched', () => {
    for (const mount of [expressAdmin, (h: unknown) => koaAdmin(h as AdminHandler), (h: unknown) => fastifyAdmin(h as AdminHandler)]) {
      expect(() => mount(undefined as unknown as AdminHandler)).toThrow(/^handler: /)
      expect(() => mount({} as AdminHandler)).toThrow(TypeError)
    }
    const h: AdminHandler = async () => new Response(null)
    expect(() => koaAdmin(h, { basePath: 'admin' })).toThrow(RangeError)
    expect(() => koaAdmin(h, { basePath: '/admin/' })).toThrow(/^basePath: /)
    expect(() => koaAdmin(h, { basePath: '/a/../b' })).toThrow(RangeError)
    expect(() => koaAdmin(h, { basePath: 42 as unknown as string })).toThrow(TypeError)
    expect(() => koaAdmin(h, { basepath: '/x' } as never)).toThrow(/unknown field "basepath" \(did you mean "basePath"\?\)/)
    expect(() => koaAdmin(h, null as never)).toThrow(/^options: /)
    const options = Object.freeze({ basePath: '/internal/keys' })
    expect(typeof koaAdmin(h, options)).toBe('function')
    expect(typeof koaAdmin(h, { basePath: '' })).toBe('function')
    expect(() => fastifyAdmin(h, { basePath: '/admin/' })).toThrow(/^basePath: /)
    expect(() => fastifyAdmin(h, { basepath: '/x' } as never)).toThrow(/unknown field "basepath" \(did you mean "basePath"\?\)/)
    expect(() => fastifyAdmin(h, null as never)).toThrow(/^options: /)
    expect(typeof fastifyAdmin(h, options)).toBe('function')
  })
})
