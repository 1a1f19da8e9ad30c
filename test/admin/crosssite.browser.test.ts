/**
 * Cross-site requests from a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core). The admin API is served on http://127.0.0.1:<a> with HTTP Basic, and the
 * browser holds the admin key as Basic credentials for that origin, so it attaches them by
 * itself (after the 401 challenge): the case where a page on another site could act with them.
 * Hostile pages on a cross-site origin (127.0.0.2) and a same-site one (127.0.0.1, another port)
 * try HTML form posts (text/plain, urlencoded), a `no-cors` fetch and a JSON fetch. Nothing may
 * change; a page of the admin's own origin still works.
 *
 * Without a browser the suite is skipped with a printed reason, except under CI=true, where a
 * missing browser fails it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve, type HttpBindings, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuthorizer, KeyManager, MemoryKeyStore, schemes } from '../../src/index.js'
import { createAdminHandler } from '../../src/admin/index.js'
import { ACTION_TIMEOUT_MS, EXE, FLAGS, HAVE_BROWSER, IN_CI } from './_browser.js'


/** One request the admin server answered. */
interface Seen {
  method: string
  path: string
  site: string | null
  origin: string | null
  status: number
  code?: string
}

function listenOn(app: Hono<{ Bindings: HttpBindings }>, hostname: string): Promise<{ server: ServerType; origin: string }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname, port: 0 }, () => resolve({ server, origin: `http://${hostname}:${(server.address() as AddressInfo).port}` }))
  })
}

/** The hostile page: every way a page can send a request to another origin without its consent. */
function hostilePage(admin: string, targets: readonly string[]): string {
  const [t1, t2, t3, t4] = targets
  const api = `${admin}/admin/api`
  return `<!doctype html><html><body>
<iframe name="f1"></iframe><iframe name="f2"></iframe><iframe name="f3"></iframe>
<form id="plain" method="post" enctype="text/plain" target="f1" action="${api}/keys/${t1}/deactivate"><input name='{"graceMs":0,"x":"' value='"}'></form>
<form id="url" method="post" target="f2" action="${api}/keys/${t2}/deactivate"><input name="a" value="b"></form>
<form id="create" method="post" enctype="text/plain" target="f3" action="${api}/keys"><input name='{"kind":"org","x":"' value='"}'></form>
<script>
document.getElementById('plain').submit();
document.getElementById('url').submit();
document.getElementById('create').submit();
fetch('${api}/keys/${t3}/deactivate', { method: 'POST', mode: 'no-cors', credentials: 'include', body: 'a=b' }).catch(function () {});
fetch('${api}/keys/${t4}/deactivate', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(function () {});
</script></body></html>`
}

describe.skipIf(!HAVE_BROWSER && !IN_CI)('cross-site requests from a real browser', () => {
  const store = new MemoryKeyStore()
  const manager = new KeyManager(store)
  const authorizer = createAuthorizer({ store, schemes: [schemes.basic()], touchIntervalMs: 0 })
  const servers: ServerType[] = []
  const seen: Seen[] = []
  let admin = ''
  let adminKey = ''
  let context: BrowserContext | undefined
  let page: Page
  let userDataDir = ''

  beforeAll(async () => {
    if (!HAVE_BROWSER) throw new Error(`CI=true but no Chromium at ${EXE}: .ci/run must install it`)
    adminKey = (await manager.issue({ kind: 'org', tenant: 'acme', description: 'browser admin' })).key
    const handler = createAdminHandler({ manager, authorizer })
    const app = new Hono<{ Bindings: HttpBindings }>()
    app.all('/admin/*', async (c) => {
      const r = await handler(c.req.raw, { remoteAddress: c.env.incoming.socket.remoteAddress, secure: false })
      const text = await r.clone().text()
      const code = r.headers.get('content-type')?.includes('json') && text !== '' ? (JSON.parse(text) as { code?: string }).code : undefined
      seen.push({ method: c.req.method, path: new URL(c.req.url).pathname, site: c.req.header('sec-fetch-site') ?? null, origin: c.req.header('origin') ?? null, status: r.status, ...(code === undefined ? {} : { code }) })
      return r
    })
    // A page of the admin's own origin, calling the API as the console does.
    app.get('/own', (c) => c.html(`<!doctype html><script>
      window.result = fetch('/admin/api/keys/' + location.hash.slice(1) + '/deactivate', { method: 'POST', credentials: 'include' }).then(function (r) { return r.status })
    </script>`))
    const a = await listenOn(app, '127.0.0.1')
    servers.push(a.server)
    admin = a.origin

    userDataDir = mkdtempSync(join(tmpdir(), 'keyward-chromium-'))
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: EXE,
      headless: true,
      args: FLAGS,
      // The browser answers the admin's Basic challenge by itself, for that origin only.
      httpCredentials: { username: adminKey, password: '', origin: admin },
    })
    page = context.pages()[0] ?? (await context.newPage())
    page.setDefaultTimeout(ACTION_TIMEOUT_MS)
  }, 60_000)

  afterAll(async () => {
    await context?.close()
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true })
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  })

  async function targets(): Promise<string[]> {
    const out: string[] = []
    for (let i = 0; i < 4; i++) out.push((await manager.issue({ kind: 'user', tenant: 'acme', owner: `victim${i}`, role: 'Read Only' })).record.id)
    return out
  }

  it('answers a page of its own origin (the browser attaches the Basic credentials)', async () => {
    const [id] = await targets()
    await page.goto(`${admin}/own#${id}`)
    expect(await page.evaluate(() => (window as unknown as { result: Promise<number> }).result)).toBe(200)
    expect((await store.getKey(id!))?.active).toBe(false)
    const call = seen.find((s) => s.path.endsWith(`${id}/deactivate`) && s.status === 200)
    expect(call).toMatchObject({ site: 'same-origin', origin: admin })
  }, 30_000)

  it.each([
    ['cross-site', '127.0.0.2'],
    ['same-site', '127.0.0.1'],
  ])('refuses every %s form post and fetch: nothing deactivated, nothing created', async (site, hostname) => {
    const ids = await targets()
    const hostile = new Hono<{ Bindings: HttpBindings }>()
    hostile.get('/', (c) => c.html(hostilePage(admin, ids)))
    const h = await listenOn(hostile, hostname)
    servers.push(h.server)
    const keysBefore = (await manager.list({ tenant: 'acme' })).length
    // The admin signed in to the API earlier in this browser: its Basic credentials are cached
    // and sent without a new challenge (without the check, the same-site page deactivates keys).
    expect((await page.goto(`${admin}/admin/api/me`))?.status()).toBe(200)
    const from = seen.length
    await page.goto(`${h.origin}/`)
    // The three forms and the no-cors fetch reach the server; the JSON fetch stops at its preflight.
    const posts = () => seen.slice(from).filter((s) => s.method === 'POST')
    await expect.poll(() => posts().length, { timeout: 15_000 }).toBeGreaterThanOrEqual(4)
    for (const p of posts()) {
      expect(p).toMatchObject({ site, origin: h.origin, status: 403, code: 'cross_site_request' })
    }
    expect(posts().some((p) => p.path.endsWith(`${ids[3]}/deactivate`))).toBe(false)
    for (const id of ids) expect((await store.getKey(id))?.active, id).toBe(true)
    expect((await manager.list({ tenant: 'acme' })).length).toBe(keysBefore)
  }, 30_000)
})
