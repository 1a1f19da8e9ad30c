/**
 * Which credentials may administer: only API keys the authorizer looked up in the key store for
 * this very request. A token (`schemes.jwt`, e.g. one made by `mintToken`) is verified, not
 * looked up: it stays valid until it expires, whatever happened to the key it was minted from
 * (deleted, deactivated, rotated, its group or owner locked). Accepted here, it would let a
 * revoked key keep issuing keys for the token's lifetime. So a principal authenticated by a
 * token scheme is refused with the 401 a revoked key gets, whatever the authorizer also accepts.
 * @module
 */
import type { Authorizer } from '../authorize.js'
import { rangeError } from '../errors.js'
import type { DenyDecision } from '../types.js'

/** What the handler needs to admit principals: the key schemes, and the answer to a token. */
export interface Admission {
  /** Whether the scheme named `scheme` (a principal's `scheme`) looks keys up in the store. */
  admits(scheme: string): boolean
  /** The 401 for a principal authenticated by a token scheme. */
  readonly tokenDeny: DenyDecision
}

/**
 * Splits the authorizer's schemes into key schemes (admitted) and token schemes (refused).
 * Throws a `RangeError` naming `authorizer` when it accepts tokens only: no call could succeed.
 */
export function admission(authorizer: Authorizer): Admission {
  const keySchemes = authorizer.schemes.filter((s) => typeof s.verify !== 'function')
  if (keySchemes.length === 0) {
    throw rangeError(
      'authorizer',
      'accepts only tokens; the admin API admits only API keys looked up in the store (a token outlives the revocation of its key): add a key scheme such as schemes.apiKeyHeader()',
    )
  }
  const names = new Set(keySchemes.map((s) => s.name))
  // RFC 9110 §11.6.1: one challenge per scheme that can succeed here; RFC 6750 §3.1 `invalid_token`
  // on a Bearer challenge, since a bearer token is what was refused.
  const seen = new Set<string>()
  const challenges: string[] = []
  for (const s of keySchemes) {
    if (seen.has(s.challengeScheme)) continue
    seen.add(s.challengeScheme)
    challenges.push(s.challenge(authorizer.realm, s.bearerErrors ? 'invalid_token' : undefined))
  }
  const tokenDeny: DenyDecision = Object.freeze({
    allow: false,
    status: 401,
    code: 'invalid_credentials',
    reason: 'invalid_token',
    message: 'The admin API accepts API keys only, not tokens.',
    headers: Object.freeze({ 'www-authenticate': challenges.join(', ') }),
  })
  return { admits: (scheme) => names.has(scheme), tokenDeny }
}
