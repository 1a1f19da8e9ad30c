/**
 * What the Express and Koa admin mounts share: a Node request turned into a Fetch `Request` for
 * the admin handler, and the handler's `Response` turned back into status, headers and bytes.
 * Transport only: which route, who may call it, and every answer are the handler's.
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { AdminHandler, ClientInfo } from '../admin/handler.js'
import { KeywardError, quote, rangeError, typeError } from '../errors.js'

/**
 * Thrown (Express: passed to `next`) when a middleware such as `express.json()` or
 * `koa-bodyparser` read the request body before the admin mount. The mount refuses rather than
 * re-serialising the parsed `req.body`: that object may have been shaped by the parser's options
 * (reviver, charset, size limit) or changed by other middleware, and the admin API must act on
 * exactly the bytes the client sent. `status` and `expose` are read by Express's and Koa's
 * error handling: a generic 500, never this message, is what the client sees.
 */
export class BodyConsumedError extends KeywardError {
  override readonly code = 'KEYWARD_BODY_CONSUMED'
  readonly status = 500
  readonly expose = false
  constructor() {
    super(
      'keyward admin mount: the request body was already read by another middleware (a body parser such as ' +
        'express.json() or koa-bodyparser). Mount the admin middleware before any body parser, or keep the parser off its path.',
    )
  }
}

/** Throws unless `handler` is callable (what `createAdminHandler()` returns). */
export function checkHandler(handler: unknown): asserts handler is AdminHandler {
  if (typeof handler !== 'function') throw typeError('handler', 'must be the function createAdminHandler() returns')
}

// The same grammar as the handler's `basePath` (kept in step with src/admin/handler.ts): the two
// must be equal, so a mount cannot accept a base path the handler would refuse.
const BASE_PATH_RE = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*$/

/** Validates a mount's `basePath` option the way `createAdminHandler` validates its own. */
export function checkBasePath(basePath: unknown): string {
  if (basePath === undefined) return '/admin'
  if (typeof basePath !== 'string') throw typeError('basePath', 'must be a string')
  if (basePath.length > 256 || !BASE_PATH_RE.test(basePath) || basePath.split('/').some((s) => s === '..')) {
    throw rangeError('basePath', `${quote(basePath)} must be '' or '/segment[/segment…]' of unreserved characters, without a trailing slash`)
  }
  return basePath
}

/** Path and query of a request target, as received (not normalised). */
interface Target {
  readonly path: string
  readonly search: string
}

/**
 * Splits an origin-form (`/a/b?q`) or absolute-form (`http://h/a/b?q`) request target. Anything
 * else (`*`, authority-form) is `undefined`. The authority of an absolute-form target is ignored:
 * the URL is built from the Host header, as for origin-form.
 */
export function splitTarget(target: string): Target | undefined {
  let rest = target
  if (!rest.startsWith('/')) {
    const m = /^https?:\/\/[^/?#]*/i.exec(rest)
    if (m === null) return undefined
    rest = rest.slice(m[0].length)
    if (rest === '') rest = '/'
    else if (rest.startsWith('?')) rest = `/${rest}`
    else if (!rest.startsWith('/')) return undefined
  }
  const q = rest.indexOf('?')
  return q < 0 ? { path: rest, search: '' } : { path: rest.slice(0, q), search: rest.slice(q) }
}

/** True if `path` (as received) is `basePath` or below it. `''` is the root: everything. */
export function isUnder(path: string, basePath: string): boolean {
  return basePath === '' || path === basePath || path.startsWith(`${basePath}/`)
}

const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i

/**
 * True if the URL parser would read a different path than the framework routed on: WHATWG URL
 * parsing turns `\` into `/` and resolves `.`/`..` segments, `%2e` spellings included. Express
 * and Koa match the raw path, so `/admin/x/../api/keys` would reach a route that a guard on
 * `/admin/api/keys` never saw. Such targets are refused, not normalised.
 */
function confusable(target: Target): boolean {
  if (target.path.includes('\\') || target.path.includes('#') || target.search.includes('#')) return true
  return target.path.split('/').some((s) => DOT_SEGMENT.test(s))
}

// Host as a registered name of unreserved characters or a bracketed IPv6 literal, with an
// optional port: nothing that could move the path (`/`, `?`, `#`, `@`, `\`) when the URL is parsed.
const HOST_RE = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/

/** The connection facts the handler cannot see in a `Request`: the socket's peer and TLS. */
export function clientOf(req: IncomingMessage): ClientInfo {
  const socket = req.socket as TLSSocket | undefined
  const address = socket?.remoteAddress
  return { ...(typeof address === 'string' ? { remoteAddress: address } : {}), secure: socket?.encrypted === true }
}

/** The request's header fields as received, each repeated field appended (Fetch joins them with ", "). */
function headersOf(raw: readonly string[]): Headers {
  const headers = new Headers()
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!
    // HTTP/2 pseudo-headers (`:path`…) are not fields; Headers would refuse their names.
    if (!name.startsWith(':')) headers.append(name, raw[i + 1]!)
  }
  return headers
}

