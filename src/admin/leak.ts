/**
 * `createLeakHandler`: leaked keys revoke themselves. A Fetch-API handler for a secret scanner's
 * partner endpoint (GitHub secret scanning's is the reference): the scanner finds a keyward key
 * in public code (the prefix and CRC-32 checksum make it recognisable), POSTs it here signed with
 * its ECDSA P-256 key, and the handler verifies the signature, revokes the key if it is live,
 * records an audit event, tells the application, and answers with the scanner's feedback format.
 *
 * Signatures are checked with WebCrypto; see `_leak-verify.ts` for the small DER reader it needs
 * and why. A reported token is never logged, thrown, put in a message or echoed (the feedback
 * carries its SHA-256 unless `feedback: 'token_raw'` is chosen).
 * @module
 */
import type { KeyManager } from '../stores/manager.js'
import type { AdminAuditEvent } from './handler.js'
import { type LeakAction, type LeakPolicy } from './_leak-act.js'
import { leakHandlerOf } from './_leak-handler.js'
import type { LeakPublicKey } from './_leak-verify.js'

export type { LeakAction, LeakPolicy } from './_leak-act.js'
export type { LeakPublicKey } from './_leak-verify.js'

/** The scanner's public keys: a fixed list, or the provider's published list. */
export interface LeakVerifyOptions {
  /**
   * URL of the provider's key list, `{ public_keys: [{ key_identifier, key, is_current }] }`.
   * HTTPS, or HTTP to a loopback host (tests). Ignored when `publicKeys` is given.
   * @default 'https://api.github.com/meta/public_keys/secret_scanning'
   * @example 'https://api.github.com/meta/public_keys/secret_scanning'
   */
  keysUrl?: string
  /**
   * A fixed key list instead of fetching one (tests, or a copy you pin and update yourself).
   * @default undefined (fetch from `keysUrl`)
   * @example [{ key_identifier: 'test-1', key: publicKeyPem }]
   */
  publicKeys?: readonly LeakPublicKey[]
  /**
   * Extra request headers for the key list, e.g. a token to raise the provider's rate limit.
   * @default {}
   * @example { authorization: `Bearer ${process.env.GITHUB_TOKEN}` }
   */
  headers?: Readonly<Record<string, string>>
  /**
   * How long a fetched list is used before it is fetched again (the old one stays in use if that fails).
   * @default 3600000 (one hour)
   * @example 600000
   */
  cacheTtlMs?: number
  /**
   * Least time between two fetches, so reports naming unknown key ids cannot make the handler
   * fetch on every call. A report signed with a key published since is accepted once it has passed.
   * @default 60000
   * @example 10000
   */
  refreshCooldownMs?: number
  /**
   * Time limit of one fetch of the key list.
   * @default 5000
   * @example 2000
   */
  timeoutMs?: number
  /**
   * The `fetch` used for the key list.
   * @default globalThis.fetch
   * @example (url, init) => fetch(url, { ...init, dispatcher: proxyAgent })
   */
  fetch?: typeof globalThis.fetch
}

/** What the application is told about a leaked live key. Never holds the key or its hash. */
export interface LeakNotice {
  /** `now()` when the report was handled. */
  readonly at: number
  readonly keyId: string
  readonly tenant?: string
  readonly owner?: string
  readonly group?: string
  readonly description?: string
  /** What was done to the key. */
  readonly action: LeakAction
  /** The key's expiry after the action, if it has one. */
  readonly expiresAt?: number
  /** Where the key was found, as the scanner reports it (e.g. a commit URL). */
  readonly url?: string
  /** The scanner's `source` (e.g. `content`, `commit`, `issue_comment`). */
  readonly source?: string
  /** The scanner's token type, as registered with it. */
  readonly type: string
}

/** The audit event of a leaked live key: the admin audit shape, plus where the key was found. */
export interface LeakAuditEvent extends AdminAuditEvent {
  /** Where the key was found. */
  readonly url?: string
  /** The scanner's `source`. */
  readonly source?: string
  /** What was done to the key. */
  readonly leakAction?: LeakAction
}

