/**
 * An operator's day in the console, in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core), against one @hono/node-server on 127.0.0.1 serving the admin handler (with
 * a usage recorder and an audit store) and a small API protected by the same authorizer:
 * find a key by owner and by a pasted start among 500 keys across pages, read its usage chart
 * after a burst of allowed and denied requests over real HTTP, change its role, see the change
 * in the audit trail; every step checked for accessible names, focus after an error and
 * horizontal overflow at 390 px. Screenshots go to test/admin/.screens/ (ignored by git).
 *
 * Without a browser the suite is skipped with a printed reason, except under CI=true.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve, type HttpBindings, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuthorizer, KeyManager, MemoryKeyStore, renderDeny } from '../../src/index.js'
import { auditTo, createAdminHandler, MemoryAuditStore, MemoryUsageRecorder, usageOnDecision } from '../../src/admin/index.js'
import { deferred } from '../resilience/_helpers.js'
import { ACTION_TIMEOUT_MS, EXE, FLAGS, HAVE_BROWSER, IN_CI, SETTLE } from './_browser.js'

const SHOTS = 'test/admin/.screens'

/** Every visible control without an accessible name, and duplicate ids: [] when the page is clean. */
async function accessibilityProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = []
    const visible = (e: Element): boolean => {
      const r = (e as HTMLElement).getBoundingClientRect()
      return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'
    }
    const nameOf = (e: Element): string => {
      const aria = e.getAttribute('aria-label')
      if (aria?.trim()) return aria
      const by = e.getAttribute('aria-labelledby')
      if (by) return by.split(' ').map((id) => document.getElementById(id)?.textContent ?? '').join(' ').trim()
      const labels = (e as HTMLInputElement).labels
      if (labels && labels.length > 0) return Array.from(labels).map((l) => l.textContent ?? '').join(' ').trim()
      if (e.tagName === 'BUTTON' || e.tagName === 'A' || e.tagName === 'SUMMARY') return (e.textContent ?? '').trim()
      return (e.getAttribute('title') ?? '').trim()
    }
    for (const e of Array.from(document.querySelectorAll('button, a[href], input, select, textarea, summary, [role="img"]'))) {
      if (!visible(e) || (e as HTMLInputElement).type === 'hidden') continue
      if (nameOf(e) === '') out.push(`no accessible name: ${e.outerHTML.slice(0, 120)}`)
    }
    const ids = new Map<string, number>()
    for (const e of Array.from(document.querySelectorAll('[id]'))) ids.set(e.id, (ids.get(e.id) ?? 0) + 1)
    for (const [id, n] of ids) if (n > 1) out.push(`duplicate id ${id}`)
    for (const e of Array.from(document.querySelectorAll('[aria-describedby]'))) {
      for (const id of (e.getAttribute('aria-describedby') ?? '').split(' ')) if (id && !document.getElementById(id)) out.push(`aria-describedby points at missing #${id}`)
    }
    return out
  })
}

