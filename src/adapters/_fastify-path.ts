/**
 * The path Fastify routes on, computed from the request target the way its router
 * (find-my-way 8/9) computes it, so the core (the `tenant` callback, `onDecision`) and the route
 * (`request.params`) read one and the same path. Private to the Fastify adapter.
 * @module
 */

/** The router options that change the routed path. Fastify's defaults are all `false`. */
export interface RouterPathOptions {
  /** `//` runs collapse to `/`. */
  readonly ignoreDuplicateSlashes: boolean
  /** One trailing `/` (not the root) is dropped. */
  readonly ignoreTrailingSlash: boolean
  /** `;` ends the path, like `?`. */
  readonly useSemicolonDelimiter: boolean
}

export const DEFAULT_ROUTER_PATH: RouterPathOptions = Object.freeze({
  ignoreDuplicateSlashes: false,
  ignoreTrailingSlash: false,
  useSemicolonDelimiter: false,
})

interface ConfigLike {
  readonly routerOptions?: Readonly<Record<string, unknown>> | null
  readonly [name: string]: unknown
}

/**
 * The effective router options of a Fastify instance, from its `initialConfig`. Fastify 5 reads
 * them from `routerOptions`, falling back to the (deprecated) top-level options; `initialConfig`
 * fills `routerOptions` with defaults, so an option `true` in either place is taken as set.
 */
export function routerPathOptions(config: unknown): RouterPathOptions {
  if (config === null || typeof config !== 'object') return DEFAULT_ROUTER_PATH
  const c = config as ConfigLike
  const r = c.routerOptions !== null && typeof c.routerOptions === 'object' ? c.routerOptions : {}
  const on = (name: keyof RouterPathOptions): boolean => r[name] === true || c[name] === true
  return Object.freeze({
    ignoreDuplicateSlashes: on('ignoreDuplicateSlashes'),
    ignoreTrailingSlash: on('ignoreTrailingSlash'),
    useSemicolonDelimiter: on('useSemicolonDelimiter'),
  })
}

const ABSOLUTE_RE = /^https?:\/\/[^/?#]*/i
const PERCENT_25 = /%25/g
const SLASH_RUN = /\/\/+/g

/**
 * The routed path, followed by `?` and the query when the target has one: percent-escapes
 * decoded except those of reserved characters (`%2F`, `%3F`, `%23`… stay as sent, so segment
 * boundaries are the router's; `%25` stays `%25`), cut at the first `?`, `#` (and `;` under
 * `useSemicolonDelimiter`), then `//` runs and a trailing slash handled as the options say.
 * No `.`/`..` resolution and no case folding: the router does neither (params keep the case).
 * `undefined` for a target the router refuses as a bad URL (a malformed escape): no route, and
 * so no guard, ever sees one.
 */
export function routedTarget(target: string, o: RouterPathOptions): string | undefined {
  let t = target
  if (t.charCodeAt(0) !== 47 /* / */) {
    // Absolute-form (RFC 9112 §3.2.2): the router routes on the path; the authority is not used.
    const m = ABSOLUTE_RE.exec(t)
    if (m === null) return t === '*' ? t : undefined
    t = t.slice(m[0].length)
    if (t === '' || t.charCodeAt(0) === 63 /* ? */) t = `/${t}`
    else if (t.charCodeAt(0) !== 47) return undefined
  }
  let end = t.length
  let escaped = false
  for (let i = 1; i < t.length; i++) {
    const c = t.charCodeAt(i)
    if (c === 37 /* % */) escaped = true
    else if (c === 63 /* ? */ || c === 35 /* # */ || (c === 59 /* ; */ && o.useSemicolonDelimiter)) {
      end = i
      break
    }
  }
  let path = end === t.length ? t : t.slice(0, end)
  if (escaped) {
    try {
      // decodeURI keeps the reserved characters' escapes; %25 is kept by escaping it once more.
      path = decodeURI(path.replace(PERCENT_25, '%2525'))
    } catch {
      return undefined
    }
  }
  if (o.ignoreDuplicateSlashes && path.includes('//')) path = path.replace(SLASH_RUN, '/')
  if (o.ignoreTrailingSlash && path.length > 1 && path.charCodeAt(path.length - 1) === 47) path = path.slice(0, -1)
  return end === t.length ? path : `${path}?${t.slice(end + 1)}`
}
