/**
 * One server of the HTTP benchmark, run as a child process of `bench/http.ts` (never on its own):
 * `node --import tsx bench/_http-server.ts <framework> <variant>`.
 *
 * It listens on 127.0.0.1 (an ephemeral port) and talks to its parent over the IPC channel:
 * - sends `{ type: 'ready', port, header, value }` once listening (the header and value a
 *   request must carry to be allowed);
 * - answers `{ type: 'cpu' }` with `{ type: 'cpu', usage }` (`process.cpuUsage()`, so the parent
 *   can charge this process's CPU time to the requests served between two readings);
 *   with the garbage collections so far too (scavenges, and the time of every collection, from
 *   a `PerformanceObserver`);
 * - exits on `{ type: 'stop' }` or when the parent goes away.
 *
 * Every variant of a framework serves the same route and body; they differ only in the middleware
 * in front of the handler (and, for the steps of `STEPS`, in what the heap holds).
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { hash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import inspector from 'node:inspector'
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks'
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
import type { GuardAuthorizer } from '../src/adapters/_shared.js'
import { guard as honoGuard } from '../src/adapters/hono.js'
import { guard as koaGuard } from '../src/adapters/koa.js'
import { createAuthorizer } from '../src/authorize.js'
import { generateKey } from '../src/keys/format.js'
import { KeyManager } from '../src/stores/manager.js'
import { MemoryKeyStore } from '../src/stores/memory.js'

/** Frameworks and variants the parent may ask for. */
export const FRAMEWORKS = ['express', 'koa', 'hono', 'fastify'] as const
export const VARIANTS = ['bare', 'keyward', 'peer', 'floor'] as const
/**
 * The steps from bare to keyward, each adding one thing to the one before (`bench/attribution.ts`):
 * `heap`: bare, with the keyward authorizer and its 10,000 keys built and kept alive but never
 * called; `layer`: that, plus a pass-through middleware (or hook) where the guard goes; `glue`:
 * that, with the real guard in place of the pass-through, over an authorizer that answers the
 * allowed decision from a settled promise without reading the request; then `keyward` itself.
 */
export const STEPS = ['bare', 'heap', 'layer', 'glue', 'keyward'] as const
export type Framework = (typeof FRAMEWORKS)[number]
export type Variant = (typeof VARIANTS)[number] | (typeof STEPS)[number]
const ALL_VARIANTS: readonly string[] = [...VARIANTS, ...STEPS]

/** Keys in the keyward store: the one the load generator sends is among as many others. */
export const STORE_KEYS = 10_000
const PATH = '/scans'
const BODY = { ok: true }

/** Messages between `bench/http.ts` and this process. */
export type ToServer = { type: 'cpu' } | { type: 'stop' }
/** Garbage collections since the server started: scavenges, and the time of all collections. */
export interface GcCounts {
  minor: number
  ms: number
}
export type FromServer =
  | { type: 'ready'; port: number; header: string; value: string }
  | { type: 'cpu'; usage: NodeJS.CpuUsage; gc: GcCounts }
  | { type: 'error'; message: string }

export interface Built {
  server: Server
  header: string
  value: string
}

async function keyward(): Promise<{ authorizer: GuardAuthorizer; key: string }> {
  const store = new MemoryKeyStore()
  const manager = new KeyManager(store)
  for (let i = 0; i < STORE_KEYS - 1; i++) await manager.issue({ kind: 'user', owner: `user${i}`, role: 'Read Write' })
  const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
  // Defaults, as an application would use it (last-used times on, breaker on, no rate limiter).
  return { authorizer: createAuthorizer({ store }), key }
}

/** Kept alive by the `heap`, `layer` and `glue` servers, so their heap is keyward's. */
const held: unknown[] = []

/**
 * What a step's server puts where the guard goes: for `keyward` the real authorizer; for `glue`
 * one that answers the allowed decision, from a promise settled once, without reading the
 * request (the guard still does all its own work); for `heap` and `layer` none, the real one held.
 */
