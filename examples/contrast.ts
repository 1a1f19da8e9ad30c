/**
 * Contrast style, on Hono: two headers that must belong together, `API-Key: <organization key>`
 * and `Authorization: base64(username:service-key)` (with or without the `Basic ` word). The
 * organization in the path must be the keys' organization.
 *
 * Contrast's API is only available over TLS, so the authorizer sets `requireTls`: the example
 * serves HTTPS with a self-signed certificate made in-process, and also listens on plain HTTP only
 * to show that keyward refuses it (403 `insecure_transport`) before it looks at either key.
 *
 *   npx tsx examples/contrast.ts        # prints curl commands to try (curl -k: self-signed)
 */
import type { Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { guard } from '../src/adapters/hono.js'
import { createAuthorizer, defineRoles, KeyManager, MemoryKeyStore, schemes, tokenBucket, type Authorizer } from '../src/index.js'
import {
  configured,
  decisionLine,
  isMain,
  runStandalone,
  selfSignedCertificate,
  type SecretFiles,
  type StartOptions,
  serveTls,
  type Started,
  type TlsStarted,
} from './_shared.js'

/** `start()`'s result: the HTTPS URL, the refused plain-HTTP URL, and the certificate to trust. */
export type ContrastStarted = TlsStarted

/** Contrast-like roles over `view < edit < admin`. */
export const contrastRoles = defineRoles({
  levels: ['view', 'edit', 'admin'],
  roles: {
    Viewer: ['applications:view', 'traces:view'],
    Editor: ['applications:edit', 'traces:edit'],
    Admin: ['applications:admin', 'traces:admin'],
  },
})

/** The organization id used in paths and as the keys' tenant. */
export const ORG = '3a6b9c2e-7f41-4d8a-9e0b-5c1d2f3a4b6c'

/** `base64(username:service-key)`, Contrast's Authorization value. */
export function authorizationValue(user: string, serviceKey: string): string {
  return Buffer.from(`${user}:${serviceKey}`).toString('base64')
}

/** The Hono app: `/api/ng/:orgId/...`. */
export function createApp(authorizer: Authorizer) {
  const requireKey = guard(authorizer)
  const app = new Hono()
  app.get('/api/ng/:orgId/applications', requireKey('applications:view'), (c) =>
    c.json({ applications: [{ app_id: 'a-1', name: 'checkout' }], user: c.get('principal').owner }),
  )
  app.put('/api/ng/:orgId/traces/:appId/status', requireKey('traces:edit'), (c) =>
    c.json({ success: true, app: c.req.param('appId'), by: c.get('principal').owner }),
  )
  return app
}

/** The organization key and three users' service keys (lee is locked). */
async function seedKeys(store: MemoryKeyStore): Promise<Record<string, string>> {
  const m = new KeyManager(store, { prefix: 'ct', roles: contrastRoles })
  const issue = async (o: Parameters<KeyManager['issue']>[0]) => (await m.issue(o)).key
  const keys = {
    org: await issue({ kind: 'tenant', tenant: ORG, description: 'organization API key' }),
    ana: await issue({ kind: 'user', tenant: ORG, owner: 'ana@acme.test', role: 'Editor' }),
    rob: await issue({ kind: 'user', tenant: ORG, owner: 'rob@acme.test', role: 'Viewer' }),
    lee: await issue({ kind: 'user', tenant: ORG, owner: 'lee@acme.test', role: 'Editor' }),
    ci: await issue({ kind: 'user', tenant: ORG, owner: 'ci@acme.test', role: 'Viewer', rateLimit: { capacity: 2, refillPerSecond: 0.01 } }),
  }
  await m.setOwner('lee@acme.test', { active: false }) // a locked account disables its keys
  return keys
}

/** Starts HTTPS (and the refused plain HTTP) on loopback ports with an in-memory store. */
export async function start(options: StartOptions = {}): Promise<ContrastStarted> {
  const store = new MemoryKeyStore()
  const keys = await seedKeys(store)
  const log = options.log
  const authorizer = createAuthorizer(configured(options, {
    store: options.wrapStore ? options.wrapStore(store) : store,
    schemes: [schemes.contrast()],
    requireTls: true, // "only available over SSL"
    roles: contrastRoles,
    tenant: (req) => /^\/api\/ng\/([^/?]+)/.exec(req.url ?? '')?.[1],
    rateLimiter: tokenBucket({ capacity: 60, refillPerSecond: 1 }),
    ...(log ? { onDecision: (e) => log(decisionLine(e)) } : {}),
  }))
  const { fetch } = createApp(authorizer)
  const { key, cert } = await selfSignedCertificate()
  const https = createAdaptorServer({ fetch, createServer: createHttpsServer, serverOptions: { key, cert } }) as Server
  const http = createAdaptorServer({ fetch }) as Server
  return serveTls(https, http, cert, authorizer, keys, options)
}

function curls(s: Started, secrets: SecretFiles): string[] {
  const org = secrets.put('organization.key', s.keys.org!)
  const auth = (label: string, user: string) => secrets.put(`${label}.authorization`, authorizationValue(user, s.keys[label]!))
  const apps = `${s.url}/api/ng/${ORG}/applications`
  const { httpUrl } = s as ContrastStarted
  return [
    '# Organization key + base64(user:service key), over HTTPS: 200 (-k: the certificate is self-signed)',
    `curl -ik -H "API-Key: ${org}" -H "Authorization: ${auth('ana', 'ana@acme.test')}" ${apps}`,
    "# Another user's name with ana's service key: 401",
    `curl -ik -H "API-Key: ${org}" -H "Authorization: ${auth('ana-as-bob', 'bob@acme.test')}" ${apps}`,
    '# A locked account: 401',
    `curl -ik -H "API-Key: ${org}" -H "Authorization: ${auth('lee', 'lee@acme.test')}" ${apps}`,
    '# Only one of the two headers: 401 missing_credentials',
    `curl -ik -H "API-Key: ${org}" ${apps}`,
    '# A Viewer may not change a trace status: 403',
    `curl -ik -X PUT -H "API-Key: ${org}" -H "Authorization: ${auth('rob', 'rob@acme.test')}" ${s.url}/api/ng/${ORG}/traces/a-1/status`,
    '# Errors in XML, as Contrast clients ask for them (Accept: application/xml)',
    `curl -ik -H "Accept: application/xml" -H "API-Key: ${org}" ${apps}`,
    '# Plain HTTP: 403 insecure_transport, the keys are not even looked at',
    `curl -i -H "API-Key: ${org}" -H "Authorization: ${auth('ana', 'ana@acme.test')}" ${httpUrl}/api/ng/${ORG}/applications`,
  ]
}

if (isMain(import.meta.url)) {
  await runStandalone('Contrast-style API (Hono, HTTPS only)', start, (s, secrets) =>
    curls({ ...s, keys: { ...s.keys, 'ana-as-bob': s.keys.ana! } }, secrets),
  )
}
