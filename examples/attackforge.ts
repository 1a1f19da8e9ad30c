/**
 * AttackForge's Self-Service API style, on Express: `X-SSAPI-KEY`, HTTPS only, and every method
 * denied by default, to administrators too, until it is granted. Access is granted per user: the
 * grants on Ana's directory entry hold for every key of hers. `GET /api/ss/me` shows a caller its
 * own access (`authorizer.describe()`), which needs no grant.
 *
 * It serves HTTPS with a self-signed certificate made in-process at start-up (no `openssl`), and
 * also listens on plain HTTP only to show that keyward refuses it (403 `insecure_transport`)
 * before it even looks at the key.
 *
 *   npx tsx examples/attackforge.ts        # prints curl commands to try (curl -k: self-signed)
 */
import { createServer as createHttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import express, { type Express } from 'express'
import { guard } from '../src/adapters/express.js'
import type { TLSSocket } from 'node:tls'
import { createAuthorizer, KeyManager, MemoryKeyStore, renderDeny, schemes, tokenBucket, type Authorizer } from '../src/index.js'
import {
  decisionLine,
  isMain,
  runStandalone,
  selfSignedCertificate,
  type SecretFiles,
  type StartOptions,
  serveTls,
  type Started,
  type TlsStarted,
  configured,
} from './_shared.js'

/** `start()`'s result: the HTTPS URL, the refused plain-HTTP URL, and the certificate to trust. */
export type AttackForgeStarted = TlsStarted

const PROJECTS = [{ id: 'p-100', name: 'Q3 external pentest', status: 'ACTIVE' }]

/** The SSAPI routes: each names the operation that must be granted to the key. */
export function createApp(authorizer: Authorizer): Express {
  const requireGrant = guard(authorizer)
  const app = express()
  app.get('/api/ss/projects', requireGrant({ operation: 'GetProjects' }), (_req, res) => {
    res.json({ projects: PROJECTS })
  })
  app.get('/api/ss/project/:id/vulnerabilities', requireGrant({ operation: 'GetVulnerabilitiesByProject' }), (req, res) => {
    res.json({ project: req.params.id, vulnerabilities: [] })
  })
  app.post('/api/ss/project', requireGrant({ operation: 'CreateProject' }), (req, res) => {
    res.status(201).json({ id: 'p-101', createdBy: req.principal?.keyId })
  })
  // "My access": every check a route makes but no grant needed; never the key.
  app.get('/api/ss/me', async (req, res) => {
    const secure = (req.socket as Partial<TLSSocket>).encrypted === true
    const d = await authorizer.describe({ method: req.method, url: req.originalUrl, headers: req.rawHeaders, remoteAddress: req.socket.remoteAddress, secure })
    if (!d.allow) {
      const { status, headers, body } = renderDeny(d)
      res.status(status).set(headers).send(body)
      return
    }
    const p = d.principal
    res.json({ keyId: p.keyId, owner: p.owner ?? null, role: p.role ?? null, grants: p.grants })
  })
  return app
}

/**
 * Issues the demo keys (prefix `af`): two keys of an analyst whose user holds two grants, an admin
 * with none, a rate-limited key with a grant of its own.
 */
async function seedKeys(store: MemoryKeyStore): Promise<Record<string, string>> {
  const m = new KeyManager(store, { prefix: 'af' })
  const issue = async (o: Parameters<KeyManager['issue']>[0]) => (await m.issue(o)).key
  // Granted to the user, so every key of Ana's holds them.
  await m.setOwner('ana@acme.test', { grants: ['GetProjects', 'GetVulnerabilitiesByProject'], active: true })
  return {
    analyst: await issue({ kind: 'user', owner: 'ana@acme.test', role: 'Read Write' }),
    analystCli: await issue({ kind: 'user', owner: 'ana@acme.test', role: 'Read Only', description: 'CLI' }),
    admin: await issue({ kind: 'user', owner: 'pat@acme.test', role: 'Product Admin' }),
    burst: await issue({ kind: 'user', owner: 'ci@acme.test', role: 'Read Only', grants: ['GetProjects'], rateLimit: { capacity: 2, refillPerSecond: 0.01 } }),
  }
}

/** Starts HTTPS (and the refused plain HTTP) on loopback ports with an in-memory store. */
export async function start(options: StartOptions = {}): Promise<AttackForgeStarted> {
  const store = new MemoryKeyStore()
  const keys = await seedKeys(store)
  const log = options.log
  const authorizer = createAuthorizer(configured(options, {
    store: options.wrapStore ? options.wrapStore(store) : store,
    schemes: [schemes.ssapi()],
    requireTls: true,
    explicitGrants: true,
    rateLimiter: tokenBucket({ capacity: 60, refillPerSecond: 1 }),
    ...(log ? { onDecision: (e) => log(decisionLine(e)) } : {}),
  }))
  const app = createApp(authorizer)
  const { key, cert } = await selfSignedCertificate()
  const https = createHttpsServer({ key, cert }, app)
  const http = createHttpServer(app)
  return serveTls(https, http, cert, authorizer, keys, options)
}

function curls(s: Started, secrets: SecretFiles): string[] {
  const { url, httpUrl } = s as AttackForgeStarted
  const k = (label: string) => secrets.put(`${label}.key`, s.keys[label]!)
  return [
    '# Granted method over HTTPS: 200 (-k: the certificate is self-signed)',
    `curl -ik -H "X-SSAPI-KEY: ${k('analyst')}" ${url}/api/ss/projects`,
    '# Not granted: 403 operation_not_granted, even for an administrator',
    `curl -ik -X POST -H "X-SSAPI-KEY: ${k('analyst')}" ${url}/api/ss/project`,
    `curl -ik -H "X-SSAPI-KEY: ${k('admin')}" ${url}/api/ss/projects`,
    '# Granted to the user: every key of Ana holds it; and each caller can see its own access',
    `curl -ik -H "X-SSAPI-KEY: ${k('analystCli')}" ${url}/api/ss/projects`,
    `curl -ik -H "X-SSAPI-KEY: ${k('analystCli')}" ${url}/api/ss/me`,
    '# Plain HTTP: 403 insecure_transport, the key is not even looked at',
    `curl -i -H "X-SSAPI-KEY: ${k('analyst')}" ${httpUrl}/api/ss/projects`,
  ]
}

if (isMain(import.meta.url)) await runStandalone('AttackForge-style SSAPI (Express, HTTPS only)', start, curls)
