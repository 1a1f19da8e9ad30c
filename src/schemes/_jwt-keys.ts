/**
 * Key material of `schemes.jwt` and `mintToken`: a key is validated against every algorithm it
 * will be used with when the scheme (or the mint) is set up, copied into a form that cannot be
 * changed afterwards, and imported as a non-extractable `CryptoKey` bound to one algorithm when
 * first used. Keys reach `jose` only as such `CryptoKey`s, never as raw bytes or strings
 * (RFC 8725 §2.1, §3.1: no algorithm confusion).
 * @module
 */
import { quote, rangeError, typeError } from '../errors.js'
import { b64url } from './_b64url.js'
import { algInfo, hmacMin, importParams, requireFamilies, RSA_MIN_BITS } from './_jwt-algs.js'
import { keyEncodingOf } from './_key-shape.js'
import type { JwtAlgorithm } from './jwt.js'

/** What a key is usable for. */
export type Usage = 'verify' | 'sign'

/** A validated key, in a form that can be imported as a `CryptoKey` for any of its algorithms. */
export type KeyMaterial =
  | { readonly form: 'crypto'; readonly key: CryptoKey }
  | { readonly form: 'raw'; readonly bytes: Uint8Array<ArrayBuffer> }
  | { readonly form: 'spki' | 'pkcs8'; readonly der: Uint8Array<ArrayBuffer> }
  | { readonly form: 'jwk'; readonly jwk: JsonWebKey }

interface NodeKeyObjectLike {
  readonly type: string
  readonly asymmetricKeyType?: string
  readonly asymmetricKeyDetails?: { readonly modulusLength?: number; readonly namedCurve?: string }
  readonly symmetricKeySize?: number
  export(options?: { type?: string; format?: string }): Uint8Array
}

const NODE_CURVES: ReadonlyMap<string, string> = new Map([
  ['prime256v1', 'P-256'],
  ['secp384r1', 'P-384'],
  ['secp521r1', 'P-521'],
])

/** JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2). */
export const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'priv'] as const

const tagOf = (v: object): unknown => (v as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag]

function decodedLength(s: unknown, field: string): number {
  if (typeof s !== 'string' || s.length === 0 || !/^[A-Za-z0-9_-]+$/.test(s)) throw typeError(field, 'must be a non-empty base64url string')
  return Math.floor((s.length * 3) / 4)
}

/** Bit length of an RSA modulus given as base64url (RFC 7518 §6.3.1.1). */
export function modulusBits(n: unknown, field: string): number {
  decodedLength(n, field)
  let bytes: Uint8Array
  try {
    bytes = b64url.decode(n as string)
  } catch {
    throw typeError(field, 'must be a base64url string')
  }
  let i = 0
  while (i < bytes.length && bytes[i] === 0) i++
  if (i === bytes.length) return 0
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]!))
}

function checkSecret(bytes: Uint8Array, algs: readonly JwtAlgorithm[], field: string, what: string): Uint8Array<ArrayBuffer> {
  requireFamilies(algs, (a) => a.family === 'HS', what, field)
  // A public key taken as an HMAC secret lets anyone who holds it sign tokens (RFC 8725 §2.1).
  const encoding = keyEncodingOf(bytes)
  if (encoding !== undefined) {
    throw rangeError(field, `looks like a ${encoding} key: an HMAC secret must be random bytes, and a public key must be passed as a KeyObject or CryptoKey (RFC 8725 §2.1)`)
  }
  const min = hmacMin(algs)
  if (bytes.length < min) throw rangeError(field, `an HMAC secret for ${algs.join(', ')} must be at least ${min} bytes (got ${bytes.length}; RFC 7518 §3.2)`)
  return new Uint8Array(bytes) // a copy: the caller may reuse or zero its buffer
}

