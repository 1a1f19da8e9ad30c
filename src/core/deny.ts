/**
 * The deny table: reason → code and status, and for each configured scheme the
 * `WWW-Authenticate` values and the message noun, all computed when the authorizer is created.
 * A deny only copies what is fixed and adds what the request decided (retry time, rate headers,
 * the permission a route names).
 * @module
 */
import { codeOf, messageOf, STATUS_OF } from '../decision.js'
import type { BearerError, Scheme } from '../schemes/scheme.js'
import type { DenyCode, DenyDecision, DenyReason } from '../types.js'

/** What a deny may add to the fixed part. */
export interface DenyExtra {
  /** The permission or operation the route names (for the message and the event). */
  subject?: string
  retryAfterSec?: number
  detail?: string
  headers?: Record<string, string>
}

/** Every reason (a record, so a new reason cannot be left out of the table). */
const REASON_SET: { readonly [R in DenyReason]: true } = {
  malformed_credentials: true, conflicting_credentials: true, missing_credentials: true, unknown_key: true, bad_checksum: true,
  tenant_mismatch: true, user_mismatch: true, invalid_token: true, key_disabled: true, group_disabled: true, owner_disabled: true,
  key_expired: true, key_rotated: true, insecure_transport: true, ip_not_allowed: true, insufficient_permission: true,
  operation_not_granted: true, rate_limited: true, credits_exhausted: true, store_unavailable: true,
}
export const REASONS = Object.freeze(Object.keys(REASON_SET) as DenyReason[])

/** The fixed part of one reason's deny, for one presenting scheme (or none). */
interface Row {
  readonly code: DenyCode
  readonly status: DenyDecision['status']
  /** `WWW-Authenticate`, or `undefined` for none. */
  readonly challenge: string | undefined
  /** The message when the route names nothing. */
  readonly message: string
  readonly noun: 'API key' | 'token'
}

type Table = ReadonlyMap<DenyReason, Row>

/** Every scheme's challenge, one per challenge scheme, RFC 9110 §11.6.1; `error` on the presenting one's (RFC 6750). */
function challenges(schemes: readonly Scheme[], realm: string, presenting: Scheme | undefined, error: BearerError | undefined): string {
  const seen = new Set<string>()
  const out: string[] = []
  for (const s of schemes) {
    if (seen.has(s.challengeScheme)) continue
    seen.add(s.challengeScheme)
    const withError = s.bearerErrors && presenting !== undefined && presenting.challengeScheme === s.challengeScheme
    out.push(s.challenge(realm, withError ? error : undefined))
  }
  return out.join(', ')
}

function row(schemes: readonly Scheme[], realm: string, exposeReasons: boolean, presenting: Scheme | undefined, reason: DenyReason): Row {
  const code = codeOf(reason, exposeReasons)
  const status = STATUS_OF[code]
  let challenge: string | undefined
  if (status === 401) {
    challenge = challenges(schemes, realm, presenting, code === 'missing_credentials' ? undefined : 'invalid_token')
  } else if (presenting?.bearerErrors && (status === 400 || code === 'insufficient_permission')) {
    // RFC 6750 §3.1: the Bearer challenge carries invalid_request on 400 and insufficient_scope on 403.
    challenge = presenting.challenge(realm, status === 400 ? 'invalid_request' : 'insufficient_scope')
  }
  const noun = presenting !== undefined && typeof presenting.verify === 'function' ? 'token' : 'API key'
  return Object.freeze({ code, status, challenge, message: messageOf(code, reason, undefined, noun), noun })
}

function table(schemes: readonly Scheme[], realm: string, exposeReasons: boolean, presenting: Scheme | undefined): Table {
  return new Map(REASONS.map((reason) => [reason, row(schemes, realm, exposeReasons, presenting, reason)]))
}

/** The denies of one authorizer. */
export class DenyTable {
  readonly #none: Table
  readonly #by = new Map<Scheme, Table>()

  constructor(schemes: readonly Scheme[], realm: string, exposeReasons: boolean) {
    this.#none = table(schemes, realm, exposeReasons, undefined)
    for (const s of schemes) this.#by.set(s, table(schemes, realm, exposeReasons, s))
  }

  #row(presenting: Scheme | undefined, reason: DenyReason): Row {
    // Every configured scheme and every reason has a row (see the constructor and REASON_SET).
    const t = presenting === undefined ? this.#none : this.#by.get(presenting)!
    return t.get(reason)!
  }

  /** The deny for `reason`, presented with `presenting` (the scheme found, if any). */
  deny(presenting: Scheme | undefined, reason: DenyReason, extra?: DenyExtra): DenyDecision {
    const r = this.#row(presenting, reason)
    const headers: Record<string, string> = extra?.headers === undefined ? {} : { ...extra.headers }
    if (r.challenge !== undefined) headers['www-authenticate'] = r.challenge
    if (extra?.retryAfterSec !== undefined) headers['retry-after'] = String(extra.retryAfterSec)
    const message = extra?.subject === undefined ? r.message : messageOf(r.code, reason, extra.subject, r.noun)
    return { allow: false, status: r.status, code: r.code, reason, message, headers }
  }
}
