/**
 * Public types shared by the core, the stores and the adapters.
 *
 * Times are milliseconds since the Unix epoch (what `Date.now()` returns) everywhere.
 * @module
 */

/**
 * What a key is.
 * - `user`: acts for its owner (On Behalf Of) with a role (In Role), possibly the owner's current role.
 * - `org`: an organization-wide super key (Rapid7's Org key): every permission of the role matrix,
 *   within its own tenant.
 * - `tenant`: an organization key that identifies a tenant but grants nothing on its own
 *   (Contrast's `API-Key`); it is only accepted together with a user's service key.
 */
export type KeyKind = 'user' | 'org' | 'tenant'

/** A per-key rate limit that overrides the limiter's default for that key. */
export interface RateLimitSpec {
  /** Burst size: how many requests may be made at once. */
  capacity: number
  /** Sustained rate: tokens added back per second. */
  refillPerSecond: number
}

/**
 * How a usage-limited key's balance comes back. A refill tops the balance up to `amount` (a
 * balance above it stays; idle intervals do not accumulate).
 * @example { amount: 1000, interval: 'day' }
 */
export interface CreditRefill {
  /** The balance a refill tops up to: a whole number from 1 to 1e15. */
  amount: number
  /**
   * `'day'` (86 400 000 ms), `'month'` (exactly 30 days, 2 592 000 000 ms: not a calendar month),
   * or a whole number of milliseconds from 1000 to 10 years. Intervals count from when the credits
   * were last set.
   */
  interval: 'day' | 'month' | number
}

/**
 * A usage-limited key's credits, as stored. Each allowed request takes one credit, or the route's
 * `cost`; a key with too few left is denied 429 `credits_exhausted`.
 *
 * `remaining` and `refilledAt` are the live balance: only `KeyStore.consumeCredits` (or a credit
 * ledger) changes them, atomically, and a store's compare-and-swap ignores them. An edit of the
 * credits (`KeyManager.update(id, { credits })`) sets a new `version`; a store writes `remaining`
 * and `refilledAt` only when `version` changes ("set the balance to N"), so an unrelated edit
 * based on an older read never writes an old balance back.
 * @example { remaining: 100, refill: { amount: 100, interval: 'day' }, refilledAt: 1767225600000, version: 1 }
 */
export interface KeyCredits {
  /** Credits left as of the read (before any refill due since). */
  remaining: number
  /** How the balance comes back; none: the credits are used up for good. */
  refill?: CreditRefill
  /** Start of the current refill interval, epoch ms; set when `refill` is. */
  refilledAt?: number
  /** Edit counter of the credits: each edit that sets them adds one. */
  version: number
}

/**
 * What one consume of credits answered. `remaining` absent: the key has no credit limit (any more).
 * @example { allowed: true, remaining: 41, nextRefillAt: 1767312000000 }
 */
export interface CreditResult {
  /** Whether the cost was taken. Never `true` when the balance was short. */
  allowed: boolean
  /** The balance after this consume (unchanged when denied); absent when the key is unlimited. */
  remaining?: number
  /** When the next refill is due, for a key with a refill. */
  nextRefillAt?: number
}

/**
 * Where the credits of usage-limited keys are consumed, when it is not the store itself: the
 * authorizer's `credits` option (`redisCredits()` from `keyward/redis`, for instances whose store
 * is not shared atomically).
 * @example { consume: async (keyId, credits, cost, at) => ({ allowed: true, remaining: 9 }) }
 */
export interface CreditLedger {
  /**
   * Takes `cost` credits from `keyId` at `at`, atomically with any refill due, seeding the
   * ledger from `credits` (the record as the store returned it) when the ledger has no newer
   * `version`. Rejects (the authorizer fails closed, 503) when it cannot answer.
   */
  consume(keyId: string, credits: KeyCredits, cost: number, at: number): Promise<CreditResult | undefined>
}

/**
 * A stored API key. It never holds the key itself, only its hash.
 *
 * Records handed out by stores are treated as immutable: a store replaces a record on every
 * write instead of changing it in place, so what the authorizer derived from it (compiled
 * allowlists, permission sets) can be cached per record object.
 */