function checkCryptoKey(key: CryptoKey, algs: readonly JwtAlgorithm[], usage: Usage, field: string): KeyMaterial {
  const wanted = usage === 'verify' ? ['public', 'secret'] : ['private', 'secret']
  if (!wanted.includes(key.type)) {
    throw typeError(field, usage === 'verify' ? `is a ${key.type} CryptoKey; verifying needs the public key (or the HMAC secret)` : `is a ${key.type} CryptoKey; minting needs the private key (or the HMAC secret)`)
  }
  if (!key.usages.includes(usage)) throw rangeError(field, `CryptoKey usages must include "${usage}"`)
  const alg = key.algorithm as { name: string; hash?: { name: string }; namedCurve?: string; modulusLength?: number; length?: number }
  const hash = alg.hash?.name
  switch (alg.name) {
    case 'HMAC': {
      requireFamilies(algs, (a) => a.family === 'HS' && a.hash === hash, `an HMAC ${hash} CryptoKey`, field)
      const bytes = Math.floor((alg.length ?? 0) / 8)
      if (bytes < hmacMin(algs)) throw rangeError(field, `an HMAC secret for ${algs.join(', ')} must be at least ${hmacMin(algs)} bytes (RFC 7518 §3.2)`)
      break
    }
    case 'RSASSA-PKCS1-v1_5':
    case 'RSA-PSS':
      requireFamilies(algs, (a) => a.family === (alg.name === 'RSA-PSS' ? 'PS' : 'RS') && a.hash === hash, `an ${alg.name} ${hash} CryptoKey`, field)
      if ((alg.modulusLength ?? 0) < RSA_MIN_BITS) throw rangeError(field, `RSA keys must be at least ${RSA_MIN_BITS} bits (RFC 7518 §3.3)`)
      break
    case 'ECDSA':
      requireFamilies(algs, (a) => a.family === 'ES' && a.curve === alg.namedCurve, `an ECDSA ${alg.namedCurve} CryptoKey`, field)
      break
    case 'Ed25519':
      requireFamilies(algs, (a) => a.family === 'Ed', 'an Ed25519 CryptoKey', field)
      break
    default:
      throw rangeError(field, `CryptoKey algorithm ${quote(alg.name)} is not a JWS signature algorithm`)
  }
  return { form: 'crypto', key }
}

function checkKeyObject(key: NodeKeyObjectLike, algs: readonly JwtAlgorithm[], usage: Usage, field: string): KeyMaterial {
  if (key.type === 'secret') {
    return { form: 'raw', bytes: checkSecret(key.export(), algs, field, 'a secret KeyObject') }
  }
  const wanted = usage === 'verify' ? 'public' : 'private'
  if (key.type !== wanted) {
    throw typeError(field, usage === 'verify'
      ? `is a ${key.type} KeyObject; pass the public key (crypto.createPublicKey(privateKey))`
      : `is a ${key.type} KeyObject; minting needs the private key`)
  }
  const t = key.asymmetricKeyType
  const d = key.asymmetricKeyDetails ?? {}
  if (t === 'rsa') {
    requireFamilies(algs, (a) => a.family === 'RS' || a.family === 'PS', 'an RSA key', field)
    if ((d.modulusLength ?? 0) < RSA_MIN_BITS) throw rangeError(field, `RSA keys must be at least ${RSA_MIN_BITS} bits (RFC 7518 §3.3)`)
  } else if (t === 'ec') {
    const curve = NODE_CURVES.get(d.namedCurve ?? '')
    requireFamilies(algs, (a) => a.family === 'ES' && a.curve === curve, `an EC ${d.namedCurve ?? '?'} key`, field)
  } else if (t === 'ed25519') {
    requireFamilies(algs, (a) => a.family === 'Ed', 'an Ed25519 key', field)
  } else {
    throw rangeError(field, `${quote(t)} keys are not supported (use rsa, ec P-256/P-384/P-521 or ed25519; for PS* an "rsa" key)`)
  }
  const form = usage === 'verify' ? 'spki' : 'pkcs8'
  return { form, der: new Uint8Array(key.export({ type: form, format: 'der' })) }
}

/** The JWK members `use`, `alg` and `key_ops` (RFC 7517 §4.2-4.4), when present, must allow this use. */
function checkJwkUse(jwk: Record<string, unknown>, algs: readonly JwtAlgorithm[], usage: Usage, field: string): void {
  if (jwk.use !== undefined && jwk.use !== 'sig') throw rangeError(`${field}.use`, 'must be "sig" when present')
  if (jwk.alg !== undefined) requireFamilies(algs, (_, name) => name === jwk.alg, `a JWK with alg ${quote(jwk.alg)}`, field)
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes(usage))) {
    throw rangeError(`${field}.key_ops`, `must include "${usage}" when present`)
  }
}

