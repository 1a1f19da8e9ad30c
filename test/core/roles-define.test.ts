/**
 * defineRoles as a user meets it: every matrix is built inside its test, so each rule below is
 * checked on the matrix it builds. Errors are matched from their start, field first, so a message
 * that names the wrong field (or none) fails.
 */
import { describe, expect, it } from 'vitest'
import { defineRoles, type RolesDefinition } from '../../src/index.js'

const LEVELS = ['read', 'write', 'admin'] as const
const define = () =>
  defineRoles({
    levels: ['read', 'write', 'admin'],
    roles: {
      // Not in level order, so the highest level of a resource is not simply its last mention.
      editor: ['docs:write', 'reports:read', 'drafts:write'],
      owner: ['docs:admin', 'billing:read'],
      viewer: ['docs:read', 'reports:read'],
    },
  })

describe('defineRoles: the compiled matrix', () => {
  it('keeps the levels, the role names in definition order and every resource', () => {
    const roles = define()
    expect(roles.levels).toEqual(LEVELS)
    expect(roles.names).toEqual(['editor', 'owner', 'viewer'])
    expect([...roles.resources].sort()).toEqual(['billing', 'docs', 'drafts', 'reports'])
  })

  it('gives the Org set the highest level of every resource and nothing above it', () => {
    const roles = define()
    expect(roles.all.list()).toEqual(['billing:read', 'docs:admin', 'drafts:write', 'reports:read'])
    const held = LEVELS.flatMap((l) => ['billing', 'docs', 'drafts', 'reports'].map((r) => `${r}:${l}`)).filter((p) => roles.all.has(p))
    expect(held.sort()).toEqual(['billing:read', 'docs:admin', 'docs:read', 'docs:write', 'drafts:read', 'drafts:write', 'reports:read'])
  })

  it('keeps a frozen copy of its definition that later edits of the input do not reach', () => {
    const input = { levels: ['read', 'write'], roles: { viewer: ['docs:read'], editor: ['docs:write', 'notes:read'] } }
    const roles = defineRoles(input)
    input.levels.push('admin')
    input.roles.viewer.push('notes:read')
    expect(roles.definition).toEqual({ levels: ['read', 'write'], roles: { viewer: ['docs:read'], editor: ['docs:write', 'notes:read'] } })
    expect(Object.isFrozen(roles.definition)).toBe(true)
    expect(Object.isFrozen(roles.definition.levels)).toBe(true)
    expect(Object.isFrozen(roles.definition.roles)).toBe(true)
    expect(Object.isFrozen(roles.definition.roles.viewer)).toBe(true)
    expect(roles.levels).toEqual(['read', 'write'])
    expect(roles.permissionsOf('viewer')!.has('notes:read')).toBe(false)
  })

  it('lists a set once per resource at its level, sorted, as the same frozen array each time', () => {
    const set = define().permissionsOf('editor')!
    expect(set.list()).toEqual(['docs:write', 'drafts:write', 'reports:read'])
    expect(set.list()).toBe(set.list())
    expect(Object.isFrozen(set.list())).toBe(true)
  })

  it('accepts a role name of 64 characters and refuses 65 and the empty name', () => {
    const name = 'r'.repeat(64)
    expect(defineRoles({ levels: ['read'], roles: { [name]: ['docs:read'] } }).has(name)).toBe(true)
    expect(() => defineRoles({ levels: ['read'], roles: { [`${name}r`]: ['docs:read'] } })).toThrow(/^roles: role name "r{64}…" must be 1-64 characters$/)
    expect(() => defineRoles({ levels: ['read'], roles: { '': ['docs:read'] } })).toThrow(/^roles: role name "" must be 1-64 characters$/)
  })
})

describe('defineRoles: refused definitions', () => {
  it.each([
    ['a null definition', null, TypeError, /^roles: must be an object$/],
    ['a string definition', 'read', TypeError, /^roles: must be an object$/],
    ['an unknown field', { levels: ['read'], roles: {}, role: {} }, RangeError, /^definition: unknown field "role"/],
    ['no levels', { levels: [], roles: {} }, TypeError, /^levels: must be a non-empty array of level names$/],
    ['levels that are not an array', { levels: 'read', roles: {} }, TypeError, /^levels: must be a non-empty array of level names$/],
    ['a level that is not a string', { levels: ['read', 7], roles: {} }, RangeError, /^levels\[1\]: "7" is not a valid level name$/],
    ['a level with a space', { levels: ['read all'], roles: {} }, RangeError, /^levels\[0\]: "read all" is not a valid level name$/],
    ['a level listed twice', { levels: ['read', 'read'], roles: {} }, RangeError, /^levels\[1\]: "read" is listed twice$/],
    ['null roles', { levels: ['read'], roles: null }, TypeError, /^roles: must be an object of role name → permissions$/],
    ['roles as a string', { levels: ['read'], roles: 'viewer' }, TypeError, /^roles: must be an object of role name → permissions$/],
    ['a role that is not an array', { levels: ['read'], roles: { a: 'docs:read' } }, TypeError, /^roles\["a"\]: must be an array of permission strings$/],
    ['a permission that is not a string', { levels: ['read'], roles: { a: ['docs:read', 5] } }, TypeError, /^roles\["a"\]\[1\]: must be a string$/],
    ['a permission with a wildcard', { levels: ['read'], roles: { a: ['docs:*'] } }, RangeError, /^roles\["a"\]\[0\]: "docs:\*" is not resource:level \(no wildcards\)$/],
    ['an unknown level', { levels: ['read', 'write'], roles: { a: ['docs:admin'] } }, RangeError, /^roles\["a"\]\[0\]: unknown level "admin" \(levels: read, write\)$/],
    ['a resource listed twice', { levels: ['read'], roles: { a: ['docs:read', 'docs:read'] } }, RangeError, /^roles\["a"\]\[1\]: resource "docs" is listed twice$/],
  ])('refuses %s with an error naming the field', (_, definition, type, message) => {
    expect(() => defineRoles(definition as unknown as RolesDefinition)).toThrow(type)
    expect(() => defineRoles(definition as unknown as RolesDefinition)).toThrow(message)
  })
})

