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
import type { KeyGroup, KeyRecord, RateLimitSpec } from '../types.js'

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
  effRole: string | undefined
  eff: PermissionSet | undefined
  /** The last subject built from this record, and the group object it was built with. */
  subject: Subject | undefined
  subjectGroup: KeyGroup | undefined
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
    return compileAllowlist(ips, 'allowedIps')
  } catch {
    return compileAllowlist([], 'allowedIps') // a corrupt allowlist admits nobody
  }
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

  constructor(roles: Roles) {
    this.#roles = roles
    this.#nothing = roles.toSet([], 'none')
  }

  /**
   * The one rule for what a credential may do: everything (org) or its role's permissions (none
   * for an unknown or missing role), narrowed by `scopes` when set.
   */
  permissionsFor(kind: string, role: string | undefined, scopes: PermissionSet | undefined): PermissionSet {
    const roles = this.#roles
    const base = kind === 'org' ? roles.all : (role !== undefined && roles.permissionsOf(role)) || this.#nothing
    return scopes ? base.intersect(scopes) : base
  }

  /** `r` compiled, once per record object. */
  compile(r: KeyRecord): Compiled {
    let c = this.#compiled.get(r)
    if (c) return c
    let scopes: PermissionSet | undefined
    if (r.scopes !== undefined) {
      try {
        scopes = this.#roles.toSet(r.scopes, 'scopes')
      } catch {
        scopes = this.#nothing // corrupt scopes grant nothing
      }
    }
    const grantList = Array.isArray(r.grants) ? Object.freeze(r.grants.filter((g): g is string => typeof g === 'string')) : []
    c = { record: r, allow: allowlistOf(r.allowedIps), scopes, grants: new Set(grantList), grantList, effRole: undefined, eff: undefined, subject: undefined, subjectGroup: undefined }
    this.#compiled.set(r, c)
    return c
  }

  /** The compiled data of `r`, found under `hash` (the checksum of its key was good). */
  compiledFor(hash: string, r: KeyRecord, known: Compiled | undefined): Compiled {
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

  #effective(r: KeyRecord, c: Compiled, role: string | undefined): PermissionSet {
    if (c.eff !== undefined && c.effRole === role) return c.eff
    const eff = this.permissionsFor(r.kind, role, c.scopes)
    c.effRole = role
    c.eff = eff
    return eff
  }

  /**
   * The subject of a key that passed its checks. Built once per (record, group object, role) and
   * reused: everything in it derives from those three, which stores replace rather than mutate
   * (compiled allowlists and permission sets are cached on the same assumption).
   */
  subjectOf(r: KeyRecord, c: Compiled, group: KeyGroup | undefined, ownerRole: string | undefined): Subject {
    const role = r.kind === 'user' ? (ownerRole ?? r.role) : undefined
    const cached = c.subject
    if (cached !== undefined && c.subjectGroup === group && cached.role === role) return cached
    const s = this.buildSubject(r, c, role, [c.allow, group ? this.groupAllowlist(group) : undefined])
    c.subject = s
    c.subjectGroup = group
    return s
  }

  buildSubject(r: KeyRecord, c: Compiled, role: string | undefined, lists: readonly (Allowlist | undefined)[]): Subject {
    return {
      keyId: r.id,
      kind: r.kind === 'org' ? 'org' : 'user',
      tenant: r.tenant,
      owner: r.owner,
      role,
      group: r.group,
      perms: this.#effective(r, c, role),
      grants: c.grants,
      grantList: c.grantList,
      lists,
      rateLimit: r.rateLimit,
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
        scoped = this.#roles.toSet(valid, 'scopes')
      } catch {
        scoped = this.#nothing
      }
    }
    const grantList = Object.freeze([...(id.grants ?? [])])
    t = { perms: this.permissionsFor(id.kind, id.role, scoped), grants: new Set(grantList), grantList }
    // Only an identity that cannot change later may be remembered by object.
    const frozen = Object.isFrozen(id) && (id.scopes === undefined || Object.isFrozen(id.scopes)) && (id.grants === undefined || Object.isFrozen(id.grants))
    if (frozen) this.#tokens.set(id, t)
    return t
  }
}
