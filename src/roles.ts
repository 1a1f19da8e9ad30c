/**
 * Roles and permissions.
 *
 * A permission is `resource:level`, e.g. `scans:manage`. Levels are ordered, and a higher level
 * implies every lower one on the same resource (`scans:manage` satisfies `scans:read`). There are
 * no wildcards: a role lists what it may do. Role names are looked up in a `Map`, so a name that
 * happens to be `__proto__` or `constructor` grants nothing.
 * @module
 */
import { knownFields } from './lib/options.js'
import { quote, rangeError, typeError } from './errors.js'
import { levelRanks, permissionLookup, roleLevels } from './_roles-parse.js'


/**
 * An immutable set of permissions: for each resource, the highest level held.
 * `has('scans:read')` is true when the set holds `scans:read` or any higher level.
 *
 * @example
 * ```ts
 * const set = insightAppSecRoles.permissionsOf('Read Write')!
 * set.has('scans:read')   // true: manage implies read
 * set.list()              // ['apps:manage', 'attack-templates:read', …]
 * ```
 */
export class PermissionSet {
  /** @internal resource → level index */
  readonly #levels: ReadonlyMap<string, number>
  readonly #roles: Roles
  #list: readonly string[] | undefined

  /** @internal */
  constructor(roles: Roles, levels: ReadonlyMap<string, number>) {
    this.#roles = roles
    this.#levels = levels
  }

