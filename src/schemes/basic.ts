/**
 * The key as HTTP Basic credentials (RFC 7617): `curl -u <key>:` or `curl -u api:<key>`.
 * @module
 */
import { noOptions } from '../lib/options.js'
import { hasBadBytes, trimOws } from '../lib/headers.js'
import { credentialsStart, decodeUserPass, keyValue } from './_grammar.js'
import { quoted, type Extraction, type Scheme } from './_scheme.js'

/**
 * The key as the Basic user name (password empty, `curl -u key:`) or as the password (any user
 * name, `curl -u api:key`). Split at the first colon (RFC 7617 §2). When both are non-empty
 * the password is the key. Credentials that are well-formed but cannot be a key (`Basic Og==`,
 * `Aladdin:open sesame`, a UTF-8 password) are 401 `invalid_credentials`; only what RFC 7617
 * makes malformed (not base64, no colon, a control character) is 400.
 *
 * @example
 * ```ts
 * createAuthorizer({ store, schemes: [schemes.basic()] })
 * // curl -u "kw_live_…:" …
 * ```
 */
export function basic(): Scheme {
  // Declared without parameters; an options object given anyway is refused, not ignored.
  noOptions(arguments[0], 'schemes.basic()')
  const sources = ['authorization']
  const malformed = { type: 'malformed', sources } as const
  // A token with no `verify` is refused as an invalid credential (see `Extraction`).
  const notAKey = Object.freeze({ type: 'token', token: '', sources }) as Extraction
  return {
    name: 'basic',
    headers: sources,
    challengeScheme: 'basic',
    bearerErrors: false,
    challenge: (realm) => `Basic realm=${quoted(realm)}, charset="UTF-8"`,
    extract(values) {
      const list = values.get('authorization')
      if (list === undefined) return undefined
      // The scheme word is read in place: a field of another scheme allocates nothing.
      const start = credentialsStart(list[0]!, 'basic')
      // Stryker disable next-line EqualityOperator: equivalent, credentialsStart is -1 or past the scheme word, never 0
      if (!list.some((v) => credentialsStart(v, 'basic') >= 0)) return undefined
      if (list.length > 1 || hasBadBytes(list[0]!)) return malformed
      // One field, so it is the Basic one: start >= 0.
      const creds = decodeUserPass(trimOws(list[0]!.slice(start)))
      if (!creds) return malformed
      const key = keyValue(creds.pass.length > 0 ? creds.pass : creds.user)
      // Well-formed (RFC 7617 §2) but no key can look like it (empty, spaces, non-ASCII, too
      // long): invalid credentials, 401 with the challenge, never looked up.
      return key === undefined ? notAKey : { type: 'key', key, sources }
    },
  }
}
