/**
 * Compiled records: what a key record, a group or a verified token means for a request, computed
 * once per object and reused. Allowlists become integer masks, scopes and roles become one
 * permission set ({@link Records.permissionsFor}), grants a set. Also the hot map: hash → the
 * compiled data of the record the store last returned for it.
 * @module
 */
import { allowlistHas, compileAllowlist, type Allowlist } from '../net/ip.js'
import type { PrincipalFields } from '../principal.js'
import type { PermissionSet, Roles } from '../roles.js'
import type { TokenIdentity } from '../schemes/scheme.js'
import type { KeyCredits, KeyGroup, KeyRecord, OwnerRecord, RateLimitSpec } from '../types.js'

export { allowlistHas, type Allowlist }

/**
 * What the post-authentication checks need, whatever the scheme. Read-only: a key's subject is
 * built once and shared by every request made with that key (see {@link Records.subjectOf}).
 */
export interface Subject extends PrincipalFields {
  readonly keyId: string
  readonly kind: 'user' | 'org'
  readonly tenant: string | undefined
  readonly owner: string | undefined
  readonly role: string | undefined
  readonly group: string | undefined
  readonly perms: PermissionSet
  readonly grants: ReadonlySet<string>
  readonly grantList: readonly string[]
  readonly lists: readonly (Allowlist | undefined)[]
  readonly rateLimit: RateLimitSpec | undefined
  /** The record's credits: set for a usage-limited key, whose allowed requests consume them. */
  readonly credits: KeyCredits | undefined
  readonly metadata: Readonly<Record<string, unknown>> | undefined
}

/** One key record, compiled. */
export interface Compiled {
  /** The record object this was compiled from. */
  readonly record: KeyRecord
  readonly allow: Allowlist | undefined
  readonly scopes: PermissionSet | undefined
  readonly grants: ReadonlySet<string>
  readonly grantList: readonly string[]
  /** The owner role `eff` was computed for (meaningful once `eff` is set). */
  effKey: OwnerRole
  eff: PermissionSet | undefined
  /** The last subject built from this record, and the group, owner role and owner grants it was built with. */
  subject: Subject | undefined
  subjectGroup: KeyGroup | undefined
  subjectKey: OwnerRole
  subjectGrants: unknown
}

/**
 * Which role wins when a user key has a role of its own and its owner has one in the directory.
 * `'key'`: the key's own role, never beyond the owner's (Ivanti "In Role"); `'owner'`: the
 * owner's role as it is now (Rapid7).
 */
export type RolePrecedence = 'key' | 'owner'

/** The owner has a directory entry but no role for the need: the key holds nothing there. */
const NO_ROLE: unique symbol = Symbol('no role')
/** The owner's role for a need: a role name, {@link NO_ROLE}, or `undefined` (no entry, no ceiling). */
type OwnerRole = string | typeof NO_ROLE | undefined

/**
 * The owner's role for a need naming `product`: `roles[product]`, else `role`. An owner with
 * per-product `roles` and no `role` has no role outside them. Corrupt fields mean no role.
 */
export function ownerRoleFor(owner: OwnerRecord | undefined, product: string | undefined): OwnerRole {
  if (owner === undefined) return undefined
  const roles: unknown = owner.roles
  const role: unknown = owner.role
  if (roles !== undefined) {
    if (roles === null || typeof roles !== 'object') return NO_ROLE
    if (product !== undefined && Object.hasOwn(roles, product)) {
      const v: unknown = (roles as Record<string, unknown>)[product]
      return typeof v === 'string' ? v : NO_ROLE
    }
    return typeof role === 'string' ? role : NO_ROLE
  }
  return role === undefined ? undefined : typeof role === 'string' ? role : NO_ROLE
}

/** What a token identity gives, computed once per frozen identity object. */
interface TokenSubject {
  readonly perms: PermissionSet
  readonly grants: ReadonlySet<string>
  readonly grantList: readonly string[]
}

const HOT_MAX = 10_000

function allowlistOf(ips: readonly string[] | undefined): Allowlist | undefined {
  if (ips === undefined) return undefined
  try {
    // Stryker disable next-line StringLiteral: the label only names the field in the error, which is swallowed below
    return compileAllowlist(ips, 'allowedIps')
  } catch {
    // Stryker disable next-line StringLiteral: an empty list cannot fail, so its label is never shown
    return compileAllowlist([], 'allowedIps') // a corrupt allowlist admits nobody
  }
}

