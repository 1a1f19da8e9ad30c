/**
 * An opaque API key as an OAuth-style bearer token: `Authorization: Bearer <key>` (RFC 6750 §2.1).
 * @module
 */
import { noOptions } from '../lib/options.js'
import { hasBadBytes, trimOws, type HeaderValues } from '../lib/headers.js'
import { credentialsStart, isToken68 } from './_grammar.js'
import { MAX_KEY_LENGTH, quoted, type BearerError, type Scheme } from './_scheme.js'

/**
 * Reads `Authorization: Bearer <b64token>` (RFC 6750 §2.1), shared by `bearer` and `jwt` so the
 * two agree on what is malformed. `undefined`: no Bearer credential here; `null`: a Bearer
 * credential that breaks the grammar (repeated field, control or non-ASCII bytes, a missing or
 * ungrammatical token, longer than `maxLength`); otherwise the token.
 */
export function readBearer(values: HeaderValues, maxLength: number): string | null | undefined {
  const list = values.get('authorization')
  if (list === undefined) return undefined
  // The scheme word is read in place: a field of another scheme allocates nothing.
  const start = credentialsStart(list[0]!, 'bearer')
  // Stryker disable next-line EqualityOperator: equivalent, credentialsStart is -1 or past the scheme word, never 0
  if (!list.some((v) => credentialsStart(v, 'bearer') >= 0)) return undefined
  if (list.length > 1 || hasBadBytes(list[0]!)) return null
  // One field, so it is the Bearer one: start >= 0.
  const token = trimOws(list[0]!.slice(start))
  // An empty token is not token68.
  return token.length > maxLength || !isToken68(token) ? null : token
}

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
  // Declared without parameters; an options object given anyway is refused, not ignored.
  noOptions(arguments[0], 'schemes.bearer()')
  const sources = ['authorization']
  const malformed = { type: 'malformed', sources } as const
  return {
    name: 'bearer',
    headers: sources,
    challengeScheme: 'bearer',
    bearerErrors: true,
    challenge: bearerChallenge,
    extract(values) {
      const token = readBearer(values, MAX_KEY_LENGTH)
      if (token === undefined) return undefined
      return token === null ? malformed : { type: 'key', key: token, sources }
    },
  }
}
