/**
 * Deny decisions and their HTTP rendering: status, code, client-safe message, and the RFC 9457
 * problem document.
 * @module
 */
import { object, knownFields } from './lib/options.js'
import { prefersXml, problemXml } from './_problem-xml.js'
import { typeError } from './errors.js'
import type { DenyCode, DenyDecision, DenyReason } from './types.js'

/** Status of each client-visible code. */
export const STATUS_OF: Readonly<Record<DenyCode, DenyDecision['status']>> = Object.freeze({
  invalid_request: 400,
  missing_credentials: 401,
  invalid_credentials: 401,
  key_disabled: 401,
  key_expired: 401,
  insecure_transport: 403,
  ip_not_allowed: 403,
  insufficient_permission: 403,
  operation_not_granted: 403,
  rate_limited: 429,
  credits_exhausted: 429,
  service_unavailable: 503,
})

const TITLES: Readonly<Record<DenyCode, string>> = Object.freeze({
  invalid_request: 'Invalid request',
  missing_credentials: 'Missing credentials',
  invalid_credentials: 'Invalid credentials',
  key_disabled: 'Key disabled',
  key_expired: 'Key expired',
  insecure_transport: 'Insecure transport',
  ip_not_allowed: 'Address not allowed',
  insufficient_permission: 'Insufficient permission',
  operation_not_granted: 'Operation not granted',
  rate_limited: 'Too many requests',
  credits_exhausted: 'Credits exhausted',
  service_unavailable: 'Service unavailable',
})

const MESSAGES: Readonly<Record<DenyCode, string>> = Object.freeze({
  invalid_request: 'The credentials in the request are malformed.',
  missing_credentials: 'An API key is required.',
  invalid_credentials: 'The API key is not valid.',
  key_disabled: 'The API key is disabled.',
  key_expired: 'The API key has expired.',
  insecure_transport: 'HTTPS is required.',
  ip_not_allowed: 'The API key may not be used from this address.',
  insufficient_permission: 'The API key lacks a required permission.',
  operation_not_granted: 'This operation has not been granted to the API key.',
  rate_limited: 'Too many requests for this API key.',
  credits_exhausted: 'The API key has too few credits left for this request.',
  service_unavailable: 'Authorization is temporarily unavailable. Retry later.',
})

/** Reason → code, with `exposeReasons` off (the default) and on. */
export function codeOf(reason: DenyReason, exposeReasons: boolean): DenyCode {
  switch (reason) {
    case 'malformed_credentials':
    case 'conflicting_credentials':
      return 'invalid_request'
    case 'missing_credentials':
      return 'missing_credentials'
    case 'key_disabled':
    case 'group_disabled':
    case 'owner_disabled':
      return exposeReasons ? 'key_disabled' : 'invalid_credentials'
    case 'key_expired':
    case 'key_rotated':
      return exposeReasons ? 'key_expired' : 'invalid_credentials'
    case 'unknown_key':
    case 'bad_checksum':
    case 'tenant_mismatch':
    case 'user_mismatch':
    case 'invalid_token':
      return 'invalid_credentials'
    case 'store_unavailable':
      return 'service_unavailable'
    default:
      return reason
  }
}

/** The client-safe message for a deny. Never built from request data. */
export function messageOf(code: DenyCode, reason: DenyReason, subject?: string, noun: 'API key' | 'token' = 'API key'): string {
  if (reason === 'conflicting_credentials') return 'Credentials were presented in more than one way; send exactly one.'
  // The permission or operation named here comes from the route's configuration, never from the
  // request, so naming it (as Stripe does) tells the caller what to ask for without echoing input.
  let m: string
  if (subject !== undefined && code === 'insufficient_permission') m = `The API key lacks the permission "${subject}".`
  else if (subject !== undefined && code === 'operation_not_granted') m = `The operation "${subject}" has not been granted to the API key.`
  else m = MESSAGES[code]
  // The noun depends on the scheme only, never on why a credential failed, so every
  // invalid_credentials answer of one scheme stays byte-identical.
  return noun === 'API key' ? m : m.replace('API key', noun)
}

/** An HTTP response for a deny: what every adapter sends, byte for byte. */
export interface DenyResponse {
  readonly status: number
  /** Lower-case header names: the decision's headers plus `content-type` and `cache-control`. */
  readonly headers: Readonly<Record<string, string>>
  /**
   * RFC 9457 `application/problem+json`: `{ type, title, status, detail, code }`; or, when the
   * client prefers XML, the same members as `application/problem+xml` (RFC 9457 Appendix B).
   */
  readonly body: string
}

