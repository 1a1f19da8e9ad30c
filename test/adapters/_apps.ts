/**
 * The same routes (ROUTES) built in each framework, guarded by each adapter, with handlers that
 * answer the principal they saw.
 */
import { createServer, type Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import express5 from 'express'
import express4 from 'express4'
import Fastify from 'fastify'
import { Hono } from 'hono'
import Koa from 'koa'
import { guard as expressGuard } from '../../src/adapters/express.js'
import { guard as fastifyGuard } from '../../src/adapters/fastify.js'
import { guard as honoGuard } from '../../src/adapters/hono.js'
import { guard as koaGuard } from '../../src/adapters/koa.js'
import type { Authorizer } from '../../src/index.js'
import { handlerBody, ROUTES, type AuthzName } from './_fixture.js'

export type Framework = 'express5' | 'express4' | 'koa' | 'hono' | 'fastify'
export const FRAMEWORKS: readonly Framework[] = ['express5', 'express4', 'koa', 'hono', 'fastify']

type Authorizers = Record<AuthzName, Authorizer>

function expressServer(factory: typeof express5, authz: Authorizers): Server {
  const app = factory()
  for (const r of ROUTES) {
    const method = r.method.toLowerCase() as 'get' | 'post' | 'delete' | 'options'
    app[method](r.path, expressGuard(authz[r.authz])(r.need), (req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end(handlerBody(req.principal))
    })
  }
  return createServer(app)
}

/** `/a/:b/c` as a whole-path pattern (Koa has no router of its own). */
function pattern(path: string): RegExp {
  return new RegExp(`^${path.replace(/:[a-z]+/g, '[^/]+')}$`)
}

function koaServer(authz: Authorizers): Server {
  const app = new Koa()
  app.silent = true
  const routes = ROUTES.map((r) => ({ r, re: pattern(r.path), mw: koaGuard(authz[r.authz])(r.need) }))
  app.use(async (ctx, next) => {
    const hit = routes.find(({ r, re }) => r.method === ctx.method && re.test(ctx.path))
    if (!hit) return next()
    await hit.mw(ctx, async () => {
      ctx.set('content-type', 'application/json')
      ctx.body = handlerBody(ctx.state.principal)
    })
  })
  return createServer(app.callback())
}

function honoServer(authz: Authorizers): Server {
  const app = new Hono()
  for (const r of ROUTES) {
    app.on(r.method, r.path, honoGuard(authz[r.authz])(r.need), (c) =>
      c.body(handlerBody(c.get('principal')), 200, { 'content-type': 'application/json' }),
    )
  }
  return createAdaptorServer({ fetch: app.fetch }) as Server
}

function fastifyServer(authz: Authorizers): Server {
  let ready: PromiseLike<unknown> | undefined
  // Fastify serves once ready; the server is handed out before that, as the others are.
  const app = Fastify({
    serverFactory: (handle) => createServer((req, res) => void ready!.then(() => handle(req, res))),
  })
  app.decorateRequest('principal', null)
  for (const r of ROUTES) {
    app.route({
      method: r.method,
      url: r.path,
      onRequest: fastifyGuard(authz[r.authz])(r.need),
      // A Buffer: a string would get "; charset=utf-8" appended to the content type.
      handler: (request, reply) => reply.header('content-type', 'application/json').send(Buffer.from(handlerBody(request.principal))),
    })
  }
  ready = app.ready()
  return app.server
}

/** A server of `framework` over these authorizers (not yet listening). */
export function buildServer(framework: Framework, authz: Authorizers): Server {
  switch (framework) {
    case 'express5':
      return expressServer(express5, authz)
    case 'express4':
      return expressServer(express4, authz)
    case 'koa':
      return koaServer(authz)
    case 'hono':
      return honoServer(authz)
    case 'fastify':
      return fastifyServer(authz)
  }
}
