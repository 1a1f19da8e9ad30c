/**
 * `schemes.jwt(options)` validates everything when it is created: a misconfiguration that could
 * let a forged token through (no algorithms, no audience, a key unfit for an algorithm, a public
 * key as an HMAC secret) throws a TypeError/RangeError naming the field, and never later.
 */
import { constants, createSecretKey, generateKeyPairSync, sign as nodeSign } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { schemes } from '../../src/schemes/index.js'
import type { JwtOptions } from '../../src/schemes/jwt.js'
import { claims, compact, ecKeys, harness, hs256, rsaKeys, rsaSigner, AUD, ISS, SECRET } from './_helpers.js'

const base = { key: SECRET, algorithms: ['HS256'], issuer: ISS, audience: AUD } as JwtOptions
const make = (patch: Record<string, unknown>) => () => schemes.jwt({ ...base, ...patch } as JwtOptions)
const ec = ecKeys()
const rsa = rsaKeys()

describe('required options', () => {
  it.each([
    ['algorithms missing', { algorithms: undefined }, TypeError, /^algorithms: is required/],
    ['algorithms empty', { algorithms: [] }, TypeError, /^algorithms: is required/],
    ['algorithms a string', { algorithms: 'HS256' }, TypeError, /^algorithms: is required/],
    ['algorithms with none', { algorithms: ['HS256', 'none'] }, RangeError, /^algorithms\[1\]: "none" is never accepted/],
    ['an unknown algorithm', { algorithms: ['HS257'] }, RangeError, /^algorithms\[0\]: "HS257" is not a supported algorithm/],
    ['audience missing', { audience: undefined }, TypeError, /^audience: is required/],
    ['audience empty array', { audience: [] }, TypeError, /^audience: is required/],
    ['audience empty string', { audience: '' }, RangeError, /^audience\[0\]: must be a non-empty string/],
    ['audience true', { audience: true }, TypeError, /^audience: is required/],
    ['issuer missing', { issuer: undefined }, TypeError, /^issuer: is required/],
    ['issuer null', { issuer: null }, TypeError, /^issuer: is required/],
    ['neither key nor jwks', { key: undefined }, TypeError, /^key: pass exactly one of key and jwks/],
    ['both key and jwks', { jwks: { keys: [ec.publicKey.export({ format: 'jwk' })] } }, TypeError, /^key: pass exactly one/],
    ['a misspelt option', { audiance: AUD }, RangeError, /^options: unknown field "audiance"/],
  ])('throws on %s', (_, patch, type, message) => {
    expect(make(patch)).toThrow(type)
    expect(make(patch)).toThrow(message)
  })

  it('throws on options that are not an object', () => {
    expect(() => schemes.jwt(null as unknown as JwtOptions)).toThrow(/^options: must be an object/)
  })
})

describe('numeric and string options', () => {
  it.each([-1, 301, Number.NaN, Number.POSITIVE_INFINITY, '60'])('clockToleranceSec %j is a RangeError', (v) => {
    expect(make({ clockToleranceSec: v })).toThrow(/^clockToleranceSec: must be a number of seconds from 0 to 300/)
  })
  it('clockToleranceSec 0 and 300 are accepted', () => {
    expect(make({ clockToleranceSec: 0 })).not.toThrow()
    expect(make({ clockToleranceSec: 300 })).not.toThrow()
  })
  it.each(['', 'a b', 'x'.repeat(101), 5])('typ %j is a RangeError', (v) => {
    expect(make({ typ: v })).toThrow(/^typ: /)
  })
  it.each([
    [{ tenant: '' }, /^claims\.tenant: must be a claim name/],
    [{ role: 7 }, /^claims\.role: must be a claim name/],
    [{ scope: 'scope' }, /^claims: unknown field "scope"/],
    [null, /^claims: must be an object/],
    ['sub', /^claims: must be an object/],
  ])('claims %j throws', (c, message) => {
    expect(make({ claims: c })).toThrow(message)
  })
  it.each([
    [{ maxEntries: 0 }, /^cache\.maxEntries: must be an integer from 1/],
    [{ maxEntries: 1.5 }, /^cache\.maxEntries/],
    [{ ttlSec: 0 }, /^cache\.ttlSec: must be an integer from 1 to 3600/],
    [{ ttlSec: 3601 }, /^cache\.ttlSec/],
    [null, /^cache: must be an object or false/],
    [true, /^cache: must be an object or false/],
  ])('cache %j throws', (c, message) => {
    expect(make({ cache: c })).toThrow(message)
  })
})

