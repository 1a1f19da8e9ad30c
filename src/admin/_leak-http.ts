/**
 * HTTP plumbing of the leak handler: the raw body (bounded, read no further than the limit),
 * the report's shape, the feedback document and problem responses. Nothing here ever puts a
 * reported token in a message.
 * @module
 */
import { sha256 } from '../keys/hash.js'
import { readBounded } from './_http.js'

/** Client-visible problem codes of the leak handler. */
export type LeakProblemCode =
  | 'method_not_allowed'
  | 'missing_signature'
  | 'invalid_signature'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'invalid_json'
  | 'invalid_payload'
  | 'keys_unavailable'
  | 'service_unavailable'
  | 'internal_error'

const TITLES: Readonly<Record<LeakProblemCode, string>> = {
  method_not_allowed: 'Method not allowed',
  missing_signature: 'Signature required',
  invalid_signature: 'Invalid signature',
  payload_too_large: 'Request body too large',
  unsupported_media_type: 'Unsupported media type',
  invalid_json: 'Invalid JSON body',
  invalid_payload: 'Invalid report',
  keys_unavailable: 'Verification keys unavailable',
  service_unavailable: 'Service unavailable',
  internal_error: 'Internal error',
}

const HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }

/** A refusal, thrown inside the handler and answered as an RFC 9457 problem document. */
export class LeakProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: LeakProblemCode,
    readonly detail: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail)
  }
}

/** The problem document of `p`: `{ type, title, status, detail, code }`. */
export function problemResponse(p: LeakProblem): Response {
  const body = { type: `urn:keyward:error:${p.code}`, title: TITLES[p.code], status: p.status, detail: p.detail, code: p.code }
  return new Response(JSON.stringify(body), { status: p.status, headers: { ...HEADERS, 'content-type': 'application/problem+json', ...p.headers } })
}

/** A JSON 200 answer. */
export function jsonResponse(value: unknown): Response {
  return new Response(JSON.stringify(value), { status: 200, headers: { ...HEADERS, 'content-type': 'application/json; charset=utf-8' } })
}

/** `application/json` (any parameters), or no content type at all. */
function isJson(contentType: string | null): boolean {
  if (contentType === null) return true
  const semi = contentType.indexOf(';')
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === 'application/json'
}

/** The raw body, at most `limit` bytes: 413 as soon as it is known to be longer (declared or read). */
export async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  if (!isJson(request.headers.get('content-type'))) {
    throw new LeakProblem(415, 'unsupported_media_type', 'The report must be application/json.')
  }
  return readBounded(request, limit, () => new LeakProblem(413, 'payload_too_large', `The report must be at most ${limit} bytes.`))
}

/** One reported match, as the scanner sends it. */
export interface ReportedToken {
  readonly token: string
  readonly type: string
  readonly url?: string
  readonly source?: string
}

const MAX_TOKEN = 1024
const MAX_TEXT = 2048

function text(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length <= max
}

/**
 * The report: a JSON array of `{ token, type, url?, source? }` (other fields are ignored, as
 * providers add some). Anything else is a 400 that names the entry's index, never its content.
 */
export function parseReport(body: Uint8Array, maxTokens: number): ReportedToken[] {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch {
    throw new LeakProblem(400, 'invalid_json', 'The report is not valid UTF-8 JSON.')
  }
  if (!Array.isArray(value)) throw new LeakProblem(400, 'invalid_payload', 'The report must be a JSON array.')
  if (value.length > maxTokens) throw new LeakProblem(413, 'payload_too_large', `The report must hold at most ${maxTokens} tokens.`)
  return value.map((e: unknown, i) => {
    const o = e !== null && typeof e === 'object' && !Array.isArray(e) ? (e as Record<string, unknown>) : undefined
    if (o === undefined || !text(o.token, MAX_TOKEN) || o.token === '' || !text(o.type, 256)) {
      throw new LeakProblem(400, 'invalid_payload', `Entry ${i} must be an object with string fields token and type.`)
    }
    for (const f of ['url', 'source'] as const) {
      if (o[f] !== undefined && o[f] !== null && !text(o[f], MAX_TEXT)) {
        throw new LeakProblem(400, 'invalid_payload', `Entry ${i}: ${f} must be a string.`)
      }
    }
    return {
      token: o.token,
      type: o.type,
      ...(typeof o.url === 'string' ? { url: o.url } : {}),
      ...(typeof o.source === 'string' ? { source: o.source } : {}),
    }
  })
}

/** Lower-case hex SHA-256 of the token's UTF-8 bytes: the scanner's `token_hash`. */
export function tokenHash(token: string): string {
  const digest = sha256(new TextEncoder().encode(token))
  let hex = ''
  for (const b of digest) hex += b.toString(16).padStart(2, '0')
  return hex
}