export interface KeyRecord {
  /** Stable identifier, safe to log and show. Not secret. */
  id: string
  /** `hashKey(key, pepper)` of the current key. */
  hash: string
  kind: KeyKind
  /** The tenant the key belongs to (Ivanti tenant, Contrast organization). */
  tenant?: string
  /** Key group id (Ivanti key groups). A deactivated or missing group disables the key. */
  group?: string
  /** On Behalf Of: the user the key acts for. */
  owner?: string
  /** In Role: the role the key acts with, unless the store's owner directory says otherwise. */
  role?: string
  /** When set, effective permissions are the role's permissions intersected with these. */
  scopes?: string[]
  /** Operations explicitly granted to this key (AttackForge per-method access). */
  grants?: string[]
  /** Extra allowed client addresses: canonical IPv4/IPv6, each optionally with a CIDR suffix. */
  allowedIps?: string[]
  /** Activated on/off. */
  active: boolean
  /** Expiry time; keys are static unless this is set. */
  expiresAt?: number
  /** Per-key rate limit override. */
  rateLimit?: RateLimitSpec
  /** Usage limit: credits left and their refill. Absent: unlimited. */
  credits?: KeyCredits
  description?: string
  /** Free-form data copied to the principal. Must not hold secrets. */
  metadata?: Record<string, unknown>
  createdAt: number
  updatedAt?: number
  lastUsedAt?: number
  /** After `rotate`: hash of the key that was replaced. It keeps working until `previousExpiresAt`. */
  previousHash?: string
  /** End of the rotation grace period of `previousHash`. */
  previousExpiresAt?: number
  /**
   * The short, non-secret start of the current key (`kw_live_3kTM`: prefix, environment and 4
   * random characters), kept at issue and rotation so an operator can tell keys apart and find
   * a leaked key's record. Absent for imported keys and keys issued before it was kept.
   */
  start?: string
}

/** A key group (Ivanti key groups). */
export interface KeyGroup {
  id: string
  name: string
  description?: string
  tenant?: string
  /** A deactivated group disables every key in it. */
  active: boolean
  /** Addresses allowed for every key of the group; a key with its own list must pass both. */
  allowedIps?: string[]
  createdAt: number
  updatedAt?: number
}

/** What the store knows about a key's owner at the time of the request. */
export interface OwnerRecord {
  /**
   * The owner's current role, in every product that `roles` does not name. A user key never acts
   * beyond it; whether it replaces the key's own `role` is the authorizer's `rolePrecedence`.
   * @default undefined (no ceiling: the key's own role applies)
   * @example 'Read Write'
   */
  role?: string
  /**
   * The owner's role per product (namespace), for a need that names its `product` (Rapid7: a user
   * has a role in each product). A product this map does not name falls back to `role`; with
   * neither, the owner has no role there and the key holds nothing in that product.
   * @default undefined (`role` in every product)
   * @example { appsec: 'Read Write', vm: 'Read Only' }
   */
  roles?: Readonly<Record<string, string>>
  /**
   * Operations granted to the owner, held by every key of the owner in addition to the key's own
   * `grants` (AttackForge: access is granted per user). Only `explicitGrants` reads grants.
   * @default undefined (none)
   * @example ['getProjects', 'getVulnerabilities']
   */
  grants?: readonly string[]
  /** A locked or deactivated owner disables all of its keys. */
  active: boolean
}

/**
 * What a `KeyManager` write changed (its `onWrite`), and what `cachedStore().invalidate()` and
 * `keyward/redis` carry between instances. `hashes` lists every hash the write affected (old and
 * new); a key change without them (by id alone) is also accepted by `invalidate()`.
 * @example { type: 'key', id: 'key_3kTMd2kP0bV7tq9y', hashes: [] }
 */
export type StoreChange =
  | { readonly type: 'key'; readonly id: string; readonly hashes: readonly string[] }
  | { readonly type: 'group'; readonly id: string }
  | { readonly type: 'owner'; readonly id: string }

/**
 * Where keys are looked up. Only hashes are ever passed in or stored.
 * Every method may reject; the authorizer then fails closed with 503.
 */