async function authorizerFor(variant: Variant): Promise<{ authorizer: GuardAuthorizer; key: string } | undefined> {
  const real = await keyward()
  if (variant === 'keyward') return real
  held.push(real)
  if (variant !== 'glue') return undefined
  const need = real.authorizer.need('scans:read')
  const d = await real.authorizer.authorize({ method: 'GET', url: PATH, headers: ['X-Api-Key', real.key], remoteAddress: '127.0.0.1' }, need)
  if (!d.allow) throw new Error(`bench setup: the key should be allowed, got ${d.status}`)
  const answer = Promise.resolve(d)
  return { authorizer: { need: (n) => real.authorizer.need(n), authorize: () => answer }, key: real.key }
}

/**
 * The `floor` variant's check: the least a check of stored API keys can do, hand-written. The
 * header's SHA-256 (Node's one-shot hash, which keyward uses too) looked up in a `Map` of
 * `STORE_KEYS` hashes; nothing else (no format, status, owner, permission or address check).
 * Its cost over HTTP is what hashing and one lookup cost between real requests: the part of
 * keyward's overhead that any check of hashed, stored keys pays too.
 */
function floorCheck(key: string): (value: unknown) => boolean {
  const sha = (v: string) => hash('sha256', v, 'hex')
  const hashes = new Map<string, { id: string }>([[sha(key), { id: 'ana' }]])
  while (hashes.size < STORE_KEYS) hashes.set(sha(generateKey()), { id: `user${hashes.size}` })
  return (value) => typeof value === 'string' && value !== '' && hashes.has(sha(value))
}

/** The server of a framework's variant, not listening yet (also driven in process by `bench/_framework-loop.ts`). */
export async function build(framework: Framework, variant: Variant): Promise<Built> {
  // The peers hold plaintext keys in a Map, as their documentation does.
  const peerKey = generateKey()
  const peerKeys = new Map([[peerKey, { id: 'ana' }]])
  // keyward and glue: a guard over that authorizer; heap and layer: keyward's heap, no guard.
  const kw = variant === 'bare' || variant === 'peer' || variant === 'floor' ? undefined : await authorizerFor(variant)
  const allowed = variant === 'floor' ? floorCheck(peerKey) : undefined
  const layer = variant === 'layer'
  const built = (server: Server): Built => ({ server, header: 'x-api-key', value: kw?.key ?? peerKey })
  switch (framework) {
    case 'express': {
      const app = express()
      const handler: express.RequestHandler = (_req, res) => {
        res.json(BODY)
      }
      if (kw !== undefined) app.get(PATH, expressGuard(kw.authorizer)('scans:read'), handler)
      else if (layer) app.get(PATH, (_req, _res, next) => next(), handler)
      else if (allowed) app.get(PATH, (req, res, next) => (allowed(req.get('x-api-key')) ? next() : res.status(401).end()), handler)
      else if (variant !== 'peer') app.get(PATH, handler)
      else {
        passport.use(
          new HeaderAPIKeyStrategy({ header: 'X-Api-Key', prefix: '' }, false, (apiKey, done) => {
            const user = peerKeys.get(apiKey)
            done(null, user ?? false)
          }),
        )
        app.use(passport.initialize())
        app.get(PATH, passport.authenticate('headerapikey', { session: false }), handler)
      }
      return built(createServer(app))
    }
    case 'koa': {
      const app = new Koa()
      app.silent = true
      if (kw !== undefined) app.use(koaGuard(kw.authorizer)('scans:read'))
      else if (layer) app.use((_ctx, next) => next())
      else if (allowed) {
        app.use(async (ctx, next) => {
          if (!allowed(ctx.get('x-api-key'))) {
            ctx.status = 401
            return
          }
          await next()
        })
      } else if (variant === 'peer') {
        // The usual hand-written check: look the header up in a Map, 401 otherwise.
        app.use(async (ctx, next) => {
          if (!peerKeys.has(ctx.get('x-api-key'))) {
            ctx.status = 401
            return
          }
          await next()
        })
      }
      app.use((ctx) => {
        if (ctx.path === PATH) ctx.body = BODY
      })
      return built(createServer(app.callback()))
    }
    case 'hono': {
      const app = new Hono()
      const server = () => createAdaptorServer({ fetch: app.fetch }) as Server
      if (kw !== undefined) app.get(PATH, honoGuard(kw.authorizer)('scans:read'), (c) => c.json(BODY))
      else if (layer) app.get(PATH, (_c, next) => next(), (c) => c.json(BODY))
      else if (allowed) app.get(PATH, async (c, next) => (allowed(c.req.header('x-api-key')) ? next() : c.body(null, 401)), (c) => c.json(BODY))
      else if (variant !== 'peer') app.get(PATH, (c) => c.json(BODY))
      else {
        app.get(PATH, bearerAuth({ token: peerKey }), (c) => c.json(BODY))
        return { server: server(), header: 'authorization', value: `Bearer ${peerKey}` }
      }
      return built(server())
    }
    case 'fastify': {
      const app = Fastify()
      const handler = async () => BODY
      let out: Omit<Built, 'server'> = { header: 'x-api-key', value: kw?.key ?? peerKey }
      if (kw !== undefined) {
        // The plugin as documented: it also adds the hook that reads config.keyward on every route.
        await app.register(keywardPlugin, { authorizer: kw.authorizer })
        app.get(PATH, { onRequest: app.requireKey('scans:read') }, handler)
      } else if (layer) app.get(PATH, { onRequest: (_req, _reply, done) => done() }, handler)
      else if (allowed) app.get(PATH, { onRequest: (req, reply, done) => (allowed(req.headers['x-api-key']) ? done() : void reply.code(401).send()) }, handler)
      else if (variant !== 'peer') app.get(PATH, handler)
      else {
        await app.register(fastifyBearerAuth, { keys: new Set([peerKey]) })
        app.get(PATH, handler)
        out = { header: 'authorization', value: `Bearer ${peerKey}` }
      }
      await app.ready()
      return { server: app.server, ...out }
    }
  }
}

