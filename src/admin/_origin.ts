/**
 * Cross-site request refusal for the admin API. A browser attaches some credentials by itself
 * (HTTP Basic it has cached, a client certificate, a network position behind an allowlist), so
 * a page on another site could otherwise make it call the API: an HTML form can POST
 * `text/plain` anywhere without a preflight. Every API call is therefore refused when:
 *
 * - `Sec-Fetch-Site` (Fetch Metadata, W3C) is anything but `same-origin` or `none` (a user typing
 *   the URL), unless its `Origin` is one the operator trusts;
 * - `Origin` (RFC 6454 §7) is present and neither the admin's own nor a trusted one (`null`, the
 *   opaque origin of sandboxes, files and cross-origin redirects, is never trusted);
 * - it carries a body or a `Content-Type` other than `application/json`: a JSON content type
 *   cannot be sent cross-origin without a CORS preflight, which the admin API never grants.
 *
 * Clients that are not browsers send neither header and are unaffected. Console assets are not
 * checked: following a link to the console from elsewhere is a plain navigation.
 * @module
 */
import { rangeError, typeError } from '../errors.js'
import { Problem } from './_http.js'

const SAFE_SITES = new Set(['same-origin', 'none'])
const MAX_TRUSTED = 64

/**
 * Validates the `trustedOrigins` option: serialised origins (`https://admin.example.com`,
 * RFC 6454 §6.2), http or https, exactly as `new URL(o).origin` prints them.
 */
export function trustedOriginsOf(value: unknown): ReadonlySet<string> {
  if (value === undefined) return new Set()
  if (!Array.isArray(value)) throw typeError('trustedOrigins', 'must be an array of origins')
  if (value.length > MAX_TRUSTED) throw rangeError('trustedOrigins', `must hold at most ${MAX_TRUSTED} origins`)
  const out = new Set<string>()
  value.forEach((o: unknown, i) => {
    const field = `trustedOrigins[${i}]`
    if (typeof o !== 'string') throw typeError(field, 'must be a string')
    let parsed: URL | undefined
    try {
      parsed = new URL(o)
    } catch {
      parsed = undefined
    }
    if (parsed === undefined || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.origin !== o) {
      // The value is operator configuration, not a secret; still, only its shape is described.
      throw rangeError(field, "must be an origin such as 'https://admin.example.com' (scheme, host and optional port; no path or trailing slash)")
    }
    out.add(o)
  })
  return out
}

/** The admin's own origins: the request URL's, and its https twin (TLS ended at a proxy). */
function isOwn(origin: string, url: URL): boolean {
  return origin === url.origin || (url.protocol === 'http:' && origin === `https://${url.host}`)
}

function crossSite(): Problem {
  return new Problem(
    403,
    'cross_site_request',
    "Cross-site requests to the admin API are refused (Sec-Fetch-Site or Origin is not the admin's own). Behind a proxy or on another origin, list it in trustedOrigins.",
  )
}

/** `application/json` with optional parameters, case-insensitive (RFC 9110 §8.3.1). */
function isJsonMediaType(contentType: string): boolean {
  const semi = contentType.indexOf(';')
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === 'application/json'
}

/**
 * Whether the request declares a body (RFC 9112 §6.3: a request has one only with a
 * `Content-Length` or `Transfer-Encoding`). Some mounts hand every DELETE or POST an empty
 * stream, so the stream itself tells nothing.
 */
function hasBody(request: Request): boolean {
  const length = request.headers.get('content-length')
  return (length !== null && length !== '0') || request.headers.has('transfer-encoding')
}

/**
 * The refusal for a cross-site API call, or `undefined` when it may proceed. Reads headers only
 * and never echoes their values.
 */
export function crossSiteProblem(request: Request, url: URL, trusted: ReadonlySet<string>): Problem | undefined {
  const origin = request.headers.get('origin')
  const site = request.headers.get('sec-fetch-site')
  if (origin !== null && !isOwn(origin, url) && !trusted.has(origin)) return crossSite()
  if (site !== null && !SAFE_SITES.has(site.toLowerCase()) && !(origin !== null && trusted.has(origin))) return crossSite()
  return undefined
}

/**
 * The refusal of a body that is not JSON on a route that reads none (routes that read one
 * refuse it when reading), or `undefined`. Checked after the credentials, like every body.
 */
export function bodyTypeProblem(request: Request): Problem | undefined {
  if (request.method === 'GET' || request.method === 'HEAD') return undefined
  const type = request.headers.get('content-type')
  if (type === null ? hasBody(request) : !isJsonMediaType(type)) {
    return new Problem(415, 'unsupported_media_type', 'A request with a body must send it as application/json.')
  }
  return undefined
}
