/**
 * The option and input types of `KeyManager`, and the fields each input object may carry.
 * @module
 */
import type { Pepper } from '../keys/hash.js'
import type { Roles } from '../roles.js'
import type { CreditRefill, KeyKind, KeyRecord, RateLimitSpec, StoreChange } from '../types.js'

/** Options of {@link KeyManager}. */
export interface KeyManagerOptions {
  /**
   * HMAC key for hashing; must be the authorizer's `pepper`. At least 32 bytes.
   * @default undefined (plain SHA-256)
   * @example process.env.KEYWARD_PEPPER
   */
  pepper?: Pepper | undefined
  /**
   * Prefix of issued keys.
   * @default 'kw'
   * @example 'acme'
   */
  prefix?: string
  /**
   * Environment segment of issued keys, e.g. `live`.
   * @default undefined (no segment)
   * @example 'live'
   */
  environment?: string
  /**
   * Role matrix that `role` and `scopes` are validated against; the authorizer's `roles`.
   * @default insightAppSecRoles
   * @example defineRoles({ levels: ['read', 'write'], roles: { viewer: ['reports:read'] } })
   */
  roles?: Roles
  /**
   * Clock, epoch milliseconds.
   * @default Date.now
   * @example () => fakeClock.now
   */
  now?: () => number
  /**
   * Called after every successful write, with what changed. Used to propagate invalidations to
   * other instances' caches. `hashes` lists every hash the write affected (old and new), so
   * cached lookups can be dropped by hash. Exceptions thrown here are swallowed.
   * @default undefined
   * @example (change) => bus.publish(change)
   */
  onWrite?: (change: StoreChange) => void
}

/** Fields of a new key. Every field is validated before anything is written. */
export interface IssueOptions {
  /**
   * `user` (acts for `owner`, with a role), `org` (every permission of the matrix, in its
   * tenant), `tenant` (a Contrast organization key: grants nothing on its own).
   * @example 'user'
   */
  kind: KeyKind
  /**
   * Tenant the key belongs to. Required for `tenant` keys.
   * @default undefined (no tenant: only usable by a single-tenant authorizer)
   * @example 'acme'
   */
  tenant?: string
  /**
   * Key group id; the group must exist and be in the same tenant.
   * @default undefined (no group)
   * @example 'grp_3kTMd2kP0bV7tq9y'
   */
  group?: string
  /**
   * On Behalf Of: the user the key acts for. Required for `user` keys.
   * @default undefined
   * @example 'ana@acme.test'
   */
  owner?: string
  /**
   * In Role: a role of the matrix. `user` keys only. The owner's directory role, when set, wins.
   * @default undefined (no role: the key holds no permission unless its owner has a role)
   * @example 'Read Write'
   */
  role?: string
  /**
   * Narrow the role's permissions to these (`resource:level`). `user` and `org` keys only.
   * @default undefined (the role's permissions, unnarrowed)
   * @example ['scans:read', 'apps:manage']
   */
  scopes?: string[]
  /**
   * Operations granted explicitly (for an authorizer with `explicitGrants`).
   * @default undefined (none)
   * @example ['getProjects', 'getVulnerabilities']
   */
  grants?: string[]
  /**
   * Extra allowed client addresses or CIDRs, canonical IPv4/IPv6.
   * @default undefined (any address)
   * @example ['203.0.113.0/24', '2001:db8::/32']
   */
  allowedIps?: string[]
  /**
   * Activated: an inactive key is refused (`key_disabled`).
   * @default true
   * @example false
   */
  active?: boolean
  /**
   * Expiry, as a `Date` or epoch milliseconds; must be in the future. Keys are static unless set.
   * @default undefined (never expires)
   * @example new Date('2027-01-01T00:00:00Z')
   */
  expiresAt?: number | Date
  /**
   * This key's own rate limit, overriding the limiter's default.
   * @default undefined (the limiter's default)
   * @example { capacity: 10, refillPerSecond: 1 }
   */
  rateLimit?: RateLimitSpec
  /**
   * Usage limit: the credits the key starts with and how they come back. Each allowed request
   * takes one (or the route's `cost`); at too few, 429 `credits_exhausted`. `user` and `org` keys.
   * @default undefined (unlimited)
   * @example { remaining: 100, refill: { amount: 100, interval: 'day' } }
   */
  credits?: { remaining: number; refill?: CreditRefill }
  /**
   * Free text shown to administrators (at most 1024 characters).
   * @default undefined
   * @example 'CI pipeline of the billing team'
   */
  description?: string
  /**
   * JSON data copied to the principal (at most 8 KiB). Must not hold secrets.
   * @default undefined
   * @example { team: 'billing' }
   */
  metadata?: Record<string, unknown>
}

