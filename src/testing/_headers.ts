/**
 * Request headers for a key, in the grammar of each credential scheme. Pure functions: the kit
 * decides which scheme and which key; this module only spells the headers.
 * @module
 */
import { quote, rangeError, typeError } from '../errors.js'
import type { Scheme } from '../schemes/scheme.js'

/** The names of the built-in schemes, as in `principal.scheme`. */
export type TestSchemeName = 'api-key' | 'ssapi' | 'rest-api-key' | 'contrast' | 'bearer' | 'basic' | 'jwt'

/** Every built-in scheme name, in the order the kit configures them by default. */
export const SCHEME_NAMES: readonly TestSchemeName[] = Object.freeze(['api-key', 'ssapi', 'rest-api-key', 'contrast', 'bearer', 'basic', 'jwt'])

/** How a scheme carries a credential, which is all that header building needs to know. */
export type Carrier =
  | { readonly type: 'header'; readonly header: string }
  | { readonly type: 'rest-api-key' | 'contrast' | 'bearer' | 'basic' | 'token' }

const CANONICAL: Readonly<Record<TestSchemeName, Carrier>> = Object.freeze({
  'api-key': { type: 'header', header: 'x-api-key' },
  ssapi: { type: 'header', header: 'x-ssapi-key' },
  'rest-api-key': { type: 'rest-api-key' },
  contrast: { type: 'contrast' },
  bearer: { type: 'bearer' },
  basic: { type: 'basic' },
  jwt: { type: 'token' },
})

export function isSchemeName(value: unknown): value is TestSchemeName {
  return typeof value === 'string' && (SCHEME_NAMES as readonly string[]).includes(value)
}

/**
 * How `scheme` carries a credential, read from what every scheme declares (its challenge scheme
 * and headers), so `apiKeyHeader({ header: 'X-Acme-Key' })` is recognised with its own header.
 * `undefined` for a scheme this module cannot spell.
 */
export function carrierOf(scheme: Scheme): Carrier | undefined {
  if (typeof scheme.verify === 'function') return { type: 'token' }
  const c = scheme.challengeScheme
  if (c.startsWith('apikey:') && scheme.headers.length === 1) return { type: 'header', header: scheme.headers[0]! }
  if (c === 'rest_api_key' || c === 'contrast' || c === 'bearer' || c === 'basic') {
    return { type: c === 'rest_api_key' ? 'rest-api-key' : c }
  }
  return undefined
}

/**
 * The carrier for a scheme given by name: the configured scheme of that name if there is one
 * (so a custom header is honoured), else the built-in scheme's (to build headers the kit's
 * authorizer does not accept, for negative tests).
 */
export function carrierByName(name: string, configured: readonly Scheme[], field: string): Carrier {
  const own = configured.find((s) => s.name === name)
  if (own !== undefined) {
    const c = carrierOf(own)
    if (c === undefined) throw typeError(field, `cannot build headers for the custom scheme ${quote(name)}`)
    return c
  }
  if (isSchemeName(name)) return CANONICAL[name]
  throw rangeError(field, `unknown scheme ${quote(name)} (one of ${SCHEME_NAMES.join(', ')}, or a configured scheme's name)`)
}

/** Standard base64 (RFC 4648 §4) of a string's UTF-8 bytes, with padding, on any runtime. */
export function base64(text: string): string {
  const bytes = new TextEncoder().encode(text)
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary)
}

/** Headers for a single-key scheme. */
export function keyHeaders(carrier: Carrier, key: string, basicUser: string | undefined): Record<string, string> {
  switch (carrier.type) {
    case 'header':
      return { [carrier.header]: key }
    case 'rest-api-key':
      return { authorization: `rest_api_key=${key}` }
    case 'bearer':
      return { authorization: `Bearer ${key}` }
    case 'basic':
      // `curl -u key:` by default; with a user name, the key is the password (`curl -u api:key`).
      return { authorization: `Basic ${base64(basicUser === undefined ? `${key}:` : `${basicUser}:${key}`)}` }
    default:
      throw new Error(`unreachable: ${carrier.type}`)
  }
}

/** Contrast's pair, in Contrast's own form: no `Basic ` word before the base64. */
export function contrastHeaders(organizationKey: string, user: string, serviceKey: string): Record<string, string> {
  return { 'api-key': organizationKey, authorization: base64(`${user}:${serviceKey}`) }
}
