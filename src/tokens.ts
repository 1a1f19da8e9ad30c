/**
 * Minting: a short-lived signed token (RFC 7519 JWT) carrying the principal an API key
 * authenticated as, so an edge can check the key once and pass the token inward, where
 * `schemes.jwt` rebuilds the same principal without a key store.
 *
 * What a minted token carries (claim names are the defaults of `schemes.jwt`'s `claims`):
 *
 * | claim | value |
 * |---|---|
 * | `iss`, `aud` | `issuer`, `audience` (RFC 7519 §4.1.1, §4.1.3) |
 * | `iat`, `exp` | issue time, and issue time + `ttlSec` (§4.1.6, §4.1.4) |
 * | `jti` | 128 random bits, base64url (§4.1.7): tells tokens apart in logs |
 * | `sub` | the principal's `owner`, when it has one |
 * | `kw_key` | the principal's `keyId` (not secret) |
 * | `kw_kind` | `user` or `org` |
 * | `kw_tenant`, `kw_group` | when set |
 * | `kw_role` | the role the key acted with (user keys only) |
 * | `scope` | the principal's effective permissions, space-separated (RFC 8693 §4.2), always present |
 * | `kw_grants` | explicitly granted operations, when there are any |
 *
 * and the header `{ alg, typ: "keyward+jwt", kid? }` (RFC 8725 §3.11 explicit typing). Never the
 * key, its hash, the pepper or the key's `metadata` (a JWT is signed, not encrypted: anyone who
 * holds it can read it).
 *
 * Why permissions travel as `scope` and not only as `role`: the role names a row of the
 * verifier's matrix, which may differ from the edge's, and a key's `scopes` narrow its role; a
 * token carrying only the role would widen a narrowed key. The verifier computes
 * `role ∩ scope` (or `all ∩ scope` for an Org key), so the token never grants more than the key
 * had at minting, nor more than the role has where it is checked.
 * @module
 */
import { fieldsOf, knownFields } from './lib/options.js'
import { rangeError, typeError } from './errors.js'
import { base64url } from './keys/hash.js'
import type { JwtAlgorithm, JwtKey } from './schemes/jwt.js'
import { checkAlgorithm, DEFAULT_CLAIMS, keyMaterial, signMinted } from './schemes/jwt-mint.js'
import type { Principal } from './types.js'

/** Options of {@link mintToken}. */
export interface MintTokenOptions {
  /**
   * The signing key: a private `CryptoKey`/`KeyObject`/JWK, or for HS* the shared secret
   * (`Uint8Array` of at least 32 bytes, 48 for HS384, 64 for HS512). It must suit `algorithm`.
   * A `CryptoKey` or `KeyObject` is faster than a JWK, which is imported on every call.
   * @default (required)
   * @example crypto.createPrivateKey(fs.readFileSync('edge-signing.pem'))
   */
  key: JwtKey
  /**
   * The JWS algorithm (RFC 7518 §3.1).
   * @default (required)
   * @example 'ES256'
   */
  algorithm: JwtAlgorithm
  /**
   * `iss`: who minted the token; the verifier's `issuer`.
   * @default (required)
   * @example 'https://edge.example.com'
   */
  issuer: string
  /**
   * `aud`: the service(s) the token is for; the verifier's `audience` (RFC 8725 §3.9).
   * @default (required)
   * @example 'https://scans.internal'
   */
  audience: string | readonly string[]
  /**
   * Lifetime in seconds, 1 to 3600. This is how long a token outlives the revocation of its key:
   * keep it short.
   * @default 300
   * @example 60
   */
  ttlSec?: number
  /**
   * `kid` header: which key of the verifier's JWKS signed it.
   * @default undefined (no kid)
   * @example 'edge-2025-01'
   */
  kid?: string
  /**
   * Clock, epoch milliseconds.
   * @default Date.now
   * @example () => clock.now
   */
  now?: () => number
}

const FIELDS = fieldsOf<MintTokenOptions>({ key: true, algorithm: true, issuer: true, audience: true, ttlSec: true, kid: true, now: true })
const TEXT = /^[\x20-\x7e]{1,1024}$/
/** A permission joined into `scope` must hold no space (RFC 6749 §3.3 scope-token). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) throw typeError(field, 'must be a non-empty string of at most 256 characters')
  return value
}

function stringArray(value: unknown, field: string, re: RegExp): string[] {
  if (!Array.isArray(value)) throw typeError(field, 'must be an array of strings')
  return value.map((v: unknown, i) => {
    if (typeof v !== 'string' || !re.test(v)) throw rangeError(`${field}[${i}]`, 'is not a valid entry')
    return v
  })
}

/**
 * Mints a short-lived JWT for the principal of an allowed decision, for `schemes.jwt` to accept
 * inward with the same permissions, tenant and grants. The API key is never in it.
 *
 * Mint from the principal of the decision you have just received for this request, never from a
 * stored one: that is what makes a revoked key stop minting at once (its next `authorize` is
 * denied, so there is no principal to mint from). A principal that was itself authenticated by a
 * token (`scheme: 'jwt'`) is refused, so tokens cannot be renewed past their key's revocation.
 *
 * Rejects with a `TypeError`/`RangeError` naming the field on bad options or a bad principal.
 *
 * @example
 * ```ts
 * import { createAuthorizer, mintToken, schemes } from 'keyward'
 *
 * const edge = createAuthorizer({ store, schemes: [schemes.apiKeyHeader()] })
 * const decision = await edge.authorize(request, 'scans:read')
 * if (decision.allow) {
 *   const token = await mintToken(decision.principal, {
 *     key: edgePrivateKey, algorithm: 'ES256', issuer: 'edge', audience: 'scans', ttlSec: 60,
 *   })
 *   await fetch('http://scans.internal/scans', { headers: { authorization: `Bearer ${token}` } })
 * }
 * ```
 */