/** Fields of {@link KeyManager.import}: an existing key and its record fields. */
export interface ImportOptions extends IssueOptions {
  /**
   * The existing plaintext key (e.g. an Ivanti Reference ID, a UUID). Hashed on the way in,
   * never stored. A key in keyward's own shape must have a valid checksum.
   * @example '3f0e8a52-6a1c-4c57-9d5e-2a8c1f0b7e44'
   */
  key: string
}

/** Editable key fields. `null` clears an optional field. */
export interface KeyPatch {
  group?: string | null
  owner?: string
  role?: string | null
  scopes?: string[] | null
  grants?: string[]
  allowedIps?: string[] | null
  active?: boolean
  expiresAt?: number | Date | null
  rateLimit?: RateLimitSpec | null
  /** Sets the balance to `remaining` now (and the refill, whose interval restarts now); `null`: unlimited. */
  credits?: { remaining: number; refill?: CreditRefill } | null
  description?: string | null
  metadata?: Record<string, unknown> | null
}

/** Fields of a new key group. */
export interface GroupOptions {
  /**
   * Name shown to administrators (1–128 printable characters).
   * @example 'Integrations'
   */
  name: string
  /**
   * Free text (at most 1024 characters).
   * @default undefined
   * @example 'Partner systems of the EU region'
   */
  description?: string
  /**
   * Tenant of the group; only keys of the same tenant can join it.
   * @default undefined (no tenant)
   * @example 'acme'
   */
  tenant?: string
  /**
   * Addresses allowed for every key of the group (a key with its own list must pass both).
   * @default undefined (any address)
   * @example ['198.51.100.0/24']
   */
  allowedIps?: string[]
  /**
   * A deactivated group disables every key in it (`group_disabled`).
   * @default true
   * @example false
   */
  active?: boolean
}

/** Editable group fields. `null` clears an optional field. */
export interface GroupPatch {
  name?: string
  description?: string | null
  allowedIps?: string[] | null
  active?: boolean
}

/** Options of {@link KeyManager.rotate}. */
export interface RotateOptions {
  /**
   * How long the replaced key keeps working, in milliseconds (0: it stops at once). At most 365 days.
   * @example 24 * 3600_000
   */
  graceMs: number
}

/** A new key: `key` is the plaintext, shown once and never stored. */
export interface IssuedKey {
  readonly key: string
  readonly record: KeyRecord
}

export const ISSUE_FIELDS: ReadonlySet<string> = new Set([
  'kind', 'tenant', 'group', 'owner', 'role', 'scopes', 'grants', 'allowedIps', 'active', 'expiresAt', 'rateLimit', 'credits', 'description', 'metadata',
])
export const IMPORT_FIELDS: ReadonlySet<string> = new Set([...ISSUE_FIELDS, 'key'])
export const PATCH_FIELDS: ReadonlySet<string> = new Set([
  'group', 'owner', 'role', 'scopes', 'grants', 'allowedIps', 'active', 'expiresAt', 'rateLimit', 'credits', 'description', 'metadata',
])
export const GROUP_FIELDS: ReadonlySet<string> = new Set(['name', 'description', 'tenant', 'allowedIps', 'active'])
export const GROUP_PATCH_FIELDS: ReadonlySet<string> = new Set(['name', 'description', 'allowedIps', 'active'])
