import { describe, expect, it } from 'vitest'
import { createAuthorizer, KeyManager, MemoryKeyStore, schemes } from '../../src/index.js'
import { createAdminHandler } from '../../src/admin/index.js'
import { fixture } from './_fixture.js'

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

describe('the console is served under a strict policy', () => {
  it.each([
    ['/admin', 'text/html; charset=utf-8'],
    ['/admin/', 'text/html; charset=utf-8'],
    ['/admin/console.js', 'text/javascript; charset=utf-8'],
    ['/admin/console.css', 'text/css; charset=utf-8'],
  ])('%s: %s, the CSP, nosniff, no-referrer, no framing, no caching, no credentials needed', async (path, type) => {
    const f = await fixture()
    const r = await f.call(null, 'GET', path)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toBe(type)
    expect(r.headers.get('content-security-policy')).toBe(CSP)
    expect(r.headers.get('x-content-type-options')).toBe('nosniff')
    expect(r.headers.get('referrer-policy')).toBe('no-referrer')
    expect(r.headers.get('x-frame-options')).toBe('DENY')
    expect(r.headers.get('cache-control')).toBe('no-store')
  })

  it('has no inline script, inline style, event attribute or external reference in the page', async () => {
    const f = await fixture()
    const html = (await f.call(null, 'GET', '/admin/')).text
    expect(html).toMatch(/<script src="\/admin\/console\.js" defer><\/script>/)
    expect(html).toMatch(/<link rel="stylesheet" href="\/admin\/console\.css">/)
    expect(html.match(/<script\b[^>]*>[^<]+<\/script>/g)).toBeNull()
    expect(html).not.toMatch(/<style\b/)
    expect(html).not.toMatch(/\sstyle=/)
    expect(html).not.toMatch(/\son[a-z]+=/)
    expect(html).not.toMatch(/https?:\/\//)
  })

  it('keeps the script free of HTML sinks, storage, cookies, eval and remote URLs', async () => {
    const f = await fixture()
    // The SVG namespace name is an identifier, never fetched; it is the one URL-shaped string allowed.
    const js = (await f.call(null, 'GET', '/admin/console.js')).text.split('"http://www.w3.org/2000/svg"').join('""')
    for (const banned of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'localStorage', 'sessionStorage', 'indexedDB', 'document.cookie', 'eval(', 'new Function', 'http://', 'https://', 'location.hash', 'history.pushState']) {
      expect(js, banned).not.toContain(banned)
    }
    expect(js).toContain('textContent')
    // Syntactically valid JavaScript.
    expect(() => new Function(js)).not.toThrow()
  })

  it('keeps the stylesheet free of remote resources', async () => {
    const f = await fixture()
    const css = (await f.call(null, 'GET', '/admin/console.css')).text
    expect(css).not.toMatch(/url\(|@import|https?:/)
  })

  it('tells the page its API base and how to send the key', async () => {
    const f = await fixture()
    const html = (await f.call(null, 'GET', '/admin/')).text
    expect(html).toContain('data-api="/admin/api" data-auth-header="x-api-key" data-auth-format="raw"')
  })
})

describe('the console speaks the authorizer\'s scheme', () => {
  const store = new MemoryKeyStore()
  const manager = new KeyManager(store)
  const page = async (h: ReturnType<typeof createAdminHandler>) => (await h(new Request('http://127.0.0.1/admin/'))).text()

  it.each([
    [[schemes.bearer()], undefined, 'authorization', 'bearer'],
    [[schemes.basic()], undefined, 'authorization', 'basic'],
    [[schemes.restApiKey()], undefined, 'authorization', 'rest_api_key'],
    [[schemes.ssapi()], undefined, 'x-ssapi-key', 'raw'],
    [[schemes.contrast(), schemes.apiKeyHeader({ header: "X-K'ey" })], undefined, 'x-k&#39;ey', 'raw'],
    [[schemes.apiKeyHeader(), schemes.bearer()], 'bearer', 'authorization', 'bearer'],
  ])('%#: header %s, format %s', async (list, consoleScheme, header, format) => {
    const authorizer = createAuthorizer({ store, schemes: list })
    const h = createAdminHandler({ manager, authorizer, ...(consoleScheme ? { consoleScheme } : {}) })
    expect(await page(h)).toContain(`data-auth-header="${header}" data-auth-format="${format}"`)
  })

  it('leaves the format empty (the page then explains it cannot sign in) for Contrast only', async () => {
    const h = createAdminHandler({ manager, authorizer: createAuthorizer({ store, schemes: [schemes.contrast()] }) })
    expect(await page(h)).toContain('data-auth-header="" data-auth-format=""')
  })

  it('signs in with a bearer key end to end through the API the page calls', async () => {
    const authorizer = createAuthorizer({ store, schemes: [schemes.bearer()] })
    const h = createAdminHandler({ manager, authorizer })
    const { key } = await manager.issue({ kind: 'org', tenant: 't' })
    const r = await h(new Request('http://127.0.0.1/admin/api/me', { headers: { authorization: `Bearer ${key}` } }))
    expect(r.status).toBe(200)
  })
})

describe('console: false', () => {
  it('serves the API and the document, and 404s the console', async () => {
    const f = await fixture({ handler: { console: false } })
    for (const p of ['/admin/', '/admin/console.js', '/admin/console.css']) expect((await f.call(null, 'GET', p)).status).toBe(404)
    expect((await f.call(null, 'GET', '/admin/openapi.json')).status).toBe(200)
    expect((await f.call(f.acme, 'GET', '/admin/api/me')).status).toBe(200)
  })
})
