/**
 * Shared fixtures for the JWT tests: keys, hand-built tokens (so headers and claims can be
 * anything an attacker might send), requests, and deny assertions made through `renderDeny`.
 */
import { createHmac, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto'
import { expect } from 'vitest'
import { createAuthorizer, type AuthorizerOptions } from '../../src/authorize.js'
import { renderDeny } from '../../src/decision.js'
import type { Scheme } from '../../src/schemes/_scheme.js'
import { MemoryKeyStore } from '../../src/stores/memory.js'
import type { AuthRequest, Decision, DenyDecision } from '../../src/types.js'
import { T0, T0_SEC, testClock, type TestClock } from '../_support/clock.js'

/** Every test runs on the shared harness clock, starting at `T0`. */
export { T0, T0_SEC }
export const ISS = 'https://idp.test/'
export const AUD = 'https://api.test'

export const b64u = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url')

/** A compact JWS from any header and payload (objects are JSON-encoded, strings used as given). */
export function compact(header: object | string, payload: object | string, sign: (input: string) => Uint8Array | string): string {
  const h = b64u(typeof header === 'string' ? header : JSON.stringify(header))
  const p = b64u(typeof payload === 'string' ? payload : JSON.stringify(payload))
  const input = `${h}.${p}`
  const sig = sign(input)
  return `${input}.${typeof sig === 'string' ? sig : b64u(sig)}`
}

export const hmacSigner = (secret: Uint8Array | string, hash = 'sha256') => (input: string) => createHmac(hash, secret).update(input).digest()
export const ecSigner = (key: KeyObject, hash = 'sha256') => (input: string) => nodeSign(hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
export const rsaSigner = (key: KeyObject, hash = 'sha256') => (input: string) => nodeSign(hash, Buffer.from(input), key)

export function ecKeys(namedCurve = 'P-256'): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve })
}
export function rsaKeys(modulusLength = 2048): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength })
}

/** 32 fixed bytes: an HS256 secret. */
export const SECRET = new Uint8Array(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff))

/** Claims of a valid IdP-style token at T0. */
export function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISS, aud: AUD, sub: 'ana', iat: T0_SEC - 10, exp: T0_SEC + 300, kw_role: 'Read Write', ...extra }
}

export const hs256 = (payload: object | string, header: object = { alg: 'HS256', typ: 'JWT' }, secret: Uint8Array | string = SECRET) =>
  compact(header, payload, hmacSigner(secret))

export interface Harness {
  authorize(authorization?: string | string[], need?: string | { permission?: string; operation?: string }, extra?: Partial<AuthRequest>): Promise<Decision>
  clock: TestClock
  events: { reason?: string; detail?: string; scheme?: string; keyId?: string }[]
}

/** An authorizer over the given schemes with an injected clock and recorded decision events. */
export function harness(schemes: Scheme[], options: Partial<AuthorizerOptions> = {}): Harness {
  const clock = testClock()
  const events: Harness['events'] = []
  const authorizer = createAuthorizer({
    store: new MemoryKeyStore(),
    schemes,
    now: clock.now,
    onDecision: (e) => events.push({ reason: e.reason, detail: e.detail, scheme: e.scheme, keyId: e.keyId }),
    ...options,
  })
  return {
    clock,
    events,
    authorize: (authorization, need, extra) =>
      authorizer.authorize(
        {
          method: 'GET',
          url: '/scans',
          headers: authorization === undefined ? {} : { authorization },
          remoteAddress: '127.0.0.1',
          ...extra,
        },
        need,
      ),
  }
}

export function asDeny(d: Decision): DenyDecision {
  expect(d.allow).toBe(false)
  return d as DenyDecision
}

/** 401 invalid_credentials, reason invalid_token, RFC 6750 challenge, and a body that echoes nothing. */
export function expectInvalidToken(d: Decision, token?: string): void {
  const deny = asDeny(d)
  expect({ status: deny.status, code: deny.code, reason: deny.reason }).toEqual({ status: 401, code: 'invalid_credentials', reason: 'invalid_token' })
  expect(deny.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"')
  const r = renderDeny(deny)
  expect(r.status).toBe(401)
  expect(JSON.parse(r.body)).toMatchObject({ status: 401, code: 'invalid_credentials' })
  if (token !== undefined) {
    for (const part of token.split('.')) if (part.length > 0) expect(r.body).not.toContain(part)
    expect(JSON.stringify(r.headers)).not.toContain(token.split('.')[0])
  }
}

/** 400 invalid_request with the RFC 6750 `invalid_request` challenge. */
export function expectMalformed(d: Decision): void {
  const deny = asDeny(d)
  expect({ status: deny.status, code: deny.code, reason: deny.reason }).toEqual({ status: 400, code: 'invalid_request', reason: 'malformed_credentials' })
  expect(deny.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_request"')
  expect(renderDeny(deny).status).toBe(400)
}
