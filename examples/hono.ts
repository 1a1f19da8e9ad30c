/**
 * An InsightAppSec-like API (apps, scans, vulnerabilities) on Hono with `@hono/node-server`,
 * protected by keyward with the preset roles and `X-Api-Key`.
 *
 *   npx tsx examples/hono.ts        # prints curl commands to try
 */
import type { Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { guard } from '../src/adapters/hono.js'
import { MemoryKeyStore, type Authorizer } from '../src/index.js'
import { APPS, appsec, describePrincipal, makeAuthorizer, SCANS, seedKeys, startScan, curls, VULNERABILITIES } from './_insightappsec.js'
import { isMain, runStandalone, serve, type StartOptions, type Started } from './_shared.js'

/** The Hono app: each route names the permission it needs; `c.get('principal')` is typed. */
export function createApp(authorizer: Authorizer) {
  const requireKey = guard(authorizer)
  const app = new Hono()
  app.get('/apps', requireKey(appsec('apps:read')), (c) => c.json({ data: APPS }))
  app.get('/scans', requireKey(appsec('scans:read')), (c) => c.json({ data: SCANS }))
  app.post('/apps/:appId/scans', requireKey(appsec('scans:manage')), (c) => c.json(startScan(c.req.param('appId'), c.get('principal')), 201))
  app.get('/vulnerabilities', requireKey(appsec('vulnerabilities:read')), (c) => c.json({ data: VULNERABILITIES }))
  app.delete('/vulnerabilities/:vulnId/comments/:commentId', requireKey(appsec('vulnerability-comments:administer')), (c) => c.body(null, 204))
  app.get('/me', requireKey(), (c) => c.json(describePrincipal(c.get('principal'))))
  return app
}

/** Starts the example on a loopback port with an in-memory store and fresh demo keys. */
export async function start(options: StartOptions = {}): Promise<Started> {
  const store = new MemoryKeyStore()
  const keys = await seedKeys(store)
  const authorizer = makeAuthorizer(store, options)
  const server = createAdaptorServer({ fetch: createApp(authorizer).fetch }) as Server
  return serve(server, authorizer, keys, options)
}

if (isMain(import.meta.url)) await runStandalone('InsightAppSec-like API (Hono)', start, curls)