function checkJwk(jwk: Record<string, unknown>, algs: readonly JwtAlgorithm[], usage: Usage, field: string): KeyMaterial {
  const kty = jwk.kty
  if (typeof kty !== 'string') throw typeError(field, 'is not a CryptoKey, KeyObject, JWK or Uint8Array')
  checkJwkUse(jwk, algs, usage, field)
  if (kty === 'oct') {
    decodedLength(jwk.k, `${field}.k`)
    return { form: 'raw', bytes: checkSecret(b64url.decode(jwk.k as string), algs, field, 'an "oct" JWK') }
  }
  const isPrivate = PRIVATE_JWK_MEMBERS.some((m) => jwk[m] !== undefined)
  if (usage === 'verify' && isPrivate) throw typeError(field, 'is a private JWK; pass only its public members (kty, n, e / crv, x, y)')
  if (usage === 'sign' && typeof jwk.d !== 'string') throw typeError(field, 'is a public JWK; minting needs the private key ("d")')
  const out: Record<string, string> = { kty }
  const take = (...names: string[]): void => {
    for (const n of names) {
      decodedLength(jwk[n], `${field}.${n}`)
      out[n] = jwk[n] as string
    }
  }
  if (kty === 'RSA') {
    requireFamilies(algs, (a) => a.family === 'RS' || a.family === 'PS', 'an RSA JWK', field)
    take('n', 'e')
    if (modulusBits(jwk.n, `${field}.n`) < RSA_MIN_BITS) throw rangeError(field, `RSA keys must be at least ${RSA_MIN_BITS} bits (RFC 7518 §3.3)`)
    if (usage === 'sign') take('d', 'p', 'q', 'dp', 'dq', 'qi')
  } else if (kty === 'EC') {
    const crv = jwk.crv
    requireFamilies(algs, (a) => a.family === 'ES' && a.curve === crv, `an EC ${typeof crv === 'string' ? crv : '?'} JWK`, field)
    out.crv = crv as string
    take('x', 'y')
    if (usage === 'sign') take('d')
  } else if (kty === 'OKP') {
    if (jwk.crv !== 'Ed25519') throw rangeError(`${field}.crv`, 'only Ed25519 OKP keys are supported')
    requireFamilies(algs, (a) => a.family === 'Ed', 'an Ed25519 JWK', field)
    out.crv = 'Ed25519'
    take('x')
    if (usage === 'sign') take('d')
  } else {
    throw rangeError(`${field}.kty`, `${quote(kty)} is not supported (RSA, EC, OKP, oct)`)
  }
  return { form: 'jwk', jwk: out as JsonWebKey }
}

/**
 * Validates a key against every algorithm it will be used with, and copies it into a form that
 * is imported as a `CryptoKey` later. Throws a `TypeError`/`RangeError` naming `field`.
 */
export function keyMaterial(key: unknown, algs: readonly JwtAlgorithm[], usage: Usage, field: string): KeyMaterial {
  if (typeof key === 'string') {
    throw typeError(field, 'must be a CryptoKey, KeyObject, JWK or (for HS*) a Uint8Array, not a string: a PEM or password taken as an HMAC secret is the algorithm-confusion hole of RFC 8725 §2.1')
  }
  if (key instanceof Uint8Array) return { form: 'raw', bytes: checkSecret(key, algs, field, 'a Uint8Array secret') }
  if (key === null || typeof key !== 'object' || Array.isArray(key)) throw typeError(field, 'must be a CryptoKey, KeyObject, JWK or (for HS*) a Uint8Array')
  const tag = tagOf(key)
  if (tag === 'CryptoKey') return checkCryptoKey(key as CryptoKey, algs, usage, field)
  if (tag === 'KeyObject') return checkKeyObject(key as NodeKeyObjectLike, algs, usage, field)
  return checkJwk(key as Record<string, unknown>, algs, usage, field)
}

/** The non-extractable `CryptoKey` for one algorithm: what `jose` is given, never bytes. */
export async function cryptoKeyFor(m: KeyMaterial, alg: JwtAlgorithm, usage: Usage): Promise<CryptoKey> {
  if (m.form === 'crypto') return m.key
  const params = importParams(algInfo(alg))
  if (m.form === 'raw') return crypto.subtle.importKey('raw', m.bytes, params, false, [usage])
  if (m.form === 'jwk') return crypto.subtle.importKey('jwk', m.jwk, params, false, [usage])
  return crypto.subtle.importKey(m.form, m.der, params, false, [usage])
}