/** The key's grants, with its owner's (every key of a user holds what the user was granted). */
function mergeGrants(c: Compiled, owner: OwnerRecord | undefined): { grants: ReadonlySet<string>; grantList: readonly string[] } {
  const extra: unknown = owner?.grants
  if (!Array.isArray(extra)) return c
  const set = new Set(c.grantList)
  for (const g of extra) if (typeof g === 'string') set.add(g)
  return { grants: set, grantList: Object.freeze([...set]) }
}

/** The compiled records of one authorizer (one role matrix). */
export class Records {
  readonly #roles: Roles
  readonly #nothing: PermissionSet
  readonly #compiled = new WeakMap<object, Compiled>()
  readonly #groups = new WeakMap<object, Allowlist | undefined>()
  readonly #tokens = new WeakMap<TokenIdentity, TokenSubject>()
  /**
   * Hash → the compiled data of the record the store last returned for it. Only hashes of keys
   * the store knew are added, after their checksum passed, so a hash in here also needs no second
   * checksum pass (the checksum is a pure function of the key, and a hash names exactly one key):
   * with it, an allowed request probes one table here instead of three. It never answers for the
   * store: the record is still looked up every time, and its compiled data is reused only if the
   * store returned the very same record object. Bounded; a flood of made-up keys cannot fill it.
   * Hashes only, never keys: the store holds the same ones.
   */
  readonly hot = new Map<string, Compiled>()

  readonly #precedence: RolePrecedence

  constructor(roles: Roles, precedence: RolePrecedence) {
    this.#roles = roles
    this.#precedence = precedence
    // Stryker disable next-line StringLiteral: an empty list cannot fail, so its label is never shown
    this.#nothing = roles.toSet([], 'none')
  }

  /**
   * The one rule for what a credential may do: everything (org) or its role's permissions (none
   * for an unknown or missing role), narrowed by `scopes` when set.
   */
  permissionsFor(kind: string, role: string | undefined, scopes: PermissionSet | undefined): PermissionSet {
    if (kind !== 'org') return this.#ofRole(role, scopes)
    const all = this.#roles.all
    return scopes ? all.intersect(scopes) : all
  }

  /** What a role may do (nothing for an unknown or missing role), narrowed by `scopes` when set. */
  #ofRole(role: string | undefined, scopes: PermissionSet | undefined): PermissionSet {
    // Stryker disable next-line ConditionalExpression: permissionsOf answers undefined for a non-string (roles.ts), so this test only narrows the type
    const base = (role !== undefined && this.#roles.permissionsOf(role)) || this.#nothing
    return scopes ? base.intersect(scopes) : base
  }

  /** `r` compiled, once per record object. */
  compile(r: KeyRecord): Compiled {
    let c = this.#compiled.get(r)
    if (c) return c
    let scopes: PermissionSet | undefined
    if (r.scopes !== undefined) {
      try {
        // Stryker disable next-line StringLiteral: the label only names the field in the error, which is swallowed below
        scopes = this.#roles.toSet(r.scopes, 'scopes')
      } catch {
        scopes = this.#nothing // corrupt scopes grant nothing
      }
    }
    const grantList = Array.isArray(r.grants) ? Object.freeze(r.grants.filter((g): g is string => typeof g === 'string')) : []
    c = { record: r, allow: allowlistOf(r.allowedIps), scopes, grants: new Set(grantList), grantList, effKey: undefined, eff: undefined, subject: undefined, subjectGroup: undefined, subjectKey: undefined, subjectGrants: undefined }
    this.#compiled.set(r, c)
    return c
  }

  /** The compiled data of `r`, found under `hash` (the checksum of its key was good). */
  compiledFor(hash: string, r: KeyRecord, known: Compiled | undefined): Compiled {
    // Stryker disable next-line ConditionalExpression: a shortcut; compile(r) returns the same object for the same record
    if (known !== undefined && known.record === r) return known
    const c = this.compile(r)
    if (known === undefined && this.hot.size >= HOT_MAX) this.hot.clear()
    this.hot.set(hash, c)
    return c
  }

  groupAllowlist(g: KeyGroup): Allowlist | undefined {
    const lists = this.#groups
    if (lists.has(g)) return lists.get(g)
    const allow = allowlistOf(g.allowedIps)
    lists.set(g, allow)
    return allow
  }

