/**
 * A public or private key, in any encoding, is never accepted as an HMAC secret: whoever holds the
 * public key could otherwise sign HS256 tokens the server accepts (RFC 8725 §2.1). Real keys from
 * node:crypto, every export format, every way a secret can be handed to `schemes.jwt` and
 * `mintToken`.
 */
import { createHash, createSecretKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isDerSequence, keyEncodingOf } from '../../src/schemes/_key-shape.js'
import { schemes } from '../../src/schemes/index.js'
import { mintToken } from '../../src/tokens.js'
import type { Principal } from '../../src/types.js'

const enc = new TextEncoder()
const bytes = (b: Buffer | string): Uint8Array => (typeof b === 'string' ? enc.encode(b) : new Uint8Array(b))

/** OpenSSH `ssh-ed25519 AAAA…` line for an Ed25519 public key (RFC 8709 §4). */
function openSsh(pub: KeyObject): string {
  const raw = Buffer.from(pub.export({ format: 'jwk' }).x!, 'base64url')
  const str = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b])
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]).toString('base64')} me@host\n`
}

function encodings(name: string, pair: { publicKey: KeyObject; privateKey: KeyObject }): [string, Uint8Array][] {
  const { publicKey: pub, privateKey: priv } = pair
  const spki = pub.export({ type: 'spki', format: 'der' })
  const pkcs8 = priv.export({ type: 'pkcs8', format: 'der' })
  const out: [string, Uint8Array][] = [
    [`${name} public SPKI DER`, bytes(spki)],
    [`${name} private PKCS#8 DER`, bytes(pkcs8)],
    [`${name} public SPKI PEM`, bytes(pub.export({ type: 'spki', format: 'pem' }) as string)],
    [`${name} private PKCS#8 PEM`, bytes(priv.export({ type: 'pkcs8', format: 'pem' }) as string)],
    [`${name} public JWK text`, bytes(JSON.stringify(pub.export({ format: 'jwk' })))],
    [`${name} private JWK text`, bytes(JSON.stringify(priv.export({ format: 'jwk' })))],
    [`${name} public JWK Set text`, bytes(JSON.stringify({ keys: [pub.export({ format: 'jwk' })] }, null, 2))],
    [`${name} public SPKI as base64 text`, bytes(spki.toString('base64'))],
    [`${name} public SPKI as base64url text`, bytes(spki.toString('base64url'))],
    [`${name} public SPKI as hex text`, bytes(spki.toString('hex'))],
    [`${name} PEM body without armour`, bytes((pub.export({ type: 'spki', format: 'pem' }) as string).split('\n').slice(1, -2).join('\n'))],
  ]
  if (name === 'RSA') {
    out.push(['RSA public PKCS#1 DER', bytes(pub.export({ type: 'pkcs1', format: 'der' }))])
    out.push(['RSA private PKCS#1 DER', bytes(priv.export({ type: 'pkcs1', format: 'der' }))])
    out.push(['RSA public PKCS#1 PEM', bytes(pub.export({ type: 'pkcs1', format: 'pem' }) as string)])
  }
  if (name === 'EC') {
    out.push(['EC private SEC1 DER', bytes(priv.export({ type: 'sec1', format: 'der' }))])
    out.push(['EC private SEC1 PEM', bytes(priv.export({ type: 'sec1', format: 'pem' }) as string)])
  }
  if (name === 'Ed25519') out.push(['Ed25519 OpenSSH public key', bytes(openSsh(pub))])
  return out
}

const KEYS: [string, Uint8Array][] = [
  ...encodings('RSA', generateKeyPairSync('rsa', { modulusLength: 2048 })),
  ...encodings('EC', generateKeyPairSync('ec', { namedCurve: 'P-256' })),
  ...encodings('Ed25519', generateKeyPairSync('ed25519')),
]

