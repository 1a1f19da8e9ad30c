/**
 * Tokens keyward did not sign: HS256 built by Python's standard library (hmac, hashlib, base64,
 * json) and ES256 signed by the openssl command line, both run as subprocesses. They show the
 * verifier follows RFC 7515/7518, not merely whatever jose's own signer produces.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { createPublicKey, type KeyObject } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { schemes } from '../../src/schemes/index.js'
import { b64u, claims, expectInvalidToken, harness, AUD, ISS, SECRET, T0_SEC } from './_helpers.js'

const PY = fileURLToPath(new URL('./tools/hs256.py', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'keyward-jwt-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function python(secret: Uint8Array, header: object, payload: object): string {
  const input = JSON.stringify({ secret_hex: Buffer.from(secret).toString('hex'), header, payload })
  return execFileSync('python3', [PY], { input, encoding: 'utf8' })
}

/** The openssl command line is optional outside CI (`.ci/run` installs it); without it, its suite is skipped, saying so. */
const HAVE_OPENSSL = spawnSync('openssl', ['version'], { stdio: 'ignore' }).error === undefined
const IN_CI = process.env.CI === 'true'
if (!HAVE_OPENSSL && !IN_CI) console.warn('[keyward] openssl JWT test skipped: no openssl command on PATH (install Debian\'s openssl)')

function openssl(...args: string[]): Buffer {
  return execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] })
}

/** ECDSA-Sig-Value (RFC 3279 §2.2.3, DER) → JOSE's raw r||s (RFC 7518 §3.4), 32 bytes each for P-256. */
function derToJose(der: Buffer, size = 32): Buffer {
  let i = 0
  const expectByte = (b: number) => {
    if (der[i++] !== b) throw new Error('not an ECDSA-Sig-Value')
  }
  const length = () => {
    let len = der[i++]!
    if (len & 0x80) {
      const n = len & 0x7f
      len = 0
      for (let k = 0; k < n; k++) len = (len << 8) | der[i++]!
    }
    return len
  }
  expectByte(0x30)
  length()
  const int = () => {
    expectByte(0x02)
    const len = length()
    let v = der.subarray(i, i + len)
    i += len
    while (v.length > size && v[0] === 0) v = v.subarray(1)
    const out = Buffer.alloc(size)
    v.copy(out, size - v.length)
    return out
  }
  return Buffer.concat([int(), int()])
}

describe('HS256 tokens made by Python (hmac + base64)', () => {
  const h = harness([schemes.jwt({ key: SECRET, algorithms: ['HS256'], issuer: ISS, audience: AUD })])

  it('verifies, and maps the claims to the principal', async () => {
    const token = python(SECRET, { alg: 'HS256', typ: 'JWT' }, claims({ sub: 'py-user', kw_tenant: 'acme', kw_grants: ['scans.create'] }))
    expect(token.split('.')).toHaveLength(3)
    const d = await h.authorize(`Bearer ${token}`, 'scans:manage')
    expect(d.allow).toBe(true)
    if (d.allow) expect(d.principal).toMatchObject({ keyId: 'py-user', owner: 'py-user', tenant: 'acme', role: 'Read Write', scheme: 'jwt', grants: ['scans.create'] })
  })

  it('is refused when Python signed with another secret', async () => {
    const token = python(new Uint8Array(32).fill(1), { alg: 'HS256' }, claims())
    expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
  })

  it('is refused when Python made it expired or for another audience', async () => {
    for (const extra of [{ exp: T0_SEC - 3600 }, { aud: 'https://elsewhere.test' }]) {
      const token = python(SECRET, { alg: 'HS256' }, claims(extra))
      expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
    }
  })

  it('is refused when Python made an HS384 token for an HS256-only verifier', async () => {
    // Python signs with SHA-256 whatever the header says: a lying alg must not slip through.
    const token = python(SECRET, { alg: 'HS384' }, claims())
    expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
  })
})

describe.skipIf(!HAVE_OPENSSL && !IN_CI)('ES256 tokens signed by the openssl command line', () => {
  const keyPem = join(dir, 'ec.pem')
  const pubPem = join(dir, 'ec.pub.pem')
  let publicKey: KeyObject
  let n = 0
  // In a hook, not at collection: a skipped suite is still collected, and must not call openssl.
  beforeAll(() => {
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPem)
    openssl('pkey', '-in', keyPem, '-pubout', '-out', pubPem)
    publicKey = createPublicKey(readFileSync(pubPem))
  })

  /** Signs `header.payload` with `openssl dgst -sha256 -sign`, returning the DER signature. */
  function opensslSign(header: object, payload: object): { input: string; der: Buffer } {
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`
    const file = join(dir, `input-${n++}.txt`)
    writeFileSync(file, input)
    return { input, der: openssl('dgst', '-sha256', '-sign', keyPem, file) }
  }

  it('verifies with the public key as a KeyObject, after DER → r||s conversion', async () => {
    const h = harness([schemes.jwt({ key: publicKey, algorithms: ['ES256'], issuer: ISS, audience: AUD })])
    const { input, der } = opensslSign({ alg: 'ES256', typ: 'JWT' }, claims({ sub: 'ossl' }))
    const token = `${input}.${b64u(derToJose(der))}`
    const d = await h.authorize(`Bearer ${token}`, 'scans:read')
    expect(d.allow && d.principal.keyId).toBe('ossl')
  })

  it('verifies with the public key as a JWK, in a local JWKS selected by kid, and as a CryptoKey', async () => {
    const jwk = publicKey.export({ format: 'jwk' })
    const cryptoKey = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
    const { input, der } = opensslSign({ alg: 'ES256', kid: 'ossl-1' }, claims())
    const token = `${input}.${b64u(derToJose(der))}`
    for (const options of [{ key: jwk }, { key: cryptoKey }, { jwks: { keys: [{ ...jwk, kid: 'ossl-0', x: jwk.y, y: jwk.x }, { ...jwk, kid: 'ossl-1' }] } }]) {
      const h = harness([schemes.jwt({ ...options, algorithms: ['ES256'], issuer: ISS, audience: AUD })])
      expect((await h.authorize(`Bearer ${token}`)).allow).toBe(true)
    }
  })

  it('refuses the raw DER signature (JOSE wants r||s), and a signature over other claims', async () => {
    const h = harness([schemes.jwt({ key: publicKey, algorithms: ['ES256'], issuer: ISS, audience: AUD })])
    const { input, der } = opensslSign({ alg: 'ES256' }, claims())
    const asDer = `${input}.${b64u(der)}`
    expectInvalidToken(await h.authorize(`Bearer ${asDer}`), asDer)
    const other = opensslSign({ alg: 'ES256' }, claims({ sub: 'someone-else' }))
    const spliced = `${input}.${b64u(derToJose(other.der))}`
    expectInvalidToken(await h.authorize(`Bearer ${spliced}`), spliced)
  })

  it('refuses an openssl ES256 token at a verifier that holds a different P-256 key', async () => {
    const otherPem = join(dir, 'other.pem')
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', otherPem)
    const otherPub = createPublicKey(openssl('pkey', '-in', otherPem, '-pubout'))
    const h = harness([schemes.jwt({ key: otherPub, algorithms: ['ES256'], issuer: ISS, audience: AUD })])
    const { input, der } = opensslSign({ alg: 'ES256' }, claims())
    const token = `${input}.${b64u(derToJose(der))}`
    expectInvalidToken(await h.authorize(`Bearer ${token}`), token)
  })
})
