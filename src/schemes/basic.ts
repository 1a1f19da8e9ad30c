/**
 * The key as HTTP Basic credentials (RFC 7617): `curl -u <key>:` or `curl -u api:<key>`.
 * @module
 */
import { noOptions } from '../_options.js'
import { hasBadBytes } from '../_headers.js'
import { decodeUserPass, keyValue, splitAuthorization } from './_grammar.js'
import { quoted, type Scheme } from './_scheme.js'

/**
 * The key as the Basic user name (password empty, `curl -u key:`) or as the password (any user
 * name, `curl -u api:key`). Split at the first colon (RFC 7617 §2). When both are non-empty
 * the password is the key.
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
  return {
    name: 'basic',
    headers: sources,
    challengeScheme: 'basic',
    bearerErrors: false,
    challenge: (realm) => `Basic realm=${quoted(realm)}, charset="UTF-8"`,
    extract(values) {
      const list = values.get('authorization')
      if (list === undefined) return undefined
      const parts = list.map(splitAuthorization)
      if (!parts.some((p) => p.scheme === 'basic')) return undefined
      if (list.length > 1 || hasBadBytes(list[0]!)) return malformed
      const creds = decodeUserPass(parts[0]!.rest)
      if (!creds) return malformed
      const key = keyValue(creds.pass.length > 0 ? creds.pass : creds.user)
      return key === undefined ? malformed : { type: 'key', key, sources }
    },
  }
}
