/**
 * The InsightAppSec-like API the Express, Koa and Hono examples protect: apps, scans and
 * vulnerabilities, guarded with the preset role matrix (Product Admin / Read Write / Read Only)
 * extended with a Trial role, plus Org keys. As on the Rapid7 platform, a user has a role per
 * product (here `appsec`, the product every route names) and user keys act with their owner's
 * role in that product as it is at the time of use. The three examples differ only in framework
 * glue.
 */
import { createAuthorizer, insightAppSecRoles, KeyManager, MemoryKeyStore, tokenBucket, type Authorizer, type Need, type Principal } from '../src/index.js'
import { decisionLine, type SecretFiles, type StartOptions, type Started, configured } from './_shared.js'

export const APPS = [
  { id: 'app-1', name: 'Storefront' },
  { id: 'app-2', name: 'Partner portal' },
]
export const SCANS = [{ id: 'scan-1', appId: 'app-1', status: 'COMPLETE' }]
export const VULNERABILITIES = [{ id: 'vuln-1', appId: 'app-1', severity: 'HIGH', title: 'Reflected XSS in /search' }]

/** The preset, with a Trial role that reads what Read Only reads. */
export const rapid7Roles = insightAppSecRoles.extend({ roles: { Trial: 'Read Only' } })

/** The product this API is: a route's need names it, so the owner's role in it applies. */
export const PRODUCT = 'appsec'

/** A route's need: `permission` in this product. */
export function appsec(permission: string): Need {
  return { permission, product: PRODUCT }
}

/** Which permission each route needs: the table the three examples implement. */
export const ROUTES = [
  ['GET', '/apps', 'apps:read'],
  ['GET', '/scans', 'scans:read'],
  ['POST', '/apps/:appId/scans', 'scans:manage'],
  ['GET', '/vulnerabilities', 'vulnerabilities:read'],
  ['DELETE', '/vulnerabilities/:vulnId/comments/:commentId', 'vulnerability-comments:administer'],
  ['GET', '/me', '(any valid key)'],
] as const

/**
 * Issues the demo keys: one user per role (each with a role per product in the directory, the
 * keys carrying none of their own), a second key of the Read Write user, an Org key, and a Read
 * Only key limited to bursts of 2. All tenant-less: this API is single-tenant, so the Org key
 * administers every user key (an Org key with a tenant would see none of them).
 */
export async function seedKeys(store: MemoryKeyStore): Promise<Record<string, string>> {
  const m = new KeyManager(store, { roles: rapid7Roles })
  // A role per product: this one's, and Read Only in InsightVM; `role` also serves routes that
  // name no product (the admin API).
  const user = async (owner: string, appsecRole: string) =>
    m.setOwner(owner, { role: appsecRole, roles: { [PRODUCT]: appsecRole, vm: 'Read Only' }, active: true })
  await user('pat@acme.test', 'Product Admin')
  await user('ana@acme.test', 'Read Write')
  await user('rob@acme.test', 'Read Only')
  await user('tia@acme.test', 'Trial')
  await user('ci@acme.test', 'Read Only')
  const issue = async (o: Parameters<KeyManager['issue']>[0]) => (await m.issue(o)).key
  return {
    admin: await issue({ kind: 'user', owner: 'pat@acme.test', description: 'demo: Product Admin' }),
    readWrite: await issue({ kind: 'user', owner: 'ana@acme.test', description: 'demo: Read Write' }),
    readWriteSpare: await issue({ kind: 'user', owner: 'ana@acme.test', description: 'demo: Read Write, second key' }),
    readOnly: await issue({ kind: 'user', owner: 'rob@acme.test', description: 'demo: Read Only' }),
    trial: await issue({ kind: 'user', owner: 'tia@acme.test', description: 'demo: Trial' }),
    org: await issue({ kind: 'org', description: 'demo: Org key' }),
    burst: await issue({ kind: 'user', owner: 'ci@acme.test', rateLimit: { capacity: 2, refillPerSecond: 0.01 } }),
  }
}

/**
 * The authorizer every InsightAppSec example uses: X-Api-Key, the preset roles and Trial, the
 * owner's product role as it is now (`rolePrecedence: 'owner'`), 60 requests burst per key.
 */
export function makeAuthorizer(store: MemoryKeyStore, options: StartOptions): Authorizer {
  const log = options.log
  return createAuthorizer(configured(options, {
    store: options.wrapStore ? options.wrapStore(store) : store,
    roles: rapid7Roles,
    rolePrecedence: 'owner',
    rateLimiter: tokenBucket({ capacity: 60, refillPerSecond: 1 }),
    ...(log ? { onDecision: (e) => log(decisionLine(e)) } : {}),
  }))
}

/** What `GET /me` answers: who the key is, never the key. */
export function describePrincipal(p: Principal | undefined) {
  return p === undefined ? null : { keyId: p.keyId, kind: p.kind, owner: p.owner ?? null, role: p.role ?? null, permissions: p.permissions }
}

/** What `POST /apps/:appId/scans` answers. */
export function startScan(appId: string, p: Principal | undefined) {
  return { id: `scan-${SCANS.length + 1}`, appId, status: 'QUEUED', startedBy: p?.keyId ?? null }
}

/** The curl commands printed by the standalone examples. */
export function curls(s: Started, secrets: SecretFiles): string[] {
  const k = (label: string) => secrets.put(`${label}.key`, s.keys[label]!)
  const u = s.url
  return [
    '# Read Only: can list, cannot start a scan (403 insufficient_permission)',
    `curl -i -H "X-Api-Key: ${k('readOnly')}" ${u}/apps`,
    `curl -i -X POST -H "X-Api-Key: ${k('readOnly')}" ${u}/apps/app-1/scans`,
    '# Read Write: starts a scan (201), cannot administer comments (403)',
    `curl -i -X POST -H "X-Api-Key: ${k('readWrite')}" ${u}/apps/app-1/scans`,
    `curl -i -X DELETE -H "X-Api-Key: ${k('readWrite')}" ${u}/vulnerabilities/vuln-1/comments/c-1`,
    '# Product Admin and the Org key can',
    `curl -i -X DELETE -H "X-Api-Key: ${k('admin')}" ${u}/vulnerabilities/vuln-1/comments/c-1`,
    `curl -i -H "X-Api-Key: ${k('org')}" ${u}/me`,
    '# No key (401, with a WWW-Authenticate challenge); a malformed key (400)',
    `curl -i ${u}/apps`,
    `curl -i -H "X-Api-Key: not a key" ${u}/apps`,
    '# A key limited to bursts of 2: the third call is 429 with Retry-After',
    `for i in 1 2 3; do curl -s -o /dev/null -w "%{http_code}\\n" -H "X-Api-Key: ${k('burst')}" ${u}/apps; done`,
  ]
}
