/**
 * An InsightAppSec-like API (apps, scans, vulnerabilities) on Express, protected by keyward with
 * the preset roles and `X-Api-Key`.
 *
 *   npx tsx examples/express.ts        # prints curl commands to try
 */
import { createServer } from 'node:http'
import express, { type Express } from 'express'
import { adminMiddleware, guard } from '../src/adapters/express.js'
import { createAdminHandler } from '../src/admin/index.js'
import { KeyManager, MemoryKeyStore, type Authorizer } from '../src/index.js'
import { APPS, appsec, describePrincipal, makeAuthorizer, rapid7Roles, SCANS, seedKeys, startScan, curls, VULNERABILITIES } from './_insightappsec.js'
import { isMain, runStandalone, serve, type StartOptions, type Started } from './_shared.js'

/** The Express app: each route names the permission it needs. */
export function createApp(authorizer: Authorizer, manager?: KeyManager): Express {
  const requireKey = guard(authorizer)
  const app = express()
  // Every role can generate a user key: self-service key management for each user's own keys
  // (the Org key administers all of them), in the admin API and its console at /admin/.
  if (manager !== undefined) app.use('/admin', adminMiddleware(createAdminHandler({ manager, authorizer, selfService: true })))
  app.get('/apps', requireKey(appsec('apps:read')), (_req, res) => {
    res.json({ data: APPS })
  })
  app.get('/scans', requireKey(appsec('scans:read')), (_req, res) => {
    res.json({ data: SCANS })
  })
  app.post('/apps/:appId/scans', requireKey(appsec('scans:manage')), (req, res) => {
    res.status(201).json(startScan(req.params.appId, req.principal))
  })
  app.get('/vulnerabilities', requireKey(appsec('vulnerabilities:read')), (_req, res) => {
    res.json({ data: VULNERABILITIES })
  })
  app.delete('/vulnerabilities/:vulnId/comments/:commentId', requireKey(appsec('vulnerability-comments:administer')), (_req, res) => {
    res.status(204).end()
  })
  app.get('/me', requireKey(), (req, res) => {
    res.json(describePrincipal(req.principal))
  })
  return app
}

/** Starts the example on a loopback port with an in-memory store and fresh demo keys. */
export async function start(options: StartOptions = {}): Promise<Started> {
  const store = new MemoryKeyStore()
  const keys = await seedKeys(store)
  const authorizer = makeAuthorizer(store, options)
  const server = createServer(createApp(authorizer, new KeyManager(store, { roles: rapid7Roles })))
  return serve(server, authorizer, keys, options)
}

if (isMain(import.meta.url)) await runStandalone('InsightAppSec-like API (Express)', start, curls)
