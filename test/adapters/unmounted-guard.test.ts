/**
 * A guard mounted without being called (`app.get('/a', requireKey, h)` instead of
 * `requireKey('scans:read')`) is a programming error. The framework then hands its request,
 * context or response to `requireKey` as if it were the need: the error must say what happened
 * and how to fix it, on every adapter, over real HTTP, and the request is never allowed.
 */
import { createAdaptorServer } from '@hono/node-server'
import express from 'express'
import { Hono } from 'hono'
import Koa from 'koa'
import { createServer, type Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { guard as expressGuard } from '../../src/adapters/express.js'
import { guard as honoGuard } from '../../src/adapters/hono.js'
import { guard as koaGuard } from '../../src/adapters/koa.js'
import { createAuthorizer, KeyManager, MemoryKeyStore } from '../../src/index.js'
import { close, listen } from './_http.js'

const MESSAGE = /mounted without being called. Call requireKey\(need\) when you define the route/

async function setup(): Promise<{ authorizer: ReturnType<typeof createAuthorizer>; key: string }> {
  const store = new MemoryKeyStore()
  const { key } = await new KeyManager(store).issue({ kind: 'user', owner: 'ana', role: 'Product Admin' })
  return { authorizer: createAuthorizer({ store }), key }
}

type Build = (a: ReturnType<typeof createAuthorizer>, errors: unknown[]) => Server | Promise<Server>

const BUILDS: [string, Build][] = [
  [
    'Express',
    (a, errors) => {
      const requireKey = expressGuard(a)
      const app = express()
      app.get('/a', requireKey as never, (_req, res) => res.json({ reached: true }))
      app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        errors.push(err)
        res.status(500).end()
      })
      return createServer(app)
    },
  ],
  [
    'Koa',
    (a, errors) => {
      const requireKey = koaGuard(a)
      const app = new Koa()
      app.silent = true
      app.on('error', (e: unknown) => errors.push(e))
      app.use(requireKey as never)
      app.use((ctx) => {
        ctx.body = { reached: true }
      })
      return createServer(app.callback())
    },
  ],
  [
    'Hono',
    (a, errors) => {
      const requireKey = honoGuard(a)
      const app = new Hono()
      app.onError((e, c) => {
        errors.push(e)
        return c.text('', 500)
      })
      app.get('/a', requireKey as never, (c) => c.json({ reached: true }))
      return createAdaptorServer({ fetch: app.fetch }) as Server
    },
  ],
]

let server: Server | undefined
afterEach(async () => {
  if (server) await close(server)
  server = undefined
})

describe.each(BUILDS)('a %s guard mounted without being called', (_name, build) => {
  it('answers 500, never reaches the handler, and throws a TypeError that says to call requireKey(need) when defining the route', async () => {
    const { authorizer, key } = await setup()
    const errors: unknown[] = []
    server = await build(authorizer, errors)
    const base = await listen(server)
    for (const headers of [{ 'x-api-key': key }, {}] as Record<string, string>[]) {
      const res = await fetch(`${base}/a`, { headers })
      expect(res.status).toBe(500)
      expect(await res.text()).not.toContain('reached')
    }
    expect(errors).toHaveLength(2)
    for (const e of errors) {
      expect(e).toBeInstanceOf(TypeError)
      expect((e as Error).message).toMatch(MESSAGE)
      expect((e as Error).message).not.toContain(key)
    }
  })
})
