/**
 * HTTP plumbing of the admin handler: problem documents, security headers and a bounded JSON
 * body reader. Nothing here echoes a key: problem details are fixed sentences, or validation
 * messages of keyward's own field validators (which quote the offending value, never a key).
 * @module
 */

/** Headers on every response of the admin handler: JSON and pages alike. */
const BASE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
})

/** A JSON response is never a document: nothing in it may load or run. */
const JSON_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

/** The console's policy: only its own script, stylesheet and API; no inline code, no framing. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** Client-visible problem codes of the admin API (deny codes of the authorizer come from `renderDeny`). */
export type AdminProblemCode =
  | 'invalid_field'
  | 'invalid_json'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'self_modification'
  | 'exceeds_caller_rights'
  | 'not_key_owner'
  | 'cross_site_request'
  | 'not_admin'
  | 'self_service'
  | 'tenant_setup'
  | 'store_unavailable'
  | 'internal_error'

const TITLES: Readonly<Record<AdminProblemCode, string>> = Object.freeze({
  invalid_field: 'Invalid request',
  invalid_json: 'Invalid JSON body',
  unsupported_media_type: 'Unsupported media type',
  payload_too_large: 'Request body too large',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  conflict: 'Conflict',
  self_modification: 'Cannot change the key in use',
  exceeds_caller_rights: 'Exceeds the caller\'s rights',
  not_key_owner: 'Not the key\'s owner',
  cross_site_request: 'Cross-site request refused',
  not_admin: 'Not an administrator',
  self_service: 'Not available through self-service',
  tenant_setup: 'Keys and administrator disagree on tenants',
  store_unavailable: 'Store unavailable',
  internal_error: 'Internal error',
})

/** An admin-API error answered as an RFC 9457 problem document. Thrown inside the handler, never out of it. */
export class Problem extends Error {
  readonly status: number
  readonly code: AdminProblemCode
  readonly detail: string
  readonly field: string | undefined
  readonly headers: Readonly<Record<string, string>>

  constructor(status: number, code: AdminProblemCode, detail: string, extra: { field?: string; headers?: Record<string, string> } = {}) {
    super(detail)
    this.status = status
    this.code = code
    this.detail = detail
    this.field = extra.field
    this.headers = extra.headers ?? {}
  }
}

/** The one 404 body for an absent id, an id of another tenant, and an unknown route: byte-identical. */
export const NOT_FOUND = (): Problem => new Problem(404, 'not_found', 'No such resource.')

/** JSON response with the admin API's headers. */
export function json(status: number, value: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { ...BASE_HEADERS, 'content-security-policy': JSON_CSP, 'content-type': 'application/json; charset=utf-8', ...headers },
  })
}

/** An empty response (204). */
export function empty(status: number): Response {
  return new Response(null, { status, headers: { ...BASE_HEADERS, 'content-security-policy': JSON_CSP } })
}

/** A problem document: `{ type, title, status, detail, code }`, plus `field` for validation errors. */
export function problem(p: Problem): Response {
  const body: Record<string, unknown> = {
    type: `urn:keyward:error:${p.code}`,
    title: TITLES[p.code],
    status: p.status,
    detail: p.detail,
    code: p.code,
  }
  if (p.field !== undefined) body.field = p.field
  return new Response(JSON.stringify(body), {
    status: p.status,
    headers: { ...BASE_HEADERS, 'content-security-policy': JSON_CSP, 'content-type': 'application/problem+json', ...p.headers },
  })
}

/** A static asset of the console, with the console's CSP. */
export function asset(body: string, contentType: string): Response {
  return new Response(body, {
    status: 200,
    headers: { ...BASE_HEADERS, 'content-security-policy': CONSOLE_CSP, 'content-type': contentType },
  })
}

/** `application/json`, with optional parameters (`; charset=utf-8`), case-insensitive. */
function isJsonType(contentType: string | null): boolean {
  if (contentType === null) return false
  const semi = contentType.indexOf(';')
  const mediaType = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
  if (mediaType !== 'application/json') return false
  if (semi < 0) return true
  // A charset other than UTF-8 would be decoded wrongly (RFC 8259 §8.1 requires UTF-8).
  const charset = /(?:^|;)\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType.slice(semi))
  return charset === null || charset[1]!.toLowerCase() === 'utf-8'
}

/**
 * The body of `request`, at most `limit` bytes: `tooLarge()` is thrown as soon as it is known to be
 * longer (declared or read), and the rest of an oversized body is never buffered.
 */
export async function readBounded(request: Request, limit: number, tooLarge: () => Error): Promise<Uint8Array> {
  const declared = request.headers.get('content-length')
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > limit) throw tooLarge()
  if (request.body === null) return new Uint8Array(0)
  const bytes = new Uint8Array(limit)
  let used = 0
  const reader = request.body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (used + value.byteLength > limit) {
        await reader.cancel().catch(() => undefined)
        throw tooLarge()
      }
      bytes.set(value, used)
      used += value.byteLength
    }
  } finally {
    reader.releaseLock()
  }
  return bytes.subarray(0, used)
}

/**
 * Reads a JSON object body of at most `limit` bytes. Refuses a wrong content type (415), an
 * oversized body (413, without reading past the limit), invalid UTF-8 or JSON (400), and a
 * top-level value that is not an object (400 naming `body`).
 */
export async function readJsonObject(request: Request, limit: number): Promise<Record<string, unknown>> {
  if (!isJsonType(request.headers.get('content-type'))) {
    throw new Problem(415, 'unsupported_media_type', 'The request body must be application/json (UTF-8).')
  }
  const body = await readBounded(request, limit, () => tooLarge(limit))
  const used = body.byteLength
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body)
  } catch {
    throw new Problem(400, 'invalid_json', 'The request body is not valid UTF-8.')
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new Problem(400, 'invalid_json', used === 0 ? 'The request body is empty; send a JSON object.' : 'The request body is not valid JSON.')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Problem(400, 'invalid_field', 'body: must be a JSON object', { field: 'body' })
  }
  return value as Record<string, unknown>
}

function tooLarge(limit: number): Problem {
  return new Problem(413, 'payload_too_large', `The request body must be at most ${limit} bytes.`)
}

/** Extracts the field a validation message names (`"field: message"`), if any. */
export function fieldOf(message: string): string | undefined {
  const i = message.indexOf(': ')
  return i > 0 && i <= 128 ? message.slice(0, i) : undefined
}
