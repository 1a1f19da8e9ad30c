/**
 * Cross-site refusal over real HTTP through every mount: each combination of `Sec-Fetch-Site`,
 * `Origin` and `Content-Type` a browser (or a forged page) can produce, on a state-changing
 * route without a body, one with a JSON body, and a read. Refused calls change nothing and are
 * refused before the key is looked at (the audit event names no actor).
 */
import { request as httpRequest } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { createAdminHandler } from '../../src/admin/index.js'
import { close } from '../adapters/_http.js'
import { fixture, type ProblemBody } from './_fixture.js'
import { MOUNTS, serve, servers } from './_mounts.js'

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => close(s)))
})

const TRUSTED = 'https://console.example.com'
const A = '/admin/api'

interface Reply {
  status: number
  body: string
}

function send(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // An explicit length: Node sends a DELETE body unframed otherwise.
    const framed = body === undefined || Object.hasOwn(headers, 'content-length') ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }
    const req = httpRequest(base + path, { method, headers: framed, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** [label, headers (own = the server's origin), expected status, expected code]. */
type Case = readonly [string, (own: string, port: string) => Record<string, string>, number, string | undefined]
const HEADER_CASES: readonly Case[] = [
  ['no Sec-Fetch-Site and no Origin (not a browser)', () => ({}), 200, undefined],
  ['Sec-Fetch-Site same-origin with its own Origin', (own) => ({ 'sec-fetch-site': 'same-origin', origin: own }), 200, undefined],
  ['Sec-Fetch-Site none (typed by the user)', () => ({ 'sec-fetch-site': 'none' }), 200, undefined],
  ['its own Origin over https (TLS ended at a proxy)', (own) => ({ origin: own.replace('http:', 'https:') }), 200, undefined],
  ['Sec-Fetch-Site cross-site from a trusted origin', () => ({ 'sec-fetch-site': 'cross-site', origin: TRUSTED }), 200, undefined],
  ['Sec-Fetch-Site cross-site with a foreign Origin', (_o, port) => ({ 'sec-fetch-site': 'cross-site', origin: `http://127.0.0.2:${port}` }), 403, 'cross_site_request'],
  ['Sec-Fetch-Site cross-site without Origin', () => ({ 'sec-fetch-site': 'cross-site' }), 403, 'cross_site_request'],
  ['Sec-Fetch-Site same-site from another port', () => ({ 'sec-fetch-site': 'same-site', origin: 'http://127.0.0.1:9' }), 403, 'cross_site_request'],
  ['Sec-Fetch-Site same-site without Origin', () => ({ 'sec-fetch-site': 'same-site' }), 403, 'cross_site_request'],
  ['an unknown Sec-Fetch-Site value', () => ({ 'sec-fetch-site': 'same-origin, cross-site' }), 403, 'cross_site_request'],
  ['Sec-Fetch-Site same-origin but a foreign Origin', () => ({ 'sec-fetch-site': 'same-origin', origin: 'http://evil.example' }), 403, 'cross_site_request'],
  ['a foreign Origin alone', () => ({ origin: 'http://evil.example' }), 403, 'cross_site_request'],
  ['Origin null (sandbox, file, redirect)', () => ({ origin: 'null' }), 403, 'cross_site_request'],
  ['a look-alike host', (own) => ({ origin: own.replace('127.0.0.1', '127.0.0.1.nip.io') }), 403, 'cross_site_request'],
  ['the trusted origin with a path-like suffix', () => ({ origin: `${TRUSTED}/` }), 403, 'cross_site_request'],
]

const BODY_CASES: readonly (readonly [string, Record<string, string>, string | undefined, number])[] = [
  ['no body, no Content-Type', {}, undefined, 200],
  ['a JSON Content-Type and an empty object', { 'content-type': 'application/json' }, '{}', 200],
  ['a text/plain body (an HTML form)', { 'content-type': 'text/plain' }, 'a=b', 415],
  ['an empty urlencoded form', { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '0' }, '', 415],
  ['a multipart form', { 'content-type': 'multipart/form-data; boundary=x' }, '--x--\r\n', 415],
  ['a body without a Content-Type', { 'content-length': '3' }, 'a=b', 415],
]

async function setup(mount: (typeof MOUNTS)[number]) {
  const f = await fixture({ handler: { trustedOrigins: [TRUSTED] } })
  const base = await serve(mount, f.handler)
  const port = new URL(base).port
  const target = async () => (await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'o', role: 'Read Only' })).record.id
  return { f, base, port, own: base, target }
}

describe.each(MOUNTS)('through %s', (mount) => {
  it.each(HEADER_CASES)('%s: deactivate, create a group and list keys answer as expected, nothing changes when refused', async (_l, headersOf, status, code) => {
    const { f, base, port, own, target } = await setup(mount)
    const h = { 'x-api-key': f.acme, ...headersOf(own, port) }
    const id = await target()
    const groups = (await f.manager.listGroups({ tenant: 'acme' })).length
    const replies = [
      await send(base, 'POST', `${A}/keys/${id}/deactivate`, h),
      await send(base, 'POST', `${A}/groups`, { ...h, 'content-type': 'application/json' }, '{"name":"g"}'),
      await send(base, 'GET', `${A}/keys`, h),
    ]
    const expected = [status, status === 200 ? 201 : status, status]
    expect(replies.map((r) => r.status)).toEqual(expected)
    if (code !== undefined) {
      for (const r of replies) expect((JSON.parse(r.body) as ProblemBody).code).toBe(code)
      expect((await f.store.getKey(id))?.active).toBe(true)
      expect((await f.manager.listGroups({ tenant: 'acme' })).length).toBe(groups)
      // Refused before the key was looked at: no actor in the audit trail.
      for (const e of f.audit.slice(-3)) expect(e).toMatchObject({ code, outcome: 'denied' })
      for (const e of f.audit.slice(-3)) expect(e.actor).toBeUndefined()
    } else {
      expect((await f.store.getKey(id))?.active).toBe(false)
    }
  })

  it.each(BODY_CASES)('same-origin %s on a route without a body answers %i', async (_l, headers, body, status) => {
    const { f, base, own, target } = await setup(mount)
    const id = await target()
    const r = await send(base, 'POST', `${A}/keys/${id}/deactivate`, { 'x-api-key': f.acme, 'sec-fetch-site': 'same-origin', origin: own, ...headers }, body)
    expect(r.status).toBe(status)
    expect((await f.store.getKey(id))?.active).toBe(status !== 200)
    if (status === 415) expect((JSON.parse(r.body) as ProblemBody).code).toBe('unsupported_media_type')
  })

  it('refuses a text/plain body on every state-changing route with 415', async () => {
    const { f, base, target } = await setup(mount)
    const id = await target()
    const before = await f.store.getKey(id)
    const g = (await f.manager.createGroup({ name: 'g', tenant: 'acme' })).id
    const routes = [
      ['POST', `${A}/groups`], ['PATCH', `${A}/groups/${g}`], ['DELETE', `${A}/groups/${g}`], ['POST', `${A}/groups/${g}/activate`],
      ['POST', `${A}/groups/${g}/deactivate`], ['POST', `${A}/keys`], ['PATCH', `${A}/keys/${id}`], ['DELETE', `${A}/keys/${id}`],
      ['POST', `${A}/keys/${id}/activate`], ['POST', `${A}/keys/${id}/deactivate`], ['POST', `${A}/keys/${id}/rotate`],
      ['POST', `${A}/keys/${id}/grants/add`], ['POST', `${A}/keys/${id}/grants/remove`], ['POST', `${A}/keys/${id}/allowed-ips/add`],
      ['POST', `${A}/keys/${id}/allowed-ips/remove`],
    ] as const
    for (const [method, path] of routes) {
      const r = await send(base, method, path, { 'x-api-key': f.acme, 'content-type': 'text/plain' }, '{"graceMs":0,"name":"x","kind":"org"}')
      expect(r.status, `${method} ${path} ${r.body}`).toBe(415)
    }
    expect(await f.store.getKey(id)).toEqual(before)
    expect((await f.store.getGroup(g))?.active).toBe(true)
  })
})

describe('trustedOrigins', () => {
  it('serves the console cross-site (a link), but not the API', async () => {
    const f = await fixture()
    const base = await serve('hono', f.handler)
    const nav = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }
    expect((await send(base, 'GET', '/admin/', nav)).status).toBe(200)
    expect((await send(base, 'GET', `${A}/me`, { ...nav, 'x-api-key': f.acme })).status).toBe(403)
  })

  it.each([
    ['not an array', 'https://a.example', TypeError, /^trustedOrigins: must be an array/],
    ['a path', ['https://a.example/admin'], RangeError, /^trustedOrigins\[0\]: must be an origin/],
    ['a trailing slash', ['https://a.example/'], RangeError, /^trustedOrigins\[0\]: must be an origin/],
    ['upper case', ['https://A.example'], RangeError, /^trustedOrigins\[0\]/],
    ['another scheme', ['ftp://a.example'], RangeError, /^trustedOrigins\[0\]/],
    ['null', ['null'], RangeError, /^trustedOrigins\[0\]/],
    ['a non-string', [7], TypeError, /^trustedOrigins\[0\]: must be a string/],
  ] as const)('refuses %s when the handler is created', async (_l, value, type, message) => {
    const f = await fixture()
    const make = () => createAdminHandler({ manager: f.manager, authorizer: f.authorizer, trustedOrigins: value as never })
    expect(make).toThrow(type)
    expect(make).toThrow(message)
  })
})
