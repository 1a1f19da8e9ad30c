/**
 * Contrast's dual header: `API-Key: <organization key>` and
 * `Authorization: base64(username:service-key)`, with or without the `Basic ` word.
 * @module
 */
import { noOptions } from '../lib/options.js'
import { hasBadBytes, trimOws } from '../lib/headers.js'
import { decodeUserPass, isToken68, keyValue, splitAuthorization } from './_grammar.js'
import { quoted, type Extraction, type Scheme } from './_scheme.js'

/**
 * Contrast's two-part credential. Both parts must be right and belong together: the organization
 * key (a `tenant` key) and the user's service key (a `user` key owned by that user name) must
 * share the tenant. Any mismatch, and a locked user, is 401 `invalid_credentials`; so is an
 * `Authorization` that is well-formed Basic text (RFC 7617) but holds no user name or no key
 * (`ana:`, `:key`, spaces, non-ASCII), while text that is not Basic at all is 400. One part alone
 * is 401 `missing_credentials`. Where this scheme is configured, a user key with a tenant and an
 * owner is a service key: it is accepted only as this pair, never alone through another scheme
 * (401 `invalid_credentials`, as an unknown key). An `Authorization` value that is also Basic is
 * read as this pair when `API-Key` is present, else as Basic.
 *
 * @example
 * ```ts
 * createAuthorizer({ store, schemes: [schemes.contrast()] })
 * // curl -H "API-Key: <org key>" -H "Authorization: $(printf 'ana@acme.test:<service key>' | base64)" …
 * ```
 */
export function contrast(): Scheme {
  // Declared without parameters; an options object given anyway is refused, not ignored.
  noOptions(arguments[0], 'schemes.contrast()')
  const both = ['api-key', 'authorization']
  const malformed: Extraction = { type: 'malformed', sources: both }
  // A token with no `verify` is refused as an invalid credential (see `Extraction`).
  const notAKey = Object.freeze({ type: 'token', token: '', sources: both }) as Extraction
  return {
    name: 'contrast',
    headers: both,
    challengeScheme: 'contrast',
    bearerErrors: false,
    challenge: (realm) => `Contrast realm=${quoted(realm)}, header="API-Key"`,
    extract(values) {
      const apiKeys = values.get('api-key')
      const auths = values.get('authorization')
      // Which Authorization values are ours: `Basic <token68>`, or a bare token68 (Contrast's samples).
      let token: string | undefined
      let ours = false
      if (auths !== undefined) {
        const p = splitAuthorization(auths[0]!)
        if (p.scheme === 'basic') [ours, token] = [true, p.rest]
        else if (p.rest.length === 0 && isToken68(p.scheme)) [ours, token] = [true, trimOws(auths[0]!)]
        else if (auths.length > 1) ours = true
      }
      if (apiKeys === undefined) return ours ? { type: 'partial', sources: ['authorization'] } : undefined
      if (apiKeys.length > 1 || (ours && auths!.length > 1)) return malformed
      const tenantKey = keyValue(apiKeys[0]!)
      if (tenantKey === undefined) return { type: 'malformed', sources: ['api-key'] }
      if (!ours) return { type: 'partial', sources: ['api-key'] }
      // Stryker disable next-line ConditionalExpression: equivalent, a value read as ours has its bad bytes in the token (the Basic word and OWS hold none), and decodeUserPass refuses them as not token68
      if (hasBadBytes(auths![0]!)) return malformed
      // Stryker disable next-line ConditionalExpression: equivalent, token is undefined only when ours came from a repeated field, refused as malformed above
      const creds = token === undefined ? undefined : decodeUserPass(token)
      if (!creds) return malformed
      const key = keyValue(creds.pass)
      const user = keyValue(creds.user)
      // Well-formed (RFC 7617 §2, as for Basic) but no user name or service key can look like it
      // (empty, spaces, non-ASCII, too long): invalid credentials, 401 with the challenge.
      if (key === undefined || user === undefined) return notAKey
      return { type: 'pair', tenantKey, user, key, sources: both }
    },
  }
}
