/**
 * `schemes.jwt`: signed tokens (RFC 7519 JWTs, RFC 7515 compact JWS) in
 * `Authorization: Bearer <jwt>` (RFC 6750 §2.1), verified in-process with `jose`.
 *
 * Two uses share this scheme: tokens from an identity provider (verified with its JWKS), and
 * short-lived tokens minted from an API key at the edge by `mintToken` (see `../tokens.ts`),
 * verified inward with the minting key's public half.
 *
 * What it defends against, after RFC 8725 (JWT Best Current Practices):
 * - algorithm confusion (§2.1, §3.1): `algorithms` is required, `none` cannot be listed, and a key
 *   is checked against every listed algorithm when the scheme is created, so an RSA public key can
 *   never be used as an HMAC secret. Keys reach `jose` only as `CryptoKey`s bound to one
 *   algorithm, never as raw bytes or strings.
 * - keys named by the token (§2.1): `jwk`, `jku`, `x5u`, `x5c` headers are never read or fetched;
 *   the key comes from this configuration only. `kid` only selects among configured keys.
 * - weak HMAC secrets (§3.5, RFC 7518 §3.2): at least the hash size, never a PEM.
 * - issuer/audience confusion (§3.8, §3.9): both are required unless explicitly disabled.
 * - cross-JWT confusion (§3.11): `typ` can be pinned.
 * - `exp` is required and numeric, `nbf` is enforced, with a bounded clock tolerance; unknown
 *   `crit` extensions (RFC 7515 §4.1.11) are refused by `jose`.
 * @module
 */
import { fieldsOf, knownFields } from '../_options.js'
import type {
  CryptoKey as JoseCryptoKey,
  JSONWebKeySet,
  JWK,
  JWTPayload,
  JWTVerifyOptions,
  KeyObject,
} from 'jose'
import { quote, rangeError, typeError } from '../errors.js'
import { createHasher } from '../keys/hash.js'
import { b64url } from './_b64url.js'
import { loadJose, preloadJose } from './_jose.js'
import type { Scheme, TokenIdentity, TokenOutcome } from './_scheme.js'
import { keyEncodingOf } from './_key-shape.js'
import { bearerChallenge, readBearer } from './bearer.js'

/** The JWS algorithms keyward accepts (RFC 7518 §3.1, RFC 8037). `none` is not one of them. */
export type JwtAlgorithm =
  | 'HS256' | 'HS384' | 'HS512'
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512'
  | 'EdDSA' | 'Ed25519'

/**
 * A verification (or, for minting, signing) key: a WebCrypto `CryptoKey`, a Node `KeyObject`, a
 * JWK object, or, for HS* only, a `Uint8Array` secret. Strings (PEM, passwords) are refused.
 * (`CryptoKey` is jose's alias of the runtime's type, so consumers need no DOM typings.)
 */
export type JwtKey = JoseCryptoKey | KeyObject | JWK | Uint8Array

/** A JWKS fetched from a URL with `jose`'s `createRemoteJWKSet`. */
export interface RemoteJwks {
  /**
   * The JWKS URL (an IdP's `jwks_uri`). `https:` is required, except for loopback hosts.
   * @default (required)
   * @example 'https://idp.example.com/.well-known/jwks.json'
   */
  url: string | URL
  /**
   * A fetch that takes longer is abandoned; a token whose key is not known yet is then 503.
   * @default 2000
   * @example 1000
   */
  timeoutMs?: number
  /**
   * After a fetch, a token with an unknown `kid` does not trigger another fetch for this long
   * (it is 401). Protects the IdP from being hammered with made-up `kid`s.
   * @default 30000
   * @example 60000
   */
  cooldownMs?: number
  /**
   * How long a fetched JWKS is used without refetching. Known keys keep verifying while the
   * endpoint is down until this passes; then every token is 503 until it is back (fail closed).
   * @default 600000
   * @example 3600000
   */
  cacheMaxAgeMs?: number
}