export interface KeyStore {
  /** The record whose `hash` (or, during a rotation grace, `previousHash`) is `hash`. */
  findByHash(hash: string): Promise<KeyRecord | undefined>
  /** The key group `id`, for its active flag, tenant and allowlist. `undefined`: no such group. */
  findGroup?(id: string): Promise<KeyGroup | undefined>
  /** The owner's current role and active flag. `undefined`: the owner is not in the directory. */
  findOwner?(id: string): Promise<OwnerRecord | undefined>
  /** Record last use. Called debounced and off the request path; failures are ignored. */
  touch?(id: string, at: number): Promise<void>
  /**
   * Takes `cost` credits from key `id` at `at`, atomically with any refill due (see
   * `KeyCredits`): never below zero, never twice for one interval. Called after every other check
   * allowed, for keys whose record has `credits`, unless the authorizer has a `credits` ledger.
   * Resolves to `undefined` when there is no such key; rejects when the store cannot answer (the
   * authorizer then fails closed, 503). Never cached by `cachedStore`.
   * @default undefined (keys with credits are refused with 503 unless a ledger is configured)
   * @example const r = await store.consumeCredits('key_3kTMd2kP0bV7tq9y', 1, Date.now())
   */
  consumeCredits?(id: string, cost: number, at: number): Promise<CreditResult | undefined>
  /**
   * Optional synchronous fast path of `findByHash`, for a store that may hold the answer in
   * memory (`MemoryKeyStore`, a `cachedStore` hit). When every lookup a request needs is answered
   * here, the authorizer decides without waiting for a promise; the decision is the same one.
   *
   * The contract (a store that cannot keep it must not implement this):
   * - Return exactly what `findByHash(hash)` would resolve to if it were called now: the record,
   *   or `null` when it would resolve to `undefined` (a known miss).
   * - Return `undefined` when the answer is not known synchronously (not cached, expired, being
   *   refreshed, or this instance's `findByHash` was overridden): the authorizer then calls
   *   `findByHash`, under `storeTimeoutMs` and the circuit breaker, as without a peek.
   * - Never return a promise and never block. A peek that throws is a store failure: 503
   *   `store_unavailable`, counted by the breaker, exactly as if `findByHash` had rejected.
   *
   * It is called with the store as `this`, only if `findByHash` exists, and only where the
   * authorizer would call `findByHash`: the breaker is consulted first (an open circuit refuses
   * without peeking), and the checks that follow are the same whichever path answered.
   * @default undefined (every lookup goes through `findByHash`)
   * @example
   * ```ts
   * class MapStore implements KeyStore {
   *   readonly #byHash = new Map<string, KeyRecord>()
   *   async findByHash(hash: string) { return this.#byHash.get(hash) }
   *   peekByHash(hash: string) { return this.#byHash.get(hash) ?? null } // every answer is in memory
   * }
   * ```
   */
  peekByHash?(hash: string): KeyRecord | null | undefined
  /**
   * Optional synchronous fast path of `findGroup`; same contract as {@link KeyStore.peekByHash}
   * (`null`: `findGroup` would resolve to `undefined`; `undefined`: ask `findGroup`). Used only
   * when `findGroup` exists.
   * @default undefined
   * @example peekGroup(id) { return this.#groups.get(id) ?? null }
   */
  peekGroup?(id: string): KeyGroup | null | undefined
  /**
   * Optional synchronous fast path of `findOwner`; same contract as {@link KeyStore.peekByHash}
   * (`null`: `findOwner` would resolve to `undefined`, the owner is not in the directory;
   * `undefined`: ask `findOwner`). Used only when `findOwner` exists.
   * @default undefined
   * @example peekOwner(id) { return this.#owners.get(id) ?? null }
   */
  peekOwner?(id: string): OwnerRecord | null | undefined
}

/** Filter for listing keys. All given fields must match. */
export interface KeyFilter {
  tenant?: string
  group?: string
  owner?: string
  kind?: KeyKind
  active?: boolean
}

/** Filter for listing groups. */
export interface GroupFilter {
  tenant?: string
}

