/**
 * Parsing of a role matrix's definition for `defineRoles`: its levels, each role's permissions,
 * and the lookup of a permission string, none of which needs the compiled matrix.
 * @module
 */
import { knownFields } from './lib/options.js'
import { quote, rangeError, typeError } from './errors.js'
import type { ParsedPermission, RolesDefinition } from './roles.js'

const RESOURCE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const LEVEL_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/

/** `resource:level` split in two, if both parts are well formed (no wildcards). */
function parseShape(permission: string): [string, string] | undefined {
  const i = permission.indexOf(':')
  // Stryker disable next-line EqualityOperator: an empty resource (i = 0) is also refused by RESOURCE_RE below
  if (i <= 0) return undefined
  // Stryker disable next-line ConditionalExpression: a second ':' is also refused by LEVEL_RE below, in the level
  if (i !== permission.lastIndexOf(':')) return undefined
  const resource = permission.slice(0, i)
  const level = permission.slice(i + 1)
  if (!RESOURCE_RE.test(resource) || !LEVEL_RE.test(level)) return undefined
  return [resource, level]
}

/** The level names of `definition`, checked, each with its rank (its index). */
export function levelRanks(definition: RolesDefinition): Map<string, number> {
  if (definition === null || typeof definition !== 'object') throw typeError('roles', 'must be an object')
  knownFields(definition, ['levels', 'roles'], 'definition')
  const { levels } = definition
  if (!Array.isArray(levels) || levels.length === 0) throw typeError('levels', 'must be a non-empty array of level names')
  const levelIndex = new Map<string, number>()
  levels.forEach((l, i) => {
    if (typeof l !== 'string' || !LEVEL_RE.test(l)) throw rangeError(`levels[${i}]`, `${quote(l)} is not a valid level name`)
    if (levelIndex.has(l)) throw rangeError(`levels[${i}]`, `${quote(l)} is listed twice`)
    levelIndex.set(l, i)
  })
  return levelIndex
}

/** One role's permissions, checked: resource → level rank, in the order listed. */
export function roleLevels(name: string, perms: unknown, levels: readonly string[], levelIndex: ReadonlyMap<string, number>): Map<string, number> {
  if (name.length === 0 || name.length > 64) throw rangeError('roles', `role name ${quote(name)} must be 1-64 characters`)
  if (!Array.isArray(perms)) throw typeError(`roles[${quote(name)}]`, 'must be an array of permission strings')
  const levelsOf = new Map<string, number>()
  perms.forEach((p: unknown, i) => {
    const field = `roles[${quote(name)}][${i}]`
    if (typeof p !== 'string') throw typeError(field, 'must be a string')
    const shape = parseShape(p)
    if (!shape) throw rangeError(field, `${quote(p)} is not resource:level (no wildcards)`)
    const level = levelIndex.get(shape[1])
    if (level === undefined) throw rangeError(field, `unknown level ${quote(shape[1])} (levels: ${levels.join(', ')})`)
    if (levelsOf.has(shape[0])) throw rangeError(field, `resource ${quote(shape[0])} is listed twice`)
    levelsOf.set(shape[0], level)
  })
  return levelsOf
}

/**
 * `Roles.lookup` of a matrix: a permission string parsed, if its level exists and some role names
 * its resource. Results are cached, up to a bound.
 */
export function permissionLookup(levelIndex: ReadonlyMap<string, number>, resources: ReadonlySet<string>): (permission: string) => ParsedPermission | undefined {
  const cache = new Map<string, ParsedPermission | null>()
  return (permission: string): ParsedPermission | undefined => {
    if (typeof permission !== 'string') return undefined
    const hit = cache.get(permission)
    if (hit !== undefined) return hit ?? undefined
    const shape = parseShape(permission)
    const level = shape && levelIndex.get(shape[1])
    // A resource no role names is not a permission of this matrix: nobody, not even an Org key,
    // could ever hold it, so a route or scope naming it is a configuration mistake to report.
    const parsed = shape && level !== undefined && resources.has(shape[0]) ? Object.freeze({ resource: shape[0], level }) : undefined
    // Bounded: this cache only ever sees permission strings from configuration and routes, but
    // `has()` may be called with request-derived strings by a careless caller.
    if (cache.size < 10_000) cache.set(permission, parsed ?? null)
    return parsed
  }
}