/**
 * Which claim holds each field of the principal. Each is a top-level claim name, or `false` to
 * never read that field from tokens. The defaults are the claims `mintToken` writes, so minted
 * tokens are accepted without configuration; map your IdP's claims here.
 */
export interface JwtClaims {
  /**
   * The principal's `keyId` (rate-limit bucket, logs). Absent in a token: the `owner` claim's
   * value is used; absent too: the token is refused.
   * @default 'kw_key'
   * @example 'client_id'
   */
  keyId?: string | false
  /**
   * The principal's `owner` (the user the token is for).
   * @default 'sub'
   * @example 'email'
   */
  owner?: string | false
  /**
   * The principal's `tenant`, compared with the authorizer's `tenant(request)`.
   * @default 'kw_tenant'
   * @example 'org_id'
   */
  tenant?: string | false
  /**
   * A role of the authorizer's role matrix (a string). Without it a `user` token holds nothing.
   * @default 'kw_role'
   * @example 'app_role'
   */
  role?: string | false
  /**
   * `'user'` or `'org'` (an Org key: every permission of the matrix, in its tenant). Absent: `user`.
   * @default 'kw_kind'
   * @example false
   */
  kind?: string | false
  /**
   * The principal's `group`.
   * @default 'kw_group'
   * @example false
   */
  group?: string | false
  /**
   * Explicitly granted operations: an array of strings.
   * @default 'kw_grants'
   * @example 'operations'
   */
  grants?: string | false
  /**
   * Permissions (`resource:level`) that bound the role's: a space-separated string
   * (RFC 8693 §4.2 `scope`) or an array. When present, effective permissions are the role's
   * intersected with these; entries that are not permissions of the matrix are dropped. If your
   * IdP's `scope` holds OIDC scopes (`openid profile`), set this to `false`.
   * @default 'scope'
   * @example 'permissions'
   */
  scopes?: string | false
}

/** The verification cache (RFC 8725 leaves caching to the application; these are its bounds). */
export interface JwtCacheOptions {
  /**
   * Most verified tokens remembered (least recently used first out).
   * @default 10000
   * @example 1000
   */
  maxEntries?: number
  /**
   * A verified token is re-verified after this long even if it has not expired, so a key removed
   * from a JWKS stops working within it. Never longer than the token's `exp`.
   * @default 60
   * @example 30
   */
  ttlSec?: number
}

/** Options of {@link jwt}. */
export interface JwtOptions {
  /**
   * The single verification key. Exactly one of `key` and `jwks`. A `CryptoKey` or `KeyObject`
   * (public, or secret for HS*), a public JWK, or for HS* a `Uint8Array` of at least 32 bytes
   * (48 for HS384, 64 for HS512; RFC 7518 §3.2). It must suit every listed algorithm.
   * @default undefined
   * @example crypto.createPublicKey(fs.readFileSync('edge-signing.pub.pem'))
   */
  key?: JwtKey
  /**
   * A JWK Set: a local one (`{ keys: [...] }`, public keys only) or a remote one (`{ url }`). Only
   * asymmetric algorithms can be used with a JWKS.
   * @default undefined
   * @example { url: 'https://idp.example.com/.well-known/jwks.json' }
   */
  jwks?: JSONWebKeySet | RemoteJwks
  /**
   * Accepted `alg` values (required; RFC 8725 §3.1). A token with any other `alg` is refused
   * before a key is even looked up.
   * @default (required)
   * @example ['ES256']
   */
  algorithms: readonly JwtAlgorithm[]
  /**
   * Accepted `iss` values (RFC 8725 §3.8), or `false` to skip the check deliberately. Required:
   * a multi-tenant IdP signs every tenant's tokens with the same keys, and only `iss` tells
   * them apart.
   * @default (required)
   * @example 'https://idp.example.com/'
   */
  issuer: string | readonly string[] | false
  /**
   * Accepted `aud` values: a token must name at least one (RFC 8725 §3.9), or `false` to skip
   * the check deliberately.
   * @default (required)
   * @example 'https://api.example.com'
   */
  audience: string | readonly string[] | false
  /**
   * Clock skew allowed on `exp` and `nbf`, in seconds (0-300).
   * @default 60
   * @example 30
   */
  clockToleranceSec?: number
  /**
   * Required `typ` header (RFC 8725 §3.11 explicit typing), e.g. `keyward+jwt` to accept only
   * minted tokens, `at+jwt` for RFC 9068 access tokens. Compared as `jose` does (the
   * `application/` prefix is optional, case-insensitive).
   * @default undefined (not checked)
   * @example 'keyward+jwt'
   */
  typ?: string
  /**
   * Claim names of the principal's fields. Fields you do not name keep their default.
   * @default { keyId: 'kw_key', owner: 'sub', tenant: 'kw_tenant', role: 'kw_role', kind: 'kw_kind', group: 'kw_group', grants: 'kw_grants', scopes: 'scope' }
   * @example { tenant: 'org_id', role: 'app_role', scopes: false }
   */
  claims?: JwtClaims
  /**
   * Bounds of the cache of successful verifications (keyed by a SHA-256 of the token, never used
   * past the token's `exp`), or `false` to verify every time.
   * @default { maxEntries: 10000, ttlSec: 60 }
   * @example { maxEntries: 1000, ttlSec: 30 }
   */
  cache?: JwtCacheOptions | false
}