/** What {@link ManagedKeyStore.revokeKey} does; at least one is `true`. */
export interface KeyRevoke {
  /** Turn the key off. */
  readonly deactivate?: boolean
  /** End the grace period of the key's previous (rotated) hash now. */
  readonly endGrace?: boolean
}

/**
 * A store that `KeyManager` can write to. `MemoryKeyStore` implements it, and so do the
 * optional Postgres store and `cachedStore` (which forwards writes and invalidates).
 */
export interface ManagedKeyStore extends KeyStore {
  /** The record with this id, or `undefined`. */
  getKey(id: string): Promise<KeyRecord | undefined>
  /** Insert a new record. Rejects if the id or the hash already exists. */
  insertKey(record: KeyRecord): Promise<void>
  /**
   * Replace an existing record (same id). Rejects with `NotFoundError` if it does not exist.
   * With `expected` (the record as read before the change) it is a compare-and-swap: if the
   * stored record differs from `expected` in any field but `lastUsedAt`, nothing is written and
   * it rejects with `ConflictError`. `KeyManager` always passes it, so an edit based on a stale
   * read (say, from another instance) can never write back a key that was revoked meanwhile.
   */
  updateKey(record: KeyRecord, expected?: KeyRecord): Promise<void>
  /**
   * A revoke that always wins, in one step: deactivates the key and/or ends its rotation grace
   * period at `at` (never extends it), whatever else the key holds and whoever edits it
   * meanwhile; no compare-and-swap, so it can neither conflict nor be starved by other writers.
   * Resolves to the record as written, or `undefined` if there is no such key. `KeyManager`
   * uses it for `deactivate` and `endGrace` when the store has it.
   */
  revokeKey?(id: string, revoke: KeyRevoke, at: number): Promise<KeyRecord | undefined>
  /** Delete a record; resolves to whether it existed. */
  deleteKey(id: string): Promise<boolean>
  /** The records matching `filter` (every record without one). */
  listKeys(filter?: KeyFilter): Promise<KeyRecord[]>
  /** The group with this id, or `undefined`. */
  getGroup(id: string): Promise<KeyGroup | undefined>
  /** Insert a new group. Rejects if the id already exists. */
  insertGroup(group: KeyGroup): Promise<void>
  /** Replace an existing group; with `expected`, a compare-and-swap as in `updateKey`. */
  updateGroup(group: KeyGroup, expected?: KeyGroup): Promise<void>
  /**
   * Deactivates a group in one step that always wins, as `revokeKey` does for a key: no
   * compare-and-swap, so concurrent editors can neither make it conflict nor starve it. Sets
   * `updatedAt` to `at`. Resolves to the group as written, or `undefined` if there is no such
   * group. `KeyManager` uses it for `deactivateGroup` (and `updateGroup` with `active: false`)
   * when the store has it.
   */
  revokeGroup?(id: string, at: number): Promise<KeyGroup | undefined>
  /**
   * Narrows a group's IP allowlist in one step that always wins, as `revokeGroup` does: the
   * stored list keeps only its entries that are also in `keep` (so the result is never wider than
   * what is stored, whatever a concurrent editor wrote); a group without an allowlist (every
   * address admitted) gets `keep`. No compare-and-swap. Sets `updatedAt` to `at`. Resolves to the
   * group as written, or `undefined` if there is no such group. `KeyManager` uses it for an
   * `updateGroup` whose `allowedIps` only removes entries (or restricts a group that had no list)
   * when the store has it.
   */
  narrowGroupIps?(id: string, keep: readonly string[], at: number): Promise<KeyGroup | undefined>
  /** Delete a group; resolves to whether it existed. */
  deleteGroup(id: string): Promise<boolean>
  /** The groups matching `filter` (every group without one). */
  listGroups(filter?: GroupFilter): Promise<KeyGroup[]>
  /** Create or replace an owner directory entry. */
  putOwner?(id: string, owner: OwnerRecord): Promise<void>
  /** Remove an owner directory entry; resolves to whether it existed. */
  deleteOwner?(id: string): Promise<boolean>
}

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
