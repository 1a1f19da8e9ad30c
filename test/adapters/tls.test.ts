/**
 * Each adapter reads TLS from the connection itself: under `requireTls`, the same app allows a
 * request over real HTTPS (self-signed certificate made in-process, pinned by the client) and
 * refuses it over plain HTTP, with no forwarded header involved.
 */
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http'
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import express from 'express'
import { Hono } from 'hono'
import Koa from 'koa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selfSignedCertificate, type SelfSigned } from '../../examples/_shared.js'
import { guard as expressGuard } from '../../src/adapters/express.js'
import { guard as honoGuard } from '../../src/adapters/hono.js'
import { guard as koaGuard, type KeywardState } from '../../src/adapters/koa.js'
import { createAuthorizer, KeyManager, MemoryKeyStore, type Authorizer } from '../../src/index.js'
import { close, listen } from './_http.js'

let tls: SelfSigned
let key = ''
let authorizer: Authorizer

beforeAll(async () => {
  tls = await selfSignedCertificate()
  const store = new MemoryKeyStore()
  key = (await new KeyManager(store).issue({ kind: 'user', owner: 'ana', role: 'Read Only' })).key
  authorizer = createAuthorizer({ store, requireTls: true, touchIntervalMs: 0 })
})

afterAll(() => authorizer.close())

function httpsGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { headers, ca: tls.cert, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (s: string) => (body += s))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** The same guarded app served twice: over HTTPS and over plain HTTP. */
function servers(name: string): [secure: Server, plain: Server] {
  const tlsOptions = { key: tls.key, cert: tls.cert }
  if (name === 'hono') {
    const app = new Hono()
    app.get('/apps', honoGuard(authorizer)('apps:read'), (c) => c.json({ owner: c.get('principal').owner }))
    return [
      createAdaptorServer({ fetch: app.fetch, createServer: createHttpsServer, serverOptions: tlsOptions }) as Server,
      createAdaptorServer({ fetch: app.fetch }) as Server,
    ]
  }
  let listener: RequestListener
  if (name === 'express') {
    const app = express()
    app.get('/apps', expressGuard(authorizer)('apps:read'), (req, res) => {
      res.json({ owner: req.principal?.owner })
    })
    listener = app
  } else {
    const app = new Koa<KeywardState>()
    app.use(koaGuard(authorizer)('apps:read'))
    app.use((ctx) => {
      ctx.body = { owner: ctx.state.principal.owner }
    })
    listener = app.callback()
  }
  return [createHttpsServer(tlsOptions, listener), createHttpServer(listener)]
}

describe.each(['express', 'koa', 'hono'])('%s under requireTls', (name) => {
  const open: Server[] = []
  afterAll(() => Promise.all(open.map(close)))

  it('allows the key over HTTPS and refuses it over plain HTTP', async () => {
    const [secure, plain] = servers(name)
    open.push(secure, plain)
    await listen(secure)
    const plainBase = await listen(plain)
    const port = (secure.address() as AddressInfo).port
    const ok = await httpsGet(`https://127.0.0.1:${port}/apps`, { 'X-Api-Key': key })
    expect(ok.status).toBe(200)
    expect(JSON.parse(ok.body)).toEqual({ owner: 'ana' })
    const refused = await fetch(`${plainBase}/apps`, { headers: { 'X-Api-Key': key } })
    expect(refused.status).toBe(403)
    expect((await refused.json()).code).toBe('insecure_transport')
  })
})