  /**
   * The role a user key acts with and what it may do, given its owner's role for the need: no
   * owner role, the key's own; `NO_ROLE`, nothing; else by precedence, the owner's (`'owner'`) or
   * the key's capped by the owner's (`'key'`; a key without a role takes the owner's). A key never
   * exceeds its owner. Org keys hold everything. Always narrowed by `scopes`.
   */
  #effective(r: KeyRecord, c: Compiled, owner: OwnerRole): PermissionSet {
    if (c.eff !== undefined && c.effKey === owner) return c.eff
    const eff = this.#derive(r, c, owner)
    c.effKey = owner
    c.eff = eff
    return eff
  }

  #derive(r: KeyRecord, c: Compiled, owner: OwnerRole): PermissionSet {
    if (r.kind !== 'user' || owner === undefined) return this.permissionsFor(r.kind, r.role, c.scopes)
    // Stryker disable next-line ConditionalExpression: without this test NO_ROLE (not a string) reaches permissionsOf, which answers undefined: nothing either way
    if (owner === NO_ROLE) return this.#nothing
    if (this.#precedence === 'owner' || r.role === undefined) return this.#ofRole(owner, c.scopes)
    return this.#ofRole(owner, this.#ofRole(r.role, c.scopes))
  }

  /** The role name a principal shows: the one whose permissions apply (capped by the owner's, under `'key'`). */
  #shownRole(r: KeyRecord, owner: OwnerRole): string | undefined {
    if (r.kind !== 'user') return undefined
    if (owner === undefined) return r.role
    if (this.#precedence === 'key' && r.role !== undefined) return r.role
    return owner === NO_ROLE ? undefined : owner
  }

  /**
   * The subject of a key that passed its checks. Built once per (record, group object, owner role,
   * owner grants) and reused: everything in it derives from those, which stores replace rather
   * than mutate (compiled allowlists and permission sets are cached on the same assumption).
   */
  subjectOf(r: KeyRecord, c: Compiled, group: KeyGroup | undefined, owner: OwnerRecord | undefined, product: string | undefined): Subject {
    const ownerRole = ownerRoleFor(owner, product)
    const ownerGrants: unknown = owner?.grants
    const cached = c.subject
    if (cached !== undefined && c.subjectGroup === group && c.subjectKey === ownerRole && c.subjectGrants === ownerGrants) return cached
    const s = this.buildSubject(r, c, owner, product, [c.allow, group ? this.groupAllowlist(group) : undefined])
    c.subject = s
    c.subjectGroup = group
    c.subjectKey = ownerRole
    c.subjectGrants = ownerGrants
    return s
  }

  buildSubject(r: KeyRecord, c: Compiled, owner: OwnerRecord | undefined, product: string | undefined, lists: readonly (Allowlist | undefined)[]): Subject {
    const ownerRole = ownerRoleFor(owner, product)
    const { grants, grantList } = mergeGrants(c, owner)
    return {
      keyId: r.id,
      kind: r.kind === 'org' ? 'org' : 'user',
      tenant: r.tenant,
      owner: r.owner,
      role: this.#shownRole(r, ownerRole),
      group: r.group,
      perms: this.#effective(r, c, ownerRole),
      grants,
      grantList,
      lists,
      rateLimit: r.rateLimit,
      credits: r.credits,
      metadata: r.metadata,
    }
  }

  /**
   * The subject of a verified token. Token schemes hand back the same frozen identity for a token
   * they have already verified (schemes.jwt caches verifications), so what is derived from it is
   * computed once per object.
   */
  tokenSubject(id: TokenIdentity): Subject {
    const { perms, grants, grantList } = this.#tokenParts(id)
    return {
      keyId: id.keyId,
      kind: id.kind,
      tenant: id.tenant,
      owner: id.owner,
      role: id.kind === 'user' ? id.role : undefined,
      group: id.group,
      perms,
      grants,
      grantList,
      lists: [],
      rateLimit: id.rateLimit,
      credits: undefined,
      metadata: id.metadata,
    }
  }

  #tokenParts(id: TokenIdentity): TokenSubject {
    let t = this.#tokens.get(id)
    if (t !== undefined) return t
    let scoped: PermissionSet | undefined
    if (id.scopes !== undefined) {
      const valid = id.scopes.filter((s) => this.#roles.lookup(s) !== undefined)
      try {
        // Stryker disable next-line StringLiteral: the label only names the field in the error, which is swallowed below
        scoped = this.#roles.toSet(valid, 'scopes')
      } catch {
        scoped = this.#nothing
      }
    }
    const grantList = Object.freeze([...(id.grants ?? [])])
    t = { perms: this.permissionsFor(id.kind, id.role, scoped), grants: new Set(grantList), grantList }
    // Only an identity that cannot change later may be remembered by object.
    // Object.isFrozen is true for `undefined`: an identity without scopes or grants has nothing there to change.
    const frozen = Object.isFrozen(id) && Object.isFrozen(id.scopes) && Object.isFrozen(id.grants)
    if (frozen) this.#tokens.set(id, t)
    return t
  }
}
