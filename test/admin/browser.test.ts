/**
 * End to end: the console in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core), against one @hono/node-server on 127.0.0.1 that serves the admin handler
 * under /admin and a tiny API route protected by the same authorizer.
 *
 * Without a browser the suite is skipped with a printed reason, except under CI=true, where a
 * missing browser fails it.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve, type HttpBindings, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { chromium, type BrowserContext, type Page, type Route } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createAuthorizer, KeyManager, MemoryKeyStore, renderDeny } from '../../src/index.js'
import { createAdminHandler } from '../../src/admin/index.js'
import { ACTION_TIMEOUT_MS, EXE, FLAGS, HAVE_BROWSER, IN_CI, SETTLE } from './_browser.js'

const HOSTILE = '<img src=x onerror="window.__xss=1">'

describe.skipIf(!HAVE_BROWSER && !IN_CI)('the console in a real browser', () => {
  const store = new MemoryKeyStore()
  /** The server's clock: the wall clock, moved forward or held still by a test (`offset`, `frozen`). */
  const clock = { offset: 0, frozen: undefined as number | undefined }
  const now = (): number => clock.frozen ?? Date.now() + clock.offset
  const manager = new KeyManager(store, { now })
  const authorizer = createAuthorizer({ store, touchIntervalMs: 0, now })
  let server: ServerType | undefined
  let origin = ''
  let context: BrowserContext | undefined
  let page: Page
  let userDataDir = ''
  let adminKey = ''
  let rotateMe: { key: string; id: string }
  /** The key issued in the console (deactivated, then deleted, in later steps). */
  let issued: { key: string; id: string }
  let rotatedKey = ''
  const requested: string[] = []
  const external: string[] = []
  const pageErrors: string[] = []
  const cspMessages: string[] = []

  /** The example API: GET /api/scans needs scans:read. */
  async function scans(key: string): Promise<number> {
    const r = await fetch(`${origin}/api/scans`, { headers: { 'x-api-key': key } })
    await r.arrayBuffer()
    return r.status
  }

  beforeAll(async () => {
    if (!HAVE_BROWSER) throw new Error(`CI=true but no Chromium at ${EXE}: .ci/run must install it`)
    adminKey = (await manager.issue({ kind: 'org', tenant: 'acme', description: 'console admin' })).key
    const r = await manager.issue({ kind: 'user', tenant: 'acme', owner: 'svc@acme.test', role: 'Read Only', description: 'to rotate' })
    rotateMe = { key: r.key, id: r.record.id }
    const admin = createAdminHandler({ manager, authorizer })
    const app = new Hono<{ Bindings: HttpBindings }>()
    app.all('/admin/*', (c) => admin(c.req.raw, { remoteAddress: c.env.incoming.socket.remoteAddress, secure: false }))
    app.get('/api/scans', async (c) => {
      const d = await authorizer.authorize({ method: 'GET', url: c.req.url, headers: c.req.raw.headers, remoteAddress: c.env.incoming.socket.remoteAddress }, 'scans:read')
      if (!d.allow) {
        const { status, headers, body } = renderDeny(d)
        return new Response(body, { status, headers })
      }
      return c.json({ scans: [], keyId: d.principal.keyId })
    })
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve())
    })
    origin = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`

    userDataDir = mkdtempSync(join(tmpdir(), 'keyward-chromium-'))
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: EXE, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } })
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin })
    // Offline: anything that is not our loopback server is recorded and refused.
    await context.route('**/*', async (route) => {
      const url = route.request().url()
      requested.push(url)
      if (url.startsWith(`${origin}/`)) await route.continue()
      else {
        external.push(url)
        await route.abort()
      }
    })
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        ;(window as unknown as { __csp: string[] }).__csp = [...((window as unknown as { __csp?: string[] }).__csp ?? []), e.violatedDirective]
      })
    })
    page = context.pages()[0] ?? (await context.newPage())
    page.setDefaultTimeout(ACTION_TIMEOUT_MS)
    page.on('pageerror', (e) => pageErrors.push(String(e)))
    page.on('console', (m) => {
      if (m.text().includes('Content Security Policy')) cspMessages.push(m.text())
    })
  }, 60_000)

  afterAll(async () => {
    await context?.close()
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true })
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    await authorizer.close()
  })

  // When a step fails, say what the page showed: an API error in the banner explains most hangs.
  afterEach(async (ctx) => {
    if (ctx.task.result?.state !== 'fail' || page === undefined) return
    const shown = await page.evaluate(() => ({
      error: document.getElementById('error')?.hidden === false ? document.getElementById('error-text')?.textContent : null,
      status: document.getElementById('status')?.textContent,
      focus: document.activeElement?.id,
    })).catch((e: unknown) => String(e))
    console.error(`[browser test] page after the failure: ${JSON.stringify(shown)}; last requests: ${requested.slice(-6).join(' ')}`)
  })

  async function rowOf(id: string) {
    const row = page.locator(`#keys-table tr[data-key-id="${id}"]`)
    await row.waitFor()
    return row
  }

  /** A key's usage and trail requests. */
  const INSIGHT = /\/admin\/api\/(keys\/[^/]+\/usage|audit)\?/

  /** Holds the page's requests matching `pattern` until `release()`; `restore()` lets them go and stops holding. */
  async function holdRequests(pattern: RegExp): Promise<{ release: () => void; restore: () => Promise<void> }> {
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const passed: Promise<void>[] = []
    const gate = (route: Route): Promise<void> => {
      const p = held.then(() => route.fallback())
      passed.push(p)
      return p
    }
    await page.route(pattern, gate)
    return {
      release,
      restore: async () => {
        release()
        await Promise.allSettled(passed)
        await page.unroute(pattern, gate)
      },
    }
  }

  async function confirmDialog(): Promise<void> {
    await page.locator('#dialog[open]').waitFor()
    await page.click('#dialog-confirm')
    await page.locator('#dialog[open]').waitFor({ state: 'detached' })
  }

  it('signs in, creates a group, issues a key shown once that works, then deactivates it', async () => {
    await page.goto(`${origin}/admin/`)
    await page.fill('#signin-key', adminKey)
    await page.click('#signin-button')
    await expect.poll(() => page.textContent('#session-text'), SETTLE).toContain('Signed in with key')
    expect(await page.inputValue('#signin-key')).toBe('')

    await page.fill('#group-form input[name="name"]', 'Integrations')
    await page.fill('#group-form input[name="description"]', 'CI and partners')
    await page.click('#group-form button[type="submit"]')
    await page.locator('#groups-table tbody tr', { hasText: 'Integrations' }).waitFor()
    const group = (await manager.listGroups({ tenant: 'acme' })).find((g) => g.name === 'Integrations')
    expect(group).toBeDefined()

    await page.fill('#key-form input[name="owner"]', 'ci@acme.test')
    await page.selectOption('#key-form select[name="role"]', 'Read Only')
    await page.selectOption('#key-form select[name="group"]', { label: 'Integrations' })
    await page.fill('#key-form input[name="description"]', HOSTILE)
    await page.click('#key-form button[type="submit"]')
    await page.locator('#secret').waitFor({ state: 'visible' })
    expect(await page.textContent('#secret .warning')).toContain('This key will not be shown again.')
    const key = await page.inputValue('#secret-value')
    const id = /key_[0-9A-Za-z]+/.exec((await page.textContent('#secret-for')) ?? '')![0]
    issued = { key, id }
    expect((await store.getKey(id))?.group).toBe(group!.id)

    await page.click('#secret-copy')
    await expect.poll(() => page.textContent('#secret-copy-status'), SETTLE).toBe('Copied to the clipboard.')
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key)
    await page.click('#secret-done')
    await page.locator('#secret').waitFor({ state: 'hidden' })
    expect(await page.inputValue('#secret-value')).toBe('')
    expect(await page.content()).not.toContain(key)

    expect(await scans(key)).toBe(200)

    await (await rowOf(id)).locator('button[data-action="deactivate"]').click()
    await confirmDialog()
    await expect.poll(async () => (await rowOf(id)).locator('.badge').textContent(), SETTLE).toBe('inactive')
    expect(await scans(key)).toBe(401)
  }, 60_000)

  it('shows a hostile description as text, never as markup', async () => {
    const cell = (await rowOf(issued.id)).locator('td.desc')
    expect(await cell.textContent()).toBe(HOSTILE)
    expect(await page.locator('#keys-table img').count()).toBe(0)
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined()
  })

  it('rotates another key with a grace period: the new key works, the old one stops after the grace', async () => {
    expect(await scans(rotateMe.key)).toBe(200)
    await (await rowOf(rotateMe.id)).locator('button[data-action="rotate"]').click()
    await page.locator('#dialog[open]').waitFor()
    await page.fill('#dialog-input', '3600')
    await page.click('#dialog-confirm')
    await page.locator('#secret').waitFor({ state: 'visible' })
    rotatedKey = await page.inputValue('#secret-value')
    expect(rotatedKey).not.toBe(rotateMe.key)
    await page.click('#secret-done')
    expect(await scans(rotatedKey)).toBe(200)
    const graceEnd = (await store.getKey(rotateMe.id))!.previousExpiresAt!
    expect(await (await rowOf(rotateMe.id)).textContent()).toContain('previous key valid until')
    expect(graceEnd).toBeGreaterThan(now() + 3_000_000) // an hour, as typed in the dialog
    // On the server's clock: the old key works until the last millisecond of the grace, and is
    // refused from its end on.
    clock.frozen = graceEnd - 1
    expect(await scans(rotateMe.key)).toBe(200)
    clock.frozen = graceEnd
    expect(await scans(rotateMe.key)).toBe(401)
    expect(await scans(rotatedKey)).toBe(200)
    // Time goes on from the end of the grace for the steps below.
    clock.offset = graceEnd - Date.now()
    clock.frozen = undefined
    expect(await scans(rotateMe.key)).toBe(401)
  }, 30_000)

  it('edits allowed addresses and granted operations', async () => {
    await (await rowOf(rotateMe.id)).locator('button[data-action="edit"]').click()
    await page.locator(`#detail[data-key-id="${rotateMe.id}"]`).waitFor()
    expect(await page.textContent('#detail-ips-mode')).toContain('No restriction')

    await page.fill('#detail-ip', '10.0.0.0/8')
    await page.click('#detail-ip-form button')
    await page.locator('#detail-ips li[data-value="10.0.0.0/8"]').waitFor()
    expect(await scans(rotatedKey)).toBe(403)
    await page.fill('#detail-ip', '127.0.0.1')
    await page.click('#detail-ip-form button')
    await page.locator('#detail-ips li[data-value="127.0.0.1"]').waitFor()
    expect(await scans(rotatedKey)).toBe(200)
    await page.click('#detail-ips li[data-value="10.0.0.0/8"] button')
    await page.locator('#detail-ips li[data-value="10.0.0.0/8"]').waitFor({ state: 'detached' })
    expect((await store.getKey(rotateMe.id))?.allowedIps).toEqual(['127.0.0.1'])

    await page.fill('#detail-grant', 'GET /projects')
    await page.click('#detail-grant-form button')
    await page.locator('#detail-grants li[data-value="GET /projects"]').waitFor()
    expect((await store.getKey(rotateMe.id))?.grants).toEqual(['GET /projects'])
    await page.click('#detail-grants li[data-value="GET /projects"] button')
    await page.locator('#detail-grants li[data-value="GET /projects"]').waitFor({ state: 'detached' })
    expect((await store.getKey(rotateMe.id))?.grants).toEqual([])
  }, 30_000)

  it("keeps every control of a key's page still while its usage and trail load", async () => {
    // The usage and the trail arrive after the page is drawn. Content appearing above a control
    // moves it between the moment a pointer aims and the moment it clicks: the click lands on
    // another control (another address's remove button) or on nothing.
    const hold = await holdRequests(INSIGHT)
    try {
      await page.click('#detail-close')
      await (await rowOf(rotateMe.id)).locator('button[data-action="edit"]').click()
      await page.locator(`#detail[data-key-id="${rotateMe.id}"]`).waitFor()
      const controls = page.locator('#detail button, #detail input, #detail select, #detail textarea')
      const where = (): Promise<string[]> => controls.evaluateAll((els) => els.map((e) => {
        const r = e.getBoundingClientRect()
        return `${e.id || e.getAttribute('name') || e.getAttribute('aria-label') || e.textContent}@${Math.round(r.top + window.scrollY)}`
      }))
      const before = await where()
      expect(await page.locator('#detail-usage figure').count()).toBe(0)
      hold.release()
      await page.locator('#detail-usage figure').nth(1).waitFor()
      await expect.poll(() => page.textContent('#detail-audit-empty'), SETTLE).toBe('This server keeps no audit trail.')
      expect(await where()).toEqual(before)
    } finally {
      await hold.restore()
    }
  }, 30_000)

  it('keeps the next address or operation typed while the previous addition still loads its trail', async () => {
    // An addition shows its chip at once, then reloads the key's usage and trail. What the user
    // typed next in the meantime is theirs: the field is emptied when the addition is saved,
    // never later, when the trail arrives.
    const cases = [
      { field: '#detail-ip', form: '#detail-ip-form', list: '#detail-ips', first: '192.0.2.1', next: '198.51.100.0/24' },
      { field: '#detail-grant', form: '#detail-grant-form', list: '#detail-grants', first: 'GET /reports', next: 'POST /reports' },
    ]
    for (const c of cases) {
      const hold = await holdRequests(INSIGHT)
      try {
        await page.fill(c.field, c.first)
        await page.click(`${c.form} button`)
        await page.locator(`${c.list} li[data-value="${c.first}"]`).waitFor()
        await page.fill(c.field, c.next)
        // The usage shown is the previous load's until this addition's load replaces it.
        await page.locator('#detail-usage figure').first().evaluate((f) => f.setAttribute('data-stale', ''))
        hold.release()
        await page.locator('#detail-usage figure[data-stale]').waitFor({ state: 'detached' })
        expect(await page.inputValue(c.field)).toBe(c.next)
        await page.click(`${c.form} button`)
        await page.locator(`${c.list} li[data-value="${c.next}"]`).waitFor()
        expect(await page.inputValue(c.field)).toBe('')
      } finally {
        await hold.restore()
      }
      for (const value of [c.first, c.next]) {
        await page.click(`${c.list} li[data-value="${value}"] button`)
        await page.locator(`${c.list} li[data-value="${value}"]`).waitFor({ state: 'detached' })
      }
    }
    const stored = await store.getKey(rotateMe.id)
    expect([stored?.allowedIps, stored?.grants]).toEqual([['127.0.0.1'], []])
  }, 30_000)

  it('shows API errors in words next to the field at fault, with focus moved there', async () => {
    await page.fill('#detail-ip', '127.1')
    await page.click('#detail-ip-form button')
    await page.locator('#detail-ip-error').waitFor()
    expect(await page.textContent('#detail-ip-error')).toBe('Invalid request (400): entries[0]: "127.1" is not a canonical IPv4 or IPv6 address or CIDR')
    expect(await page.getAttribute('#detail-ip', 'aria-invalid')).toBe('true')
    expect(await page.getAttribute('#detail-ip', 'aria-describedby')).toContain('detail-ip-error')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('detail-ip')
    expect(await page.locator('#error').isVisible()).toBe(false)

    const owner = page.locator('#key-form input[name="owner"]')
    await owner.fill('')
    await page.click('#key-form button[type="submit"]')
    await expect.poll(() => owner.getAttribute('aria-invalid'), SETTLE).toBe('true')
    const describedBy = (await owner.getAttribute('aria-describedby'))!
    expect(await page.textContent(`#${describedBy}`)).toBe('Invalid request (400): owner: is required for user keys (On Behalf Of)')
    expect(await owner.evaluate((e) => e === document.activeElement)).toBe(true)
    // A corrected submission clears the error.
    await owner.fill('fixed@acme.test')
    await page.selectOption('#key-form select[name="role"]', 'Read Only')
    await page.click('#key-form button[type="submit"]')
    await page.locator('#secret').waitFor({ state: 'visible' })
    expect(await owner.getAttribute('aria-invalid')).toBeNull()
    await page.click('#secret-done')
  }, 30_000)

  it("edits a group's allowed addresses, with the error next to the field", async () => {
    const row = page.locator('#groups-table tbody tr', { hasText: 'Integrations' })
    await row.locator('button[data-action="addresses"]').click()
    const area = page.locator('#group-ips-form textarea[name="allowedIps"]')
    expect(await area.evaluate((e) => e === document.activeElement)).toBe(true)
    await area.fill('10.0.0.1/8')
    await page.click('#group-ips-form button[type="submit"]')
    await expect.poll(() => area.getAttribute('aria-invalid'), SETTLE).toBe('true')
    expect(await area.evaluate((e) => e === document.activeElement)).toBe(true)
    await area.fill('127.0.0.0/8')
    await page.click('#group-ips-form button[type="submit"]')
    await page.locator('#group-ips-form').waitFor({ state: 'hidden' })
    const group = (await manager.listGroups({ tenant: 'acme' })).find((g) => g.name === 'Integrations')!
    expect(group.allowedIps).toEqual(['127.0.0.0/8'])
    expect(await row.locator('td[data-label="Allowed addresses"]').textContent()).toBe('127.0.0.0/8')
  }, 30_000)

  it('deletes only after confirmation', async () => {
    await (await rowOf(issued.id)).locator('button[data-action="delete"]').click()
    await page.locator('#dialog[open]').waitFor()
    expect(await page.textContent('#dialog-message')).toContain('This cannot be undone.')
    await page.click('#dialog-cancel')
    await page.locator('#dialog[open]').waitFor({ state: 'detached' })
    expect(await store.getKey(issued.id)).toBeDefined()
    await (await rowOf(issued.id)).locator('button[data-action="delete"]').click()
    await confirmDialog()
    await page.locator(`#keys-table tr[data-key-id="${issued.id}"]`).waitFor({ state: 'detached' })
    expect(await store.getKey(issued.id)).toBeUndefined()
  }, 30_000)

  it('keeps secrets out of storage, cookies and URLs, loads nothing external, breaks no CSP rule', async () => {
    mkdirSync('.tmp', { recursive: true })
    await page.screenshot({ path: '.tmp/console.png', fullPage: true })
    const storage = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie }))
    expect(storage).toEqual({ local: 0, session: 0, cookie: '' })
    expect(await context!.cookies()).toEqual([])
    expect(page.url()).toBe(`${origin}/admin/`)
    for (const url of requested) for (const secret of [adminKey, issued.key, rotatedKey, rotateMe.key]) expect(url).not.toContain(secret)
    expect(await page.content()).not.toContain(adminKey)
    expect(external).toEqual([])
    expect(cspMessages).toEqual([])
    expect(await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? [])).toEqual([])
    expect(pageErrors).toEqual([])

    await page.click('#signout')
    await page.locator('#signin').waitFor({ state: 'visible' })
    expect(await page.locator('#keys-table tbody tr').count()).toBe(0)
  }, 30_000)
})
