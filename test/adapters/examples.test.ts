/**
 * The runnable examples: each `start()` serves its API on a loopback port with fresh demo keys,
 * a standalone run prints working curl commands without printing a key, and `npm run demo`
 * (examples/demo.ts, run as a child process) exits 0 with every request as expected.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { start as attackforge } from '../../examples/attackforge.js'
import { authorizationValue, ORG, start as contrast } from '../../examples/contrast.js'
import { start as expressExample } from '../../examples/express.js'
import { start as fastifyExample } from '../../examples/fastify.js'
import { start as honoExample } from '../../examples/hono.js'
import { start as ivanti } from '../../examples/ivanti.js'
import { start as koaExample } from '../../examples/koa.js'
import { start as otelExample } from '../../examples/otel.js'
import { generateKey } from '../../src/index.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
/** A keyward-shaped key (prefix, 32 random + 6 checksum) or an Ivanti 32-hex Reference ID. */
const FULL_KEY = /\b[a-z][a-z0-9]{0,15}_(?:[a-z0-9]{1,16}_)?[0-9A-Za-z]{38}\b|\b[0-9A-F]{32}\b/

describe.each([
  ['Express', expressExample],
  ['Koa', koaExample],
  ['Hono', honoExample],
  ['Fastify', fastifyExample],
] as const)('the InsightAppSec-like example on %s', (_name, start) => {
  it('enforces the preset roles route by route', async () => {
    const s = await start()
    try {
      const call = (method: string, path: string, label?: string) =>
        fetch(s.url + path, { method, headers: label ? { 'X-Api-Key': s.keys[label]! } : {} })
      const apps = await call('GET', '/apps', 'readOnly')
      expect(apps.status).toBe(200)
      expect((await apps.json()).data).toHaveLength(2)
      expect((await call('POST', '/apps/app-1/scans', 'readOnly')).status).toBe(403)
      const scan = await call('POST', '/apps/app-1/scans', 'readWrite')
      expect(scan.status).toBe(201)
      expect(await scan.json()).toMatchObject({ appId: 'app-1', status: 'QUEUED' })
      expect((await call('DELETE', '/vulnerabilities/vuln-1/comments/c-1', 'readWrite')).status).toBe(403)
      expect((await call('DELETE', '/vulnerabilities/vuln-1/comments/c-1', 'admin')).status).toBe(204)
      expect(await (await call('GET', '/me', 'org')).json()).toMatchObject({ kind: 'org', role: null })
      expect((await call('GET', '/vulnerabilities')).status).toBe(401)
    } finally {
      await s.close()
    }
  })
})

