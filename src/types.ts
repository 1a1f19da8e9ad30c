/**
 * Public types shared by the core, the stores and the adapters.
 *
 * Times are milliseconds since the Unix epoch (what `Date.now()` returns) everywhere.
 * @module
 */
import type { RateLimitSpec } from './_types-records.js'

export type { KeyKind, RateLimitSpec, CreditRefill, KeyCredits, CreditResult, CreditLedger, KeyRecord, KeyGroup, OwnerRecord } from './_types-records.js'
export type { StoreChange, KeyStore, KeyFilter, GroupFilter, KeyRevoke, ManagedKeyStore } from './_types-stores.js'

/** Header fields as a record, as Node's `req.headersDistinct` gives them (values may be arrays). */
export type HeaderRecord = Record<string, string | string[] | undefined>

/** The part of an HTTP request the authorizer reads. Adapters build it from their framework's request. */
export interface AuthRequest {
  /** HTTP method, e.g. `GET`. */
  method: string
  /** Request target (path and query) or absolute URL. Only the path is ever logged; the query is never read. */
  url?: string
  /**
   * Request headers: a Fetch `Headers`, a record whose values may be arrays (Node's
   * `req.headersDistinct`), or Node's `req.rawHeaders` (`[name, value, …]`, the cheapest on
   * Node). Not `req.headers`: Node drops a repeated `Authorization` there, so a repeat goes unseen.
   */
  headers: Headers | HeaderRecord | readonly string[]
  /** The socket's peer address (`req.socket.remoteAddress`). */
  remoteAddress?: string
  /** `true` if the connection itself is TLS. */
  secure?: boolean
}

/**
 * What a route needs: a permission string (`scans:manage`), or permissions (all required)
 * and/or an operation name (for explicit grants). `P` is the role matrix's permission strings
 * (see `Roles`), so a misspelt permission does not compile; `string` when not known statically.
 */
export type Need<P extends string = string> =
  | P
  | {
      permission?: P | readonly P[]
      operation?: string
      /**
       * The product (namespace) the route belongs to: a user key then acts with its owner's role
       * in that product (`OwnerRecord.roles`). Org keys reach every product.
       * @default undefined (the owner's `role`)
       * @example 'appsec'
       */
      product?: string
      /** Credits a usage-limited key pays for this route: a whole number from 1 (the default) to 1e15. */
      cost?: number
    }

/**
 * The authenticated caller. Never holds the key or its hash. `P` is the role matrix's
 * permission strings, which `can()` accepts (see `Roles`).
 */
export interface Principal<P extends string = string> {
  readonly keyId: string
  readonly kind: 'user' | 'org'
  readonly tenant?: string
  readonly owner?: string
  readonly role?: string
  readonly group?: string
  /** The scheme that authenticated the request, e.g. `api-key`, `bearer`, `contrast`, `jwt`. */
  readonly scheme: string
  /** Operations explicitly granted. */
  readonly grants: readonly string[]
  /** Effective permissions (`resource:level`, the highest level per resource). */
  readonly permissions: readonly string[]
  readonly metadata?: Readonly<Record<string, unknown>>
  /** Whether the principal holds `permission` (a higher level implies the lower ones). */
  can(permission: P): boolean
}

/** Client-visible deny codes. */
export type DenyCode =
  | 'invalid_request'
  | 'missing_credentials'
  | 'invalid_credentials'
  | 'key_disabled'
  | 'key_expired'
  | 'insecure_transport'
  | 'ip_not_allowed'
  | 'insufficient_permission'
  | 'operation_not_granted'
  | 'rate_limited'
  | 'credits_exhausted'
  | 'service_unavailable'

/** Precise deny reasons, for logs and `onDecision` only. */
export type DenyReason =
  | 'malformed_credentials'
  | 'conflicting_credentials'
  | 'missing_credentials'
  | 'unknown_key'
  | 'bad_checksum'
  | 'tenant_mismatch'
  | 'user_mismatch'
  | 'invalid_token'
  | 'key_disabled'
  | 'group_disabled'
  | 'owner_disabled'
  | 'key_expired'
  | 'key_rotated'
  | 'insecure_transport'
  | 'ip_not_allowed'
  | 'insufficient_permission'
  | 'operation_not_granted'
  | 'rate_limited'
  | 'credits_exhausted'
  | 'store_unavailable'

/** An allowed request. */
export interface AllowDecision<P extends string = string> {
  readonly allow: true
  readonly status: 200
  readonly principal: Principal<P>
  /** Response headers to add (lower-case names), e.g. `ratelimit-remaining`. */
  readonly headers: Record<string, string>
}

/** A denied request. Render it with `renderDeny`. */
export interface DenyDecision {
  readonly allow: false
  readonly status: 400 | 401 | 403 | 429 | 503
  /** What the client may see. */
  readonly code: DenyCode
  /** Precise cause, for logs only. Never send it to the client unless you mean to. */
  readonly reason: DenyReason
  /** A generic, client-safe sentence. Never contains user input or secrets. */
  readonly message: string
  /** Response headers (lower-case names): `www-authenticate` on 401, `retry-after` on 429/503. */
  readonly headers: Record<string, string>
}

/**
 * What `authorize()` resolves to: allow (`status: 200`, a principal) or deny (a status, a
 * client-visible `code`, a precise `reason` for logs, a safe `message` and response headers).
 */
export type Decision<P extends string = string> = AllowDecision<P> | DenyDecision

/** What `onDecision` receives for every decision. Never holds a key, a hash or a query string. */
export interface DecisionEvent {
  readonly allow: boolean
  readonly status: number
  readonly code?: DenyCode
  readonly reason?: DenyReason
  /** Extra detail for logs, e.g. `circuit_open`, `timeout`, the missing permission. Never secret. */
  readonly detail?: string
  readonly keyId?: string
  readonly tenant?: string
  readonly scheme?: string
  /** The client address as resolved (after trusted proxies), when it could be. */
  readonly clientIp?: string
  readonly method: string
  /** The request path without its query string. */
  readonly path?: string
  /** The operation the route named, if any. */
  readonly operation?: string
  /** Wall time spent in `authorize`, in milliseconds. */
  readonly durationMs: number
  /** `now()` at the start of the decision. */
  readonly at: number
}

/** Result of one rate-limit consumption. */
export interface RateLimitResult {
  allowed: boolean
  /** Burst capacity of the bucket (`RateLimit-Limit`). */
  limit: number
  /** Whole requests left now (`RateLimit-Remaining`). */
  remaining: number
  /** Seconds until the bucket is full again (`RateLimit-Reset`). */
  resetSec: number
  /** When denied: seconds until one request is allowed (`Retry-After`). */
  retryAfterSec?: number
}

/** A per-key rate limiter. `tokenBucket()` is the in-memory one. */
export interface RateLimiter {
  /** Take one request from `key`'s budget. `override` is the key record's own limit, if any. */
  consume(key: string, override?: RateLimitSpec): RateLimitResult | Promise<RateLimitResult>
}
