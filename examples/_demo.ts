/**
 * The demo's tour and its `--serve` server, for `examples/demo.ts` (which reads its arguments
 * before loading any of this, so a mistyped one is answered at once).
 *
 * The tour starts every example server on a free loopback port with the in-memory store, issues
 * keys, sends real HTTP requests for every reference product (allowed, 400, 401, 403, 429 and
 * 503), plays two scenes (a trial key that runs out of credits; a leaked key reported to the leak
 * handler and then refused), and records what came back. Keys are never printed in full: only
 * their prefix.
 */
import { createServer, request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { adminMiddleware } from '../src/adapters/express.js'
import { createAdminHandler } from '../src/admin/index.js'
import { cachedStore, generateKey, KeyManager, MemoryKeyStore, parseKey } from '../src/index.js'
import { otel } from '../src/otel/index.js'
import { start as startAttackForge } from './attackforge.js'
import { authorizationValue, ORG, start as startContrast } from './contrast.js'
import { createApp as createExpressApp, start as startExpress } from './express.js'
import { start as startHono } from './hono.js'
import { makeAuthorizer, rapid7Roles, seedKeys } from './_insightappsec.js'
import { start as startIvanti, tenantHost } from './ivanti.js'
import { start as startKoa } from './koa.js'
import { closeServer, listen, switchableStore, type Started, type StartOptions } from './_shared.js'
import { startScenes, type SceneCase } from './_scenes.js'
import { memoryMetrics } from './_telemetry.js'

/** A scripted request: a scene's, or one that trusts a CA or switches something around itself. */
interface Case extends Omit<SceneCase, 'during'> {
  /** Trust this CA (self-signed HTTPS). */
  readonly ca?: string
  /** Runs around the request (switching the store off for the 503 case). */
  readonly during?: { before(): void; after(): void }
}

export interface DemoResult {
  readonly case: Case
  readonly status: number
  readonly code: string
  readonly ok: boolean
}

/** The prefix of a key, safe to show: `kw_…`, or the first 4 characters of a foreign ID. */
export function redact(key: string): string {
  const p = parseKey(key)
  if (p !== undefined) return `${p.prefix}${p.environment === undefined ? '' : `_${p.environment}`}_…`
  return `${key.slice(0, 4)}…`
}

async function send(c: Case): Promise<{ status: number; body: string }> {
  // fetch always sends the URL's own Host; a tenant host (Ivanti) needs node:http.
  const ownHost = Object.keys(c.headers).some((h) => h.toLowerCase() === 'host')
  if (c.ca === undefined && !ownHost) {
    const r = await fetch(c.url, { method: c.method, headers: c.headers, ...(c.body === undefined ? {} : { body: c.body }) })
    return { status: r.status, body: await r.text() }
  }
  const tls = c.ca === undefined ? {} : { ca: c.ca }
  const request = c.ca === undefined ? httpRequest : httpsRequest
  return new Promise((resolve, reject) => {
    const req = request(c.url, { method: c.method, headers: c.headers, ...tls, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (s: string) => (body += s))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

function codeOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { code?: unknown }
    return typeof parsed.code === 'string' ? parsed.code : '-'
  } catch {
    return '-'
  }
}

type Maker = (
  product: string,
  framework: string,
  s: Started & { ca?: string },
) => (method: string, path: string, scheme: string, credential: string, headers: Record<string, string>, status: number, code?: string) => Case

const caseMaker: Maker = (product, framework, s) => (method, path, scheme, credential, headers, status, code) => ({
  product,
  framework,
  method,
  url: s.url + path,
  shown: path.replace(ORG, ':org'),
  scheme,
  credential,
  headers,
  expect: code === undefined ? { status } : { status, code },
  ...(s.ca === undefined ? {} : { ca: s.ca }),
})

/** Three calls with a key limited to bursts of 2: 200, 200, 429. */
function burst(make: ReturnType<Maker>, method: string, path: string, scheme: string, credential: string, headers: Record<string, string>, okStatus = 200): Case[] {
  return [
    make(method, path, scheme, credential, headers, okStatus),
    make(method, path, scheme, credential, headers, okStatus),
    make(method, path, scheme, credential, headers, 429, 'rate_limited'),
  ]
}

function outage(c: Case, sw: ReturnType<typeof switchableStore>): Case {
  return { ...c, during: { before: () => (sw.down = true), after: () => (sw.down = false) } }
}

function insightAppSecCases(framework: string, s: Started, sw: ReturnType<typeof switchableStore>, full: boolean): Case[] {
  const make = caseMaker('InsightAppSec', framework, s)
  const k = s.keys
  const key = (label: string) => ({ 'X-Api-Key': k[label]! })
  const x = 'X-Api-Key'
  return [
    make('GET', '/apps', x, redact(k.readOnly!), key('readOnly'), 200),
    ...(full
      ? [
          make('POST', '/apps/app-1/scans', x, redact(k.readWrite!), key('readWrite'), 201),
          make('DELETE', '/vulnerabilities/vuln-1/comments/c-1', x, redact(k.readWrite!), key('readWrite'), 403, 'insufficient_permission'),
          make('DELETE', '/vulnerabilities/vuln-1/comments/c-1', x, redact(k.admin!), key('admin'), 204),
          make('GET', '/me', x, `${redact(k.org!)} (Org)`, key('org'), 200),
          make('GET', '/apps', x, redact(k.unknown!), { 'X-Api-Key': k.unknown! }, 401, 'invalid_credentials'),
        ]
      : []),
    make('POST', '/apps/app-1/scans', x, redact(k.readOnly!), key('readOnly'), 403, 'insufficient_permission'),
    make('GET', '/apps', '(none)', '-', {}, 401, 'missing_credentials'),
    make('GET', '/apps', x, '"not a key"', { 'X-Api-Key': 'not a key' }, 400, 'invalid_request'),
    ...burst(make, 'GET', '/apps', x, `${redact(k.burst!)} (burst 2)`, key('burst')),
    outage(make('GET', '/apps', x, `${redact(k.readOnly!)} (store down)`, key('readOnly'), 503, 'service_unavailable'), sw),
  ]
}

function attackForgeCases(s: Started & { httpUrl: string; ca: string }, sw: ReturnType<typeof switchableStore>): Case[] {
  const make = caseMaker('AttackForge', 'Express, HTTPS only', s)
  const plain = caseMaker('AttackForge', 'Express, the same app on plain HTTP', { ...s, url: s.httpUrl, ca: undefined } as Started)
  const k = s.keys
  const key = (label: string) => ({ 'X-SSAPI-KEY': k[label]! })
  const x = 'X-SSAPI-KEY'
  return [
    make('GET', '/api/ss/projects', x, redact(k.analyst!), key('analyst'), 200),
    make('GET', '/api/ss/project/p-100/vulnerabilities', x, redact(k.analyst!), key('analyst'), 200),
    make('POST', '/api/ss/project', x, redact(k.analyst!), key('analyst'), 403, 'operation_not_granted'),
    make('GET', '/api/ss/projects', x, `${redact(k.admin!)} (admin)`, key('admin'), 403, 'operation_not_granted'),
    make('GET', '/api/ss/projects', x, `${redact(k.analystCli!)} (user grant)`, key('analystCli'), 200),
    make('GET', '/api/ss/me', x, `${redact(k.analystCli!)} (my access)`, key('analystCli'), 200),
    make('GET', '/api/ss/me', x, redact(k.unknown!), { 'X-SSAPI-KEY': k.unknown! }, 401, 'invalid_credentials'),
    make('GET', '/api/ss/projects', x, redact(k.unknown!), { 'X-SSAPI-KEY': k.unknown! }, 401, 'invalid_credentials'),
    make('GET', '/api/ss/projects', x, '"af_ x"', { 'X-SSAPI-KEY': 'af_ x' }, 400, 'invalid_request'),
    ...burst(make, 'GET', '/api/ss/projects', x, `${redact(k.burst!)} (burst 2)`, key('burst')),
    outage(make('GET', '/api/ss/projects', x, `${redact(k.analyst!)} (store down)`, key('analyst'), 503, 'service_unavailable'), sw),
    plain('GET', '/api/ss/projects', x, redact(k.analyst!), key('analyst'), 403, 'insecure_transport'),
  ]
}

function ivantiCases(s: Started, sw: ReturnType<typeof switchableStore>): Case[] {
  const make = caseMaker('Ivanti', 'Koa', s)
  const k = s.keys
  // The tenant is the host: each request carries its tenant's Host header.
  const at = (tenant: string) => ({ Host: tenantHost(tenant) })
  const ref = (label: string, tenant = 'acme') => ({ ...at(tenant), Authorization: `rest_api_key=${k[label]!}` })
  const x = 'rest_api_key'
  const inc = '/api/odata/businessobject/incidents'
  return [
    make('GET', inc, x, `${redact(k.analyst!)} @acme`, ref('analyst'), 200),
    make('POST', inc, x, `${redact(k.analyst!)} @acme`, ref('analyst'), 201),
    make('GET', inc, x, `${redact(k.analyst!)} (acme key) @globex`, ref('analyst', 'globex'), 401, 'invalid_credentials'),
    make('GET', inc, x, `${redact(k.deactivated!)} (off)`, ref('deactivated'), 401, 'invalid_credentials'),
    make('GET', inc, x, `${redact(k.remoteOnly!)} (other IPs)`, ref('remoteOnly'), 403, 'ip_not_allowed'),
    make('POST', inc, x, `${redact(k.selfService!)} (In Role Self Service, user Administrator)`, ref('selfService'), 403, 'insufficient_permission'),
    make('POST', inc, x, `${redact(k.patAdmin!)} (In Role Administrator)`, ref('patAdmin'), 201),
    make('GET', inc, x, '(quoted)', { ...at('acme'), Authorization: `rest_api_key="${k.analyst!}"` }, 400, 'invalid_request'),
    ...burst(make, 'GET', inc, x, `${redact(k.burst!)} (burst 2)`, ref('burst')),
    outage(make('GET', inc, x, `${redact(k.analyst!)} (store down)`, ref('analyst'), 503, 'service_unavailable'), sw),
  ]
}

function contrastCases(s: Started & { httpUrl: string; ca: string }, sw: ReturnType<typeof switchableStore>): Case[] {
  const make = caseMaker('Contrast', 'Hono, HTTPS only', s)
  const plain = caseMaker('Contrast', 'Hono, the same app on plain HTTP', { ...s, url: s.httpUrl, ca: undefined } as Started)
  const k = s.keys
  const pair = (label: string, user: string, basicWord = false) => ({
    'API-Key': k.org!,
    Authorization: `${basicWord ? 'Basic ' : ''}${authorizationValue(user, k[label]!)}`,
  })
  const x = 'API-Key + Authorization'
  const who = (label: string, user: string) => `${redact(k[label]!)} as ${user.split('@')[0]}`
  const apps = `/api/ng/${ORG}/applications`
  const status = `/api/ng/${ORG}/traces/a-1/status`
  return [
    make('GET', apps, x, who('ana', 'ana@'), pair('ana', 'ana@acme.test'), 200),
    make('PUT', status, `${x} (Basic)`, who('ana', 'ana@'), pair('ana', 'ana@acme.test', true), 200),
    make('GET', apps, x, who('ana', 'bob@'), pair('ana', 'bob@acme.test'), 401, 'invalid_credentials'),
    make('GET', apps, x, `${who('lee', 'lee@')} (locked)`, pair('lee', 'lee@acme.test'), 401, 'invalid_credentials'),
    make('GET', apps, 'API-Key only', redact(k.org!), { 'API-Key': k.org! }, 401, 'missing_credentials'),
    make('GET', '/api/ng/another-org/applications', x, who('ana', 'ana@'), pair('ana', 'ana@acme.test'), 401, 'invalid_credentials'),
    make('PUT', status, x, `${who('rob', 'rob@')} (Viewer)`, pair('rob', 'rob@acme.test'), 403, 'insufficient_permission'),
    make('GET', apps, x, '(no colon)', { 'API-Key': k.org!, Authorization: Buffer.from(`ana@acme.test${k.ana!}`).toString('base64') }, 400, 'invalid_request'),
    ...burst(make, 'GET', apps, x, `${who('ci', 'ci@')} (burst 2)`, pair('ci', 'ci@acme.test')),
    outage(make('GET', apps, x, `${who('ana', 'ana@')} (store down)`, pair('ana', 'ana@acme.test'), 503, 'service_unavailable'), sw),
    plain('GET', apps, x, who('ana', 'ana@'), pair('ana', 'ana@acme.test'), 403, 'insecure_transport'),
  ]
}

/** One aligned table, with a heading line whenever the product or framework changes. */
function table(results: readonly DemoResult[]): string[] {
  const head = ['METHOD', 'PATH', 'SCHEME', 'CREDENTIAL', 'STATUS', 'CODE', 'EXPECTED?']
  const rows = results.map((r) => [
    r.case.method,
    r.case.shown,
    r.case.scheme,
    r.case.credential,
    String(r.status),
    r.code,
    r.ok ? 'yes' : `NO: wanted ${r.case.expect.status}${r.case.expect.code ? ` ${r.case.expect.code}` : ''}`,
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd()
  const out = [line(head)]
  let group = ''
  results.forEach((r, i) => {
    const g = `${r.case.product} (${r.case.framework})`
    if (g !== group) out.push('', g)
    group = g
    out.push(line(rows[i]!))
  })
  return out
}

/** Runs the whole demo; prints through `out`. Resolves to every result. */
export async function runDemo(out: (line: string) => void = console.log): Promise<DemoResult[]> {
  const switches = Array.from({ length: 6 }, () => switchableStore())
  // keyward/otel into an in-memory metrics reader: every server's decisions and cache lookups.
  const metrics = memoryMetrics()
  const telemetry = otel({ meterProvider: metrics.meterProvider })
  const opts = (i: number): StartOptions => ({
    wrapStore: (s) => switches[i]!.wrap(cachedStore(s, { observer: telemetry.cacheObserver })),
    configure: telemetry.options,
  })
  const servers: { close(): Promise<void> }[] = []
  // Each server is closed at the end, whatever happens after it started.
  const kept = <T extends { close(): Promise<void> }>(server: T): T => (servers.push(server), server)
  try {
    const express = kept(await startExpress(opts(0)))
    const koa = kept(await startKoa(opts(1)))
    const hono = kept(await startHono(opts(2)))
    const attackforge = kept(await startAttackForge(opts(3)))
    const ivanti = kept(await startIvanti(opts(4)))
    const contrast = kept(await startContrast(opts(5)))
    const scenes = kept(await startScenes(redact))
    // A well-formed key that was never issued, for the 401 rows.
    const withUnknown = <T extends Started>(s: T, prefix?: string): T => ({ ...s, keys: { ...s.keys, unknown: generateKey(prefix ? { prefix } : {}) } })

    const cases = [
      ...insightAppSecCases('Express', withUnknown(express), switches[0]!, true),
      ...insightAppSecCases('Koa', koa, switches[1]!, false),
      ...insightAppSecCases('Hono', hono, switches[2]!, false),
      ...attackForgeCases(withUnknown(attackforge, 'af'), switches[3]!),
      ...ivantiCases(ivanti, switches[4]!),
      ...contrastCases(contrast, switches[5]!),
      ...scenes.cases,
    ]
    out('keyward demo: every example server on a loopback port, in-memory keys, real HTTP requests.')
    out(`  InsightAppSec-like API: Express ${express.url}, Koa ${koa.url}, Hono ${hono.url}`)
    out(`  AttackForge SSAPI (Express): ${attackforge.url} (self-signed), plain HTTP ${attackforge.httpUrl}`)
    out(`  Ivanti rest_api_key (Koa): ${ivanti.url}, tenants by Host (${tenantHost('acme')}, ${tenantHost('globex')})`)
    out(`  Contrast (Hono): ${contrast.url} (self-signed), plain HTTP ${contrast.httpUrl}`)
    out('  Scenes (node:http): a trial key with 3 credits runs out; a leaked key is reported to the leak handler, then refused.')
    out('Keys are shown by prefix only. "store down" rows switch that server\'s key store off for one request.')
    out('')
    const results: DemoResult[] = []
    for (const c of cases) {
      c.during?.before()
      try {
        const { status, body } = await send(c)
        const code = codeOf(body)
        results.push({ case: c, status, code, ok: status === c.expect.status && (c.expect.code === undefined || c.expect.code === code) })
      } finally {
        c.during?.after()
      }
    }
    for (const l of table(results)) out(l)
    const failed = results.filter((r) => !r.ok).length
    out('')
    out(failed === 0 ? `All ${results.length} requests got the expected answer.` : `${failed} of ${results.length} requests did NOT get the expected answer.`)
    out('')
    for (const l of await metrics.lines()) out(l)
    return results
  } finally {
    await Promise.all(servers.map((s) => s.close()))
    await metrics.shutdown()
  }
}

/** What {@link serveConsole} started. */
export interface Served {
  /** Base URL of the server: the example API's routes (`/apps`, `/scans`…) are under it. */
  readonly url: string
  /** The admin console: `<url>/admin/`. */
  readonly consoleUrl: string
  /** A demo admin Org key, to paste into the console. Only this demo ever shows a key in full. */
  readonly adminKey: string
  close(): Promise<void>
}

/**
 * One Express server with the InsightAppSec-like example API and, under `/admin`, the admin
 * console and API (`adminMiddleware` from keyward/express), over one in-memory store: keys issued
 * in the console work on the API at once. Issues the example's demo keys and one admin Org key.
 */
export async function serveConsole(options: StartOptions = {}): Promise<Served> {
  const store = new MemoryKeyStore()
  await seedKeys(store)
  const authorizer = makeAuthorizer(store, options)
  const manager = new KeyManager(store, { roles: rapid7Roles })
  const app = createExpressApp(authorizer)
  // Self-service: each demo user's key signs in to the console too, and sees only its own keys.
  app.use('/admin', adminMiddleware(createAdminHandler({ manager, authorizer, selfService: true })))
  const { key } = await manager.issue({ kind: 'org', description: 'demo: admin console' })
  const server = createServer(app)
  const url = await listen(server, options)
  return {
    url,
    consoleUrl: `${url}/admin/`,
    adminKey: key,
    close: async () => {
      await closeServer(server)
      await authorizer.close()
    },
  }
}

/** `--serve`: prints where the console is and the key to sign in with, then runs until Ctrl-C. */
export async function serveUntilStopped(): Promise<void> {
  const served = await serveConsole({ port: Number(process.env.PORT ?? 0), log: (l) => console.log(`  [decision] ${l}`) })
  console.log('')
  console.log('keyward demo server: the example API and the admin console, on loopback, in memory.')
  console.log(`  Admin console: ${served.consoleUrl}`)
  console.log(`  Admin key: ${served.adminKey}`)
  console.log('  This one key is printed on purpose, for you to paste into the console: it is a demo Org key that')
  console.log('  lives only in this process\'s memory and dies with it. Keys the console issues are shown there, once.')
  console.log(`  Example API: try curl -i -H "X-Api-Key: <a key issued in the console>" ${served.url}/apps`)
  console.log('Ctrl-C to stop.')
  const stop = (): void => {
    void served.close().then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
