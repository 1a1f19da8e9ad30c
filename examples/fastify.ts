/**
 * An InsightAppSec-like API (apps, scans, vulnerabilities) on Fastify, protected by keyward with
 * the preset roles and `X-Api-Key`: the plugin declares `request.principal`, routes name their
 * permission with an `onRequest` hook or in their `config`.
 *
 *   npx tsx examples/fastify.ts        # prints curl commands to try
 */
import Fastify from 'fastify'
import { keywardPlugin } from '../src/adapters/fastify.js'
import { MemoryKeyStore, type Authorizer } from '../src/index.js'
import { APPS, appsec, describePrincipal, makeAuthorizer, SCANS, seedKeys, startScan, curls, VULNERABILITIES } from './_insightappsec.js'
import { isMain, runStandalone, serve, type StartOptions, type Started } from './_shared.js'

/** The Fastify app: each route names the permission it needs; `request.principal` is typed. */
export async function createApp(authorizer: Authorizer) {
  const app = Fastify()
  await app.register(keywardPlugin, { authorizer })
  const { requireKey } = app
  app.get('/apps', { onRequest: requireKey(appsec('apps:read')) }, async () => ({ data: APPS }))
  // The same, with the need in the route's config (the plugin's hook reads it).
  app.get('/scans', { config: { keyward: 'scans:read' } }, async () => ({ data: SCANS }))
  app.post<{ Params: { appId: string } }>('/apps/:appId/scans', { onRequest: requireKey(appsec('scans:manage')) }, async (request, reply) =>
    reply.code(201).send(startScan(request.params.appId, request.principal ?? undefined)),
  )
  app.get('/vulnerabilities', { onRequest: requireKey(appsec('vulnerabilities:read')) }, async () => ({ data: VULNERABILITIES }))
  app.delete('/vulnerabilities/:vulnId/comments/:commentId', { onRequest: requireKey(appsec('vulnerability-comments:administer')) }, async (_request, reply) =>
    reply.code(204).send(),
  )
  app.get('/me', { config: { keyward: true } }, async (request) => describePrincipal(request.principal ?? undefined))
  await app.ready()
  return app
}

/** Starts the example on a loopback port with an in-memory store and fresh demo keys. */
export async function start(options: StartOptions = {}): Promise<Started> {
  const store = new MemoryKeyStore()
  const keys = await seedKeys(store)
  const authorizer = makeAuthorizer(store, options)
  const app = await createApp(authorizer)
  return serve(app.server, authorizer, keys, options)
}

if (isMain(import.meta.url)) await runStandalone('InsightAppSec-like API (Fastify)', start, curls)