const principal: Principal = Object.freeze({
  keyId: 'key_1', kind: 'user', owner: 'ana', role: 'Read Only', scheme: 'api-key', grants: [], permissions: ['apps:read'], can: () => true,
})
const opts = { algorithms: ['HS256'] as const, issuer: 'edge', audience: 'api' }

/** Every way a secret reaches keyward: bytes, a secret KeyObject, an "oct" JWK. */
const FORMS: [string, (b: Uint8Array) => unknown][] = [
  ['a Uint8Array', (b) => b],
  ['a secret KeyObject', (b) => createSecretKey(b)],
  ['an "oct" JWK', (b) => ({ kty: 'oct', k: Buffer.from(b).toString('base64url') })],
]

describe('an HMAC secret that is a key', () => {
  const cases = KEYS.flatMap(([what, b]) => FORMS.map(([form, wrap]) => ({ what, form, key: wrap(b) })))

  it.each(cases)('schemes.jwt refuses the $what passed as $form', ({ key }) => {
    expect(() => schemes.jwt({ key: key as never, ...opts, algorithms: ['HS256'] })).toThrow(/^key: looks like a [\w# ]+ key: an HMAC secret must be random bytes/)
  })

  it.each(cases)('mintToken refuses the $what passed as $form', async ({ key }) => {
    await expect(mintToken(principal, { key: key as never, algorithm: 'HS256', issuer: 'edge', audience: 'api' })).rejects.toThrow(/^key: looks like a [\w# ]+ key/)
  })

  it('still accepts random secrets of every HMAC size, as bytes, hex and base64 text', () => {
    // Deterministic pseudo-random secrets (SHA-512 of a counter), so the test cannot flake.
    const secretOf = (i: number): Uint8Array => new Uint8Array(createHash('sha512').update(`secret ${i}`).digest().subarray(0, 32 + (i % 33)))
    for (let i = 0; i < 2000; i++) {
      const secret = secretOf(i)
      expect(keyEncodingOf(secret)).toBeUndefined()
      expect(keyEncodingOf(bytes(Buffer.from(secret).toString('hex')))).toBeUndefined()
      expect(keyEncodingOf(bytes(Buffer.from(secret).toString('base64')))).toBeUndefined()
    }
    expect(() => schemes.jwt({ key: secretOf(0), ...opts, algorithms: ['HS256'] })).not.toThrow()
  })

  it('reads DER strictly: a truncated, padded or indefinite-length structure is not a key', () => {
    const der = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }))
    expect(isDerSequence(der)).toBe(true)
    expect(isDerSequence(der.subarray(0, der.length - 1))).toBe(false)
    expect(isDerSequence(new Uint8Array([...der, 0]))).toBe(false)
    expect(isDerSequence(new Uint8Array([0x30, 0x80, 0x02, 0x01, 0x00, 0x00, 0x00]))).toBe(false)
    expect(isDerSequence(new Uint8Array(0))).toBe(false)
  })
})

describe('what keyEncodingOf recognises', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const spki = ec.publicKey.export({ type: 'spki', format: 'der' })

  it.each([
    ['DER', bytes(spki)],
    ['PEM', bytes(ec.publicKey.export({ type: 'spki', format: 'pem' }) as string)],
    ['JWK', bytes(JSON.stringify(ec.publicKey.export({ format: 'jwk' })))],
    ['JWK', bytes(` \n${JSON.stringify({ keys: [] })}`)],
    ['OpenSSH', bytes('ecdsa-sha2-nistp256 AAAA me@host')],
    ['OpenSSH', bytes('ssh-rsa AAAA me@host')],
    ['base64 or hex DER', bytes(spki.toString('base64'))],
    ['base64 or hex DER', bytes(spki.toString('hex').toUpperCase())],
    ['base64 or hex DER', bytes(spki.toString('base64url'))],
    ['base64 or hex DER', bytes(spki.toString('base64').replace(/(.{16})/g, '$1\r\n'))],
  ])('names %s', (name, b) => {
    expect(keyEncodingOf(b)).toBe(name)
  })

  it.each([
    ['JSON that is no JWK', bytes('{"k":"c2VjcmV0"}')],
    ['JSON with kty only in a nested object', bytes('{"key":{"kty":"oct"}}')],
    ['text that is not JSON but opens with a brace', bytes('{kty}')],
    ['a word that merely starts like OpenSSH', bytes('ssh-rsaAAAA')],
    ['base64 of bytes that are not DER', bytes(Buffer.from('not a key at all, just text').toString('base64'))],
    ['hex of bytes that are not DER', bytes(Buffer.from('not a key at all').toString('hex'))],
    ['hex of DER with an odd digit added', bytes(`${spki.toString('hex')}0`)],
    ['base64 of DER with a character base64 lacks', bytes(`${spki.toString('base64').slice(0, 20)}!${spki.toString('base64').slice(21)}`)],
    ['seven hex digits of text', bytes('3003020')],
  ])('does not name %s', (_, b) => {
    expect(keyEncodingOf(b)).toBeUndefined()
  })

  it('looks for text encodings only in the first 16 KiB: longer bytes are a key only as DER', () => {
    const pem = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string
    expect(keyEncodingOf(bytes(pem.padEnd(16_384, ' ')))).toBe('PEM')
    expect(keyEncodingOf(bytes(pem.padEnd(16_385, ' ')))).toBeUndefined()
  })
})