describe('the key must fit every listed algorithm (RFC 8725 §3.1, RFC 7518 §3)', () => {
  const ed = generateKeyPairSync('ed25519')
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 })
  const p384 = ecKeys('P-384')

  it.each([
    ['a string secret', { key: 'a-very-long-shared-secret-of-more-than-32-bytes' }, TypeError, /^key: must be a CryptoKey, KeyObject, JWK or \(for HS\*\) a Uint8Array, not a string/],
    ['a number', { key: 42 }, TypeError, /^key: must be a CryptoKey/],
    ['a 31-byte secret', { key: new Uint8Array(31) }, RangeError, /^key: an HMAC secret for HS256 must be at least 32 bytes \(got 31/],
    ['a 32-byte secret for HS512', { key: new Uint8Array(32), algorithms: ['HS256', 'HS512'] }, RangeError, /must be at least 64 bytes/],
    ['a private EC KeyObject', { key: ec.privateKey, algorithms: ['ES256'] }, TypeError, /^key: is a private KeyObject; pass the public key/],
    ['a private EC JWK', { key: ec.privateKey.export({ format: 'jwk' }), algorithms: ['ES256'] }, TypeError, /^key: is a private JWK/],
    ['a P-384 key for ES256', { key: p384.publicKey, algorithms: ['ES256'] }, RangeError, /^key: an EC secp384r1 key cannot be used with ES256/],
    ['a P-256 key for ES256 and ES384', { key: ec.publicKey, algorithms: ['ES256', 'ES384'] }, RangeError, /cannot be used with ES384/],
    ['an EC key for RS256', { key: ec.publicKey, algorithms: ['RS256'] }, RangeError, /cannot be used with RS256/],
    ['an RSA key of 1024 bits', { key: small.publicKey, algorithms: ['RS256'] }, RangeError, /^key: RSA keys must be at least 2048 bits/],
    ['an RSA JWK of 1024 bits', { key: small.publicKey.export({ format: 'jwk' }), algorithms: ['RS256'] }, RangeError, /at least 2048 bits/],
    ['an rsa-pss KeyObject', { key: pss.publicKey, algorithms: ['PS256'] }, RangeError, /"rsa-pss" keys are not supported/],
    ['an Ed25519 key for ES256', { key: ed.publicKey, algorithms: ['ES256'] }, RangeError, /an Ed25519 key cannot be used with ES256/],
    ['a JWK whose alg differs', { key: { ...ec.publicKey.export({ format: 'jwk' }), alg: 'ES384' }, algorithms: ['ES256'] }, RangeError, /alg "ES384" cannot be used with ES256/],
    ['a JWK for encryption', { key: { ...ec.publicKey.export({ format: 'jwk' }), use: 'enc' }, algorithms: ['ES256'] }, RangeError, /^key\.use: must be "sig"/],
    ['a JWK without verify in key_ops', { key: { ...ec.publicKey.export({ format: 'jwk' }), key_ops: ['sign'] }, algorithms: ['ES256'] }, RangeError, /^key\.key_ops/],
    ['a JWK with a bad member', { key: { kty: 'EC', crv: 'P-256', x: 'not base64url!', y: 'AA' }, algorithms: ['ES256'] }, TypeError, /^key\.x: must be a non-empty base64url string/],
    ['a short oct JWK', { key: { kty: 'oct', k: Buffer.alloc(16).toString('base64url') } }, RangeError, /at least 32 bytes/],
    ['an unknown kty', { key: { kty: 'XYZ' } }, RangeError, /^key\.kty: "XYZ" is not supported/],
  ])('refuses %s', (_, patch, type, message) => {
    expect(make(patch)).toThrow(type)
    expect(make(patch)).toThrow(message)
  })

  it('refuses a private CryptoKey, and one without the verify usage', async () => {
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])
    expect(make({ key: pair.privateKey, algorithms: ['ES256'] })).toThrow(/^key: is a private CryptoKey/)
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    expect(make({ key: hmac })).toThrow(/^key: CryptoKey usages must include "verify"/)
    const hmac384 = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-384' }, false, ['verify'])
    expect(make({ key: hmac384 })).toThrow(/cannot be used with HS256/)
  })

  it('accepts each supported key form, and each verifies a token signed for it', async () => {
    const pssSign = (input: string) => nodeSign('sha256', Buffer.from(input), { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
    const cases: [Record<string, unknown>, string][] = [
      [{ key: rsa.publicKey, algorithms: ['RS256', 'PS256'] }, compact({ alg: 'RS256' }, claims(), rsaSigner(rsa.privateKey))],
      [{ key: rsa.publicKey, algorithms: ['RS256', 'PS256'] }, compact({ alg: 'PS256' }, claims(), pssSign)],
      [{ key: rsa.publicKey.export({ format: 'jwk' }), algorithms: ['RS512'] }, compact({ alg: 'RS512' }, claims(), rsaSigner(rsa.privateKey, 'sha512'))],
      [{ key: ed.publicKey, algorithms: ['EdDSA', 'Ed25519'] }, compact({ alg: 'EdDSA' }, claims(), (i) => nodeSign(null, Buffer.from(i), ed.privateKey))],
      [{ key: ed.publicKey.export({ format: 'jwk' }), algorithms: ['Ed25519'] }, compact({ alg: 'Ed25519' }, claims(), (i) => nodeSign(null, Buffer.from(i), ed.privateKey))],
      [{ key: { kty: 'oct', k: Buffer.from(SECRET).toString('base64url') } }, hs256(claims())],
      [{ key: createSecretKey(SECRET) }, hs256(claims())],
      [{ key: await crypto.subtle.importKey('raw', SECRET, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']) }, hs256(claims())],
    ]
    for (const [patch, token] of cases) {
      const h = harness([schemes.jwt({ ...base, ...patch } as JwtOptions)])
      expect((await h.authorize(`Bearer ${token}`)).allow).toBe(true)
    }
  })
})

describe('jwks', () => {
  const pub = ec.publicKey.export({ format: 'jwk' })
  it.each([
    ['HS256 with a JWKS', { key: undefined, jwks: { keys: [pub] }, algorithms: ['ES256', 'HS256'] }, RangeError, /^algorithms: HS\* cannot be used with a JWKS/],
    ['an empty set', { key: undefined, jwks: { keys: [] }, algorithms: ['ES256'] }, TypeError, /^jwks\.keys: must be a non-empty array/],
    ['a private key in the set', { key: undefined, jwks: { keys: [pub, ec.privateKey.export({ format: 'jwk' })] }, algorithms: ['ES256'] }, TypeError, /^jwks\.keys\[1\]: is a private JWK/],
    ['a secret in the set', { key: undefined, jwks: { keys: [{ kty: 'oct', k: 'AAAA' }] }, algorithms: ['ES256'] }, RangeError, /^jwks\.keys\[0\]: a JWKS holds public keys/],
    ['a small RSA key in the set', { key: undefined, jwks: { keys: [generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' })] }, algorithms: ['RS256'] }, RangeError, /^jwks\.keys\[0\]: RSA keys must be at least 2048 bits/],
    ['http to a remote host', { key: undefined, jwks: { url: 'http://idp.example.com/jwks.json' }, algorithms: ['ES256'] }, RangeError, /^jwks\.url: must be https:/],
    ['another protocol', { key: undefined, jwks: { url: 'file:///etc/jwks.json' }, algorithms: ['ES256'] }, RangeError, /^jwks\.url: must be https:/],
    ['credentials in the URL', { key: undefined, jwks: { url: 'https://u:p@idp.example.com/jwks.json' }, algorithms: ['ES256'] }, RangeError, /^jwks\.url: must not contain credentials/],
    ['not a URL', { key: undefined, jwks: { url: 'not a url' }, algorithms: ['ES256'] }, RangeError, /^jwks\.url: is not a valid URL/],
    ['a URL of the wrong type', { key: undefined, jwks: { url: 5 }, algorithms: ['ES256'] }, TypeError, /^jwks\.url: must be a string or a URL/],
    ['a zero timeout', { key: undefined, jwks: { url: 'https://idp.example.com/j', timeoutMs: 0 }, algorithms: ['ES256'] }, RangeError, /^jwks\.timeoutMs/],
    ['a misspelt remote field', { key: undefined, jwks: { url: 'https://idp.example.com/j', timeout: 5 }, algorithms: ['ES256'] }, RangeError, /^jwks: unknown field "timeout"/],
  ])('refuses %s', (_, patch, type, message) => {
    expect(make(patch)).toThrow(type)
    expect(make(patch)).toThrow(message)
  })

  it('accepts https URLs, URL objects and loopback http', () => {
    for (const url of ['https://idp.example.com/jwks.json', new URL('https://idp.example.com/jwks'), 'http://127.0.0.1:8080/jwks', 'http://localhost/jwks', 'http://[::1]:9/jwks']) {
      expect(make({ key: undefined, jwks: { url }, algorithms: ['ES256'] })).not.toThrow()
    }
  })
})

describe('the caller\'s options are neither mutated nor referenced', () => {
  it('works with deeply frozen options, and ignores later changes to the secret bytes', async () => {
    const secret = new Uint8Array(SECRET)
    const options = { key: secret, algorithms: Object.freeze(['HS256'] as const), issuer: ISS, audience: Object.freeze([AUD]), claims: Object.freeze({ tenant: 'org' }), cache: Object.freeze({ maxEntries: 5 }) }
    const h = harness([schemes.jwt(Object.freeze(options) as unknown as JwtOptions)])
    secret.fill(0)
    expect((await h.authorize(`Bearer ${hs256(claims())}`)).allow).toBe(true)
    expect(options.claims).toEqual({ tenant: 'org' })
  })

  it('returns a frozen scheme that shares the Bearer challenge', () => {
    const s = schemes.jwt(base)
    expect(Object.isFrozen(s)).toBe(true)
    expect([s.name, s.headers, s.challengeScheme, s.bearerErrors]).toEqual(['jwt', ['authorization'], 'bearer', true])
    expect(s.challenge('api', 'invalid_token')).toBe(schemes.bearer().challenge('api', 'invalid_token'))
  })
})
