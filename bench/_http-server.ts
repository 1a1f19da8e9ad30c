/**
 * One server of the HTTP benchmark, run as a child process of `bench/http.ts` (never on its own):
 * `node --import tsx bench/_http-server.ts <framework> <variant>`.
 *
 * It listens on 127.0.0.1 (an ephemeral port) and talks to its parent over the IPC channel:
 * - sends `{ type: 'ready', port, header, value }` once listening (the header and value a
 *   request must carry to be allowed);
 * - answers `{ type: 'cpu' }` with `{ type: 'cpu', usage }` (`process.cpuUsage()`, so the parent
 *   can charge this process's CPU time to the requests served between two readings);
 * - exits on `{ type: 'stop' }` or when the parent goes away.
 *
 * Every variant of a framework serves the same route and body; they differ only in the middleware
 * in front of the handler.
 * @module
 */
import { createServer, type Server } from 'node:http'
import { pathToFileURL } from 'node:url'
import { createAdaptorServer } from '@hono/node-server'
import fastifyBearerAuth from '@fastify/bearer-auth'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { bearerAuth } from 'hono/bearer-auth'
import Koa from 'koa'
import passport from 'passport'
import { HeaderAPIKeyStrategy } from 'passport-headerapikey'
import { guard as expressGuard } from '../src/adapters/express.js'
import { keywardPlugin } from '../src/adapters/fastify.js'
import { guard as honoGuard } from '../src/adapters/hono.js'
import { guard as koaGuard } from '../src/adapters/koa.js'
import { createAuthorizer } from '../src/authorize.js'
import { generateKey } from '../src/keys/format.js'
import { KeyManager } from '../src/stores/manager.js'
import { MemoryKeyStore } from '../src/stores/memory.js'

/** Frameworks and variants the parent may ask for. */
export const FRAMEWORKS = ['express', 'koa', 'hono', 'fastify'] as const
export const VARIANTS = ['bare', 'keyward', 'peer'] as const
export type Framework = (typeof FRAMEWORKS)[number]
export type Variant = (typeof VARIANTS)[number]

/** Keys in the keyward store: the one the load generator sends is among as many others. */
export const STORE_KEYS = 10_000
const PATH = '/scans'
const BODY = { ok: true }

/** Messages between `bench/http.ts` and this process. */
export type ToServer = { type: 'cpu' } | { type: 'stop' }
export type FromServer =
  | { type: 'ready'; port: number; header: string; value: string }
  | { type: 'cpu'; usage: NodeJS.CpuUsage }
  | { type: 'error'; message: string }

interface Built {
  server: Server
  header: string
  value: string
}

async function keyward() {
  const store = new MemoryKeyStore()
  const manager = new KeyManager(store)
  for (let i = 0; i < STORE_KEYS - 1; i++) await manager.issue({ kind: 'user', owner: `user${i}`, role: 'Read Write' })
  const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
  // Defaults, as an application would use it (last-used times on, breaker on, no rate limiter).
  return { authorizer: createAuthorizer({ store }), key }
}

