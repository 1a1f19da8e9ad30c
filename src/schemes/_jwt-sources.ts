/**
 * Key sources of `schemes.jwt`: one static key, a local JWK Set, or a remote JWKS fetched with
 * `jose`'s `createRemoteJWKSet`. Each becomes a `getKey(header)` for `jwtVerify`. Keys named by
 * the token (`jwk`, `jku`, `x5u`, `x5c`) are never read (RFC 8725 §2.1); `kid` only selects
 * among configured keys. A source that cannot be reached rejects with {@link KeySourceDown}: the
 * request is 503, never 401 and never allowed.
 * @module
 */
import type { JSONWebKeySet, JWK } from 'jose'
import { fieldsOf, knownFields } from '../lib/options.js'
import { rangeError, typeError } from '../errors.js'
import { loadJose } from './_jose.js'
import { algInfo, RSA_MIN_BITS } from './_jwt-algs.js'
import { cryptoKeyFor, keyMaterial, modulusBits, PRIVATE_JWK_MEMBERS } from './_jwt-keys.js'
import { intIn } from './_jwt-options.js'
import type { JwtAlgorithm, JwtKey, RemoteJwks } from './jwt.js'

/** What `jwtVerify` asks for a key with. */
export type GetKey = (header: { alg?: string }) => Promise<CryptoKey>

/** An `alg` outside `algorithms` reached key selection (never expected: jose refuses it first). */
class AlgNotListed extends Error {
  readonly code = 'ERR_JOSE_ALG_NOT_ALLOWED'
}

/** A key source that could not be reached: the request is 503, never 401 and never allowed. */
export class KeySourceDown extends Error {
  constructor(readonly detail: string) {
    super(detail)
  }
}

const REMOTE_FIELDS = fieldsOf<RemoteJwks>({ url: true, timeoutMs: true, cooldownMs: true, cacheMaxAgeMs: true })

/** Errors from a remote JWKS that are the token's fault (401); anything else means the key source failed (503). */
const TOKEN_FAULTS: ReadonlySet<unknown> = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED'])

/** One configured key, checked against every listed algorithm now, imported once per algorithm on first use. */
export function staticKey(key: JwtKey, algorithms: readonly JwtAlgorithm[]): GetKey {
  const material = keyMaterial(key, algorithms, 'verify', 'key')
  const imported = new Map<string, Promise<CryptoKey>>()
  return (header) => {
    // jose has already refused an `alg` outside `algorithms` before asking for the key; this
    // check is defence in depth, so a key is never imported for an algorithm not listed.
    const alg = header.alg as JwtAlgorithm
    if (!algorithms.includes(alg)) return Promise.reject(new AlgNotListed())
    let p = imported.get(alg)
    if (p === undefined) {
      p = cryptoKeyFor(material, alg, 'verify').catch(() => {
        throw new KeySourceDown('key_unusable')
      })
      imported.set(alg, p)
    }
    return p
  }
}

/** A JWK Set option: a local set (`{ keys }`) or a remote one (`{ url }`), asymmetric algorithms only. */
export function jwksSource(j: unknown, algorithms: readonly JwtAlgorithm[]): GetKey {
  if (j === null || typeof j !== 'object' || Array.isArray(j)) throw typeError('jwks', 'must be a JWK Set ({ keys }) or { url }')
  if (algorithms.some((a) => algInfo(a).family === 'HS')) {
    throw rangeError('algorithms', 'HS* cannot be used with a JWKS (a key set is public; pass an HMAC secret as key)')
  }
  // Neither `url` nor `keys`: a misspelt remote source (`ulr`) is named as such.
  if (!('url' in j) && !('keys' in j)) knownFields(j, [...REMOTE_FIELDS, 'keys'], 'jwks')
  return 'url' in j ? remoteJwks(j as RemoteJwks) : localJwks(j as { keys?: unknown })
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}

/** `jwks.url`: https (http for loopback hosts only), without credentials. */
function jwksUrl(value: unknown): URL {
  if (typeof value !== 'string' && !(value instanceof URL)) throw typeError('jwks.url', 'must be a string or a URL')
  let url: URL
  try {
    url = new URL(value instanceof URL ? value.href : value)
  } catch {
    throw rangeError('jwks.url', 'is not a valid URL')
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw rangeError('jwks.url', 'must be https: (http: only for loopback hosts)')
  }
  if (url.username !== '' || url.password !== '') throw rangeError('jwks.url', 'must not contain credentials')
  return url
}

function remoteJwks(r: RemoteJwks): GetKey {
  knownFields(r, REMOTE_FIELDS, 'jwks')
  const url = jwksUrl(r.url)
  const remoteOptions = {
    timeoutDuration: intIn(r.timeoutMs, 2000, 1, 60_000, 'jwks.timeoutMs'),
    cooldownDuration: intIn(r.cooldownMs, 30_000, 0, 3_600_000, 'jwks.cooldownMs'),
    cacheMaxAge: intIn(r.cacheMaxAgeMs, 600_000, 0, 86_400_000, 'jwks.cacheMaxAgeMs'),
  }
  let fetchSet: ReturnType<Awaited<ReturnType<typeof loadJose>>['createRemoteJWKSet']> | undefined
  return async (header) => {
    fetchSet ??= (await loadJose()).createRemoteJWKSet(url, remoteOptions)
    try {
      return await fetchSet(header as Parameters<typeof fetchSet>[0])
    } catch (e) {
      if (e !== null && typeof e === 'object' && TOKEN_FAULTS.has((e as { code?: unknown }).code)) throw e
      throw new KeySourceDown((e as { code?: unknown } | null)?.code === 'ERR_JWKS_TIMEOUT' ? 'jwks_timeout' : 'jwks_unavailable')
    }
  }
}

function localJwks(j: { keys?: unknown }): GetKey {
  const set = checkLocalJwks(j)
  let local: ReturnType<Awaited<ReturnType<typeof loadJose>>['createLocalJWKSet']> | undefined
  return async (header) => {
    local ??= (await loadJose()).createLocalJWKSet(set)
    return local(header as Parameters<typeof local>[0])
  }
}

function checkLocalJwks(jwks: { keys?: unknown }): JSONWebKeySet {
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw typeError('jwks.keys', 'must be a non-empty array of public JWKs')
  const keys = jwks.keys.map((k: unknown, i) => {
    const f = `jwks.keys[${i}]`
    if (k === null || typeof k !== 'object' || Array.isArray(k)) throw typeError(f, 'must be a JWK object')
    const jwk = k as Record<string, unknown>
    if (typeof jwk.kty !== 'string') throw typeError(`${f}.kty`, 'must be a string')
    if (jwk.kty === 'oct') throw rangeError(f, 'a JWKS holds public keys; pass an HMAC secret as `key`')
    if (PRIVATE_JWK_MEMBERS.some((m) => jwk[m] !== undefined)) throw typeError(f, 'is a private JWK; a JWKS must hold public keys only')
    if (jwk.kty === 'RSA' && modulusBits(jwk.n, `${f}.n`) < RSA_MIN_BITS) throw rangeError(f, `RSA keys must be at least ${RSA_MIN_BITS} bits (RFC 7518 §3.3)`)
    return structuredClone(jwk) as JWK
  })
  return { keys }
}
