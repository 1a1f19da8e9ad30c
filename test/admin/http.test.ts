import { describe, expect, it } from 'vitest'
import { createAuthorizer, KeyManager, MemoryKeyStore, tokenBucket } from '../../src/index.js'
import { createAdminHandler } from '../../src/admin/index.js'
import { fixture } from './_fixture.js'

const A = '/admin/api'

describe('routing', () => {
  it.each([
    ['/admin/api/nope'],
    ['/admin/api/keys/'],
    ['/admin/api/keys/abc/explode'],
    ['/admin//api/keys'],
    ['/other/api/keys'],
    ['/administrator/api/keys'],
    ['/admin/api/keys/%E0%A4%A'],
  ])('answers %s with the generic 404 problem, before any credential check', async (path) => {
    const f = await fixture()
    const r = await f.call(null, 'GET', path)
    expect(r.status).toBe(404)
    expect(r.json()).toEqual({ type: 'urn:keyward:error:not_found', title: 'Not found', status: 404, detail: 'No such resource.', code: 'not_found' })
  })

  it('answers a wrong method with 405 and Allow', async () => {
    const f = await fixture()
    const r = await f.call(f.acme, 'PUT', `${A}/keys/abc`)
    expect(r.status).toBe(405)
    expect(r.headers.get('allow')).toBe('GET, PATCH, DELETE')
    expect(r.json().code).toBe('method_not_allowed')
    expect((await f.call(f.acme, 'GET', `${A}/keys/abc/rotate`)).headers.get('allow')).toBe('POST')
  })

  it('serves under a custom base path and at the root', async () => {
    const store = new MemoryKeyStore()
    const manager = new KeyManager(store)
    const authorizer = createAuthorizer({ store })
    const { key } = await manager.issue({ kind: 'org' })
    const get = (h: ReturnType<typeof createAdminHandler>, p: string) => h(new Request(`http://127.0.0.1${p}`, { headers: { 'x-api-key': key } }))
    const nested = createAdminHandler({ manager, authorizer, basePath: '/internal/keys' })
    expect((await get(nested, '/internal/keys/api/me')).status).toBe(200)
    expect((await get(nested, '/admin/api/me')).status).toBe(404)
    const root = createAdminHandler({ manager, authorizer, basePath: '' })
    expect((await get(root, '/api/me')).status).toBe(200)
    expect((await get(root, '/')).headers.get('content-type')).toBe('text/html; charset=utf-8')
  })
})

describe('request bodies', () => {
  it('refuses a body that is not application/json with 415, writing nothing', async () => {
    const f = await fixture()
    const r = await f.call(f.acme, 'POST', `${A}/groups`, undefined, { raw: '{"name":"g"}', contentType: 'text/plain' })
    expect(r.status).toBe(415)
    expect(r.json().code).toBe('unsupported_media_type')
    expect((await f.call(f.acme, 'POST', `${A}/groups`, undefined, { raw: '{"name":"g"}', contentType: null })).status).toBe(415)
    expect((await f.call(f.acme, 'POST', `${A}/groups`, undefined, { raw: '{"name":"g"}', contentType: 'application/json; charset=latin1' })).status).toBe(415)
    expect(await f.manager.listGroups()).toEqual([])
  })

  it('accepts application/json with a UTF-8 charset, in any case', async () => {
    const f = await fixture()
    const r = await f.call(f.acme, 'POST', `${A}/groups`, undefined, { raw: '{"name":"g"}', contentType: 'Application/JSON; charset="UTF-8"' })
    expect(r.status).toBe(201)
  })

  it.each([
    ['malformed JSON', '{"name": "g"', 'invalid_json'],
    ['an empty body', '', 'invalid_json'],
    ['invalid UTF-8', new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]), 'invalid_json'],
    ['a JSON array', '[{"name":"g"}]', 'invalid_field'],
    ['JSON null', 'null', 'invalid_field'],
  ])('refuses %s with 400, writing nothing', async (_label, raw, code) => {
    const f = await fixture()
    const r = await f.call(f.acme, 'POST', `${A}/groups`, undefined, { raw })
    expect(r.status).toBe(400)
    expect(r.json().code).toBe(code)
    expect(await f.manager.listGroups()).toEqual([])
  })

  it('refuses a body over the limit with 413, declared or streamed, without reading it all', async () => {
    const f = await fixture()
    const big = JSON.stringify({ name: 'g', description: 'x'.repeat(70_000) })
    expect((await f.call(f.acme, 'POST', `${A}/groups`, undefined, { raw: big })).status).toBe(413)
    let pulled = 0
    const chunk = new TextEncoder().encode('x'.repeat(16_384))
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++
        if (pulled > 1000) controller.close()
        else controller.enqueue(chunk)
      },
    })
    const r = await f.call(f.acme, 'POST', `${A}/groups`, undefined, { raw: stream })
    expect(r.status).toBe(413)
    expect(r.json().code).toBe('payload_too_large')
    // 64 KiB is four 16 KiB chunks (plus what the stream queued ahead): far from all 1000.
    expect(pulled).toBeLessThan(20)
    expect(await f.manager.listGroups()).toEqual([])
  })

  it('checks credentials before it reads or judges a body', async () => {
    const f = await fixture()
    const r = await f.call(null, 'POST', `${A}/groups`, undefined, { raw: '{not json', contentType: 'text/plain' })
    expect(r.status).toBe(401)
  })

  it('treats a JSON __proto__ key as an unknown field, not as a prototype', async () => {
    const f = await fixture()
    const r = await f.call(f.acme, 'POST', `${A}/groups`, undefined, { raw: '{"name":"g","__proto__":{"active":false}}' })
    expect(r.status).toBe(400)
    expect(r.json()).toMatchObject({ field: 'body', detail: 'body: unknown field "__proto__"' })
  })

  it('survives deeply nested metadata with a 400, not a crash', async () => {
    const f = await fixture()
    const deep = `{"kind":"org","metadata":${'{"a":'.repeat(6000)}1${'}'.repeat(6000)}}`
    const r = await f.call(f.acme, 'POST', `${A}/keys`, undefined, { raw: deep })
    expect(r.status).toBe(400)
    expect(r.json().field).toBe('metadata')
  })
})