/** Garbage collections seen so far, counted as V8 reports them. */
const gc: GcCounts = { minor: 0, ms: 0 }
function countGc(): void {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minor++
      gc.ms += e.duration
    }
  }).observe({ entryTypes: ['gc'] })
}

function send(message: FromServer): void {
  process.send?.(message)
}

/**
 * With BENCH_HTTP_CPU_PROF=<folder>: profiles the server from now (setup excluded) until it is
 * stopped, and writes `<folder>/<framework>-<variant>.cpuprofile` with the requests it served
 * (`requests`, read by `bench/profile.ts`). Otherwise does nothing.
 */
async function profiler(server: Server, framework: Framework, variant: Variant): Promise<() => Promise<void>> {
  const dir = process.env.BENCH_HTTP_CPU_PROF
  if (dir === undefined || dir === '') return async () => {}
  const session = new inspector.Session()
  session.connect()
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))))
  let requests = 0
  server.on('request', () => requests++)
  await post('Profiler.enable')
  await post('Profiler.setSamplingInterval', { interval: 500 })
  await post('Profiler.start')
  return async () => {
    const { profile } = await post('Profiler.stop')
    mkdirSync(dir, { recursive: true })
    writeFileSync(`${dir}/${framework}-${variant}.cpuprofile`, JSON.stringify({ ...profile, requests }))
  }
}

async function main(): Promise<void> {
  const [framework, variant] = process.argv.slice(2) as [Framework, Variant]
  if (!FRAMEWORKS.includes(framework) || !ALL_VARIANTS.includes(variant)) throw new Error(`usage: _http-server.ts <${FRAMEWORKS.join('|')}> <${ALL_VARIANTS.join('|')}>`)
  if (!process.send) throw new Error('bench/_http-server.ts runs as a child of bench/http.ts (it needs the IPC channel)')
  const { server, header, value } = await build(framework, variant)
  countGc()
  const profile = await profiler(server, framework, variant)
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  process.on('message', (m: ToServer) => {
    if (m.type === 'cpu') send({ type: 'cpu', usage: process.cpuUsage(), gc: { ...gc } })
    else if (m.type === 'stop') {
      server.closeAllConnections()
      server.close(() => void profile().finally(() => process.exit(0)))
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

