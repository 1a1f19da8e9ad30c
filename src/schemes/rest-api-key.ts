/**
 * Ivanti Service Manager: `Authorization: rest_api_key=<Reference ID>`.
 * @module
 */
import { noOptions } from '../lib/options.js'
import { hasBadBytes, isVisibleAscii, trimOws } from '../lib/headers.js'
import { MAX_KEY_LENGTH, quoted, type Scheme } from './_scheme.js'

const PREFIX = 'rest_api_key'

/**
 * Ivanti's key in `Authorization: rest_api_key=<id>`. The scheme name is case-insensitive;
 * an empty, quoted or repeated value is malformed (400). An `Authorization` of any other scheme
 * is left alone.
 *
 * @example
 * ```ts
 * createAuthorizer({ store, schemes: [schemes.restApiKey()], tenant: tenantFromHost({ domain: 'example.test' }) })
 * ```
 */
export function restApiKey(): Scheme {
  // Declared without parameters; an options object given anyway is refused, not ignored.
  noOptions(arguments[0], 'schemes.restApiKey()')
  const sources = ['authorization']
  const malformed = { type: 'malformed', sources } as const
  return {
    name: 'rest-api-key',
    headers: sources,
    challengeScheme: 'rest_api_key',
    bearerErrors: false,
    challenge: (realm) => `rest_api_key realm=${quoted(realm)}`,
    extract(values) {
      const list = values.get('authorization')
      if (list === undefined) return undefined
      const mine = list.filter((v) => trimOws(v).slice(0, PREFIX.length).toLowerCase() === PREFIX)
      if (mine.length === 0) return undefined
      if (list.length > 1) return malformed
      const raw = list[0]!
      if (hasBadBytes(raw)) return malformed
      let rest = trimOws(trimOws(raw).slice(PREFIX.length))
      if (rest.charCodeAt(0) !== 0x3d /* = */) return malformed
      rest = trimOws(rest.slice(1))
      // Empty, quoted, or carrying separators (a second `rest_api_key=` or a list): refuse, so a
      // proxy and we can never read two different keys out of one header.
      if (rest.length === 0 || rest.length > MAX_KEY_LENGTH || !isVisibleAscii(rest)) return malformed
      if (/["',;=\\]/.test(rest)) return malformed
      return { type: 'key', key: rest, sources }
    },
  }
}