describe('isDerSequence, byte by byte', () => {
  const der = (...b: number[]) => isDerSequence(new Uint8Array(b))
  const zeros = (n: number) => Array.from({ length: n }, () => 0)

  it('accepts a SEQUENCE of well-formed TLVs that fill it exactly, opening with an INTEGER or a SEQUENCE', () => {
    expect(der(0x30, 0x03, 0x02, 0x01, 0x00)).toBe(true)
    expect(der(0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00)).toBe(true)
    // The last TLV ends exactly at the end, and may be empty.
    expect(der(0x30, 0x05, 0x02, 0x01, 0x00, 0x05, 0x00)).toBe(true)
    // A long-form length of one octet, 0x80 and up (X.690 §10.1).
    expect(der(0x30, 0x81, 0x80, 0x02, 0x7e, ...zeros(126))).toBe(true)
    expect(der(0x30, 0x82, 0x01, 0x00, 0x02, 0x81, 0xfd, ...zeros(253))).toBe(true)
  })

  it.each([
    ['fewer than four bytes', [0x30, 0x01, 0x05]],
    ['another outer tag', [0x31, 0x03, 0x02, 0x01, 0x00]],
    ['an OCTET STRING first', [0x30, 0x03, 0x04, 0x01, 0x00]],
    ['a high-tag-number form inside', [0x30, 0x05, 0x02, 0x01, 0x00, 0x1f, 0x00]],
    ['a high-tag-number form outside', [0x3f, 0x03, 0x02, 0x01, 0x00]],
    ['a tag with no length octet at the end', [0x30, 0x04, 0x02, 0x01, 0x00, 0x05]],
    ['an inner TLV longer than its SEQUENCE', [0x30, 0x03, 0x02, 0x02, 0x00, 0x00]],
    ['the long form for a length under 0x80', [0x30, 0x81, 0x03, 0x02, 0x01, 0x00]],
    ['a long-form length with a leading zero octet', [0x30, 0x82, 0x00, 0x80, 0x02, 0x7e, ...zeros(126)]],
    ['an indefinite length', [0x30, 0x80, 0x02, 0x01, 0x00, 0x00, 0x00]],
    ['a long-form length cut short', [0x30, 0x03, 0x02, 0x82, 0x01]],
    ['a length over four octets', [0x30, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00, ...zeros(4)]],
  ])('refuses %s', (_, b) => {
    expect(isDerSequence(new Uint8Array(b))).toBe(false)
  })
})
