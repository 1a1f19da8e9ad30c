/**
 * The records a store holds: keys, key groups, owners, and the credits and rate limits a key carries.
 * Re-exported from `types.ts`; import them from there.
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
