/**
 * Ivanti Service Manager style, on Koa: `Authorization: rest_api_key=<Reference ID>`, keys in key
 * groups, one tenant per key, extra allowed IPs, Activated on/off, and Ivanti-like roles.
 *
 * The tenant is the host name, as with Ivanti (`https://<tenant>.example.test/api/odata/...`):
 * `tenantFromHost({ domain })` reads it from the Host header. The example listens on loopback, so
 * the curl commands it prints send the tenant's Host header to 127.0.0.1.
 *
 *   npx tsx examples/ivanti.ts        # prints curl commands to try
 */
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import Koa from 'koa'
import { guard, type KeywardState } from '../src/adapters/koa.js'
import { createAuthorizer, defineRoles, KeyManager, MemoryKeyStore, schemes, tenantFromHost, tokenBucket, type Authorizer } from '../src/index.js'
import { configured, decisionLine, isMain, runStandalone, serve, type SecretFiles, type StartOptions, type Started } from './_shared.js'

/** Ivanti-like roles over `read < write`. */
export const ivantiRoles = defineRoles({
  levels: ['read', 'write'],
  roles: {
    'Self Service': ['incidents:read'],
    'Service Desk Analyst': ['incidents:write', 'changes:read'],
    Administrator: ['incidents:write', 'changes:write'],
  },
})

/** Each tenant's host is `<tenant>.example.test` (`acme.example.test`, `globex.example.test`). */
export const TENANT_DOMAIN = 'example.test'

/** The host name of a tenant. */
export function tenantHost(tenant: string): string {
  return `${tenant}.${TENANT_DOMAIN}`
}

/** The Koa app: `https://<tenant host>/api/odata/businessobject/<object>`. */
export function createApp(authorizer: Authorizer): Koa<KeywardState> {
  const requireKey = guard(authorizer)
  const canRead = requireKey('incidents:read')
  const canWrite = requireKey('incidents:write')
  const canReadChanges = requireKey('changes:read')
  const app = new Koa<KeywardState>()
  app.use(async (ctx, next) => {
    const m = /^\/api\/odata\/businessobject\/(incidents|changes)$/.exec(ctx.path)
    if (!m) return next()
    const who = () => ({ tenant: ctx.state.principal.tenant, onBehalfOf: ctx.state.principal.owner, inRole: ctx.state.principal.role })
    if (m[1] === 'incidents' && ctx.method === 'GET') {
      return canRead(ctx, async () => {
        ctx.body = { value: [{ IncidentNumber: 10231, Subject: 'VPN down' }], ...who() }
      })
    }
    if (m[1] === 'incidents' && ctx.method === 'POST') {
      return canWrite(ctx, async () => {
        ctx.status = 201
        ctx.body = { IncidentNumber: 10232, ...who() }
      })
    }
    if (m[1] === 'changes' && ctx.method === 'GET') {
      return canReadChanges(ctx, async () => {
        ctx.body = { value: [], ...who() }
      })
    }
    return next()
  })
  return app
}

/** Ivanti Reference IDs: 32 upper-case hex characters. */
function referenceId(): string {
  return randomBytes(16).toString('hex').toUpperCase()
}

/** Imports demo Reference IDs into key groups of two tenants. */
async function seedKeys(store: MemoryKeyStore): Promise<Record<string, string>> {
  const m = new KeyManager(store, { roles: ivantiRoles })
  const acme = await m.createGroup({ name: 'Integrations', tenant: 'acme', allowedIps: ['127.0.0.0/8', '::1/128'] })
  const globex = await m.createGroup({ name: 'Integrations', tenant: 'globex' })
  const keys: Record<string, string> = {}
  const add = async (label: string, o: Omit<Parameters<KeyManager['import']>[0], 'key' | 'kind'>) => {
    keys[label] = referenceId()
    await m.import({ key: keys[label], kind: 'user', ...o })
  }
  await add('analyst', { tenant: 'acme', group: acme.id, owner: 'svc-monitoring', role: 'Service Desk Analyst', description: 'Monitoring integration' })
  // In Role is per key: Pat is an Administrator, but a key Pat made In Role Self Service only reads.
  await m.setOwner('pat', { role: 'Administrator', active: true })
  await add('selfService', { tenant: 'acme', group: acme.id, owner: 'pat', role: 'Self Service' })
  await add('patAdmin', { tenant: 'acme', group: acme.id, owner: 'pat', role: 'Administrator' })
  await add('otherTenant', { tenant: 'globex', group: globex.id, owner: 'svc-globex', role: 'Administrator' })
  await add('remoteOnly', { tenant: 'acme', owner: 'svc-remote', role: 'Service Desk Analyst', allowedIps: ['198.51.100.0/24'] })
  await add('deactivated', { tenant: 'acme', group: acme.id, owner: 'svc-old', role: 'Service Desk Analyst', active: false })
  await add('burst', { tenant: 'acme', group: acme.id, owner: 'svc-poller', role: 'Self Service', rateLimit: { capacity: 2, refillPerSecond: 0.01 } })
  return keys
}

/** Starts the example on a loopback port with an in-memory store. */
export async function start(options: StartOptions = {}): Promise<Started> {
  const store = new MemoryKeyStore()
  const keys = await seedKeys(store)
  const log = options.log
  const authorizer = createAuthorizer(configured(options, {
    store: options.wrapStore ? options.wrapStore(store) : store,
    schemes: [schemes.restApiKey()],
    roles: ivantiRoles,
    tenant: tenantFromHost({ domain: TENANT_DOMAIN }),
    // The key's In Role applies, never beyond its On Behalf Of user's directory role.
    rolePrecedence: 'key',
    rateLimiter: tokenBucket({ capacity: 60, refillPerSecond: 1 }),
    ...(log ? { onDecision: (e) => log(decisionLine(e)) } : {}),
  }))
  const server = createServer(createApp(authorizer).callback())
  return serve(server, authorizer, keys, options)
}

function curls(s: Started, secrets: SecretFiles): string[] {
  const k = (label: string) => secrets.put(`${label}.ref`, s.keys[label]!)
  const incidents = (tenant: string) => `-H "Host: ${tenantHost(tenant)}" ${s.url}/api/odata/businessobject/incidents`
  return [
    '# A key of tenant acme, on acme\'s host, in its key group, from an allowed IP: 200',
    `curl -i -H "Authorization: rest_api_key=${k('analyst')}" ${incidents('acme')}`,
    '# The same key on another tenant\'s host: 401, exactly like an unknown key',
    `curl -i -H "Authorization: rest_api_key=${k('analyst')}" ${incidents('globex')}`,
    '# A key whose extra allowed IPs do not include yours: 403 ip_not_allowed',
    `curl -i -H "Authorization: rest_api_key=${k('remoteOnly')}" ${incidents('acme')}`,
    '# In Role Self Service may read but not create, though its user is an Administrator: 403 insufficient_permission',
    `curl -i -X POST -H "Authorization: rest_api_key=${k('selfService')}" ${incidents('acme')}`,
    '# A quoted value is malformed: 400',
    `curl -i -H 'Authorization: rest_api_key="0000"' ${incidents('acme')}`,
  ]
}

if (isMain(import.meta.url)) await runStandalone('Ivanti-style rest_api_key API (Koa)', start, curls)
