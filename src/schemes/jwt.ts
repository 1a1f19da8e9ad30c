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
 *
 * This file holds the public types and wires the scheme; the rules live beside it, each in one
 * file: `_jwt-algs.ts` (algorithm descriptors), `_jwt-keys.ts` (key material, shared with
 * `mintToken` through `jwt-mint.ts`), `_jwt-sources.ts` (static key, local and remote JWKS),
 * `_jwt-claims.ts` (claim mapping), `_jwt-verify.ts` (verification and its cache).
 * @module
 */
import type { CryptoKey as JoseCryptoKey, JSONWebKeySet, JWK, KeyObject } from 'jose'
import { fieldsOf, knownFields } from '../lib/options.js'
import { typeError } from '../errors.js'
import { preloadJose } from './_jose.js'
import { checkAlgorithms } from './_jwt-algs.js'
import { claimMap } from './_jwt-claims.js'
import { clockTolerance, stringList, typHeader } from './_jwt-options.js'
import { jwksSource, staticKey } from './_jwt-sources.js'
import { compactShape } from './_grammar.js'
import { cacheBounds, createVerify, MAX_JWT_LENGTH } from './_jwt-verify.js'
import type { Scheme } from './_scheme.js'
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

/** Options of `schemes.jwt()`. */
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

const OPTION_FIELDS = fieldsOf<JwtOptions>({
  key: true, jwks: true, algorithms: true, issuer: true, audience: true, clockToleranceSec: true, typ: true, claims: true, cache: true,
})


/**
 * A signed token in `Authorization: Bearer <jwt>`, verified with `jose` against your key or JWKS.
 *
 * A Bearer token that is not shaped like a JWT is 401 `invalid_token` unless `schemes.bearer()` is
 * configured alongside (then it is an opaque key); a Bearer header that breaks RFC 6750 grammar is 400
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
  const tol = clockTolerance(options.clockToleranceSec)
  const typ = typHeader(options.typ)
  const claims = claimMap(options.claims)
  const cache = cacheBounds(options.cache)
  // The key source: exactly one of key and jwks.
  if ((options.key === undefined) === (options.jwks === undefined)) throw typeError('key', 'pass exactly one of key and jwks')
  const getKey = options.key !== undefined ? staticKey(options.key, algorithms) : jwksSource(options.jwks, algorithms)
  const verify = createVerify({ getKey, algorithms, issuer, audience, tol, typ, claims, cache })

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
      // Not a JWT: an opaque key, schemes.bearer's to read when it is configured; else a token
      // this scheme cannot accept (RFC 6750 §3.1 invalid_token; verify refuses it).
      return compactShape(token) ? { type: 'token', token, sources } : { type: 'token', token, sources, unshaped: true }
    },
    verify,
  } satisfies Scheme)
}
