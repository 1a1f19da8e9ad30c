/**
 * An InsightAppSec-like API (apps, scans, vulnerabilities) on Koa, protected by keyward with the
 * preset roles and `X-Api-Key`.
 *
 *   npx tsx examples/koa.ts        # prints curl commands to try
 */
import { createServer } from 'node:http'
import Koa, { type Middleware } from 'koa'
import { guard, type KeywardState } from '../src/adapters/koa.js'
import { MemoryKeyStore, type Authorizer } from '../src/index.js'
import { APPS, appsec, describePrincipal, makeAuthorizer, SCANS, seedKeys, startScan, curls, VULNERABILITIES } from './_insightappsec.js'
import { isMain, runStandalone, serve, type StartOptions, type Started } from './_shared.js'

type State = KeywardState & { params: Record<string, string> }

/**
 * Koa has no router of its own; this tiny one keeps the example dependency-free. With
 * `@koa/router` it reads the same: `router.get('/apps', requireKey(appsec('apps:read')), handler)`.
 */
function route(method: string, path: string, ...stack: Middleware<State>[]): Middleware<State> {
  const pattern = new RegExp(`^${path.replace(/:(\w+)/g, '(?<$1>[^/]+)')}$`)
  return async function routed(ctx, next) {
    const match = ctx.method === method ? pattern.exec(ctx.path) : null
    if (!match) return next()
    ctx.state.params = { ...match.groups }
    const run = async (i: number): Promise<void> => {
      await stack[i]?.(ctx, () => run(i + 1))
    }
    await run(0)
  }
}

/** The Koa app: each route names the permission it needs. */
export function createApp(authorizer: Authorizer): Koa<State> {
  const requireKey = guard(authorizer)
  const app = new Koa<State>()
  app.use(route('GET', '/apps', requireKey(appsec('apps:read')), (ctx) => {
    ctx.body = { data: APPS }
  }))
  app.use(route('GET', '/scans', requireKey(appsec('scans:read')), (ctx) => {
    ctx.body = { data: SCANS }
  }))
  app.use(route('POST', '/apps/:appId/scans', requireKey(appsec('scans:manage')), (ctx) => {
    ctx.status = 201
    ctx.body = startScan(ctx.state.params.appId!, ctx.state.principal)
  }))
  app.use(route('GET', '/vulnerabilities', requireKey(appsec('vulnerabilities:read')), (ctx) => {
    ctx.body = { data: VULNERABILITIES }
  }))
  app.use(route('DELETE', '/vulnerabilities/:vulnId/comments/:commentId', requireKey(appsec('vulnerability-comments:administer')), (ctx) => {
    ctx.status = 204
  }))
  app.use(route('GET', '/me', requireKey(), (ctx) => {
    ctx.body = describePrincipal(ctx.state.principal)
  }))
  return app
}

/** Starts the example on a loopback port with an in-memory store and fresh demo keys. */
export async function start(options: StartOptions = {}): Promise<Started> {
  const store = new MemoryKeyStore()
  const keys = await seedKeys(store)
  const authorizer = makeAuthorizer(store, options)
  const server = createServer(createApp(authorizer).callback())
  return serve(server, authorizer, keys, options)
}

if (isMain(import.meta.url)) await runStandalone('InsightAppSec-like API (Koa)', start, curls)