/** Whether the request carries a body (RFC 9112 §6.3), and whether it is declared empty. */
function bodyOf(req: IncomingMessage): 'none' | 'empty' | 'some' {
  if (req.headers['transfer-encoding'] !== undefined) return 'some'
  const length = req.headers['content-length']
  if (length === undefined) return 'none'
  return length === '0' ? 'empty' : 'some'
}

/** Another reader got to the stream first: its bytes, or some of them, are gone. */
function consumed(req: IncomingMessage): boolean {
  return req.readableDidRead || req.readableEnded || req.readableFlowing === true || (req as { _body?: unknown })._body === true
}

/**
 * The body as a pull-based stream: a chunk is read from the socket only when the handler asks
 * for one, so the handler's `maxBodyBytes` bounds what is buffered. When the handler stops
 * early (a body over the limit), the rest is discarded as it arrives, as Node does with a body
 * nobody reads, so the connection stays usable for the answer and the next request.
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let detach: (() => void) | undefined
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        // Ended or torn down before this read: no event would come to wait for.
        if (req.readableEnded) {
          controller.close()
          return undefined
        }
        if (req.destroyed) {
          controller.error(new Error('the request was closed before its body was complete'))
          return undefined
        }
        return new Promise<void>((resolve) => {
          const settle = (act: () => void): void => {
            if (detach === undefined) return
            detach()
            detach = undefined
            act()
            resolve()
          }
          const onReadable = (): void => {
            const chunk: unknown = req.read()
            if (chunk === null) return // more later ('readable'), or the end ('end')
            const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer)
            // A copy: Node may reuse a pooled buffer once this chunk is handed on.
            settle(() => controller.enqueue(new Uint8Array(bytes)))
          }
          const onEnd = (): void => settle(() => controller.close())
          const onError = (e: Error): void => settle(() => controller.error(e))
          const onClose = (): void => settle(() => controller.error(new Error('the request was closed before its body was complete')))
          req.on('readable', onReadable)
          req.on('end', onEnd)
          req.on('error', onError)
          req.on('close', onClose)
          detach = () => {
            req.off('readable', onReadable)
            req.off('end', onEnd)
            req.off('error', onError)
            req.off('close', onClose)
          }
          onReadable()
        })
      },
      cancel() {
        detach?.()
        detach = undefined
        req.resume()
      },
    },
    // Nothing is read ahead: a request the handler answers without its body (a deny, a 404)
    // leaves the stream untouched, and Node drains it after the response.
    { highWaterMark: 0 },
  )
}

/**
 * The Fetch `Request` for a Node request whose target (path and query, as the client sent it,
 * e.g. Express's `req.originalUrl`) is `target`. `undefined` when the request cannot be passed on
 * faithfully (the mount answers 400): a target the URL parser would read differently, a missing
 * or malformed Host, a method Fetch refuses (`TRACE`), a header Fetch refuses. Throws
 * {@link BodyConsumedError} when another middleware already read a non-empty body.
 */
export function toFetchRequest(req: IncomingMessage, target: string): Request | undefined {
  const parts = splitTarget(target)
  if (parts === undefined || confusable(parts)) return undefined
  const host = req.headers.host
  if (typeof host !== 'string' || !HOST_RE.test(host)) return undefined
  const scheme = (req.socket as TLSSocket | undefined)?.encrypted === true ? 'https' : 'http'
  const method = req.method ?? 'GET'
  const init: RequestInit & { duplex?: 'half' } = { method }
  try {
    init.headers = headersOf(req.rawHeaders)
  } catch {
    return undefined
  }
  const body = bodyOf(req)
  // Fetch forbids a body on GET and HEAD, and no admin route reads one there.
  if (body !== 'none' && method !== 'GET' && method !== 'HEAD') {
    if (consumed(req)) {
      // An empty body lost nothing; any other was read by someone else.
      if (body !== 'empty') throw new BodyConsumedError()
    } else {
      init.body = bodyStream(req)
      init.duplex = 'half'
    }
  }
  try {
    return new Request(`${scheme}://${host}${parts.path}${parts.search}`, init)
  } catch {
    return undefined
  }
}

/** A response to write to Node: status, header fields (lower-case names), and the exact bytes. */
export interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string | string[]>>
  /** `undefined` when the response has no body (204). */
  readonly body: Buffer | undefined
}

// Framing is the server's: it sets Content-Length from the bytes written.
const NOT_COPIED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive'])

/** Reads a handler `Response` whole: admin responses are small, and a buffered body gets a Content-Length. */
export async function toReply(response: Response): Promise<Reply> {
  const headers: Record<string, string | string[]> = {}
  for (const [name, value] of response.headers) {
    if (!NOT_COPIED.has(name) && name !== 'set-cookie') headers[name] = value
  }
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) headers['set-cookie'] = cookies
  const body = response.body === null ? undefined : Buffer.from(await response.arrayBuffer())
  return { status: response.status, headers, body }
}

/** The mount's own answer to a request it cannot pass on (see {@link toFetchRequest}). */
export const BAD_REQUEST: Reply = Object.freeze({
  status: 400,
  headers: Object.freeze({
    'content-type': 'application/problem+json',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  }),
  body: Buffer.from(
    JSON.stringify({ type: 'about:blank', title: 'Bad Request', status: 400, detail: 'The request target, Host or method cannot be handled.' }),
  ),
})
