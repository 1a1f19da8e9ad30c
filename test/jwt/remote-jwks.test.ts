/**
 * A remote JWKS (jose's createRemoteJWKSet) served from a node:http server on 127.0.0.1: when it
 * hangs, fails or is gone, a token whose key is not known yet is 503 with Retry-After (fail
 * closed: never 401 for the client's fault, never an allow), while keys already fetched keep
 * verifying.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderDeny } from '../../src/decision.js'
import { schemes } from '../../src/schemes/index.js'
import { asDeny, claims, compact, ecKeys, ecSigner, expectInvalidToken, harness, AUD, ISS } from './_helpers.js'

const k1 = ecKeys()
const k2 = ecKeys()
const jwkOf = (k: ReturnType<typeof ecKeys>, kid: string) => ({ ...k.publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' })

type Mode = 'ok' | 'hang' | 'error'
interface JwksServer {
  url: string
  hits: number
  mode: Mode
  keys: object[]
  close(): Promise<void>
}

async function jwksServer(keys: object[]): Promise<JwksServer> {
  const pending: ServerResponse[] = []
  const state = { hits: 0, mode: 'ok' as Mode, keys }
  const server: Server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    state.hits++
    if (state.mode === 'hang') pending.push(res)
    else if (state.mode === 'error') res.writeHead(500).end('down')
    else res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: state.keys }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`
  let closed = false
  return Object.assign(state, {
    url,
    close: () => {
      if (closed) return Promise.resolve()
      closed = true
      for (const res of pending) res.destroy()
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  })
}

let seq = 0
/** A fresh ES256 token (unique jti, so the verification cache cannot answer for it). */
const token = (k: ReturnType<typeof ecKeys>, kid: string) => compact({ alg: 'ES256', kid }, claims({ jti: `t${seq++}` }), ecSigner(k.privateKey))

function expectUnavailable(d: Awaited<ReturnType<ReturnType<typeof harness>['authorize']>>): void {
  const deny = asDeny(d)
  expect({ status: deny.status, code: deny.code, reason: deny.reason }).toEqual({ status: 503, code: 'service_unavailable', reason: 'store_unavailable' })
  expect(Number(deny.headers['retry-after'])).toBeGreaterThanOrEqual(1)
  const r = renderDeny(deny)
  expect(r.status).toBe(503)
  expect(r.headers['retry-after']).toBe(deny.headers['retry-after'])
}

describe('remote JWKS: unreachable for an unknown kid is 503, known kids keep verifying', () => {
  let srv: JwksServer
  beforeAll(async () => {
    srv = await jwksServer([jwkOf(k1, 'k1')])
  })
  afterAll(() => srv.close())

  it('walks through up, hanging, failing, recovered and gone', async () => {
    const h = harness([schemes.jwt({ jwks: { url: srv.url, timeoutMs: 200, cooldownMs: 0 }, algorithms: ['ES256'], issuer: ISS, audience: AUD })])

    // Up: the first token fetches the set.
    const first = token(k1, 'k1')
    expect((await h.authorize(`Bearer ${first}`, 'scans:read')).allow).toBe(true)
    expect(srv.hits).toBe(1)

    // Hanging past the timeout: an unknown kid cannot be resolved → 503, detail jwks_timeout.
    srv.mode = 'hang'
    expectUnavailable(await h.authorize(`Bearer ${token(k2, 'k2')}`))
    expect(h.events.at(-1)).toMatchObject({ reason: 'store_unavailable', detail: 'jwks_timeout' })
    // ...while k1, already known, keeps verifying new tokens without a fetch.
    const hitsBefore = srv.hits
    expect((await h.authorize(`Bearer ${token(k1, 'k1')}`, 'scans:read')).allow).toBe(true)
    expect(srv.hits).toBe(hitsBefore)

    // Answering 500: same.
    srv.mode = 'error'
    expectUnavailable(await h.authorize(`Bearer ${token(k2, 'k2')}`))
    expect(h.events.at(-1)?.detail).toBe('jwks_unavailable')
    expect((await h.authorize(`Bearer ${token(k1, 'k1')}`)).allow).toBe(true)

    // Recovered, now publishing k2: the unknown kid is fetched and verifies.
    srv.mode = 'ok'
    srv.keys = [jwkOf(k1, 'k1'), jwkOf(k2, 'k2')]
    expect((await h.authorize(`Bearer ${token(k2, 'k2')}`)).allow).toBe(true)
    // A kid the JWKS really does not have, while it is up, is the token's fault: 401.
    const stranger = token(ecKeys(), 'k3')
    expectInvalidToken(await h.authorize(`Bearer ${stranger}`), stranger)
    expect(h.events.at(-1)?.detail).toBe('unknown_kid')

    // Gone (connection refused): unknown kid 503, known kids (k1 and k2 now) still 200.
    await srv.close()
    expectUnavailable(await h.authorize(`Bearer ${token(ecKeys(), 'k4')}`))
    expect((await h.authorize(`Bearer ${token(k1, 'k1')}`)).allow).toBe(true)
    expect((await h.authorize(`Bearer ${token(k2, 'k2')}`)).allow).toBe(true)
    // And the very first token, too.
    expect((await h.authorize(`Bearer ${first}`)).allow).toBe(true)
  })
})

