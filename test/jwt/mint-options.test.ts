/**
 * `mintToken` options and principals: misuse rejects with a TypeError/RangeError naming the
 * field; every supported signing-key form produces a token `schemes.jwt` accepts.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createAuthorizer } from '../../src/authorize.js'
import { schemes } from '../../src/schemes/index.js'
import type { JwtAlgorithm, JwtKey } from '../../src/schemes/jwt.js'
import { MemoryKeyStore } from '../../src/stores/memory.js'
import { mintToken, type MintTokenOptions } from '../../src/tokens.js'
import type { Principal } from '../../src/types.js'
import { ecKeys, rsaKeys, SECRET, T0 } from './_helpers.js'

const ec = ecKeys()
const principal: Principal = Object.freeze({
  keyId: 'key_1', kind: 'user', tenant: 'acme', owner: 'ana', role: 'Read Write', scheme: 'api-key',
  grants: ['scans.create'], permissions: ['scans:manage'], can: () => true,
})
const options = (patch: Record<string, unknown> = {}) =>
  ({ key: ec.privateKey, algorithm: 'ES256', issuer: 'edge', audience: 'inner', now: () => T0, ...patch }) as MintTokenOptions

describe('options', () => {
  it.each([
    ['no algorithm', { algorithm: undefined }, TypeError, /^algorithm: is required/],
    ['alg none', { algorithm: 'none' }, RangeError, /^algorithm: "none" is never accepted/],
    ['a public key', { key: ec.publicKey }, TypeError, /^key: is a public KeyObject; minting needs the private key/],
    ['a public JWK', { key: ec.publicKey.export({ format: 'jwk' }) }, TypeError, /^key: is a public JWK; minting needs the private key/],
    ['a key for another algorithm', { algorithm: 'RS256' }, RangeError, /^key: an EC prime256v1 key cannot be used with RS256/],
    ['a short HMAC secret', { key: new Uint8Array(16), algorithm: 'HS256' }, RangeError, /^key: an HMAC secret for HS256 must be at least 32 bytes/],
    ['a string secret', { key: 'x'.repeat(64), algorithm: 'HS256' }, TypeError, /^key: must be a CryptoKey/],
    ['no issuer', { issuer: undefined }, RangeError, /^issuer: is required/],
    ['no audience', { audience: undefined }, TypeError, /^audience: is required/],
    ['an empty audience list', { audience: [] }, TypeError, /^audience: is required/],
    ['an empty audience', { audience: [''] }, RangeError, /^audience\[0\]/],
    ['ttlSec 0', { ttlSec: 0 }, RangeError, /^ttlSec: must be an integer from 1 to 3600/],
    ['ttlSec above an hour', { ttlSec: 3601 }, RangeError, /^ttlSec/],
    ['a fractional ttlSec', { ttlSec: 1.5 }, RangeError, /^ttlSec/],
    ['a kid with a space', { kid: 'a b' }, RangeError, /^kid: /],
    ['a clock that is not a function', { now: 5 }, TypeError, /^now: must be a function/],
    ['a clock returning NaN', { now: () => Number.NaN }, RangeError, /^now: must return epoch milliseconds/],
    ['a misspelt option', { ttl: 60 }, RangeError, /^options: unknown field "ttl"/],
  ])('rejects %s', async (_, patch, type, message) => {
    await expect(mintToken(principal, options(patch))).rejects.toThrow(type)
    await expect(mintToken(principal, options(patch))).rejects.toThrow(message)
  })
})

describe('principals', () => {
  it.each([
    ['null', null, /^principal: must be the principal of an allowed decision/],
    ['no keyId', { ...principal, keyId: undefined }, /^principal\.keyId: is required/],
    ['kind tenant', { ...principal, kind: 'tenant' }, /^principal\.kind: must be "user" or "org"/],
    ['a token principal', { ...principal, scheme: 'jwt' }, /^principal: was authenticated by a token/],
    ['a permission with a space', { ...principal, permissions: ['scans:read scans:manage'] }, /^principal\.permissions\[0\]: is not a valid entry/],
    ['permissions missing', { ...principal, permissions: undefined }, /^principal\.permissions: must be an array/],
    ['a numeric tenant', { ...principal, tenant: 5 }, /^principal\.tenant: must be a non-empty string/],
  ])('rejects %s', async (_, p, message) => {
    await expect(mintToken(p as unknown as Principal, options())).rejects.toThrow(message)
  })

  it('does not modify the principal or the options', async () => {
    const opts = Object.freeze(options({ audience: Object.freeze(['inner', 'other']) }))
    await expect(mintToken(principal, opts)).resolves.toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
  })
})

describe('every signing-key form round-trips through schemes.jwt', () => {
  const rsa = rsaKeys()
  const ed = generateKeyPairSync('ed25519')

  const cases: [string, () => Promise<[JwtKey, JwtKey]>, JwtAlgorithm][] = [
    ['HS256 Uint8Array', async () => [SECRET, SECRET], 'HS256'],
    ['HS512 oct JWK', async () => {
      const k = { kty: 'oct', k: Buffer.alloc(64, 9).toString('base64url') }
      return [k, k]
    }, 'HS512'],
    ['ES256 KeyObject', async () => [ec.privateKey, ec.publicKey], 'ES256'],
    ['ES384 private JWK', async () => {
      const p = ecKeys('P-384')
      return [p.privateKey.export({ format: 'jwk' }), p.publicKey.export({ format: 'jwk' })]
    }, 'ES384'],
    ['PS256 RSA KeyObject', async () => [rsa.privateKey, rsa.publicKey], 'PS256'],
    ['RS256 private JWK', async () => [rsa.privateKey.export({ format: 'jwk' }), createPublicKey(rsa.privateKey)], 'RS256'],
    ['EdDSA KeyObject', async () => [ed.privateKey, ed.publicKey], 'EdDSA'],
    ['ES256 CryptoKey pair', async () => {
      const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])
      return [pair.privateKey, pair.publicKey]
    }, 'ES256'],
  ]

  it.each(cases)('%s', async (_, keys, algorithm) => {
    const [signKey, verifyKey] = await keys()
    const token = await mintToken(principal, options({ key: signKey, algorithm }))
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: algorithm, typ: 'keyward+jwt' })
    const inner = createAuthorizer({
      store: new MemoryKeyStore(),
      schemes: [schemes.jwt({ key: verifyKey, algorithms: [algorithm], issuer: 'edge', audience: 'inner', typ: 'keyward+jwt' })],
      now: () => T0,
    })
    const d = await inner.authorize({ method: 'GET', headers: { authorization: `Bearer ${token}` } }, 'scans:manage')
    expect(d.allow && [d.principal.keyId, d.principal.tenant, d.principal.permissions, d.principal.grants]).toEqual(['key_1', 'acme', ['scans:manage'], ['scans.create']])
  })
})
