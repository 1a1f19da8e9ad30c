/**
 * Ready-made `tenant` functions for `createAuthorizer`: the tenant named by the request's host
 * (Ivanti: `https://<tenant-host>/api/...`) or by a segment of its path (`/<tenant>/api/...`).
 * They read every header shape the core accepts (Fetch `Headers`, Node records with string or
 * array values, Node's flat `rawHeaders`), case-insensitively. What they cannot read with
 * certainty (no Host, two Host fields, a host that is not a host name) gives `undefined`: the
 * request then matches no tenant and is denied as `tenant_mismatch`.
 * @module
 */
import { collectHeaders, HeaderNames, trimOws } from './lib/headers.js'
import { integer, object, options as checkOptions } from './lib/options.js'
import { rangeError, typeError } from './errors.js'
import type { AuthRequest } from './types.js'

/**
 * Reads one request header for a user callback, whatever shape the adapter handed the headers in
 * (Fetch `Headers`, a Node record with string or array values, Node's `rawHeaders`): the name is
 * matched case-insensitively (RFC 9110 §5.1) and the value comes back without leading or trailing
 * SP/HTAB (§5.5). A header that is absent, or sent more than once, reads as `undefined`: a
 * repeated field is ambiguous, and a callback must not pick one of two tenants. (A Fetch `Headers`
 * has already joined repeats with ", " and cannot tell them apart.)
 * @example
 * ```ts
 * createAuthorizer({ store, tenant: (request, header) => header('X-Tenant') })
 * ```
 */
export type HeaderReader = (name: string) => string | undefined

/**
 * A `tenant` function, as `createAuthorizer({ tenant })` takes it: the request, and a
 * {@link HeaderReader} over its headers.
 */
export type TenantResolver = (request: AuthRequest, header: HeaderReader) => string | undefined

/** RFC 9110 §5.1: a field name is a token. */
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/
const readers = new Map<string, HeaderNames>()

/**
 * The one value of header `name` in `request`, as a {@link HeaderReader} reads it. Throws a
 * `TypeError` for a name that is not a field name (a mistake in the calling code).
 * @example
 * ```ts
 * import { readHeader } from 'keyward'
 * readHeader({ method: 'GET', headers: { 'x-tenant': ' acme ' } }, 'X-Tenant') // 'acme'
 * ```
 */
export function readHeader(request: AuthRequest, name: string): string | undefined {
  if (typeof name !== 'string' || !FIELD_NAME.test(name)) throw typeError('name', 'must be a header field name (RFC 9110 token, at most 64 characters)')
  const lower = name.toLowerCase()
  let names = readers.get(lower)
  if (names === undefined) {
    names = new HeaderNames([lower])
    if (readers.size < 256) readers.set(lower, names)
  }
  const list = request !== null && typeof request === 'object' ? collectHeaders(request.headers, names).get(lower) : undefined
  return list !== undefined && list.length === 1 ? trimOws(list[0]!) : undefined
}

/** A {@link HeaderReader} over `request`'s headers. */
export function headerReader(request: AuthRequest): HeaderReader {
  return (name) => readHeader(request, name)
}

/** Options of {@link tenantFromHost}. Give at most one of `domain` and `hosts`. */
export interface TenantFromHostOptions {
  /**
   * The domain under which each tenant has its own name: with `'example.test'`, the host
   * `tenant-a.example.test` is tenant `tenant-a`. A host outside the domain, the domain itself,
   * or a name two labels below it is no tenant.
   * @default undefined (the whole host name is the tenant)
   * @example 'example.test'
   */
  domain?: string
  /**
   * Host names and their tenants, for tenants with hosts of their own. A host not listed is no tenant.
   * @default undefined (the whole host name is the tenant)
   * @example { 'service.acme.example': 'acme', 'itsm.globex.example': 'globex' }
   */
  hosts?: Readonly<Record<string, string>> | ReadonlyMap<string, string>
}

/** Options of {@link tenantFromPath}. */
export interface TenantFromPathOptions {
  /**
   * Which path segment names the tenant, counting from 0: `0` for `/<tenant>/api/...`, `2` for
   * `/api/ng/<tenant>/...`.
   * @default 0
   * @example 2
   */
  segment?: number
}

const HOST = new HeaderNames(['host'])
/** A reg-name host of letters, digits, `-` and `.` (RFC 3986 §3.2.2), each label 1–63 characters. */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/
/** An IPv6 literal in brackets, or anything else without brackets, then an optional port. */
const HOST_PORT = /^(\[[0-9a-f:.]+\]|[^[\]:]*)(?::\d{0,5})?$/

/**
 * The host name of a `Host` field value (RFC 9110 §7.2: `uri-host [":" port]`), lower-cased and
 * without a port or one trailing dot, or `undefined` when it is not one host name.
 */
