/**
 * An opaque API key as an OAuth-style bearer token: `Authorization: Bearer <key>` (RFC 6750 §2.1).
 * @module
 */
import { hasBadBytes } from '../_headers.js'
import { isToken68, splitAuthorization } from './_grammar.js'
import { MAX_KEY_LENGTH, quoted, type BearerError, type Scheme } from './_scheme.js'

/** Renders a Bearer challenge with an optional RFC 6750 §3.1 error code. */
export function bearerChallenge(realm: string, error?: BearerError): string {
  return error === undefined ? `Bearer realm=${quoted(realm)}` : `Bearer realm=${quoted(realm)}, error=${quoted(error)}`
}

/**
 * An opaque key in `Authorization: Bearer <key>`. The grammar is RFC 6750's b64token; anything
 * else after `Bearer` is 400 with `error="invalid_request"`. When the `jwt` scheme is configured
 * too, it takes the JWT-shaped tokens and this scheme the rest.
 *
 * @example
 * ```ts
 * createAuthorizer({ store, schemes: [schemes.bearer()] })
 * // curl -H "Authorization: Bearer kw_live_…" …
 * ```
 */
export function bearer(): Scheme {
  const sources = ['authorization']
  const malformed = { type: 'malformed', sources } as const
  return {
    name: 'bearer',
    headers: sources,
    challengeScheme: 'bearer',
    bearerErrors: true,
    challenge: bearerChallenge,
    extract(values) {
      const list = values.get('authorization')
      if (list === undefined) return undefined
      const parts = list.map(splitAuthorization)
      if (!parts.some((p) => p.scheme === 'bearer')) return undefined
      if (list.length > 1 || hasBadBytes(list[0]!)) return malformed
      const token = parts[0]!.rest
      if (token.length === 0 || token.length > MAX_KEY_LENGTH || !isToken68(token)) return malformed
      return { type: 'key', key: token, sources }
    },
  }
}
