/**
 * Verification of `schemes.jwt`: the compact shape (RFC 7515 §7.1), `jwtVerify` with the
 * configured key source and claim checks, the principal's fields from the verified payload, and
 * the bounded cache of successful verifications (keyed by a SHA-256 of the token, never used
 * before `nbf` or past `exp`).
 * @module
 */
import type { JWTPayload, JWTVerifyOptions } from 'jose'
import { fieldsOf, knownFields } from '../lib/options.js'
import { typeError } from '../errors.js'
import { createHasher } from '../keys/hash.js'
import { compactShape } from './_grammar.js'
import { loadJose } from './_jose.js'
import { identityOf, type ClaimMap } from './_jwt-claims.js'
import { intIn } from './_jwt-options.js'
import { KeySourceDown, type GetKey } from './_jwt-sources.js'
import type { TokenIdentity, TokenOutcome } from './_scheme.js'
import type { JwtAlgorithm, JwtCacheOptions } from './jwt.js'

/** Longest token accepted; longer is 400 `malformed_credentials`. JWTs carry claims, so more than a key's 512. */
export const MAX_JWT_LENGTH = 8192
/** At most this many same-`kid`-less JWKS candidates are tried for one token (bounded work per request). */
const MAX_CANDIDATES = 8
const CACHE_FIELDS = fieldsOf<JwtCacheOptions>({ maxEntries: true, ttlSec: true })

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

/** Bounds of the verification cache; `max` 0 when it is off. */
export interface CacheBounds {
  readonly max: number
  readonly ttlMs: number
}

/** Validates `options.cache`: an object of bounds, or `false` to verify every time. */
export function cacheBounds(value: JwtCacheOptions | false | undefined): CacheBounds {
  if (value === false) return { max: 0, ttlMs: 0 }
  const c = value === undefined ? {} : value
  if (c === null || typeof c !== 'object') throw typeError('cache', 'must be an object or false')
  knownFields(c, CACHE_FIELDS, 'cache')
  const max = intIn(c.maxEntries, 10_000, 1, 1_000_000, 'cache.maxEntries')
  return { max, ttlMs: intIn(c.ttlSec, 60, 1, 3600, 'cache.ttlSec') * 1000 }
}

/** Everything a verifier needs, validated. */
export interface VerifyConfig {
  readonly getKey: GetKey
  readonly algorithms: readonly JwtAlgorithm[]
  readonly issuer: string | string[] | undefined
  readonly audience: string | string[] | undefined
  /** Clock tolerance, seconds. */
  readonly tol: number
  readonly typ: string | undefined
  readonly claims: ClaimMap
  readonly cache: CacheBounds
}

interface CacheEntry {
  readonly identity: TokenIdentity
  /** Earliest `now` (ms) at which the entry may be used: `nbf` minus the tolerance. */
  readonly from: number
  /** Entry unusable from this `now` (ms): the earlier of `exp` and verification time + ttl. */
  readonly until: number
}

/** A least-recently-used cache of verified identities, each usable only within its window. */
function verifiedCache(bounds: CacheBounds, tol: number) {
  const cache = new Map<string, CacheEntry>()
  return {
    get(id: string, at: number): TokenIdentity | undefined {
      const hit = cache.get(id)
      if (hit === undefined) return undefined
      cache.delete(id)
      if (!(at >= hit.from && at < hit.until)) return undefined
      cache.set(id, hit)
      return hit.identity
    },
    set(id: string, identity: TokenIdentity, payload: JWTPayload, at: number): void {
      // Reused only while the token is valid without any clock tolerance, and never past `exp`.
      const exp = (payload.exp as number) * 1000
      const from = typeof payload.nbf === 'number' ? (payload.nbf - tol) * 1000 : -Infinity
      const until = Math.min(exp, at + bounds.ttlMs)
      if (until <= at) return
      if (cache.size >= bounds.max) {
        const oldest = cache.keys().next()
        if (!oldest.done) cache.delete(oldest.value)
      }
      cache.set(id, { identity, from, until })
    },
  }
}

/** `jwtVerify` with every check configured; a JWKS with several keys fit for this `alg` and no `kid` gets each tried (bounded). */
function verifierOf(config: VerifyConfig): (token: string, at: number) => Promise<{ payload: JWTPayload }> {
  const { getKey, algorithms, issuer, audience, tol, typ } = config
  const baseOptions: JWTVerifyOptions = Object.freeze({
    algorithms: [...algorithms],
    ...(issuer === undefined ? {} : { issuer }),
    ...(audience === undefined ? {} : { audience }),
    clockTolerance: tol,
    ...(typ === undefined ? {} : { typ }),
    // RFC 8725 §3.10 leaves lifetime to the application; a token without `exp` never stops working, so it is refused.
    requiredClaims: ['exp'],
  })
  return async (token, at) => {
    const opts: JWTVerifyOptions = { ...baseOptions, currentDate: new Date(at) }
    const { jwtVerify } = await loadJose().catch(() => {
      throw new KeySourceDown('jose_unavailable')
    })
    try {
      return await jwtVerify(token, getKey, opts)
    } catch (e) {
      // As jose's documentation recommends for ambiguous JWKS matches.
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
}

const INVALID = (detail: string): TokenOutcome => ({ ok: false, reason: 'invalid_token', detail })

/** The scheme's `verify`: a token to an identity, `invalid_token`, or `store_unavailable` when the key source is down. */
export function createVerify(config: VerifyConfig): (token: string, context: { readonly now: number }) => Promise<TokenOutcome> {
  const verifyWith = verifierOf(config)
  const cache = verifiedCache(config.cache, config.tol)
  const hash = createHasher()
  return async (token, context) => {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_JWT_LENGTH) return INVALID('malformed')
    const nowIn = context?.now
    const at = typeof nowIn === 'number' && Number.isFinite(nowIn) ? nowIn : Date.now()
    let id: string | undefined
    if (config.cache.max > 0) {
      id = hash(token)
      const identity = cache.get(id, at)
      if (identity !== undefined) return { ok: true, identity }
    }
    // After the cache: only a verified token is cached, and it had this shape, so a repeated
    // token (whose shape the scheme's extract has just checked) is not scanned a second time.
    if (!compactShape(token)) return INVALID('malformed')
    let payload: JWTPayload
    try {
      payload = (await verifyWith(token, at)).payload
    } catch (e) {
      if (e instanceof KeySourceDown) return { ok: false, reason: 'store_unavailable', detail: e.detail }
      return INVALID(failureDetail(e))
    }
    const identity = identityOf(config.claims, payload)
    if (identity === undefined) return INVALID('claims')
    if (id !== undefined) cache.set(id, identity, payload, at)
    return { ok: true, identity }
  }
}