  /** Whether `permission` is held. An unknown resource or level, or a malformed string, is `false`. */
  has(permission: string): boolean {
    const p = this.#roles.lookup(permission)
    if (p === undefined) return false
    // Level ranks are 0 and up: a resource not held (-1) holds no level of it.
    return (this.#levels.get(p.resource) ?? -1) >= p.level
  }

  /** @internal fast path for pre-parsed permissions */
  holds(resource: string, level: number): boolean {
    return (this.#levels.get(resource) ?? -1) >= level
  }

  /** The permissions held, one per resource at its highest level, sorted. */
  list(): readonly string[] {
    if (this.#list === undefined) {
      const out: string[] = []
      for (const [r, l] of this.#levels) out.push(`${r}:${this.#roles.levels[l]}`)
      this.#list = Object.freeze(out.sort())
    }
    return this.#list
  }

  /** The permissions held both here and in `other` (per resource, the lower level). */
  intersect(other: PermissionSet): PermissionSet {
    const out = new Map<string, number>()
    for (const [r, l] of this.#levels) {
      const o = other.#levels.get(r)
      if (o !== undefined) out.set(r, Math.min(l, o))
    }
    return new PermissionSet(this.#roles, out)
  }
}

/** A parsed permission. */
export interface ParsedPermission {
  readonly resource: string
  /** Index into `Roles.levels`. */
  readonly level: number
}

/** Input of {@link defineRoles}. */
export interface RolesDefinition {
  /**
   * Level names from lowest to highest; a higher level implies the lower ones.
   * @example ['read', 'manage', 'administer']
   */
  levels: readonly string[]
  /**
   * Role name → permissions (`resource:level`), one per resource.
   * @example { 'Read Only': ['scans:read'], 'Read Write': ['scans:manage'] }
   */
  roles: Readonly<Record<string, readonly string[]>>
}

/**
 * The permission strings of a role definition, for the compiler: `resource:level` for every
 * resource its roles name and every level, so `'scans:raed'` is a type error. `string` when the
 * definition is not known statically (read from a file, built at run time).
 */
export type PermissionOf<D extends RolesDefinition> = string extends D['levels'][number] | D['roles'][keyof D['roles']][number]
  ? string
  : `${ResourceOf<D['roles'][keyof D['roles']][number]>}:${D['levels'][number]}`

/** The resource of a `resource:level` literal. */
type ResourceOf<S> = S extends `${infer R}:${string}` ? R : never

/**
 * A compiled role matrix, from {@link defineRoles}. `P` is the union of the permission strings
 * it accepts (`string` when not known statically): the authorizer and the adapters' guards take
 * it from the matrix, so a misspelt permission in `requireKey('scans:raed')` does not compile.
 */
export interface Roles<P extends string = string> {
  /**
   * The permission strings of this matrix, for the compiler only: never set at run time.
   */
  readonly '~permission'?: P
  /** Level names, lowest first. */
  readonly levels: readonly string[]
  /** Every resource named by any role. */
  readonly resources: readonly string[]
  /** Role names, in definition order. */
  readonly names: readonly string[]
  /** Whether `role` is defined (own names only; `__proto__` is not a role). */
  has(role: string): boolean
  /** The permissions of `role`, or `undefined` if there is no such role. */
  permissionsOf(role: string): PermissionSet | undefined
  /** Every permission of the matrix: what an Org key holds (per resource, the highest level any role has). */
  readonly all: PermissionSet
  /** Parses `resource:level` against this matrix; `undefined` if malformed or unknown. */
  lookup(permission: string): ParsedPermission | undefined
  /** Parses and validates permission strings; throws a `RangeError` naming `field` if one is invalid. */
  toSet(permissions: readonly unknown[], field: string): PermissionSet
  /**
   * The definition this matrix was compiled from (frozen), for building on it.
   * @example defineRoles({ ...insightAppSecRoles.definition, roles: { ...insightAppSecRoles.definition.roles, Auditor: ['scans:read'] } })
   */
  readonly definition: RolesDefinition
  /**
   * A new matrix with more roles, without copying this one's table: each new role is a list of
   * permissions, or the name of a role of this matrix to copy (a Trial role that reads what Read
   * Only reads). The levels stay; a name this matrix already has is refused (a preset role is
   * never silently redefined). This matrix is not changed.
   * @example
   * ```ts
   * const roles = insightAppSecRoles.extend({ roles: { Trial: 'Read Only', Triage: ['vulnerabilities:manage', 'scans:read'] } })
   * roles.permissionsOf('Trial')?.has('scans:read') // true
   * ```
   */
  extend<const E extends RolesExtension>(extension: E): Roles<P | ExtendedPermission<E>>
}

/** Input of {@link Roles.extend}: new role name → permissions, or the name of an existing role to copy. */
export interface RolesExtension {
  /**
   * The roles to add.
   * @example { Trial: 'Read Only', Triage: ['vulnerabilities:manage'] }
   */
  roles: Readonly<Record<string, readonly string[] | string>>
}

/** The permission strings an extension adds, for the compiler: its resources, at any level (checked at run time). */
export type ExtendedPermission<E extends RolesExtension> =
  Extract<E['roles'][keyof E['roles']], readonly string[]>[number] extends infer S ? (S extends `${infer R}:${string}` ? `${R}:${string}` : never) : never

/** `Roles.toSet` of `compiled`: a list of permission strings, each checked, as a set. */
function toPermissionSet(compiled: Roles, permissions: readonly unknown[], field: string): PermissionSet {
  if (!Array.isArray(permissions)) throw typeError(field, 'must be an array of permission strings')
  const out = new Map<string, number>()
  permissions.forEach((p, i) => {
    if (typeof p !== 'string') throw typeError(`${field}[${i}]`, 'must be a string')
    const parsed = compiled.lookup(p)
    if (!parsed) {
      throw rangeError(`${field}[${i}]`, `${quote(p)} is not a permission of this role matrix (resource:level, levels ${compiled.levels.join(' < ')})`)
    }
    if (out.has(parsed.resource)) throw rangeError(`${field}[${i}]`, `resource ${quote(parsed.resource)} is listed twice`)
    out.set(parsed.resource, parsed.level)
  })
  return new PermissionSet(compiled, out)
}

/**
 * Defines a role matrix. Validates everything at once and throws a `TypeError`/`RangeError`
 * naming the field on any mistake (unknown level, malformed or wildcard permission, a resource
 * listed twice in one role, duplicate level).
 *
 * @example
 * ```ts
 * import { defineRoles } from 'keyward'
 * const roles = defineRoles({
 *   levels: ['read', 'write'],
 *   roles: {
 *     viewer: ['reports:read', 'users:read'],
 *     editor: ['reports:write', 'users:read'],
 *   },
 * })
 * roles.permissionsOf('editor')?.has('reports:read') // true: write implies read
 * ```
 */
export function defineRoles<const D extends RolesDefinition>(definition: D): Roles<PermissionOf<D>>
export function defineRoles(definition: RolesDefinition): Roles {
  const levelIndex = levelRanks(definition)
  const { levels, roles } = definition
  if (roles === null || typeof roles !== 'object') throw typeError('roles', 'must be an object of role name → permissions')

  const table = new Map<string, PermissionSet>()
  const resources = new Set<string>()
  const allLevels = new Map<string, number>()
  const lookup = permissionLookup(levelIndex, resources)
  const names: string[] = []
  const compiled: Roles = {
    definition: freezeDefinition(levels, roles),
    extend: (extension) => extendRoles(compiled, extension),
    levels: Object.freeze([...levels]),
    get resources() {
      return Object.freeze([...resources])
    },
    names,
    // The table's keys are the role names, all strings: any other value is simply not found.
    has: (role) => table.has(role),
    permissionsOf: (role) => table.get(role),
    all: undefined as unknown as PermissionSet,
    lookup,
    toSet: (permissions, field) => toPermissionSet(compiled, permissions, field),
  }

  for (const name of Object.keys(roles)) {
    const levelsOf = roleLevels(name, roles[name], levels, levelIndex)
    for (const [resource, level] of levelsOf) {
      resources.add(resource)
      allLevels.set(resource, Math.max(allLevels.get(resource) ?? -1, level))
    }
    table.set(name, new PermissionSet(compiled, levelsOf))
    names.push(name)
  }
  Object.freeze(names)
  ;(compiled as { all: PermissionSet }).all = new PermissionSet(compiled, allLevels)
  return Object.freeze(compiled)
}

function freezeDefinition(levels: readonly string[], roles: RolesDefinition['roles']): RolesDefinition {
  const table: Record<string, readonly string[]> = {}
  for (const name of Object.keys(roles)) {
    // Stryker disable next-line ArrayDeclaration: a role without a list is refused by roleLevels right after, whatever this fallback holds
    const list = roles[name] ?? []
    table[name] = Object.freeze([...list])
  }
  return Object.freeze({ levels: Object.freeze([...levels]), roles: Object.freeze(table) })
}

function extendRoles(base: Roles, extension: RolesExtension): Roles {
  if (extension === null || typeof extension !== 'object') throw typeError('extension', 'must be an object { roles }')
  knownFields(extension, ['roles'], 'extension')
  const added = extension.roles
  if (added === null || typeof added !== 'object' || Array.isArray(added)) throw typeError('roles', 'must be an object of role name → permissions or role name')
  const table: Record<string, readonly string[]> = { ...base.definition.roles }
  for (const name of Object.keys(added)) {
    if (Object.hasOwn(table, name)) throw rangeError(`roles[${quote(name)}]`, 'is already a role of this matrix; pick a new name')
    const value = added[name]
    if (typeof value === 'string') {
      if (!base.has(value)) throw rangeError(`roles[${quote(name)}]`, `copies unknown role ${quote(value)} (roles: ${base.names.join(', ')})`)
      table[name] = base.definition.roles[value]!
    } else table[name] = value as readonly string[]
  }
  return defineRoles({ levels: base.levels, roles: table })
}

/**
 * A permission of the {@link insightAppSecRoles} matrix: one of its resources at `read`,
 * `manage` or `administer`.
 */
export type InsightAppSecPermission = `${
  | 'apps'
  | 'attack-templates'
  | 'targets'
  | 'scan-configs'
  | 'scans'
  | 'vulnerabilities'
  | 'vulnerability-comments'
  | 'engines'
  | 'engine-groups'
  | 'schedules'
  | 'blackouts'
  | 'global-blackouts'
  | 'files'}:${'read' | 'manage' | 'administer'}`

/**
 * The Rapid7 InsightAppSec preset: roles `Product Admin`, `Read Write`, `Read Only` over levels
 * `read < manage < administer`, exactly the matrix of the product design. Org keys hold every
 * permission of the matrix.
 *
 * @example
 * ```ts
 * import { createAuthorizer, insightAppSecRoles } from 'keyward'
 * insightAppSecRoles.permissionsOf('Read Write')?.has('scans:manage') // true
 * insightAppSecRoles.permissionsOf('Read Only')?.has('scans:manage')  // false
 * ```
 */
export const insightAppSecRoles: Roles<InsightAppSecPermission> = /* @__PURE__ */ defineRoles({
  levels: ['read', 'manage', 'administer'],
  roles: {
    'Product Admin': [
      'apps:manage',
      'attack-templates:read',
      'targets:manage',
      'scan-configs:manage',
      'scans:manage',
      'vulnerabilities:manage',
      'vulnerability-comments:administer',
      'engines:manage',
      'engine-groups:manage',
      'schedules:manage',
      'blackouts:manage',
      'global-blackouts:manage',
      'files:manage',
    ],
    'Read Write': [
      'apps:manage',
      'attack-templates:read',
      'targets:read',
      'scan-configs:manage',
      'scans:manage',
      'vulnerabilities:manage',
      'vulnerability-comments:manage',
      'engines:read',
      'engine-groups:read',
      'schedules:manage',
      'blackouts:manage',
      'files:manage',
    ],
    'Read Only': [
      'apps:read',
      'attack-templates:read',
      'targets:read',
      'scan-configs:read',
      'scans:read',
      'vulnerabilities:read',
      'vulnerability-comments:read',
      'engines:read',
      'engine-groups:read',
      'schedules:read',
      'blackouts:read',
      'files:read',
    ],
  },
})