describe('the Rapid7 InsightAppSec example (Express)', () => {
  it('gives each user their role in the product, a Trial role that only reads, and self-service keys that never reach another user\'s', async () => {
    const s = await expressExample()
    try {
      const call = (method: string, path: string, key: string, body?: unknown) =>
        fetch(s.url + path, {
          method,
          headers: { 'X-Api-Key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        })
      expect((await call('GET', '/apps', s.keys.trial!)).status).toBe(200)
      expect((await call('POST', '/apps/app-1/scans', s.keys.trial!)).status).toBe(403)
      // Ana (Read Write) lists her own two keys only, and makes a key that works at once.
      const mine = (await (await call('GET', '/admin/api/keys', s.keys.readWrite!)).json()) as { items: { id: string; owner: string }[] }
      expect(mine.items.map((k) => k.owner)).toEqual(['ana@acme.test', 'ana@acme.test'])
      const made = await call('POST', '/admin/api/keys', s.keys.readWrite!, { kind: 'user', description: 'laptop' })
      expect(made.status).toBe(201)
      const { key } = (await made.json()) as { key: string }
      // A Rapid7 user key acts with its owner's product role as it is now (rolePrecedence 'owner').
      expect((await call('GET', '/apps', key)).status).toBe(200)
      expect((await call('POST', '/apps/app-1/scans', key)).status).toBe(201)
      expect((await call('POST', '/admin/api/keys', s.keys.readWrite!, { kind: 'user', role: 'Product Admin' })).status).toBe(403)
      // The Org key (tenant-less, like the user keys) administers every key; Ana cannot reach Rob's.
      const all = (await (await call('GET', '/admin/api/keys', s.keys.org!)).json()) as { items: { id: string; owner?: string }[] }
      const rob = all.items.find((k) => k.owner === 'rob@acme.test')!
      for (const [method, suffix, body] of [['GET', '', undefined], ['POST', '/rotate', { graceMs: 0 }], ['DELETE', '', undefined]] as const) {
        expect((await call(method, `/admin/api/keys/${rob.id}${suffix}`, s.keys.readWrite!, body)).status).toBe(404)
      }
      expect((await call('GET', '/apps', s.keys.readOnly!)).status).toBe(200)
    } finally {
      await s.close()
    }
  })
})

describe('the OpenTelemetry example', () => {
  it('counts each decision by code and the cache hits behind a real HTTP server', async () => {
    const s = await otelExample()
    try {
      const call = (path: string, label?: string) => fetch(s.url + path, { headers: label ? { 'X-Api-Key': s.keys[label]! } : {} })
      expect((await call('/apps', 'readOnly')).status).toBe(200)
      expect((await call('/apps', 'readOnly')).status).toBe(200)
      expect((await call('/apps')).status).toBe(401)
      expect((await call('/vulnerabilities/vuln-1/comments/c-1', 'readOnly')).status).toBe(404) // no GET route: never authorized
      const summary = await s.summary()
      expect(summary.byCode).toEqual({ allow: 2, missing_credentials: 1 })
      // Each request looks up the key and its owner: both missed once, then both hit.
      expect(summary.cache).toEqual({ hits: 2, misses: 2 })
      const text = await (await call('/metrics-summary')).text()
      expect(text).toContain('keyward.decisions by code: allow 2, missing_credentials 1')
      expect(text).toContain('2 hits, 2 misses, hit ratio 50%')
    } finally {
      await s.close()
    }
  })
})

describe('the reference-product examples', () => {
  it('AttackForge serves real HTTPS, grants per method, and refuses plain HTTP', async () => {
    const s = await attackforge()
    try {
      expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
      const get = (path: string, key: string) =>
        new Promise<number>((resolve, reject) => {
          const req = httpsRequest(s.url + path, { headers: { 'X-SSAPI-KEY': key }, ca: s.ca, agent: false }, (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          })
          req.on('error', reject)
          req.end()
        })
      expect(await get('/api/ss/projects', s.keys.analyst!)).toBe(200)
      expect(await get('/api/ss/projects', s.keys.admin!)).toBe(403)
      // Granted to the user, not the key: the user's other key holds it too, and sees its access.
      expect(await get('/api/ss/projects', s.keys.analystCli!)).toBe(200)
      expect(await get('/api/ss/me', s.keys.analystCli!)).toBe(200)
      expect(await get('/api/ss/me', 'af_nope')).toBe(401)
      const plain = await fetch(`${s.httpUrl}/api/ss/projects`, { headers: { 'X-SSAPI-KEY': s.keys.analyst! } })
      expect(plain.status).toBe(403)
      expect((await plain.json()).code).toBe('insecure_transport')
    } finally {
      await s.close()
    }
  })

  it('Ivanti takes the tenant from the host and keeps keys in their tenant and their allowed IPs', async () => {
    const s = await ivanti()
    try {
      // To 127.0.0.1, with the tenant's Host header (fetch would send the URL's own Host).
      const call = (host: string, label: string, method = 'GET') =>
        new Promise<number>((resolve, reject) => {
          const headers = { Host: host, Authorization: `rest_api_key=${s.keys[label]}` }
          const req = httpRequest(`${s.url}/api/odata/businessobject/incidents`, { method, headers, agent: false }, (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          })
          req.on('error', reject)
          req.end()
        })
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(await call('acme.example.test', 'analyst')).toBe(200)
      expect(await call('ACME.example.test:443', 'analyst')).toBe(200)
      expect(await call('globex.example.test', 'analyst')).toBe(401)
      expect(await call('globex.example.test', 'otherTenant')).toBe(200)
      expect(await call(new URL(s.url).host, 'analyst')).toBe(401)
      expect(await call('acme.example.test', 'remoteOnly')).toBe(403)
      expect(await call('acme.example.test', 'deactivated')).toBe(401)
      // In Role is per key: a Self Service key of an Administrator user only reads.
      expect(await call('acme.example.test', 'selfService', 'POST')).toBe(403)
      expect(await call('acme.example.test', 'patAdmin', 'POST')).toBe(201)
    } finally {
      await s.close()
    }
  })

  it('Contrast serves real HTTPS only, needs both headers to belong together, and answers XML to XML clients', async () => {
    const s = await contrast()
    try {
      expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
      const call = (label: string, user: string, accept?: string) =>
        new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
          const headers = { 'API-Key': s.keys.org!, Authorization: authorizationValue(user, s.keys[label]!), ...(accept ? { Accept: accept } : {}) }
          const req = httpsRequest(`${s.url}/api/ng/${ORG}/applications`, { headers, ca: s.ca, agent: false }, (res) => {
            let body = ''
            res.setEncoding('utf8').on('data', (c: string) => (body += c))
            res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }))
          })
          req.on('error', reject)
          req.end()
        })
      expect((await call('ana', 'ana@acme.test')).status).toBe(200)
      expect((await call('ana', 'rob@acme.test')).status).toBe(401)
      expect((await call('lee', 'lee@acme.test')).status).toBe(401)
      const xml = await call('ana', 'rob@acme.test', 'application/xml')
      expect([xml.status, xml.type]).toEqual([401, 'application/problem+xml'])
      expect(xml.body).toContain('<code>invalid_credentials</code>')
      const plain = await fetch(`${s.httpUrl}/api/ng/${ORG}/applications`, {
        headers: { 'API-Key': s.keys.org!, Authorization: authorizationValue('ana@acme.test', s.keys.ana!) },
      })
      expect(plain.status).toBe(403)
      expect((await plain.json()).code).toBe('insecure_transport')
    } finally {
      await s.close()
    }
  })
})