/** Options of {@link renderDeny}. */
export interface RenderDenyOptions {
  /**
   * The request's `Accept` field value (RFC 9110 §12.5.1; q-values honoured). When it prefers XML
   * (`application/xml`, `text/xml` or `application/problem+xml` over JSON), the body is
   * `application/problem+xml`; otherwise, and when omitted, `application/problem+json`. Every
   * adapter passes it. Repeated fields may be given as an array.
   * @default undefined (JSON)
   * @example { accept: req.headers.accept }
   */
  accept?: string | readonly string[] | null
}

const RENDER_FIELDS = ['accept']

/** The `Accept` value of validated {@link RenderDenyOptions}. */
function acceptOf(options: unknown): string | undefined {
  if (options === undefined) return undefined
  const o = object(options, 'options')
  knownFields(o, RENDER_FIELDS, 'options')
  const a = o.accept
  if (a === undefined || a === null) return undefined
  if (typeof a === 'string') return a
  if (Array.isArray(a) && a.every((x) => typeof x === 'string')) return a.join(', ')
  throw typeError('options.accept', 'must be a string, an array of strings, null or undefined')
}

/** What `value` is, for a message: its type or kind, never its contents. */
function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value !== 'object') return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`
  return 'an object'
}

/**
 * Refuses what is not a deny decision, with a `TypeError` that says what was passed: a Promise
 * (a forgotten `await`), an allow decision, or anything else. Rendering one would answer with a
 * body of type `urn:keyward:error:undefined`. The message never repeats the value's contents.
 */
function checkDeny(decision: unknown): asserts decision is DenyDecision {
  if (decision !== null && (typeof decision === 'object' || typeof decision === 'function') && typeof (decision as { then?: unknown }).then === 'function') {
    throw typeError('decision', 'renderDeny was given a Promise: await authorizer.authorize(...) before rendering its decision')
  }
  if (decision === null || typeof decision !== 'object' || Array.isArray(decision)) {
    throw typeError('decision', `renderDeny was given ${kindOf(decision)}; pass the deny decision that authorizer.authorize(...) returned`)
  }
  const d = decision as Partial<Record<'allow' | 'code' | 'status', unknown>>
  if (d.allow === true) {
    throw typeError('decision', 'renderDeny was given an allow decision; render only denies: check decision.allow first')
  }
  if (d.allow !== false || typeof d.code !== 'string' || !Object.hasOwn(STATUS_OF, d.code) || typeof d.status !== 'number') {
    throw typeError('decision', 'renderDeny was given an object that is not a deny decision (it needs allow: false, a deny code and a status); pass what authorizer.authorize(...) returned')
  }
}

/**
 * Renders a deny decision as an RFC 9457 problem document. The body holds no secret, no stack
 * and no request input; `reason` is not in it (it is for logs). Every adapter sends exactly this.
 * Anything but a deny decision (a Promise, an allow decision) throws a `TypeError` saying what it was.
 *
 * Pass the request's `Accept` header as `options.accept` to negotiate the format: a client that
 * prefers XML gets `application/problem+xml` (RFC 9457 Appendix B); JSON is the default.
 *
 * @example
 * ```ts
 * const decision = await authorizer.authorize(request, 'scans:read')
 * if (!decision.allow) {
 *   const { status, headers, body } = renderDeny(decision, { accept: request.headers.get('accept') })
 *   return new Response(body, { status, headers })
 * }
 * ```
 */
export function renderDeny(decision: DenyDecision, options?: RenderDenyOptions): DenyResponse {
  checkDeny(decision)
  const xml = prefersXml(acceptOf(options))
  const { status, code, message } = decision
  const title = Object.hasOwn(TITLES, code) ? TITLES[code] : 'Forbidden'
  const type = `urn:keyward:error:${code}`
  const body = xml
    ? problemXml([['type', type], ['title', title], ['status', status], ['detail', message], ['code', code]])
    : JSON.stringify({ type, title, status, detail: message, code })
  return {
    status,
    headers: { ...decision.headers, 'content-type': xml ? 'application/problem+xml' : 'application/problem+json', 'cache-control': 'no-store' },
    body,
  }
}
