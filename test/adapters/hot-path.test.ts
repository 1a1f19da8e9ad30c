/**
 * What each guard does per request beyond the core call, counted (never timed): how many
 * microtasks pass between the decision and the route, how often the framework's request is
 * looked up, and what is written on an allow that has no headers to add.
 */
import { Hono } from 'hono'
import { beforeAll, describe, expect, it } from 'vitest'
import { guard as expressGuard } from '../../src/adapters/express.js'
import { guard as fastifyGuard } from '../../src/adapters/fastify.js'
import { guard as honoGuard } from '../../src/adapters/hono.js'
import { guard as koaGuard } from '../../src/adapters/koa.js'
import { createAuthorizer, KeyManager, MemoryKeyStore, type Authorizer } from '../../src/index.js'

let authorizer: Authorizer
let key = ''

beforeAll(async () => {
  const store = new MemoryKeyStore()
  key = (await new KeyManager(store).issue({ kind: 'user', owner: 'ana', role: 'Read Write' })).key
  authorizer = createAuthorizer({ store, touchIntervalMs: 0 })
})

/** A Node request as the Express and Fastify guards read it. */
function nodeRequest(headers: readonly string[]) {
  return { method: 'GET', url: '/scans', originalUrl: '/scans', headers: {}, rawHeaders: headers, socket: { remoteAddress: '127.0.0.1' } }
}

/**
 * Starts `run` and counts the microtasks that pass until `passed` is called: 0 means it ran in
 * the job the authorizer's (already settled) promise scheduled.
 */
async function microtasksUntilPassed(run: (passed: () => void) => void): Promise<number> {
  let ticks = 0
  let at = -1
  const tick = (): void => {
    ticks++
    if (ticks < 50) queueMicrotask(tick)
  }
  run(() => {
    at = ticks
  })
  queueMicrotask(tick)
  await new Promise((resolve) => setTimeout(resolve, 0))
  return at
}

describe('the request path of the guards', () => {
  it('Express: calls next() in the microtask the decision arrives in, with no promise of its own', async () => {
    const mw = expressGuard(authorizer)('scans:read') as unknown as (req: unknown, res: unknown, next: (e?: unknown) => void) => void
    const req = nodeRequest(['X-Api-Key', key])
    const errors: unknown[] = []
    const at = await microtasksUntilPassed((passed) =>
      mw(req, { setHeader: () => undefined }, (e?: unknown) => {
        if (e !== undefined) errors.push(e)
        passed()
      }),
    )
    expect(errors).toEqual([])
    expect((req as { principal?: { owner?: string } }).principal?.owner).toBe('ana')
    expect(at).toBe(0)
  })

  it('Fastify: calls done() in the microtask the decision arrives in, with no promise of its own', async () => {
    const hook = fastifyGuard(authorizer)('scans:read') as unknown as (this: unknown, request: unknown, reply: unknown, done: (e?: unknown) => void) => void
    const request = { method: 'GET', raw: nodeRequest(['X-Api-Key', key]), principal: null as unknown }
    const errors: unknown[] = []
    const at = await microtasksUntilPassed((passed) =>
      hook.call(undefined, request, { headers: () => undefined }, (e?: unknown) => {
        if (e !== undefined) errors.push(e)
        passed()
      }),
    )
    expect(errors).toEqual([])
    expect((request.principal as { owner?: string }).owner).toBe('ana')
    expect(at).toBe(0)
  })

  it('Koa: writes no response header on an allow whose decision has none', async () => {
    const mw = koaGuard(authorizer)('scans:read') as unknown as (ctx: unknown, next: () => Promise<void>) => Promise<void>
    const sets: unknown[] = []
    const ctx = {
      req: nodeRequest(['X-Api-Key', key]),
      method: 'GET',
      originalUrl: '/scans',
      state: {} as { principal?: { owner?: string } },
      set: (...args: unknown[]) => {
        sets.push(args)
      },
    }
    let reached = false
    await mw(ctx, async () => {
      reached = true
    })
    expect(reached).toBe(true)
    expect(ctx.state.principal?.owner).toBe('ana')
    expect(sets).toEqual([])
  })

  it('Hono: looks the Node request up once per request on @hono/node-server', async () => {
    const app = new Hono()
    app.get('/scans', honoGuard(authorizer)('scans:read'), (c) => c.text('ok'))
    let lookups = 0
    const incoming = { rawHeaders: ['X-Api-Key', key], headers: {}, url: '/scans', socket: { remoteAddress: '127.0.0.1' } }
    const env = {
      get incoming() {
        lookups++
        return incoming
      },
    }
    const res = await app.request('http://localhost/scans', {}, env)
    expect(res.status).toBe(200)
    expect(lookups).toBe(1)
  })

  it('Hono: reads no Fetch header of a request that is not an OPTIONS', async () => {
    const app = new Hono()
    app.get('/scans', honoGuard(authorizer)('scans:read'), (c) => c.text('ok'))
    const incoming = { rawHeaders: ['X-Api-Key', key], headers: {}, url: '/scans', socket: { remoteAddress: '127.0.0.1' } }
    const request = new Request('http://localhost/scans')
    let reads = 0
    const headers = request.headers
    Object.defineProperty(request, 'headers', {
      get() {
        reads++
        return headers
      },
    })
    const res = await app.fetch(request, { incoming })
    expect(res.status).toBe(200)
    expect(reads).toBe(0)
  })
})