/** Runs `tsx <script>` from the repository root; `onOutput` sees stdout as it arrives. */
function run(script: string, onOutput?: (all: string, stop: () => void) => void, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORT: '0', ...env } })
    let out = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s
      onOutput?.(out, () => child.kill('SIGINT'))
    })
    child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s))
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, out })
    })
  })
}

describe('running the examples as programs', () => {
  it('a standalone example prints curl commands that work, without printing the key', async () => {
    let checked: Promise<{ status: number; key: string; dir: string }> | undefined
    const { code, out } = await run('examples/express.ts', (all, stop) => {
      if (checked || !all.includes('Ctrl-C')) return
      // First command: curl -i -H "X-Api-Key: $(cat <file>)" <url>/apps
      const m = /curl -i -H "X-Api-Key: \$\(cat ([^)]+)\)" (\S+)/.exec(all)
      checked = (async () => {
        const key = readFileSync(m![1]!, 'utf8')
        const res = await fetch(m![2]!, { headers: { 'X-Api-Key': key } })
        return { status: res.status, key, dir: m![1]!.replace(/\/[^/]+$/, '') }
      })().finally(stop)
    })
    const { status, key, dir } = await checked!
    expect(status).toBe(200)
    expect(code).toBe(0)
    expect(out).not.toContain(key)
    expect(out).toContain('[decision] GET /apps -> 200')
    expect(existsSync(dir)).toBe(false) // key files are removed on exit
  }, 60_000)

  it('npm run demo exits 0 after every expected status, showing keys by prefix only, with Node alone (no openssl on PATH)', async () => {
    // An empty PATH: no `openssl`, no other command. Node itself is run by its absolute path.
    const emptyBin = mkdtempSync(join(tmpdir(), 'keyward-nopath-'))
    const { code, out } = await run('examples/demo.ts', undefined, { PATH: emptyBin }).finally(() => rmSync(emptyBin, { recursive: true, force: true }))
    expect(out).toMatch(/All \d+ requests got the expected answer\./)
    expect(code).toBe(0)
    // The metrics summary read from keyward/otel after the tour: decisions by code, cache hit ratio.
    const byCode = /keyward\.decisions by code: (.+)/.exec(out)?.[1] ?? ''
    for (const c of ['allow', 'invalid_request', 'missing_credentials', 'invalid_credentials', 'insufficient_permission', 'rate_limited', 'service_unavailable']) {
      expect(byCode).toMatch(new RegExp(`\\b${c} [1-9]\\d*\\b`))
    }
    expect(out).toMatch(/keyward\.cache\.lookups: [1-9]\d* hits, [1-9]\d* misses, hit ratio \d+%/)
    for (const product of ['InsightAppSec (Express)', 'InsightAppSec (Koa)', 'InsightAppSec (Hono)', 'AttackForge', 'Ivanti (Koa)', 'Contrast (Hono)']) {
      expect(out).toContain(product)
    }
    for (const status of ['200', '400', '401', '403', '429', '503']) expect(out).toMatch(new RegExp(`\\s${status}\\s`))
    expect(out).not.toMatch(/\bNO: wanted/)
    // The pattern does catch real keys, so its absence means something.
    for (const sample of [generateKey(), generateKey({ prefix: 'af', environment: 'live' }), '9F3A0C5E2B7D4E1A8C6F0B2D4E6A8C0E']) {
      expect(`x ${sample} y`).toMatch(FULL_KEY)
    }
    expect(out).not.toMatch(FULL_KEY)
  }, 60_000)
})