describe('responses', () => {
  it('sends no-store, nosniff, no-referrer and a locked-down CSP on API responses', async () => {
    const f = await fixture()
    for (const r of [await f.call(f.acme, 'GET', `${A}/keys`), await f.call(f.acme, 'GET', `${A}/keys/nope`)]) {
      expect(r.headers.get('cache-control')).toBe('no-store')
      expect(r.headers.get('x-content-type-options')).toBe('nosniff')
      expect(r.headers.get('referrer-policy')).toBe('no-referrer')
      expect(r.headers.get('content-security-policy')).toContain("default-src 'none'")
    }
  })

  it('answers an unexpected failure with a generic 500: no message, no stack', async () => {
    const f = await fixture()
    const secret = 'db password is hunter2'
    f.store.listKeys = async () => {
      throw new Error(secret)
    }
    const r = await f.call(f.acme, 'GET', `${A}/keys`)
    expect(r.status).toBe(500)
    expect(r.json()).toEqual({ type: 'urn:keyward:error:internal_error', title: 'Internal error', status: 500, detail: 'An unexpected error occurred.', code: 'internal_error' })
    expect(r.text).not.toContain('hunter2')
    expect(r.text).not.toContain('at ')
    expect((f.errors[0] as Error).message).toBe(secret)
    expect(f.audit.at(-1)).toMatchObject({ action: 'listKeys', outcome: 'error', status: 500 })
  })

  it('fails closed with the authorizer\'s 503 when the store is down', async () => {
    const f = await fixture()
    f.store.findByHash = async () => {
      throw new Error('down')
    }
    const r = await f.call(f.acme, 'GET', `${A}/keys`)
    expect(r.status).toBe(503)
    expect(r.json().code).toBe('service_unavailable')
  })

  it('passes the authorizer\'s rate-limit headers through, and its 429 unchanged', async () => {
    const f = await fixture({ authorizer: { rateLimiter: tokenBucket({ capacity: 1, refillPerSecond: 0.001, now: () => 0 }) } })
    const ok = await f.call(f.acme, 'GET', `${A}/me`)
    expect(ok.status).toBe(200)
    expect(ok.headers.get('ratelimit-remaining')).toBe('0')
    const limited = await f.call(f.acme, 'GET', `${A}/me`)
    expect(limited.status).toBe(429)
    expect(limited.json().code).toBe('rate_limited')
    expect(limited.headers.get('retry-after')).not.toBeNull()
  })

  it('does not echo a conflicting store message', async () => {
    const f = await fixture()
    f.store.insertKey = async () => {
      const { ConflictError } = await import('../../src/index.js')
      throw new ConflictError('hash abcdef already exists')
    }
    const r = await f.call(f.acme, 'POST', `${A}/keys`, { kind: 'org' })
    expect(r.status).toBe(409)
    expect(r.text).not.toContain('abcdef')
  })
})
