/**
 * An InsightAppSec-like API (apps, scans, vulnerabilities) on Express, protected by keyward with
 * the preset roles and `X-Api-Key`.
 *
 *   npx tsx examples/express.ts        # prints curl commands to try
 */
import { createServer } from 'node:http'
import express, { type Express } from 'express'
import { guard } from '../src/adapters/express.js'
import { MemoryKeyStore, type Authorizer } from '../src/index.js'
import { APPS, describePrincipal, makeAuthorizer, SCANS, seedKeys, startScan, curls, VULNERABILITIES } from './_insightappsec.js'
import { isMain, runStandalone, serve, type StartOptions, type Started } from './_shared.js'

/** The Express app: each route names the permission it needs. */
export function createApp(authorizer: Authorizer): Express {
  const requireKey = guard(authorizer)
  const app = express()
  app.get('/apps', requireKey('apps:read'), (_req, res) => {
    res.json({ data: APPS })
  })
  app.get('/scans', requireKey('scans:read'), (_req, res) => {
    res.json({ data: SCANS })
  })
  app.post('/apps/:appId/scans', requireKey('scans:manage'), (req, res) => {
    res.status(201).json(startScan(req.params.appId, req.principal))
  })
  app.get('/vulnerabilities', requireKey('vulnerabilities:read'), (_req, res) => {
    res.json({ data: VULNERABILITIES })
  })
  app.delete('/vulnerabilities/:vulnId/comments/:commentId', requireKey('vulnerability-comments:administer'), (_req, res) => {
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
  const server = createServer(createApp(authorizer))
  return serve(server, authorizer, keys, options)
}

if (isMain(import.meta.url)) await runStandalone('InsightAppSec-like API (Express)', start, curls)
