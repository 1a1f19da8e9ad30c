/**
 * The contract between the authorizer and a credential scheme.
 *
 * A scheme only reads headers and says what it found; it never looks anything up. The
 * authorizer decides what to do with what every configured scheme found (missing, malformed,
 * conflicting, one credential), so all schemes share one decision path.
 * @module
 */
import type { HeaderValues } from '../lib/headers.js'
import type { KeyKind } from '../types.js'

/** Longest key accepted in any header (longer: 400 `malformed_credentials`). */
export const MAX_KEY_LENGTH = 512

/** What a scheme found in the request. `undefined`: nothing of this scheme is there. */
export type Extraction =
  | { readonly type: 'malformed'; readonly sources: readonly string[] }
  /** Half of a two-part credential (Contrast): treated as missing unless something else is there. */
  | { readonly type: 'partial'; readonly sources: readonly string[] }
  | { readonly type: 'key'; readonly key: string; readonly sources: readonly string[] }
  /** Contrast: organization key + user name + the user's service key. */
  | { readonly type: 'pair'; readonly tenantKey: string; readonly user: string; readonly key: string; readonly sources: readonly string[] }
  /**
   * A self-contained signed token, verified by the scheme's `verify`. From a scheme without
   * `verify`: a well-formed credential that cannot be valid (Basic text that no key looks like),
   * refused as 401 `invalid_credentials` without a lookup.
   */
  | {
      readonly type: 'token'
      readonly token: string
      readonly sources: readonly string[]
      /**
       * Not in the scheme's own format (a Bearer token that is not a JWT): it yields to any other
       * scheme's reading of the same headers, and alone it fails verification (RFC 6750 §3.1
       * `invalid_token`).
       */
      readonly unshaped?: true
    }

/** RFC 6750 §3.1 error codes, used in Bearer challenges. */
export type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope'

/** The identity a token scheme vouches for. The authorizer derives permissions from it with its own role matrix. */
export interface TokenIdentity {
  readonly keyId: string
  readonly kind: Exclude<KeyKind, 'tenant'>
  readonly tenant?: string
  readonly owner?: string
  readonly role?: string
  readonly group?: string
  readonly scopes?: readonly string[]
  readonly grants?: readonly string[]
  readonly metadata?: Readonly<Record<string, unknown>>
  /** Per-key rate limit carried by the token, if any. */
  readonly rateLimit?: { readonly capacity: number; readonly refillPerSecond: number }
}

/** Result of verifying a token. `store_unavailable`: the key source (e.g. a remote JWKS) could not be reached. */
export type TokenOutcome =
  | { readonly ok: true; readonly identity: TokenIdentity }
  | {
      readonly ok: false
      readonly reason: 'invalid_token' | 'store_unavailable'
      readonly detail?: string
      /** With `store_unavailable`: seconds the client should wait (`Retry-After`). @default 1 */
      readonly retryAfterSec?: number
    }

/**
 * A credential scheme. Build them with the `schemes` factories; implementing this interface
 * yourself is possible but the built-in schemes cover the reference products.
 */
export interface Scheme {
  /** Name used in principals and decision events, e.g. `api-key`, `bearer`, `contrast`. */
  readonly name: string
  /** Lower-case names of the header fields this scheme reads. */
  readonly headers: readonly string[]
  /**
   * Authentication scheme word of the challenge (`Bearer`, `Basic`, `ApiKey`…). Schemes sharing
   * one (bearer and jwt) share one challenge.
   */
  readonly challengeScheme: string
  /** True when the challenge carries RFC 6750 `error` parameters. */
  readonly bearerErrors: boolean
  /** The `WWW-Authenticate` challenge (RFC 9110 §11.6.1) for this scheme. */
  challenge(realm: string, error?: BearerError): string
  /** Reads the credential from the collected header values. */
  extract(values: HeaderValues): Extraction | undefined
  /** For token schemes: verify a token found by `extract`. */
  verify?(token: string, context: { readonly now: number }): Promise<TokenOutcome>
}

/** Quotes an auth-param value (RFC 9110 §5.6.4 quoted-string). Values here are our own config, never request data. */
export function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}