async function build(framework: Framework, variant: Variant): Promise<Built> {
  // The peers hold plaintext keys in a Map, as their documentation does.
  const peerKey = generateKey()
  const peerKeys = new Map([[peerKey, { id: 'ana' }]])
  switch (framework) {
    case 'express': {
      const app = express()
      const handler: express.RequestHandler = (_req, res) => {
        res.json(BODY)
      }
      if (variant === 'bare') {
        app.get(PATH, handler)
        return { server: createServer(app), header: 'x-api-key', value: peerKey }
      }
      if (variant === 'keyward') {
        const { authorizer, key } = await keyward()
        app.get(PATH, expressGuard(authorizer)('scans:read'), handler)
        return { server: createServer(app), header: 'x-api-key', value: key }
      }
      passport.use(
        new HeaderAPIKeyStrategy({ header: 'X-Api-Key', prefix: '' }, false, (apiKey, done) => {
          const user = peerKeys.get(apiKey)
          done(null, user ?? false)
        }),
      )
      app.use(passport.initialize())
      app.get(PATH, passport.authenticate('headerapikey', { session: false }), handler)
      return { server: createServer(app), header: 'x-api-key', value: peerKey }
    }
    case 'koa': {
      const app = new Koa()
      app.silent = true
      const handler: Koa.Middleware = (ctx) => {
        if (ctx.path === PATH) ctx.body = BODY
      }
      if (variant === 'keyward') {
        const { authorizer, key } = await keyward()
        app.use(koaGuard(authorizer)('scans:read'))
        app.use(handler)
        return { server: createServer(app.callback()), header: 'x-api-key', value: key }
      }
      if (variant === 'peer') {
        // The usual hand-written check: look the header up in a Map, 401 otherwise.
        app.use(async (ctx, next) => {
          if (!peerKeys.has(ctx.get('x-api-key'))) {
            ctx.status = 401
            return
          }
          await next()
        })
      }
      app.use(handler)
      return { server: createServer(app.callback()), header: 'x-api-key', value: peerKey }
    }
    case 'hono': {
      const app = new Hono()
      if (variant === 'bare') {
        app.get(PATH, (c) => c.json(BODY))
        return { server: createAdaptorServer({ fetch: app.fetch }) as Server, header: 'x-api-key', value: peerKey }
      }
      if (variant === 'keyward') {
        const { authorizer, key } = await keyward()
        app.get(PATH, honoGuard(authorizer)('scans:read'), (c) => c.json(BODY))
        return { server: createAdaptorServer({ fetch: app.fetch }) as Server, header: 'x-api-key', value: key }
      }
      app.get(PATH, bearerAuth({ token: peerKey }), (c) => c.json(BODY))
      return { server: createAdaptorServer({ fetch: app.fetch }) as Server, header: 'authorization', value: `Bearer ${peerKey}` }
    }
    case 'fastify': {
      const app = Fastify()
      const handler = async () => BODY
      let built: Omit<Built, 'server'> = { header: 'x-api-key', value: peerKey }
      if (variant === 'bare') app.get(PATH, handler)
      else if (variant === 'keyward') {
        const { authorizer, key } = await keyward()
        // The plugin as documented: it also adds the hook that reads config.keyward on every route.
        await app.register(keywardPlugin, { authorizer })
        app.get(PATH, { onRequest: app.requireKey('scans:read') }, handler)
        built = { header: 'x-api-key', value: key }
      } else {
        await app.register(fastifyBearerAuth, { keys: new Set([peerKey]) })
        app.get(PATH, handler)
        built = { header: 'authorization', value: `Bearer ${peerKey}` }
      }
      await app.ready()
      return { server: app.server, ...built }
    }
  }
}

function send(message: FromServer): void {
  process.send?.(message)
}

async function main(): Promise<void> {
  const [framework, variant] = process.argv.slice(2) as [Framework, Variant]
  if (!FRAMEWORKS.includes(framework) || !VARIANTS.includes(variant)) throw new Error(`usage: _http-server.ts <${FRAMEWORKS.join('|')}> <${VARIANTS.join('|')}>`)
  if (!process.send) throw new Error('bench/_http-server.ts runs as a child of bench/http.ts (it needs the IPC channel)')
  const { server, header, value } = await build(framework, variant)
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  process.on('message', (m: ToServer) => {
    if (m.type === 'cpu') send({ type: 'cpu', usage: process.cpuUsage() })
    else if (m.type === 'stop') {
      server.closeAllConnections()
      server.close(() => process.exit(0))
    }
  })
  // The parent is gone (killed, crashed): do not linger.
  process.on('disconnect', () => process.exit(0))
  send({ type: 'ready', port: address.port, header, value })
}

// Only as the child's entry point: bench/http.ts imports this module for its names and types.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    send({ type: 'error', message: e instanceof Error ? e.message : String(e) })
    process.exit(1)
  })
}