/** Longest token accepted; longer is 400 `malformed_credentials`. JWTs carry claims, so more than a key's 512. */
const MAX_JWT_LENGTH = 8192

/** @internal The claims `mintToken` writes, and the default mapping of {@link JwtOptions.claims}. */
export const DEFAULT_CLAIMS: Readonly<Record<keyof JwtClaims, string>> = Object.freeze({
  keyId: 'kw_key',
  owner: 'sub',
  tenant: 'kw_tenant',
  role: 'kw_role',
  kind: 'kw_kind',
  group: 'kw_group',
  grants: 'kw_grants',
  scopes: 'scope',
})

/** @internal The `typ` header of minted tokens (RFC 8725 §3.11). */
export const MINTED_TYP = 'keyward+jwt'

// ---- algorithms and keys -------------------------------------------------------------------------

type Family = 'HS' | 'RS' | 'PS' | 'ES' | 'Ed'
interface AlgInfo {
  readonly family: Family
  readonly hash: 'SHA-256' | 'SHA-384' | 'SHA-512'
  /** ES*: the curve (RFC 7518 §3.4). */
  readonly curve?: 'P-256' | 'P-384' | 'P-521'
}
const ALGS: ReadonlyMap<string, AlgInfo> = new Map<string, AlgInfo>([
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
const RSA_MIN_BITS = 2048
const NODE_CURVES: ReadonlyMap<string, string> = new Map([
  ['prime256v1', 'P-256'],
  ['secp384r1', 'P-384'],
  ['secp521r1', 'P-521'],
])
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'priv'] as const

/** What a key is usable for. */
type Usage = 'verify' | 'sign'

/** @internal A validated key, in a form that can be imported as a `CryptoKey` for any of its algorithms. */
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

const tagOf = (v: object): unknown => (v as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag]

/** @internal Validates one algorithm name: supported, and never `none` (RFC 8725 §3.2). */
export function checkAlgorithm(value: unknown, field: string): JwtAlgorithm {
  if (typeof value !== 'string') throw typeError(field, 'must be a JWS algorithm name, e.g. "ES256"')
  if (value.toLowerCase() === 'none') throw rangeError(field, '"none" is never accepted (RFC 8725 §3.2)')
  if (!ALGS.has(value)) throw rangeError(field, `${quote(value)} is not a supported algorithm (${[...ALGS.keys()].join(', ')})`)
  return value as JwtAlgorithm
}

/** Validates `algorithms`: a non-empty array of supported names; returns a deduplicated copy. */
function checkAlgorithms(value: unknown, field: string): JwtAlgorithm[] {
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

function decodedLength(s: unknown, field: string): number {
  if (typeof s !== 'string' || s.length === 0 || !/^[A-Za-z0-9_-]+$/.test(s)) throw typeError(field, 'must be a non-empty base64url string')
  return Math.floor((s.length * 3) / 4)
}

/** Bit length of an RSA modulus given as base64url (RFC 7518 §6.3.1.1). */
function modulusBits(n: unknown, field: string): number {
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

function requireFamilies(algs: readonly JwtAlgorithm[], ok: (a: AlgInfo, name: JwtAlgorithm) => boolean, what: string, field: string): void {
  for (const a of algs) {
    if (!ok(ALGS.get(a)!, a)) throw rangeError(field, `${what} cannot be used with ${a}; list only algorithms this key is for (RFC 8725 §3.1)`)
  }
}

function hmacMin(algs: readonly JwtAlgorithm[]): number {
  let min = 32
  for (const a of algs) min = Math.max(min, HMAC_MIN_BYTES[ALGS.get(a)!.hash])
  return min
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

function checkJwk(jwk: Record<string, unknown>, algs: readonly JwtAlgorithm[], usage: Usage, field: string): KeyMaterial {
  const kty = jwk.kty
  if (typeof kty !== 'string') throw typeError(field, 'is not a CryptoKey, KeyObject, JWK or Uint8Array')
  if (jwk.use !== undefined && jwk.use !== 'sig') throw rangeError(`${field}.use`, 'must be "sig" when present')
  if (jwk.alg !== undefined) requireFamilies(algs, (_, name) => name === jwk.alg, `a JWK with alg ${quote(jwk.alg)}`, field)
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes(usage))) {
    throw rangeError(`${field}.key_ops`, `must include "${usage}" when present`)
  }
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
 * @internal Validates a key against every algorithm it will be used with, and copies it into a
 * form that is imported as a `CryptoKey` later. Throws a `TypeError`/`RangeError` naming `field`.
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

function importParams(alg: AlgInfo): AlgorithmIdentifier | RsaHashedImportParams | EcKeyImportParams | HmacImportParams {
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

/** @internal The non-extractable `CryptoKey` for one algorithm: what `jose` is given, never bytes. */
export async function cryptoKeyFor(m: KeyMaterial, alg: JwtAlgorithm, usage: Usage): Promise<CryptoKey> {
  if (m.form === 'crypto') return m.key
  const params = importParams(ALGS.get(alg)!)
  if (m.form === 'raw') return crypto.subtle.importKey('raw', m.bytes, params, false, [usage])
  if (m.form === 'jwk') return crypto.subtle.importKey('jwk', m.jwk, params, false, [usage])
  return crypto.subtle.importKey(m.form, m.der, params, false, [usage])
}

// ---- option checks -------------------------------------------------------------------------------

function stringList(value: unknown, field: string): string | string[] | undefined {
  if (value === false) return undefined
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0) {
    throw typeError(field, 'is required: a string or a non-empty array of strings, or false to skip the check deliberately')
  }
  list.forEach((v: unknown, i) => {
    if (typeof v !== 'string' || v.length === 0 || v.length > 1024) throw rangeError(`${field}[${i}]`, 'must be a non-empty string of at most 1024 characters')
  })
  return typeof value === 'string' ? value : [...(list as string[])]
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}

function intIn(value: unknown, def: number, min: number, max: number, field: string): number {
  if (value === undefined) return def
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw rangeError(field, `must be an integer from ${min} to ${max}`)
  return value
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

// ---- the scheme ----------------------------------------------------------------------------------

/** An `alg` outside `algorithms` reached key selection (never expected: jose refuses it first). */
class AlgNotListed extends Error {
  readonly code = 'ERR_JOSE_ALG_NOT_ALLOWED'
}

/** A key source that could not be reached: the request is 503, never 401 and never allowed. */
class KeySourceDown extends Error {
  constructor(readonly detail: string) {
    super(detail)
  }
}

interface CacheEntry {
  readonly identity: TokenIdentity
  /** Earliest `now` (ms) at which the entry may be used: `nbf` minus the tolerance. */
  readonly from: number
  /** Entry unusable from this `now` (ms): the earlier of `exp` and verification time + ttl. */
  readonly until: number
}

const CLAIM_FIELDS: readonly (keyof JwtClaims)[] = ['keyId', 'owner', 'tenant', 'role', 'kind', 'group', 'grants', 'scopes']
const OPTION_FIELDS = fieldsOf<JwtOptions>({
  key: true, jwks: true, algorithms: true, issuer: true, audience: true, clockToleranceSec: true, typ: true, claims: true, cache: true,
})
const CACHE_FIELDS = fieldsOf<JwtCacheOptions>({ maxEntries: true, ttlSec: true })
const REMOTE_FIELDS = fieldsOf<RemoteJwks>({ url: true, timeoutMs: true, cooldownMs: true, cacheMaxAgeMs: true })
const MAX_CLAIM_STRING = 256
const MAX_CLAIM_LIST = 1000
/** At most this many same-`kid`-less JWKS candidates are tried for one token (bounded work per request). */
const MAX_CANDIDATES = 8

/** Compact JWS shape (RFC 7515 §7.1): three base64url segments; the signature may be empty (an unsecured JWT, RFC 7519 §6, is refused later, as `invalid_token`). */
function compactShape(s: string): boolean {
  let dots = 0
  let seg = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x2e) {
      if (seg === 0) return false
      dots++
      seg = 0
      continue
    }
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f
    if (!ok) return false
    seg++
  }
  return dots === 2
}

/** A short, fixed vocabulary for logs (`DecisionEvent.detail`). Never token content. */
function failureDetail(e: unknown): string {
  const code = e !== null && typeof e === 'object' ? (e as { code?: unknown }).code : undefined
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired'
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (e as { claim?: unknown }).claim
      return typeof claim === 'string' && /^[a-z]{1,8}$/.test(claim) ? `claim_${claim}` : 'claims'
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'alg_not_allowed'
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad_signature'
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'unknown_kid'
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'ambiguous_kid'
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'not_supported'
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'malformed'
    default:
      return 'invalid'
  }
}

/** Errors from a remote JWKS that are the token's fault (401); anything else means the key source failed (503). */
const TOKEN_FAULTS: ReadonlySet<unknown> = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED'])

/**
 * A signed token in `Authorization: Bearer <jwt>`, verified with `jose` against your key or JWKS.
 *
 * A Bearer token that is not shaped like a JWT is not this scheme's (configure `schemes.bearer()`
 * alongside for opaque keys); a Bearer header that breaks RFC 6750 grammar is 400
 * `invalid_request`. A JWT-shaped token that fails verification is 401 `invalid_token`; a JWKS
 * that cannot be reached for a key not yet known is 503 with `Retry-After`.
 *
 * Options are validated here, and a key is checked against every listed algorithm, so a
 * configuration that would allow algorithm confusion cannot be created.
 *
 * @example
 * ```ts
 * import { createAuthorizer, schemes } from 'keyward'
 *
 * // Tokens from an identity provider:
 * const idp = schemes.jwt({
 *   jwks: { url: 'https://idp.example.com/.well-known/jwks.json' },
 *   algorithms: ['RS256'],
 *   issuer: 'https://idp.example.com/',
 *   audience: 'https://api.example.com',
 *   claims: { tenant: 'org_id', role: 'app_role', scopes: false },
 * })
 *
 * // Tokens minted from API keys at the edge (mintToken), checked inward:
 * const inner = schemes.jwt({ key: edgePublicKey, algorithms: ['ES256'], issuer: 'edge', audience: 'inner', typ: 'keyward+jwt' })
 * createAuthorizer({ store, schemes: [schemes.bearer(), inner] })
 * ```
 */
export function jwt(options: JwtOptions): Scheme {
  if (options === null || typeof options !== 'object') throw typeError('options', 'must be an object')
  knownFields(options, OPTION_FIELDS, 'options')
  const algorithms = checkAlgorithms(options.algorithms, 'algorithms')
  const issuer = stringList(options.issuer, 'issuer')
  const audience = stringList(options.audience, 'audience')
  const tol = options.clockToleranceSec ?? 60
  if (typeof tol !== 'number' || !Number.isFinite(tol) || tol < 0 || tol > 300) throw rangeError('clockToleranceSec', 'must be a number of seconds from 0 to 300')
  const typ = options.typ
  if (typ !== undefined && (typeof typ !== 'string' || !/^[\x21-\x7e]{1,100}$/.test(typ))) throw rangeError('typ', 'must be 1-100 visible ASCII characters')

  // Claim mapping: defaults, overridden field by field.
  const claimsIn = options.claims === undefined ? {} : options.claims
  if (claimsIn === null || typeof claimsIn !== 'object' || Array.isArray(claimsIn)) throw typeError('claims', 'must be an object')
  knownFields(claimsIn, CLAIM_FIELDS, 'claims', true)
  const claims = new Map<keyof JwtClaims, string | undefined>()
  for (const f of CLAIM_FIELDS) {
    const v = (claimsIn as JwtClaims)[f]
    if (v === undefined) claims.set(f, DEFAULT_CLAIMS[f])
    else if (v === false) claims.set(f, undefined)
    else if (typeof v !== 'string' || v.length === 0 || v.length > 128) throw rangeError(`claims.${f}`, 'must be a claim name (1-128 characters) or false')
    else claims.set(f, v)
  }

  // Verification cache.
  let cacheMax = 0
  let cacheTtlMs = 0
  if (options.cache !== false) {
    const c = options.cache === undefined ? {} : options.cache
    if (c === null || typeof c !== 'object') throw typeError('cache', 'must be an object or false')
    knownFields(c, CACHE_FIELDS, 'cache')
    cacheMax = intIn(c.maxEntries, 10_000, 1, 1_000_000, 'cache.maxEntries')
    cacheTtlMs = intIn(c.ttlSec, 60, 1, 3600, 'cache.ttlSec') * 1000
  }

  // The key source: exactly one of key and jwks.
  if ((options.key === undefined) === (options.jwks === undefined)) throw typeError('key', 'pass exactly one of key and jwks')
  type GetKey = (header: { alg?: string }) => Promise<CryptoKey>
  let getKey: GetKey
  if (options.key !== undefined) {
    const material = keyMaterial(options.key, algorithms, 'verify', 'key')
    const imported = new Map<string, Promise<CryptoKey>>()
    getKey = (header) => {
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
  } else {
    const j = options.jwks
    if (j === null || typeof j !== 'object' || Array.isArray(j)) throw typeError('jwks', 'must be a JWK Set ({ keys }) or { url }')
    if (algorithms.some((a) => ALGS.get(a)!.family === 'HS')) {
      throw rangeError('algorithms', 'HS* cannot be used with a JWKS (a key set is public; pass an HMAC secret as key)')
    }
    // Neither `url` nor `keys`: a misspelt remote source (`ulr`) is named as such.
    if (!('url' in j) && !('keys' in j)) knownFields(j, [...REMOTE_FIELDS, 'keys'], 'jwks')
    if ('url' in j) {
      const r = j as RemoteJwks
      knownFields(r, REMOTE_FIELDS, 'jwks')
      if (typeof r.url !== 'string' && !(r.url instanceof URL)) throw typeError('jwks.url', 'must be a string or a URL')
      let url: URL
      try {
        url = new URL(r.url instanceof URL ? r.url.href : r.url)
      } catch {
        throw rangeError('jwks.url', 'is not a valid URL')
      }
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
        throw rangeError('jwks.url', 'must be https: (http: only for loopback hosts)')
      }
      if (url.username !== '' || url.password !== '') throw rangeError('jwks.url', 'must not contain credentials')
      const remoteOptions = {
        timeoutDuration: intIn(r.timeoutMs, 2000, 1, 60_000, 'jwks.timeoutMs'),
        cooldownDuration: intIn(r.cooldownMs, 30_000, 0, 3_600_000, 'jwks.cooldownMs'),
        cacheMaxAge: intIn(r.cacheMaxAgeMs, 600_000, 0, 86_400_000, 'jwks.cacheMaxAgeMs'),
      }
      let fetchSet: ReturnType<Awaited<ReturnType<typeof loadJose>>['createRemoteJWKSet']> | undefined
      getKey = async (header) => {
        fetchSet ??= (await loadJose()).createRemoteJWKSet(url, remoteOptions)
        try {
          return await fetchSet(header as Parameters<typeof fetchSet>[0])
        } catch (e) {
          if (e !== null && typeof e === 'object' && TOKEN_FAULTS.has((e as { code?: unknown }).code)) throw e
          throw new KeySourceDown((e as { code?: unknown } | null)?.code === 'ERR_JWKS_TIMEOUT' ? 'jwks_timeout' : 'jwks_unavailable')
        }
      }
    } else {
      const set = checkLocalJwks(j as { keys?: unknown })
      let local: ReturnType<Awaited<ReturnType<typeof loadJose>>['createLocalJWKSet']> | undefined
      getKey = async (header) => {
        local ??= (await loadJose()).createLocalJWKSet(set)
        return local(header as Parameters<typeof local>[0])
      }
    }
  }

  const baseOptions: JWTVerifyOptions = Object.freeze({
    algorithms: [...algorithms],
    ...(issuer === undefined ? {} : { issuer }),
    ...(audience === undefined ? {} : { audience }),
    clockTolerance: tol,
    ...(typ === undefined ? {} : { typ }),
    // RFC 8725 §3.10 leaves lifetime to the application; a token without `exp` never stops working, so it is refused.
    requiredClaims: ['exp'],
  })

  const cache = new Map<string, CacheEntry>()
  const hash = createHasher()

  const str = (p: JWTPayload, field: keyof JwtClaims): string | undefined | null => {
    const name = claims.get(field)
    if (name === undefined || !Object.hasOwn(p, name)) return undefined
    const v = p[name]
    return typeof v === 'string' && v.length > 0 && v.length <= MAX_CLAIM_STRING ? v : null
  }
  const list = (v: unknown, splitSp: boolean): string[] | null => {
    const items = typeof v === 'string' && splitSp ? v.split(' ').filter((s) => s.length > 0) : v
    if (!Array.isArray(items) || items.length > MAX_CLAIM_LIST) return null
    for (const s of items) if (typeof s !== 'string' || s.length === 0 || s.length > MAX_CLAIM_STRING) return null
    return items as string[]
  }

  /** The principal's fields from verified claims; `undefined` (invalid_token) if a mapped claim has the wrong type. */
  function identityOf(p: JWTPayload): TokenIdentity | undefined {
    const owner = str(p, 'owner')
    const keyIdClaim = str(p, 'keyId')
    const tenant = str(p, 'tenant')
    const role = str(p, 'role')
    const kindClaim = str(p, 'kind')
    const group = str(p, 'group')
    if (owner === null || keyIdClaim === null || tenant === null || role === null || kindClaim === null || group === null) return undefined
    const keyId = keyIdClaim ?? owner
    if (keyId === undefined) return undefined
    if (kindClaim !== undefined && kindClaim !== 'user' && kindClaim !== 'org') return undefined
    let scopes: string[] | undefined
    const scopeName = claims.get('scopes')
    if (scopeName !== undefined && Object.hasOwn(p, scopeName)) {
      const s = list(p[scopeName], true)
      if (s === null) return undefined
      scopes = s
    }
    let grants: string[] | undefined
    const grantName = claims.get('grants')
    if (grantName !== undefined && Object.hasOwn(p, grantName)) {
      const g = list(p[grantName], false)
      if (g === null) return undefined
      grants = g
    }
    return Object.freeze({
      keyId,
      kind: kindClaim ?? 'user',
      ...(tenant === undefined ? {} : { tenant }),
      ...(owner === undefined ? {} : { owner }),
      ...(role === undefined ? {} : { role }),
      ...(group === undefined ? {} : { group }),
      ...(scopes === undefined ? {} : { scopes: Object.freeze(scopes) }),
      ...(grants === undefined ? {} : { grants: Object.freeze(grants) }),
    })
  }

  async function verifyWith(token: string, at: number): Promise<{ payload: JWTPayload }> {
    const opts: JWTVerifyOptions = { ...baseOptions, currentDate: new Date(at) }
    const { jwtVerify } = await loadJose().catch(() => {
      throw new KeySourceDown('jose_unavailable')
    })
    try {
      return await jwtVerify(token, getKey, opts)
    } catch (e) {
      // A JWKS with several keys fit for this `alg` and no `kid` to tell them apart: try each
      // (bounded), as jose's documentation recommends.
      if (e === null || typeof e !== 'object' || (e as { code?: unknown }).code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw e
      let tried = 0
      for await (const candidate of e as AsyncIterable<CryptoKey>) {
        if (++tried > MAX_CANDIDATES) break
        try {
          return await jwtVerify(token, candidate, opts)
        } catch {
          // next candidate
        }
      }
      throw e
    }
  }

  const INVALID = (detail: string): TokenOutcome => ({ ok: false, reason: 'invalid_token', detail })

  async function verify(token: string, context: { readonly now: number }): Promise<TokenOutcome> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_JWT_LENGTH || !compactShape(token)) return INVALID('malformed')
    const nowIn = context?.now
    const at = typeof nowIn === 'number' && Number.isFinite(nowIn) ? nowIn : Date.now()
    let id: string | undefined
    if (cacheMax > 0) {
      id = hash(token)
      const hit = cache.get(id)
      if (hit !== undefined) {
        if (at >= hit.from && at < hit.until) {
          cache.delete(id)
          cache.set(id, hit)
          return { ok: true, identity: hit.identity }
        }
        cache.delete(id)
      }
    }
    let payload: JWTPayload
    try {
      payload = (await verifyWith(token, at)).payload
    } catch (e) {
      if (e instanceof KeySourceDown) return { ok: false, reason: 'store_unavailable', detail: e.detail }
      return INVALID(failureDetail(e))
    }
    const identity = identityOf(payload)
    if (identity === undefined) return INVALID('claims')
    if (id !== undefined) {
      // Reused only while the token is valid without any clock tolerance, and never past `exp`.
      const exp = (payload.exp as number) * 1000
      const from = typeof payload.nbf === 'number' ? (payload.nbf - tol) * 1000 : -Infinity
      const until = Math.min(exp, at + cacheTtlMs)
      if (until > at) {
        if (cache.size >= cacheMax) {
          const oldest = cache.keys().next()
          if (!oldest.done) cache.delete(oldest.value)
        }
        cache.set(id, { identity, from, until })
      }
    }
    return { ok: true, identity }
  }

  const sources = ['authorization'] as const
  const malformed = Object.freeze({ type: 'malformed', sources }) as { readonly type: 'malformed'; readonly sources: readonly string[] }
  preloadJose()
  return Object.freeze({
    name: 'jwt',
    headers: sources,
    challengeScheme: 'bearer',
    bearerErrors: true,
    challenge: bearerChallenge,
    extract(values) {
      // RFC 6750 §2.1: one `Bearer b64token`, read exactly as schemes.bearer reads it, so the two
      // agree on what is 400 invalid_request (only the length limit differs).
      const token = readBearer(values, MAX_JWT_LENGTH)
      if (token === undefined) return undefined
      if (token === null) return malformed
      // Not a JWT: an opaque key, schemes.bearer's to read (or nobody's).
      if (!compactShape(token)) return undefined
      return { type: 'token', token, sources }
    },
    verify,
  } satisfies Scheme)
}
