/**
 * The InsightAppSec-like API the Express, Koa and Hono examples protect: apps, scans and
 * vulnerabilities, guarded with the preset role matrix (Product Admin / Read Write / Read Only,
 * plus Org keys). The three examples differ only in framework glue.
 */
import { createAuthorizer, KeyManager, MemoryKeyStore, tokenBucket, type Authorizer, type Principal } from '../src/index.js'
import { decisionLine, type SecretFiles, type StartOptions, type Started, configured } from './_shared.js'

export const APPS = [
  { id: 'app-1', name: 'Storefront' },
  { id: 'app-2', name: 'Partner portal' },
]
export const SCANS = [{ id: 'scan-1', appId: 'app-1', status: 'COMPLETE' }]
export const VULNERABILITIES = [{ id: 'vuln-1', appId: 'app-1', severity: 'HIGH', title: 'Reflected XSS in /search' }]

/** Which permission each route needs: the table the three examples implement. */
export const ROUTES = [
  ['GET', '/apps', 'apps:read'],
  ['GET', '/scans', 'scans:read'],
  ['POST', '/apps/:appId/scans', 'scans:manage'],
  ['GET', '/vulnerabilities', 'vulnerabilities:read'],
  ['DELETE', '/vulnerabilities/:vulnId/comments/:commentId', 'vulnerability-comments:administer'],
  ['GET', '/me', '(any valid key)'],
] as const

/** Issues the demo keys: one per preset role, an Org key, and a Read Only key limited to bursts of 2. */
export async function seedKeys(store: MemoryKeyStore): Promise<Record<string, string>> {
  const m = new KeyManager(store)
  const issue = async (o: Parameters<KeyManager['issue']>[0]) => (await m.issue(o)).key
  return {
    admin: await issue({ kind: 'user', owner: 'pat@acme.test', role: 'Product Admin', description: 'demo: Product Admin' }),
    readWrite: await issue({ kind: 'user', owner: 'ana@acme.test', role: 'Read Write', description: 'demo: Read Write' }),
    readOnly: await issue({ kind: 'user', owner: 'rob@acme.test', role: 'Read Only', description: 'demo: Read Only' }),
    org: await issue({ kind: 'org', description: 'demo: Org key' }),
    burst: await issue({ kind: 'user', owner: 'ci@acme.test', role: 'Read Only', rateLimit: { capacity: 2, refillPerSecond: 0.01 } }),
  }
}

/** The authorizer every InsightAppSec example uses: X-Api-Key, preset roles, 60 requests burst per key. */
export function makeAuthorizer(store: MemoryKeyStore, options: StartOptions): Authorizer {
  const log = options.log
  return createAuthorizer(configured(options, {
    store: options.wrapStore ? options.wrapStore(store) : store,
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
