/**
 * Contrast style, on Hono: two headers that must belong together, `API-Key: <organization key>`
 * and `Authorization: base64(username:service-key)` (with or without the `Basic ` word). The
 * organization in the path must be the keys' organization.
 *
 *   npx tsx examples/contrast.ts        # prints curl commands to try
 */
import type { Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { guard } from '../src/adapters/hono.js'
import { createAuthorizer, defineRoles, KeyManager, MemoryKeyStore, schemes, tokenBucket, type Authorizer } from '../src/index.js'
import { decisionLine, isMain, runStandalone, serve, type SecretFiles, type StartOptions, type Started, configured } from './_shared.js'

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
  await store.putOwner('lee@acme.test', { active: false }) // a locked account disables its keys
  return keys
}

/** Starts the example on a loopback port with an in-memory store. */
export async function start(options: StartOptions = {}): Promise<Started> {
  const store = new MemoryKeyStore()
  const keys = await seedKeys(store)
  const log = options.log
  const authorizer = createAuthorizer(configured(options, {
    store: options.wrapStore ? options.wrapStore(store) : store,
    schemes: [schemes.contrast()],
    roles: contrastRoles,
    tenant: (req) => /^\/api\/ng\/([^/?]+)/.exec(req.url ?? '')?.[1],
    rateLimiter: tokenBucket({ capacity: 60, refillPerSecond: 1 }),
    ...(log ? { onDecision: (e) => log(decisionLine(e)) } : {}),
  }))
  const server = createAdaptorServer({ fetch: createApp(authorizer).fetch }) as Server
  return serve(server, authorizer, keys, options)
}

function curls(s: Started, secrets: SecretFiles): string[] {
  const org = secrets.put('organization.key', s.keys.org!)
  const auth = (label: string, user: string) => secrets.put(`${label}.authorization`, authorizationValue(user, s.keys[label]!))
  const apps = `${s.url}/api/ng/${ORG}/applications`
  return [
    '# Organization key + base64(user:service key): 200',
    `curl -i -H "API-Key: ${org}" -H "Authorization: ${auth('ana', 'ana@acme.test')}" ${apps}`,
    "# Another user's name with ana's service key: 401",
    `curl -i -H "API-Key: ${org}" -H "Authorization: ${auth('ana-as-bob', 'bob@acme.test')}" ${apps}`,
    '# A locked account: 401',
    `curl -i -H "API-Key: ${org}" -H "Authorization: ${auth('lee', 'lee@acme.test')}" ${apps}`,
    '# Only one of the two headers: 401 missing_credentials',
    `curl -i -H "API-Key: ${org}" ${apps}`,
    '# A Viewer may not change a trace status: 403',
    `curl -i -X PUT -H "API-Key: ${org}" -H "Authorization: ${auth('rob', 'rob@acme.test')}" ${s.url}/api/ng/${ORG}/traces/a-1/status`,
  ]
}

if (isMain(import.meta.url)) {
  await runStandalone('Contrast-style API (Hono)', start, (s, secrets) =>
    curls({ ...s, keys: { ...s.keys, 'ana-as-bob': s.keys.ana! } }, secrets),
  )
}