export function hostName(value: string): string | undefined {
  const m = HOST_PORT.exec(trimOws(value).toLowerCase())
  if (m === null) return undefined
  let host = m[1]!
  if (host.startsWith('[')) return host
  if (host.endsWith('.')) host = host.slice(0, -1)
  return HOST_NAME.test(host) ? host : undefined
}

/** The request's one `Host` field, as a host name; `undefined` when absent, repeated or not a host. */
function requestHost(request: AuthRequest): string | undefined {
  const list = request !== null && typeof request === 'object' ? collectHeaders(request.headers, HOST).get('host') : undefined
  // RFC 9112 §3.2: a request with more than one Host field is invalid.
  return list !== undefined && list.length === 1 ? hostName(list[0]!) : undefined
}

function domainOption(value: unknown): string {
  if (typeof value !== 'string') throw typeError('domain', 'must be a string')
  const d = hostName(value.startsWith('.') ? value.slice(1) : value)
  if (d === undefined || d.startsWith('[') || d !== value.replace(/^\./, '').replace(/\.$/, '').toLowerCase()) {
    throw rangeError('domain', 'must be a host name such as "example.test" (no port, no scheme)')
  }
  return d
}

function hostsOption(value: unknown): ReadonlyMap<string, string> {
  const entries: [unknown, unknown][] = value instanceof Map ? [...(value as Map<unknown, unknown>)] : Object.entries(object(value, 'hosts'))
  const out = new Map<string, string>()
  for (const [host, tenant] of entries) {
    const name = typeof host === 'string' ? hostName(host) : undefined
    if (typeof host !== 'string' || name === undefined || name !== host.toLowerCase().replace(/\.$/, '')) {
      throw rangeError('hosts', `${typeof host === 'string' ? JSON.stringify(host) : 'a key'} is not a host name (no port, no scheme)`)
    }
    if (typeof tenant !== 'string' || tenant.length === 0) throw typeError(`hosts[${JSON.stringify(name)}]`, 'must be a non-empty tenant id')
    out.set(name, tenant)
  }
  return out
}

/**
 * A `tenant` function that reads the tenant from the request's `Host` header (Ivanti: each tenant
 * has its own host name). The port and a trailing dot are ignored, letter case too. Behind a
 * proxy, have it pass the client's `Host` through (X-Forwarded-Host is not read).
 *
 * @example
 * ```ts
 * import { createAuthorizer, schemes, tenantFromHost } from 'keyward'
 *
 * // https://tenant-a.example.test/api/odata/... → tenant "tenant-a"
 * createAuthorizer({ store, schemes: [schemes.restApiKey()], tenant: tenantFromHost({ domain: 'example.test' }) })
 * ```
 */
export function tenantFromHost(options?: TenantFromHostOptions): (request: AuthRequest) => string | undefined {
  const o = checkOptions(options, 'options', ['domain', 'hosts'], true)
  if (o.domain !== undefined && o.hosts !== undefined) throw rangeError('options', 'give either domain or hosts, not both')
  if (o.hosts !== undefined) {
    const hosts = hostsOption(o.hosts)
    return (request) => {
      const host = requestHost(request)
      return host === undefined ? undefined : hosts.get(host)
    }
  }
  if (o.domain !== undefined) {
    const suffix = `.${domainOption(o.domain)}`
    return (request) => {
      const host = requestHost(request)
      if (host === undefined || !host.endsWith(suffix)) return undefined
      const label = host.slice(0, -suffix.length)
      return label.length > 0 && !label.includes('.') ? label : undefined
    }
  }
  return requestHost
}

/**
 * A `tenant` function that reads the tenant from one segment of the request's path (the path the
 * framework routes on, as every adapter hands it). The query is never read; an empty segment, or
 * a path with fewer segments, is no tenant.
 *
 * @example
 * ```ts
 * import { createAuthorizer, schemes, tenantFromPath } from 'keyward'
 *
 * // /api/ng/<organization>/applications → the organization
 * createAuthorizer({ store, schemes: [schemes.contrast()], tenant: tenantFromPath({ segment: 2 }) })
 * ```
 */
export function tenantFromPath(options?: TenantFromPathOptions): (request: AuthRequest) => string | undefined {
  const o = checkOptions(options, 'options', ['segment'], true)
  const segment = integer(o.segment, 'segment', 0, 0, 64)
  return (request) => {
    const url = request !== null && typeof request === 'object' ? request.url : undefined
    if (typeof url !== 'string' || url.charCodeAt(0) !== 0x2f) return undefined
    let end = url.length
    for (const c of ['?', '#']) {
      const i = url.indexOf(c)
      if (i >= 0 && i < end) end = i
    }
    const value = url.slice(1, end).split('/', segment + 1)[segment]
    return value === undefined || value.length === 0 ? undefined : value
  }
}