describe('remote JWKS: other behaviours', () => {
  it('never allows when the JWKS was never reachable: 503 for every token, even a well-signed one', async () => {
    const srv = await jwksServer([jwkOf(k1, 'k1')])
    srv.mode = 'error'
    try {
      const h = harness([schemes.jwt({ jwks: { url: srv.url, timeoutMs: 200 }, algorithms: ['ES256'], issuer: ISS, audience: AUD })])
      expectUnavailable(await h.authorize(`Bearer ${token(k1, 'k1')}`))
      expectUnavailable(await h.authorize(`Bearer ${token(k1, 'k1')}`))
    } finally {
      await srv.close()
    }
  })

  it('does not refetch for unknown kids during the cooldown: 401 without a request', async () => {
    const srv = await jwksServer([jwkOf(k1, 'k1')])
    try {
      const h = harness([schemes.jwt({ jwks: { url: srv.url, cooldownMs: 60_000 }, algorithms: ['ES256'], issuer: ISS, audience: AUD })])
      expect((await h.authorize(`Bearer ${token(k1, 'k1')}`)).allow).toBe(true)
      for (let i = 0; i < 5; i++) {
        const t = token(k2, `made-up-${i}`)
        expectInvalidToken(await h.authorize(`Bearer ${t}`), t)
      }
      expect(srv.hits).toBe(1)
    } finally {
      await srv.close()
    }
  })

  it('fails closed once the fetched set is older than cacheMaxAgeMs and the endpoint is down', async () => {
    const srv = await jwksServer([jwkOf(k1, 'k1')])
    try {
      const h = harness([schemes.jwt({ jwks: { url: srv.url, timeoutMs: 200, cacheMaxAgeMs: 0 }, algorithms: ['ES256'], issuer: ISS, audience: AUD })])
      expect((await h.authorize(`Bearer ${token(k1, 'k1')}`)).allow).toBe(true)
      srv.mode = 'error'
      expectUnavailable(await h.authorize(`Bearer ${token(k1, 'k1')}`))
    } finally {
      await srv.close()
    }
  })

  it('never fetches for a token with an algorithm outside the list', async () => {
    const srv = await jwksServer([jwkOf(k1, 'k1')])
    try {
      const h = harness([schemes.jwt({ jwks: { url: srv.url }, algorithms: ['ES256'], issuer: ISS, audience: AUD })])
      const t = compact({ alg: 'HS256', kid: 'k1' }, claims(), () => 'c2ln')
      expectInvalidToken(await h.authorize(`Bearer ${t}`), t)
      expect(srv.hits).toBe(0)
    } finally {
      await srv.close()
    }
  })
})