/** Options of {@link createLeakHandler}. Validated when the handler is created. */
export interface LeakHandlerOptions {
  /**
   * Looks keys up (with its pepper) and revokes them. Must write to the store the authorizer
   * reads, through the same `cachedStore` if there is one.
   * @example new KeyManager(store, { pepper })
   */
  manager: KeyManager
  /**
   * The scanner's public keys. `{}` uses GitHub's published list.
   * @example {}
   */
  verify: LeakVerifyOptions
  /**
   * Called once per leaked live key after the policy is applied, to notify its owner. Not
   * awaited; its exceptions and rejections go to `onError`.
   * @example (n) => mailer.send(ownerEmail(n.owner), `Key ${n.keyId} leaked at ${n.url}; it was ${n.action}`)
   */
  onLeak: (notice: LeakNotice) => unknown
  /**
   * What to do with a leaked live key: `'deactivate'` it (a revoke: it wins over concurrent
   * edits), `{ expireInMs }` (expire it that soon, unless it already expires sooner) or
   * `'notify'` only. A leaked previous secret of a rotated key has its grace ended instead,
   * under every policy but `'notify'`.
   * @default 'deactivate'
   * @example { expireInMs: 24 * 3600_000 }
   */
  policy?: LeakPolicy
  /**
   * How tokens are named in the feedback: `'token_hash'` (hex SHA-256, the token itself never
   * leaves) or `'token_raw'`.
   * @default 'token_hash'
   * @example 'token_raw'
   */
  feedback?: 'token_hash' | 'token_raw'
  /**
   * Largest report accepted, in bytes (larger: 413, read no further).
   * @default 1048576
   * @example 262144
   */
  maxBodyBytes?: number
  /**
   * Most tokens in one report (more: 413).
   * @default 1000
   * @example 100
   */
  maxTokens?: number
  /**
   * Receives one event per leaked live key (`action: 'reportLeak'`) and one per refused report
   * (`action: 'receiveLeakReport'`). Exceptions are swallowed.
   * @default undefined
   * @example (e) => auditLog.write(e)
   */
  onAudit?: (event: LeakAuditEvent) => void
  /**
   * Receives unexpected errors (a store failure answers 503, so the scanner retries). Exceptions are swallowed.
   * @default undefined
   * @example (e) => logger.error(e)
   */
  onError?: (error: unknown) => void
  /**
   * Clock, epoch milliseconds.
   * @default Date.now
   * @example () => clock.now
   */
  now?: () => number
}

/** A Fetch-API handler: `POST` a signed report, get the feedback document. */
export type LeakHandler = (request: Request) => Promise<Response>

/**
 * Creates the handler a secret scanner posts leaked keys to. It answers:
 * - 200 with `[{ token_hash | token_raw, token_type, label }]`, `label` being `true_positive`
 *   for a live key (acted on) and `false_positive` for anything else;
 * - 401 `missing_signature` / `invalid_signature` for an unsigned report, a signature that does
 *   not verify, or a key id the provider does not publish (after one refresh of its list);
 * - 413, 415, 400 `invalid_json` / `invalid_payload` for oversized or malformed reports (checked
 *   after the signature, except the size); 405 for any method but POST;
 * - 503 when the key list cannot be fetched or the store fails (the scanner retries).
 *
 * @example
 * ```ts
 * import { KeyManager } from 'keyward'
 * import { createLeakHandler } from 'keyward/admin'
 *
 * const manager = new KeyManager(store, { pepper })
 * const leaks = createLeakHandler({
 *   manager,
 *   verify: {}, // GitHub's published keys
 *   onLeak: (n) => notifyOwner(n.owner, `Your key ${n.keyId} was found at ${n.url} and ${n.action}.`),
 *   onAudit: (e) => auditLog.write(e),
 * })
 * app.post('/hooks/secret-scanning', (c) => leaks(c.req.raw)) // Hono
 * ```
 */
export function createLeakHandler(options: LeakHandlerOptions): LeakHandler {
  return leakHandlerOf(options)
}