describe.skipIf(!HAVE_BROWSER && !IN_CI)("an operator's day in the console", () => {
  const store = new MemoryKeyStore()
  const manager = new KeyManager(store, { environment: 'live' })
  const usage = new MemoryUsageRecorder()
  const auditStore = new MemoryAuditStore()
  const authorizer = createAuthorizer({ store, touchIntervalMs: 1, onDecision: usageOnDecision(usage) })
  let server: ServerType | undefined
  let origin = ''
  let context: BrowserContext | undefined
  let page: Page
  let userDataDir = ''
  let adminKey = ''
  let adminId = ''
  let target: { key: string; id: string; start: string }
  let leaked: { id: string; start: string }
  const requested: string[] = []
  const external: string[] = []
  const pageErrors: string[] = []

  async function call(key: string, path: string): Promise<number> {
    const r = await fetch(`${origin}${path}`, { headers: { 'x-api-key': key } })
    await r.arrayBuffer()
    return r.status
  }

  async function shot(name: string): Promise<void> {
    await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: false })
  }

  async function noOverflow(): Promise<void> {
    const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }))
    expect(scroll).toBeLessThanOrEqual(width)
  }

  beforeAll(async () => {
    if (!HAVE_BROWSER) throw new Error(`CI=true but no Chromium at ${EXE}: .ci/run must install it`)
    mkdirSync(SHOTS, { recursive: true })
    const admin = await manager.issue({ kind: 'org', tenant: 'acme', description: 'operator console' })
    adminKey = admin.key
    adminId = admin.record.id
    const roles = ['Read Only', 'Read Write', 'Product Admin']
    for (let i = 0; i < 497; i++) {
      await manager.issue({ kind: 'user', tenant: 'acme', owner: `svc-${String(i % 40).padStart(2, '0')}@acme.test`, role: roles[i % 3]!, description: `integration ${i}` })
    }
    const t = await manager.issue({ kind: 'user', tenant: 'acme', owner: 'ana@acme.test', role: 'Read Only', description: 'Ana CI pipeline' })
    target = { key: t.key, id: t.record.id, start: t.record.start! }
    const l = await manager.issue({ kind: 'user', tenant: 'acme', owner: 'bo@acme.test', role: 'Read Only', description: 'found on a paste site' })
    leaked = { id: l.record.id, start: l.record.start! }
    // What the leak handler reports, through the same sink its `onAudit` would be given.
    auditTo(auditStore)({ at: Date.now(), action: 'reportLeak', outcome: 'success', status: 200, tenant: 'acme', target: l.record.id, code: 'key_leaked', url: 'https://gist.example/abc', source: 'gist', leakAction: 'deactivated' } as never)
    await manager.deactivate(l.record.id)
    await manager.issue({ kind: 'user', tenant: 'globex', owner: 'ana@acme.test', role: 'Read Only', description: 'another tenant' })

    const handler = createAdminHandler({ manager, authorizer, auditStore, usage })
    const app = new Hono<{ Bindings: HttpBindings }>()
    app.all('/admin/*', (c) => handler(c.req.raw, { remoteAddress: c.env.incoming.socket.remoteAddress, secure: false }))
    for (const [path, need] of [['/api/scans', 'scans:read'], ['/api/scans/purge', 'scans:administer']] as const) {
      app.get(path, async (c) => {
        const d = await authorizer.authorize({ method: 'GET', url: c.req.url, headers: c.req.raw.headers, remoteAddress: c.env.incoming.socket.remoteAddress }, need)
        if (!d.allow) {
          const { status, headers, body } = renderDeny(d)
          return new Response(body, { status, headers })
        }
        return c.json({ ok: true })
      })
    }
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve())
    })
    origin = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`

    userDataDir = mkdtempSync(join(tmpdir(), 'keyward-chromium-'))
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: EXE, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } })
    await context.route('**/*', async (route) => {
      const url = route.request().url()
      requested.push(url)
      if (url.startsWith(`${origin}/`)) await route.continue()
      else {
        external.push(url)
        await route.abort()
      }
    })
    page = context.pages()[0] ?? (await context.newPage())
    page.setDefaultTimeout(ACTION_TIMEOUT_MS)
    page.on('pageerror', (e) => pageErrors.push(String(e)))
  }, 120_000)

  afterAll(async () => {
    await context?.close()
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true })
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    await authorizer.close()
  })

  const rows = () => page.locator('#keys-table tbody tr')
  /** The ids of the keys the list shows, in order. */
  const rowIds = () => rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-key-id')))
  /**
   * Waits until the list shows exactly `ids`. A search answers asynchronously, and until it does
   * the list still shows the previous answer, which may have as many rows as the next one (one
   * search result replaced by another): waiting for a row count would pass on the old rows.
   */
  const listShows = (ids: string[]) => expect.poll(rowIds, SETTLE).toEqual(ids)

  it('signs in to a list of 500 keys across pages, with the issue form first and named row actions', async () => {
    await page.goto(`${origin}/admin/`)
    await page.fill('#signin-key', adminKey)
    await page.click('#signin-button')
    await expect.poll(() => rows().count(), SETTLE).toBe(25)
    expect(await page.textContent('#keys-page-info')).toBe('Keys 1–25 (more on the next page)')
    // The skip link comes first, and the issue form precedes the list.
    expect(await page.evaluate(() => document.querySelector('a[href], button, input')?.getAttribute('href'))).toBe('#create-card')
    expect(await page.evaluate(() => !!(document.getElementById('create-card')!.compareDocumentPosition(document.getElementById('keys-card')!) & Node.DOCUMENT_POSITION_FOLLOWING))).toBe(true)
    const first = await rows().first().getAttribute('data-key-id')
    await page.click('#keys-next')
    await expect.poll(() => page.textContent('#keys-page-info'), SETTLE).toBe('Keys 26–50 (more on the next page)')
    expect(await rows().first().getAttribute('data-key-id')).not.toBe(first)
    const k = (await store.getKey((await rows().first().getAttribute('data-key-id'))!))!
    expect(await rows().first().locator('button[data-action="rotate"]').getAttribute('aria-label')).toBe(`Rotate key ${k.start}…`)
    await page.click('#keys-prev')
    await expect.poll(() => rows().first().getAttribute('data-key-id'), SETTLE).toBe(first)
    // Sorting by last use puts the keys used at all first (the admin key was just used).
    await expect.poll(async () => (await store.getKey(adminId))?.lastUsedAt, SETTLE).toBeGreaterThan(0)
    await page.click('#keys-table th[data-sort="lastUsed"] button')
    await expect.poll(() => page.getAttribute('#keys-table th[data-sort="lastUsed"]', 'aria-sort'), SETTLE).toBe('ascending')
    await page.click('#keys-table th[data-sort="lastUsed"] button')
    await expect.poll(() => page.getAttribute('#keys-table th[data-sort="lastUsed"]', 'aria-sort'), SETTLE).toBe('descending')
    await expect.poll(() => rows().first().getAttribute('data-key-id'), SETTLE).toBe(adminId)
    expect(await accessibilityProblems(page)).toEqual([])
    await shot('list-1280')
  }, 60_000)

  it('finds a key by owner, and by a pasted leaked key of which only the start is sent', async () => {
    await page.fill('#search-form input[name="owner"]', 'ana@acme.test')
    await page.click('#search-form button[type="submit"]')
    await listShows([target.id])
    await page.click('#search-form button[type="reset"]')
    await expect.poll(() => rows().count(), SETTLE).toBe(25)

    await page.fill('#search-form input[name="prefix"]', target.key)
    await page.click('#search-form button[type="submit"]')
    await listShows([target.id])
    expect(await page.inputValue('#search-form input[name="prefix"]')).toBe(target.start)
    for (const url of requested) expect(url).not.toContain(target.key)

    // The leaked key is marked in the list.
    await page.fill('#search-form input[name="prefix"]', '')
    await page.selectOption('#search-form select[name="status"]', 'leaked')
    await page.click('#search-form button[type="submit"]')
    await listShows([leaked.id])
    expect(await rows().first().locator('.badge', { hasText: 'leaked' }).count()).toBe(1)
    await page.click('#search-form button[type="reset"]')
  }, 60_000)

  it("draws the key's usage after a burst of allowed and denied requests over HTTP", async () => {
    for (let i = 0; i < 12; i++) expect(await call(target.key, '/api/scans')).toBe(200)
    for (let i = 0; i < 5; i++) expect(await call(target.key, '/api/scans/purge')).toBe(403)
    await page.fill('#search-form input[name="owner"]', 'ana@acme.test')
    await page.click('#search-form button[type="submit"]')
    await listShows([target.id])
    await rows().first().locator('button[data-action="edit"]').click()
    const day = page.locator('#detail-usage figure').first()
    await day.waitFor()
    expect(await day.locator('figcaption').textContent()).toBe('Last 24 hours: 17 requests')
    expect(await page.locator('#detail-usage figure').nth(1).locator('figcaption').textContent()).toBe('Last 30 days: 17 requests')
    expect(await day.locator('svg rect.o-allowed').count()).toBeGreaterThan(0)
    expect(await day.locator('.legend li').allTextContents()).toEqual(['allowed', 'insufficient_permission'])
    const cells = await day.locator('table tbody tr').first().locator('td').allTextContents()
    expect(cells).toEqual(['12', '5', '17'])
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('detail-title')
    expect(await accessibilityProblems(page)).toEqual([])
    await page.locator('#detail-usage').scrollIntoViewIfNeeded()
    await shot('usage-1280')
  }, 60_000)

  it('changes the role, shows an expiry error next to its field, and records the change in the audit trail', async () => {
    // A past expiry is refused by the API: the message is next to the field, which has focus.
    await page.fill('#detail-edit-form input[name="expiresAt"]', '2001-01-01T00:00')
    await page.click('#detail-edit-form button[type="submit"]')
    const exp = page.locator('#detail-edit-form input[name="expiresAt"]')
    await expect.poll(() => exp.getAttribute('aria-invalid'), SETTLE).toBe('true')
    expect(await exp.evaluate((e) => e === document.activeElement)).toBe(true)
    const box = await page.locator(`#${(await exp.getAttribute('aria-describedby'))!.split(' ').pop()}`).boundingBox()
    expect(box!.y).toBeGreaterThanOrEqual(0)
    expect(box!.y).toBeLessThan(900)
    expect(await accessibilityProblems(page)).toEqual([])
    await exp.fill('')

    await page.selectOption('#detail-edit-form select[name="role"]', 'Read Write')
    await page.click('#detail-edit-form button[type="submit"]')
    await expect.poll(async () => (await store.getKey(target.id))?.role, SETTLE).toBe('Read Write')
    // Newest first: the change, then the refused attempt with the past expiry.
    await expect.poll(() => page.locator('#detail-audit tbody tr').count(), SETTLE).toBe(2)
    const trail = page.locator('#detail-audit tbody tr')
    expect(await trail.nth(0).locator('td').allTextContents()).toEqual([expect.stringMatching(/UTC$/), adminId, 'edited key', target.id, 'success', ''])
    expect(await trail.nth(1).locator('td').allTextContents()).toEqual([expect.stringMatching(/UTC$/), adminId, 'edited key', target.id, 'invalid (invalid_field)', ''])
    // The trail of the whole tenant: the change, and the leak report.
    await page.click('#audit-form button[type="submit"]')
    await expect.poll(() => page.locator('#audit-table tbody tr').count(), SETTLE).toBeGreaterThanOrEqual(2)
    const whats = await page.locator('#audit-table tbody tr td[data-label="What"]').allTextContents()
    expect(whats).toContain('edited key')
    expect(whats).toContain('reported leaked: key')
    expect(await page.locator('#audit-table tbody tr.leak td[data-label="Where"]').textContent()).toBe('https://gist.example/abc')
    await page.locator('#audit-card').scrollIntoViewIfNeeded()
    await shot('audit-1280')
  }, 60_000)

  it("keeps a key's newest audit trail when an older answer for the same key arrives last", async () => {
    const trail = page.locator('#detail-audit tbody tr')
    const before = await trail.count()
    // Every response body the page parses, in order. The console renders in the same microtask
    // checkpoint as it parses, so once a body shows here, what it made of it is on the page.
    await page.evaluate(() => {
      const w = window as unknown as { parsed: string[] }
      w.parsed = []
      const json = Response.prototype.json
      Response.prototype.json = async function (this: Response) {
        const body: unknown = await json.call(this)
        w.parsed.push(this.url)
        return body
      }
    })
    const parsedTrails = () => page.evaluate((id) => (window as unknown as { parsed: string[] }).parsed.filter((u) => new URL(u).pathname.endsWith('/audit') && new URL(u).searchParams.get('key') === id).length, target.id)
    // The trail loaded after the first save is answered by the server at once, but reaches the
    // page only after the trail loaded after the second save has been shown.
    const answered = deferred()
    const release = deferred()
    let hold = true
    await page.route((u) => u.pathname.endsWith('/audit') && u.searchParams.get('key') === target.id, async (route) => {
      if (!hold) return route.fallback()
      hold = false
      const response = await route.fetch()
      answered.resolve()
      await release.promise
      await route.fulfill({ response })
    })
    try {
      await page.fill('#detail-desc', 'Ana CI pipeline, first edit')
      await page.click('#detail-desc-form button[type="submit"]')
      await answered.promise
      await page.fill('#detail-desc', 'Ana CI pipeline, second edit')
      await page.click('#detail-desc-form button[type="submit"]')
      await expect.poll(() => trail.count(), SETTLE).toBe(before + 2)
      const shown = await parsedTrails()
      release.resolve()
      await expect.poll(parsedTrails, SETTLE).toBe(shown + 1)
      expect(await trail.count()).toBe(before + 2)
    } finally {
      release.resolve()
      await page.unrouteAll({ behavior: 'wait' })
    }
  }, 60_000)

  it('does not promise that an inactive key keeps working when it is rotated', async () => {
    await page.click('#search-form button[type="reset"]')
    await page.selectOption('#search-form select[name="status"]', 'inactive')
    await page.click('#search-form button[type="submit"]')
    // The only inactive key is the leaked one, deactivated when it was reported.
    await listShows([leaked.id])
    await rows().first().locator('button[data-action="rotate"]').click()
    await page.locator('#dialog[open]').waitFor()
    const message = (await page.textContent('#dialog-message'))!
    expect(message).not.toContain('keeps working')
    expect(message).toContain('inactive')
    await page.click('#dialog-cancel')
    await page.click('#search-form button[type="reset"]')
  }, 30_000)

  it('fits 390 px without horizontal overflow: list, usage chart, audit trail', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await expect.poll(() => rows().count(), SETTLE).toBe(25)
    await page.locator('#keys-card').scrollIntoViewIfNeeded()
    await noOverflow()
    await shot('list-390')
    await page.fill('#search-form input[name="owner"]', 'ana@acme.test')
    await page.click('#search-form button[type="submit"]')
    await listShows([target.id])
    await rows().first().locator('button[data-action="edit"]').click()
    await page.locator('#detail-usage figure').first().waitFor()
    await page.locator('#detail-usage').scrollIntoViewIfNeeded()
    await noOverflow()
    await shot('usage-390')
    await page.locator('#audit-card').scrollIntoViewIfNeeded()
    await noOverflow()
    await shot('audit-390')
    expect(await accessibilityProblems(page)).toEqual([])
    expect(external).toEqual([])
    expect(pageErrors).toEqual([])
  }, 60_000)
})
