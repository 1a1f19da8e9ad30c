/**
 * The JWS algorithms of `schemes.jwt` and `mintToken` (RFC 7518 §3.1, RFC 8037), described once:
 * each algorithm's key family, hash and curve, the minimum key sizes, and the WebCrypto import
 * parameters. `none` is not one of them (RFC 8725 §3.2).
 * @module
 */
import { quote, rangeError, typeError } from '../errors.js'
import type { JwtAlgorithm } from './jwt.js'

type Family = 'HS' | 'RS' | 'PS' | 'ES' | 'Ed'

/** What one JWS algorithm needs of a key. */
export interface AlgInfo {
  readonly family: Family
  readonly hash: 'SHA-256' | 'SHA-384' | 'SHA-512'
  /** ES*: the curve (RFC 7518 §3.4). */
  readonly curve?: 'P-256' | 'P-384' | 'P-521'
}

/** Every supported algorithm, by its `alg` name. */
export const ALGS: ReadonlyMap<string, AlgInfo> = new Map<string, AlgInfo>([
  ['HS256', { family: 'HS', hash: 'SHA-256' }],
  ['HS384', { family: 'HS', hash: 'SHA-384' }],
  ['HS512', { family: 'HS', hash: 'SHA-512' }],
  ['RS256', { family: 'RS', hash: 'SHA-256' }],
  ['RS384', { family: 'RS', hash: 'SHA-384' }],
  ['RS512', { family: 'RS', hash: 'SHA-512' }],
  ['PS256', { family: 'PS', hash: 'SHA-256' }],
  ['PS384', { family: 'PS', hash: 'SHA-384' }],
  ['PS512', { family: 'PS', hash: 'SHA-512' }],
  ['ES256', { family: 'ES', hash: 'SHA-256', curve: 'P-256' }],
  ['ES384', { family: 'ES', hash: 'SHA-384', curve: 'P-384' }],
  ['ES512', { family: 'ES', hash: 'SHA-512', curve: 'P-521' }],
  ['EdDSA', { family: 'Ed', hash: 'SHA-512' }],
  ['Ed25519', { family: 'Ed', hash: 'SHA-512' }],
])

/** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
const HMAC_MIN_BYTES = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 } as const
/** RFC 7518 §3.3/§3.5: RSA keys of 2048 bits or more. */
export const RSA_MIN_BITS = 2048

/** The descriptor of an algorithm already validated by {@link checkAlgorithm}. */
export function algInfo(alg: JwtAlgorithm): AlgInfo {
  return ALGS.get(alg)!
}

/** Validates one algorithm name: supported, and never `none` (RFC 8725 §3.2). */
export function checkAlgorithm(value: unknown, field: string): JwtAlgorithm {
  if (typeof value !== 'string') throw typeError(field, 'must be a JWS algorithm name, e.g. "ES256"')
  if (value.toLowerCase() === 'none') throw rangeError(field, '"none" is never accepted (RFC 8725 §3.2)')
  if (!ALGS.has(value)) throw rangeError(field, `${quote(value)} is not a supported algorithm (${[...ALGS.keys()].join(', ')})`)
  return value as JwtAlgorithm
}

/** Validates `algorithms`: a non-empty array of supported names; returns a deduplicated copy. */
export function checkAlgorithms(value: unknown, field: string): JwtAlgorithm[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw typeError(field, 'is required: a non-empty array of JWS algorithms, e.g. ["ES256"] (RFC 8725 §3.1)')
  }
  const out: JwtAlgorithm[] = []
  value.forEach((a: unknown, i) => {
    const alg = checkAlgorithm(a, `${field}[${i}]`)
    if (!out.includes(alg)) out.push(alg)
  })
  return out
}

/** Throws unless `ok` holds for every listed algorithm: a key must suit all of them (RFC 8725 §3.1). */
export function requireFamilies(algs: readonly JwtAlgorithm[], ok: (a: AlgInfo, name: JwtAlgorithm) => boolean, what: string, field: string): void {
  for (const a of algs) {
    if (!ok(algInfo(a), a)) throw rangeError(field, `${what} cannot be used with ${a}; list only algorithms this key is for (RFC 8725 §3.1)`)
  }
}

/** The shortest HMAC secret every listed algorithm accepts (RFC 7518 §3.2). */
export function hmacMin(algs: readonly JwtAlgorithm[]): number {
  let min = 32
  for (const a of algs) min = Math.max(min, HMAC_MIN_BYTES[algInfo(a).hash])
  return min
}

/** The WebCrypto parameters that import a key for one algorithm. */
export function importParams(alg: AlgInfo): AlgorithmIdentifier | RsaHashedImportParams | EcKeyImportParams | HmacImportParams {
  switch (alg.family) {
    case 'HS':
      return { name: 'HMAC', hash: alg.hash }
    case 'RS':
      return { name: 'RSASSA-PKCS1-v1_5', hash: alg.hash }
    case 'PS':
      return { name: 'RSA-PSS', hash: alg.hash }
    case 'ES':
      return { name: 'ECDSA', namedCurve: alg.curve! }
    default:
      return { name: 'Ed25519' }
  }
}