describe('Roles.lookup and PermissionSet.has', () => {
  it('answers no, without throwing, for a permission that is not a string', () => {
    const roles = define()
    for (const p of [42, null, undefined, { toString: () => 'docs:read' }]) {
      expect(roles.lookup(p as never)).toBeUndefined()
      expect(roles.all.has(p as never)).toBe(false)
    }
  })

  it('parses a permission of the matrix to its resource and level rank, once', () => {
    const roles = define()
    const first = roles.lookup('docs:write')
    expect(first).toEqual({ resource: 'docs', level: 1 })
    expect(roles.lookup('docs:write')).toBe(first)
    expect(roles.lookup('nope:read')).toBeUndefined()
    expect(roles.lookup('docs:delete')).toBeUndefined()
  })

  it('does not read a string without a colon as a permission, even one that ends in a level name', () => {
    // 'docsread' cut before its last character would be resource 'docsrea' at level 'docsread'.
    const roles = defineRoles({ levels: ['docsread'], roles: { a: ['docsrea:docsread'] } })
    expect(roles.lookup('docsrea:docsread')).toEqual({ resource: 'docsrea', level: 0 })
    expect(roles.lookup('docsread')).toBeUndefined()
    expect(roles.all.has('docsread')).toBe(false)
  })

  it('remembers at most 10,000 permission strings, so request-derived strings cannot grow it without bound', () => {
    const roles = define()
    for (let i = 0; i < 10_000; i++) expect(roles.lookup(`junk${i}:read`)).toBeUndefined()
    const a = roles.lookup('docs:admin')
    const b = roles.lookup('docs:admin')
    expect(a).toEqual({ resource: 'docs', level: 2 })
    expect(b).toEqual(a)
    expect(b).not.toBe(a)
  })
})

describe('Roles.toSet', () => {
  it('builds a set from permission strings, each held with the levels below it', () => {
    const set = define().toSet(['docs:write', 'billing:read'], 'scopes')
    expect(set.list()).toEqual(['billing:read', 'docs:write'])
    expect([set.has('docs:read'), set.has('docs:admin'), set.has('reports:read')]).toEqual([true, false, false])
  })

  it.each([
    ['a list that is not an array', 'docs:read', TypeError, /^scopes: must be an array of permission strings$/],
    ['an entry that is not a string', ['docs:read', 5], TypeError, /^scopes\[1\]: must be a string$/],
    ['a resource no role names', ['nope:read'], RangeError, /^scopes\[0\]: "nope:read" is not a permission of this role matrix \(resource:level, levels read < write < admin\)$/],
    ['a resource listed twice', ['docs:read', 'docs:write'], RangeError, /^scopes\[1\]: resource "docs" is listed twice$/],
  ])('refuses %s with an error naming the field', (_, permissions, type, message) => {
    const roles = define()
    expect(() => roles.toSet(permissions as never, 'scopes')).toThrow(type)
    expect(() => roles.toSet(permissions as never, 'scopes')).toThrow(message)
  })
})

describe('Roles.extend', () => {
  it('adds roles, as permission lists or copies of a role, and keeps every role of the base', () => {
    const base = define()
    const roles = base.extend({ roles: { trial: 'viewer', triage: ['reports:write', 'docs:read'] } })
    expect(roles.names).toEqual(['editor', 'owner', 'viewer', 'trial', 'triage'])
    expect(roles.levels).toEqual(LEVELS)
    expect(roles.permissionsOf('trial')!.list()).toEqual(['docs:read', 'reports:read'])
    expect(roles.permissionsOf('triage')!.list()).toEqual(['docs:read', 'reports:write'])
    expect(roles.permissionsOf('owner')!.list()).toEqual(['billing:read', 'docs:admin'])
    expect(roles.all.list()).toEqual(['billing:read', 'docs:admin', 'drafts:write', 'reports:write'])
    // The base matrix is not changed.
    expect(base.names).toEqual(['editor', 'owner', 'viewer'])
    expect(base.has('trial')).toBe(false)
    expect(base.all.has('reports:write')).toBe(false)
  })

  it.each([
    ['null', null, TypeError, /^extension: must be an object \{ roles \}$/],
    ['a string', 'viewer', TypeError, /^extension: must be an object \{ roles \}$/],
    ['an unknown field', { roles: {}, levels: ['read'] }, RangeError, /^extension: unknown field "levels"/],
    ['null roles', { roles: null }, TypeError, /^roles: must be an object of role name → permissions or role name$/],
    ['roles as a string', { roles: 'viewer' }, TypeError, /^roles: must be an object of role name → permissions or role name$/],
    ['roles as an array', { roles: [['docs:read']] }, TypeError, /^roles: must be an object of role name → permissions or role name$/],
    ['a name the base already has', { roles: { viewer: ['docs:admin'] } }, RangeError, /^roles\["viewer"\]: is already a role of this matrix; pick a new name$/],
    ['a copy of an unknown role', { roles: { trial: 'guest' } }, RangeError, /^roles\["trial"\]: copies unknown role "guest" \(roles: editor, owner, viewer\)$/],
  ])('refuses %s with an error naming the field', (_, extension, type, message) => {
    const base = define()
    expect(() => base.extend(extension as never)).toThrow(type)
    expect(() => base.extend(extension as never)).toThrow(message)
  })
})