export async function mintToken(principal: Principal, options: MintTokenOptions): Promise<string> {
  if (options === null || typeof options !== 'object') throw typeError('options', 'must be an object')
  knownFields(options, FIELDS, 'options')
  if (options.algorithm === undefined) throw typeError('algorithm', 'is required: a JWS algorithm, e.g. "ES256"')
  const alg = checkAlgorithm(options.algorithm, 'algorithm')
  const material = keyMaterial(options.key, [alg], 'sign', 'key')
  if (typeof options.issuer !== 'string' || !TEXT.test(options.issuer)) throw rangeError('issuer', 'is required: 1-1024 printable ASCII characters')
  const aud = typeof options.audience === 'string' ? [options.audience] : options.audience
  if (!Array.isArray(aud) || aud.length === 0) throw typeError('audience', 'is required: a string or a non-empty array of strings')
  aud.forEach((a: unknown, i) => {
    if (typeof a !== 'string' || !TEXT.test(a)) throw rangeError(`audience[${i}]`, 'must be 1-1024 printable ASCII characters')
  })
  const ttlSec = options.ttlSec ?? 300
  if (typeof ttlSec !== 'number' || !Number.isInteger(ttlSec) || ttlSec < 1 || ttlSec > 3600) throw rangeError('ttlSec', 'must be an integer from 1 to 3600')
  const kid = options.kid
  if (kid !== undefined && (typeof kid !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(kid))) throw rangeError('kid', 'must be 1-256 visible ASCII characters')
  const now = options.now ?? Date.now
  if (typeof now !== 'function') throw typeError('now', 'must be a function')
  const at = now()
  if (typeof at !== 'number' || !Number.isFinite(at)) throw rangeError('now', 'must return epoch milliseconds')

  // The principal: only what the authorizer produces.
  if (principal === null || typeof principal !== 'object') throw typeError('principal', 'must be the principal of an allowed decision')
  const p = principal as Partial<Record<keyof Principal, unknown>>
  const keyId = optionalString(p.keyId, 'principal.keyId')
  if (keyId === undefined) throw typeError('principal.keyId', 'is required')
  if (p.kind !== 'user' && p.kind !== 'org') throw rangeError('principal.kind', 'must be "user" or "org"')
  if (typeof p.scheme !== 'string') throw typeError('principal.scheme', 'must be a string')
  if (p.scheme === 'jwt') {
    throw rangeError('principal', 'was authenticated by a token (scheme "jwt"); mint only from a principal authenticated by an API key, so that revoking the key stops the minting')
  }
  const tenant = optionalString(p.tenant, 'principal.tenant')
  const owner = optionalString(p.owner, 'principal.owner')
  const role = optionalString(p.role, 'principal.role')
  const group = optionalString(p.group, 'principal.group')
  const permissions = stringArray(p.permissions, 'principal.permissions', SCOPE_TOKEN)
  const grants = stringArray(p.grants, 'principal.grants', /^[\x20-\x7e]{1,256}$/)

  const iat = Math.floor(at / 1000)
  const claims: Record<string, unknown> = {
    iss: options.issuer,
    aud: typeof options.audience === 'string' ? options.audience : [...aud],
    iat,
    exp: iat + ttlSec,
    jti: base64url(crypto.getRandomValues(new Uint8Array(16))),
    [DEFAULT_CLAIMS.keyId]: keyId,
    [DEFAULT_CLAIMS.kind]: p.kind,
    [DEFAULT_CLAIMS.scopes]: permissions.join(' '),
  }
  if (owner !== undefined) claims[DEFAULT_CLAIMS.owner] = owner
  if (tenant !== undefined) claims[DEFAULT_CLAIMS.tenant] = tenant
  if (group !== undefined) claims[DEFAULT_CLAIMS.group] = group
  if (role !== undefined && p.kind === 'user') claims[DEFAULT_CLAIMS.role] = role
  if (grants.length > 0) claims[DEFAULT_CLAIMS.grants] = grants

  return signMinted(claims, material, alg, kid)
}
