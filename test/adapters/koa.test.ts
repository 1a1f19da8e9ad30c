/**
 * keyward/koa: ctx.state.principal, exact deny bytes (no charset added by Koa), preflight,
 * onDeny, and errors.
 */
import { createServer, type Server } from 'node:http'
import Koa from 'koa'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { guard, type KeywardState } from '../../src/adapters/koa.js'
import { createAuthorizer, KeyManager, MemoryKeyStore, renderDeny, type Authorizer, type DenyDecision } from '../../src/index.js'
import { downStore } from './_fixture.js'
import { close, listen } from './_http.js'

let authorizer: Authorizer
let rw = ''
const servers: Server[] = []

beforeAll(async () => {
  const store = new MemoryKeyStore()
  rw = (await new KeyManager(store).issue({ kind: 'user', owner: 'ana', role: 'Read Write' })).key
  authorizer = createAuthorizer({ store, touchIntervalMs: 0 })
})

afterEach(async () => {
  await Promise.all(servers.splice(0).map(close))
})

async function serve(app: Koa<KeywardState>): Promise<string> {
  app.silent = true
  const server = createServer(app.callback())
  servers.push(server)
  return listen(server)
}

describe('keyward/koa', () => {
  it('sets ctx.state.principal for downstream middleware on allow', async () => {
    const app = new Koa<KeywardState>()
    app.use(guard(authorizer)('scans:manage'))
    app.use((ctx) => {
      ctx.body = { owner: ctx.state.principal.owner, scheme: ctx.state.principal.scheme }
    })
    const res = await fetch(`${await serve(app)}/scans`, { headers: { 'X-Api-Key': rw } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ owner: 'ana', scheme: 'api-key' })
  })

  it('stops at a deny and sends renderDeny status, headers and body exactly', async () => {
    let decision: DenyDecision | undefined
    let reached = false
    const spy = {
      authorize: async (...a: Parameters<Authorizer['authorize']>) => {
        const d = await authorizer.authorize(...a)
        if (!d.allow) decision = d
        return d
      },
      need: authorizer.need,
    }
    const app = new Koa<KeywardState>()
    // An upstream middleware that already chose a content-type must not leak it into the deny.
    app.use(async (ctx, next) => {
      ctx.type = 'text/html'
      await next()
    })
    app.use(guard(spy)('global-blackouts:manage'))
    app.use(() => {
      reached = true
    })
    const res = await fetch(`${await serve(app)}/global-blackouts`, { headers: { 'X-Api-Key': rw } })
    const expected = renderDeny(decision!)
    expect(reached).toBe(false)
    expect(res.status).toBe(403)
    expect(await res.text()).toBe(expected.body)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    for (const [name, value] of Object.entries(expected.headers)) expect(res.headers.get(name)).toBe(value)
  })

  it('answers a store outage with 503 and Retry-After, not an error', async () => {
    const errors: unknown[] = []
    const app = new Koa<KeywardState>()
    app.on('error', (e) => errors.push(e))
    app.use(guard(createAuthorizer({ store: downStore() }))('apps:read'))
    const res = await fetch(`${await serve(app)}/apps`, { headers: { 'X-Api-Key': rw } })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    expect(errors).toEqual([])
  })

  it('lets a rejected authorize (misuse) surface as a Koa error, never reaching downstream', async () => {
    const errors: unknown[] = []
    let reached = false
    const app = new Koa<KeywardState>()
    app.on('error', (e) => errors.push(e))
    app.use(guard({ authorize: () => Promise.reject(new Error('misused')), need: authorizer.need })())
    app.use(() => {
      reached = true
    })
    const res = await fetch(`${await serve(app)}/`, { headers: { 'X-Api-Key': rw } })
    expect(res.status).toBe(500)
    expect(reached).toBe(false)
    expect((errors[0] as Error).message).toBe('misused')
  })

  it('lets a CORS preflight through by default and authorizes it when asked', async () => {
    const preflight = { Origin: 'https://app.example', 'Access-Control-Request-Method': 'DELETE' }
    for (const [authorizePreflight, status] of [[false, 204], [true, 401]] as const) {
      const app = new Koa<KeywardState>()
      app.use(guard(authorizer, { authorizePreflight })('apps:read'))
      app.use((ctx) => {
        ctx.status = 204
        ctx.set('x-principal', String(ctx.state.principal === undefined))
      })
      const res = await fetch(`${await serve(app)}/apps`, { method: 'OPTIONS', headers: preflight })
      expect(res.status).toBe(status)
      if (status === 204) expect(res.headers.get('x-principal')).toBe('true')
    }
  })

  it('renders a custom deny body with onDeny, keeping the status and the challenge', async () => {
    const app = new Koa<KeywardState>()
    app.use(guard(authorizer, { onDeny: (d, ctx) => void (ctx.body = { error: d.code }) })('apps:read'))
    const res = await fetch(`${await serve(app)}/apps`)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('ApiKey realm="api", header="X-Api-Key"')
    expect(await res.json()).toEqual({ error: 'missing_credentials' })
  })

  it('sends the problem document when onDeny leaves the body alone', async () => {
    const app = new Koa<KeywardState>()
    app.use(guard(authorizer, { onDeny: () => undefined })('apps:read'))
    app.use((ctx) => {
      ctx.body = 'reached'
    })
    const res = await fetch(`${await serve(app)}/apps`)
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect((await res.json()).code).toBe('missing_credentials')
  })

  it('throws at route definition on an unknown permission and refuses bad options', () => {
    expect(() => guard(authorizer)('apps:delete')).toThrow(RangeError)
    expect(() => guard(authorizer, { onDeny: 1 } as never)).toThrow('onDeny: must be a function')
    expect(() => guard(authorizer, { clientInfo: () => ({}) } as never)).toThrow('options: unknown field "clientInfo"')
  })
})
