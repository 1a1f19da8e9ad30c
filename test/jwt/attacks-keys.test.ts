/**
 * RFC 8725 §2.1 / §3.1 attacks on how the verification key is chosen: `alg: none`, algorithm
 * confusion (HS256 with an RSA public key as the secret), algorithms outside the list, keys
 * named by the token (`jwk`, `jku`, `x5u`), hostile `kid` values. Every one is driven through
 * `authorize` and must be 401 `invalid_token` with an RFC 6750 challenge.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { schemes } from '../../src/schemes/index.js'
import {
  b64u,
  claims,
  compact,
  ecKeys,
  ecSigner,
  expectInvalidToken,
  harness,
  hmacSigner,
  hs256,
  rsaKeys,
  rsaSigner,
  AUD,
  ISS,
  SECRET,
} from './_helpers.js'

const rsa = rsaKeys()
const ec = ecKeys()
const attacker = ecKeys()
const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string

describe('alg: none (RFC 8725 §2.1, RFC 7519 §6)', () => {
  const h = harness([schemes.jwt({ key: SECRET, algorithms: ['HS256'], issuer: ISS, audience: AUD })])

  it.each(['none', 'None', 'NONE', 'nOnE'])('refuses an unsecured token with alg %j and an empty signature', async (alg) => {
    const token = compact({ alg, typ: 'JWT' }, claims(), () => '')
    expect(token.endsWith('.')).toBe(true)
    expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
    expect(h.events.at(-1)).toMatchObject({ reason: 'invalid_token', detail: 'alg_not_allowed', scheme: 'jwt' })
  })

  it('refuses alg none carrying a signature copied from a valid token', async () => {
    const valid = hs256(claims())
    const token = compact({ alg: 'none' }, claims(), () => valid.split('.')[2]!)
    expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
  })

  it('routes an unsecured token to jwt (invalid_token) even when schemes.bearer is configured too', async () => {
    const both = harness([schemes.bearer(), schemes.jwt({ key: SECRET, algorithms: ['HS256'], issuer: ISS, audience: AUD })])
    const token = compact({ alg: 'none' }, claims(), () => '')
    expectInvalidToken(await both.authorize(`Bearer ${token}`), token)
    expect(both.events.at(-1)).toMatchObject({ reason: 'invalid_token', scheme: 'jwt' })
  })

  it('cannot be configured: "none" in algorithms throws', () => {
    expect(() => schemes.jwt({ key: SECRET, algorithms: ['none' as 'HS256'], issuer: ISS, audience: AUD })).toThrow(/algorithms\[0\]: "none" is never accepted/)
  })
})

describe('HS256 signed with the RSA public key as the HMAC secret (algorithm confusion)', () => {
  const forged = hs256(claims({ kw_kind: 'org' }), { alg: 'HS256', typ: 'JWT' }, pem)

  it('is refused by a verifier configured with the RSA public key', async () => {
    const h = harness([schemes.jwt({ key: rsa.publicKey, algorithms: ['RS256'], issuer: ISS, audience: AUD })])
    expectInvalidToken(await h.authorize(`Bearer ${forged}`), forged)
    expect(h.events.at(-1)?.detail).toBe('alg_not_allowed')
    // The same verifier accepts a genuine RS256 token, so the refusal is about the forgery.
    const genuine = compact({ alg: 'RS256' }, claims(), rsaSigner(rsa.privateKey))
    expect((await h.authorize(`Bearer ${genuine}`)).allow).toBe(true)
  })

  it('is refused when the public key is given as a JWK', async () => {
    const jwk = rsa.publicKey.export({ format: 'jwk' })
    const h = harness([schemes.jwt({ key: jwk, algorithms: ['RS256', 'PS256'], issuer: ISS, audience: AUD })])
    expectInvalidToken(await h.authorize(`Bearer ${forged}`), forged)
  })

  it('cannot be configured: an RSA key listed with HS256 throws at creation', () => {
    expect(() => schemes.jwt({ key: rsa.publicKey, algorithms: ['RS256', 'HS256'], issuer: ISS, audience: AUD })).toThrow(RangeError)
    expect(() => schemes.jwt({ key: rsa.publicKey, algorithms: ['RS256', 'HS256'], issuer: ISS, audience: AUD })).toThrow(/^key: an RSA key cannot be used with HS256/)
  })

  it('cannot be configured: the PEM as bytes or as a string is never taken as a secret', () => {
    expect(() => schemes.jwt({ key: new TextEncoder().encode(pem), algorithms: ['HS256'], issuer: ISS, audience: AUD })).toThrow(/^key: looks like a PEM key/)
    expect(() => schemes.jwt({ key: pem as unknown as Uint8Array, algorithms: ['HS256'], issuer: ISS, audience: AUD })).toThrow(TypeError)
    expect(() => schemes.jwt({ key: new TextEncoder().encode(pem), algorithms: ['RS256'], issuer: ISS, audience: AUD })).toThrow(/^key: a Uint8Array secret cannot be used with RS256/)
  })
})

describe('algorithms outside the list', () => {
  const h = harness([schemes.jwt({ key: ec.publicKey, algorithms: ['ES256'], issuer: ISS, audience: AUD })])

  it('accepts the listed algorithm (control)', async () => {
    const token = compact({ alg: 'ES256' }, claims(), ecSigner(ec.privateKey))
    expect((await h.authorize(`Bearer ${token}`)).allow).toBe(true)
  })

  it.each([
    ['RS256', () => compact({ alg: 'RS256' }, claims(), rsaSigner(rsa.privateKey))],
    ['HS256', () => hs256(claims())],
    ['ES384 (signed with the right key, wrong alg name)', () => compact({ alg: 'ES384' }, claims(), ecSigner(ec.privateKey, 'sha384'))],
    ['PS256', () => compact({ alg: 'PS256' }, claims(), rsaSigner(rsa.privateKey))],
    ['an unknown alg', () => compact({ alg: 'XS256' }, claims(), ecSigner(ec.privateKey))],
    ['alg missing', () => compact({ typ: 'JWT' }, claims(), ecSigner(ec.privateKey))],
    ['alg not a string', () => compact({ alg: ['ES256'] }, claims(), ecSigner(ec.privateKey))],
  ])('refuses %s', async (_, make) => {
    const token = make()
    expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
  })
})

describe('keys named by the token: jwk, jku, x5u are never used or fetched', () => {
  let server: Server
  let base: string
  let hits = 0
  beforeAll(async () => {
    // What an attacker would serve: its own public key as a JWKS.
    const body = JSON.stringify({ keys: [{ ...attacker.publicKey.export({ format: 'jwk' }), kid: 'evil', alg: 'ES256', use: 'sig' }] })
    server = createServer((_, res) => {
      hits++
      res.writeHead(200, { 'content-type': 'application/json' }).end(body)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  const attackerJwk = attacker.publicKey.export({ format: 'jwk' })
  const headers = () => [
    ['jwk', { alg: 'ES256', jwk: attackerJwk }],
    ['jku', { alg: 'ES256', kid: 'evil', jku: `${base}/jwks.json` }],
    ['x5u', { alg: 'ES256', x5u: `${base}/cert.pem` }],
    ['x5c', { alg: 'ES256', x5c: [b64u('not a certificate')] }],
    ['all of them', { alg: 'ES256', kid: 'evil', jwk: attackerJwk, jku: `${base}/jwks.json`, x5u: `${base}/cert.pem` }],
  ] as const

  it('refuses tokens signed by a key the token itself names (static key)', async () => {
    const h = harness([schemes.jwt({ key: ec.publicKey, algorithms: ['ES256'], issuer: ISS, audience: AUD })])
    for (const [, header] of headers()) {
      const token = compact(header, claims(), ecSigner(attacker.privateKey))
      expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
    }
    expect(hits).toBe(0)
  })

  it('refuses them with a local JWKS too, and still fetches nothing', async () => {
    const jwks = { keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'good' }] }
    const h = harness([schemes.jwt({ jwks, algorithms: ['ES256'], issuer: ISS, audience: AUD })])
    for (const [, header] of headers()) {
      const token = compact(header, claims(), ecSigner(attacker.privateKey))
      expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
    }
    expect(hits).toBe(0)
    // The server is reachable: a zero count means it was never asked, not that it was down.
    await fetch(`${base}/jwks.json`)
    expect(hits).toBe(1)
  })
})

describe('hostile kid values', () => {
  const hostile: unknown[] = [
    '../../../../../../dev/null',
    "' OR '1'='1' --",
    '__proto__',
    'constructor',
    'http://169.254.169.254/latest/meta-data/',
    '%00',
    '\u0000',
    '',
    'k'.repeat(4000),
    42,
    null,
    true,
    { $ne: null },
    ['good'],
  ]

  it('refuses each with a local JWKS, even when signed by the genuine key under another kid', async () => {
    const jwks = { keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'good', alg: 'ES256' }] }
    const h = harness([schemes.jwt({ jwks, algorithms: ['ES256'], issuer: ISS, audience: AUD })])
    const control = compact({ alg: 'ES256', kid: 'good' }, claims(), ecSigner(ec.privateKey))
    expect((await h.authorize(`Bearer ${control}`)).allow).toBe(true)
    for (const kid of hostile) {
      for (const signer of [ecSigner(ec.privateKey), ecSigner(attacker.privateKey)]) {
        const token = compact({ alg: 'ES256', kid }, claims(), signer)
        if (token.length > 8192) continue
        expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
      }
    }
  })

  it('refuses each signed by a wrong key with a static key, where kid plays no part', async () => {
    const h = harness([schemes.jwt({ key: SECRET, algorithms: ['HS256'], issuer: ISS, audience: AUD })])
    for (const kid of hostile) {
      const token = compact({ alg: 'HS256', kid }, claims(), hmacSigner('guessed secret'))
      expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
    }
    // kid is only a hint: with a single configured key, a genuine signature is what counts.
    const genuine = compact({ alg: 'HS256', kid: '../../etc/passwd' }, claims(), hmacSigner(SECRET))
    expect((await h.authorize(`Bearer ${genuine}`)).allow).toBe(true)
  })
})
