/**
 * The five ways the admin handler is mounted, each serving it on 127.0.0.1: Hono (the Fetch
 * handler itself, with `app.all`), Express 5 and Express 4 (`adminMiddleware` from
 * keyward/express), Koa (`adminMiddleware` from keyward/koa) and Fastify (`adminPlugin` from
 * keyward/fastify). Callers close `servers` after
 * each test.
 */
import { createServer, type Server } from 'node:http'
import { createAdaptorServer, type HttpBindings } from '@hono/node-server'
import express5 from 'express'
import express4 from 'express4'
import Fastify from 'fastify'
import { Hono } from 'hono'
import Koa from 'koa'
import { adminMiddleware as expressAdmin } from '../../src/adapters/express.js'
import { adminPlugin as fastifyAdmin } from '../../src/adapters/fastify.js'
import { adminMiddleware as koaAdmin } from '../../src/adapters/koa.js'
import type { AdminHandler } from '../../src/admin/index.js'
import { listen } from '../adapters/_http.js'

export type Mount = 'hono' | 'express5' | 'express4' | 'koa' | 'fastify'
export const MOUNTS: readonly Mount[] = ['hono', 'express5', 'express4', 'koa', 'fastify']
export const EXPRESS = { express5, express4 } as const

export const servers: Server[] = []
/** Serves `handler` at `basePath` in `mount`; anything else answers 404 `not admin` (text). */
export async function serve(mount: Mount, handler: AdminHandler, basePath = '/admin'): Promise<string> {
  let server: Server
  if (mount === 'hono') {
    const app = new Hono<{ Bindings: HttpBindings }>()
    app.all(`${basePath}/*`, (c) => handler(c.req.raw, { remoteAddress: c.env.incoming.socket.remoteAddress, secure: false }))
    app.all('*', (c) => c.text('not admin', 404))
    server = createAdaptorServer({ fetch: app.fetch }) as Server
  } else if (mount === 'koa') {
    const app = new Koa()
    app.silent = true
    app.use(koaAdmin(handler, { basePath }))
    app.use((ctx) => {
      ctx.status = 404
      ctx.body = 'not admin'
    })
    server = createServer(app.callback())
  } else if (mount === 'fastify') {
    const app = Fastify()
    await app.register(fastifyAdmin(handler, { basePath }))
    app.setNotFoundHandler((_request, reply) => reply.code(404).send('not admin'))
    await app.ready()
    server = app.server
  } else {
    const app = EXPRESS[mount]()
    app.use(basePath, expressAdmin(handler))
    app.use((_req, res) => {
      res.status(404).end('not admin')
    })
    server = createServer(app)
  }
  servers.push(server)
  return listen(server)
}

