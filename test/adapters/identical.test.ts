/**
 * Same bytes everywhere: every row of the shared table goes over real HTTP to an Express 5, an
 * Express 4, a Koa, a Hono and a Fastify server built from the same routes and authorizer configurations,
 * and the five responses must be identical (status, content-type, cache-control,
 * www-authenticate, retry-after, rate-limit headers, body), and match the row's expected outcome.
 */
import type { Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Authorizer, DenyCode } from '../../src/index.js'
import { buildServer, FRAMEWORKS, type Framework } from './_apps.js'
import { makeAuthorizers, makeFixture, type AuthzName } from './_fixture.js'
import { close, listen, send, type Res } from './_http.js'
import { table, type Row } from './_table.js'

const fixture = await makeFixture()
const rows = table(fixture)

const running: { framework: Framework; server: Server; base: string; authz: Record<AuthzName, Authorizer> }[] = []
const seen = new Map<string, Res>()

beforeAll(async () => {
  for (const framework of FRAMEWORKS) {
    const authz = makeAuthorizers(fixture.store)
    const server = buildServer(framework, authz)
    running.push({ framework, server, base: await listen(server), authz })
  }
})

afterAll(async () => {
  for (const r of running) {
    await close(r.server)
    for (const a of Object.values(r.authz)) await a.close()
  }
})

function checkOutcome(row: Row, res: Res): void {
  const e = row.expect
  expect(res.status).toBe(e.status)
  if (e.remaining !== undefined) expect(res.headers['ratelimit-remaining']).toBe(e.remaining)
  if (e.credits !== undefined) expect(res.headers['x-credits-remaining']).toBe(e.credits)
  if (e.retryAfter !== undefined) expect(res.headers['retry-after']).toBe(e.retryAfter)
  if (e.code !== undefined && e.xml) {
    // RFC 9457 Appendix B, with the members of the JSON document.
    expect(res.headers['content-type']).toBe('application/problem+xml')
    expect(res.headers['cache-control']).toBe('no-store')
    const m = /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<problem xmlns="urn:ietf:rfc:7807"><type>([^<]*)<\/type><title>[^<]+<\/title><status>(\d+)<\/status><detail>([^<]+)<\/detail><code>([^<]*)<\/code><\/problem>$/.exec(res.body)
    expect(m).not.toBeNull()
    expect([m![1], Number(m![2]), m![4]]).toEqual([`urn:keyward:error:${e.code}`, e.status, e.code])
    expect(m![3]).not.toMatch(/["'<>]|&(?!(amp|lt|gt|quot|apos);)/)
    for (const key of Object.values(fixture.keys)) expect(res.body).not.toContain(key)
    if (e.status === 401) expect(res.headers['www-authenticate']).toMatch(/realm="api"/)
  } else if (e.code !== undefined) {
    expect(res.headers['content-type']).toBe('application/problem+json')
    expect(res.headers['cache-control']).toBe('no-store')
    const body = JSON.parse(res.body) as Record<string, unknown>
    expect(body).toMatchObject({ type: `urn:keyward:error:${e.code}`, status: e.status, code: e.code })
    expect(Object.keys(body).sort()).toEqual(['code', 'detail', 'status', 'title', 'type'])
    // No key material ever comes back in a deny.
    for (const key of Object.values(fixture.keys)) expect(res.body).not.toContain(key)
    if (e.status === 401) expect(res.headers['www-authenticate']).toMatch(/realm="api"/)
    if (e.challenge !== undefined) expect(res.headers['www-authenticate']).toBe(e.challenge)
    if (e.status === 429 || e.status === 503) expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/)
  } else if (e.key !== undefined) {
    expect(res.headers['content-type']).toBe('application/json')
    const { principal } = JSON.parse(res.body) as { principal: { keyId: string; scheme: string } | null }
    if (e.key === null) expect(principal).toBeNull()
    else expect(principal).toMatchObject({ keyId: fixture.ids[e.key], scheme: e.scheme })
  } else {
    // Node's own HTTP parser answered: nothing of ours, and certainly no allow.
    expect(res.body).not.toContain('principal')
  }
}

describe('the same request gets the same bytes from Express 5, Express 4, Koa, Hono and Fastify', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const got = {} as Record<Framework, Res>
    for (const r of running) got[r.framework] = await send(r.base, row)
    for (const framework of FRAMEWORKS) {
      if (framework === 'fastify' && row.expect.code === undefined && row.expect.key === undefined) {
        // Node's parser refused the request before any app saw it; Fastify's clientError
        // handler words that 400 its own way (JSON), and no guard, ours included, ran.
        expect({ framework, status: got.fastify.status, body: got.fastify.body }).toEqual({
          framework, status: got.express5.status, body: '{"error":"Bad Request","message":"Client Error","statusCode":400}',
        })
        continue
      }
      expect({ framework, ...got[framework] }).toEqual({ framework, ...got.express5 })
    }
    checkOutcome(row, got.express5)
    seen.set(row.name, got.express5)
  })

  it('covers every status and every deny code with at least 25 requests', () => {
    expect(rows.length).toBeGreaterThanOrEqual(25)
    expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length)
    const statuses = new Set(rows.map((r) => r.expect.status))
    for (const s of [200, 400, 401, 403, 429, 503]) expect(statuses).toContain(s)
    const codes = new Set(rows.map((r) => r.expect.code))
    const all: DenyCode[] = [
      'invalid_request', 'missing_credentials', 'invalid_credentials', 'key_disabled', 'key_expired', 'insecure_transport',
      'ip_not_allowed', 'insufficient_permission', 'operation_not_granted', 'rate_limited', 'credits_exhausted', 'service_unavailable',
    ]
    for (const c of all) expect(codes).toContain(c)
  })

  it('makes an unknown key, a wrong tenant and a wrong user indistinguishable', () => {
    const bodies = ['refuses an unknown key', 'refuses a key of another tenant like an unknown one', "refuses another user's service key"].map(
      (n) => seen.get(n),
    )
    expect(bodies.every((b) => b !== undefined)).toBe(true)
    expect(new Set(bodies.map((b) => `${b!.status} ${b!.body}`)).size).toBe(1)
  })
})
