/**
 * A key in a dedicated header: `X-Api-Key` (Rapid7 InsightAppSec) and `X-SSAPI-KEY` (AttackForge).
 * @module
 */
import { fieldsOf, knownFields, noOptions, object } from '../lib/options.js'
import { quote, rangeError, typeError } from '../errors.js'
import { keyValue } from './_grammar.js'
import { quoted, type Scheme } from './_scheme.js'

/** Options of `schemes.apiKeyHeader()`. */
export interface ApiKeyHeaderOptions {
  /**
   * The header that carries the key (case-insensitive). Not `Authorization`: use `bearer`,
   * `basic` or `restApiKey` for that.
   * @default 'X-Api-Key'
   * @example 'X-Api-Key'
   */
  header?: string
  /**
   * Scheme name reported in principals and decision events.
   * @default 'api-key'
   * @example 'api-key'
   */
  name?: string
}

/** RFC 9110 §5.1 field-name = token. */
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/
const RESERVED: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'host', 'x-forwarded-for', 'x-forwarded-proto', 'forwarded'])

const FIELDS = fieldsOf<ApiKeyHeaderOptions>({ header: true, name: true })

/**
 * The key in its own header, e.g. `X-Api-Key: <key>` (the default scheme).
 *
 * @example
 * ```ts
 * import { createAuthorizer, schemes } from 'keyward'
 * createAuthorizer({ store, schemes: [schemes.apiKeyHeader({ header: 'X-Api-Key' })] })
 * ```
 */
export function apiKeyHeader(options: ApiKeyHeaderOptions = {}): Scheme {
  knownFields(object(options, 'options'), FIELDS, 'options')
  const header = options.header ?? 'X-Api-Key'
  if (typeof header !== 'string') throw typeError('header', 'must be a string')
  if (!TOKEN_RE.test(header)) throw rangeError('header', `${quote(header)} is not a valid header name`)
  const lower = header.toLowerCase()
  if (RESERVED.has(lower)) throw rangeError('header', `${quote(header)} cannot carry an API key; use the bearer, basic or restApiKey scheme for Authorization`)
  const name = options.name ?? 'api-key'
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(name)) throw rangeError('name', 'must be 1-32 lower-case letters, digits or dashes')
  const sources = [lower]
  return {
    name,
    headers: sources,
    challengeScheme: `apikey:${lower}`,
    bearerErrors: false,
    challenge: (realm) => `ApiKey realm=${quoted(realm)}, header=${quoted(header)}`,
    extract(values) {
      const list = values.get(lower)
      if (list === undefined) return undefined
      const key = list.length === 1 ? keyValue(list[0]!) : undefined
      return key === undefined ? { type: 'malformed', sources } : { type: 'key', key, sources }
    },
  }
}

/**
 * AttackForge's Self-Service API: `X-SSAPI-KEY: <key>`. AttackForge is HTTPS-only and denies
 * every method until it is granted: pair it with `requireTls: true` and `explicitGrants: true`.
 *
 * @example
 * ```ts
 * createAuthorizer({ store, schemes: [schemes.ssapi()], requireTls: true, explicitGrants: true })
 * ```
 */
export function ssapi(): Scheme {
  // Declared without parameters; an options object given anyway is refused, not ignored.
  noOptions(arguments[0], 'schemes.ssapi()')
  return apiKeyHeader({ header: 'X-SSAPI-KEY', name: 'ssapi' })
}
