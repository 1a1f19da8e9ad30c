import { describe, expect, it } from 'vitest'
import { defineRoles, insightAppSecRoles } from '../../src/index.js'
import { harness, seen } from '../_support/core.js'

// The role matrix of DESIGN.md, transcribed cell by cell. '—' is "no access".
const MATRIX = `
resource                | Product Admin | Read Write | Read Only
apps                    | manage        | manage     | read
attack-templates        | read          | read       | read
targets                 | manage        | read       | read
scan-configs            | manage        | manage     | read
scans                   | manage        | manage     | read
vulnerabilities         | manage        | manage     | read
vulnerability-comments  | administer    | manage     | read
engines                 | manage        | read       | read
engine-groups           | manage        | read       | read
schedules               | manage        | manage     | read
blackouts               | manage        | manage     | read
global-blackouts        | manage        | —          | —
files                   | manage        | manage     | read
`
const LEVELS = ['read', 'manage', 'administer']
const rows = MATRIX.trim().split('\n').slice(1).map((l) => l.split('|').map((c) => c.trim()))
const ROLES = ['Product Admin', 'Read Write', 'Read Only']

describe('insightAppSecRoles', () => {
  for (const [resource, ...cells] of rows) {
    ROLES.forEach((role, i) => {
      const cell = cells[i]!
      it(`gives ${role} exactly ${cell} on ${resource}`, () => {
        const set = insightAppSecRoles.permissionsOf(role)!
        for (const [li, level] of LEVELS.entries()) {
          const expected = cell !== '—' && li <= LEVELS.indexOf(cell)
          expect(set.has(`${resource}:${level}`)).toBe(expected)
        }
      })
    })
  }

  it('has exactly the matrix resources and roles', () => {
    expect([...insightAppSecRoles.resources].sort()).toEqual(rows.map((r) => r[0]).sort())
    expect(insightAppSecRoles.names).toEqual(ROLES)
  })

  it('gives Org keys every permission of the matrix and nothing beyond it', () => {
    for (const [resource, ...cells] of rows) {
      const top = Math.max(...cells.map((c) => LEVELS.indexOf(c)))
      for (const [li, level] of LEVELS.entries()) expect(insightAppSecRoles.all.has(`${resource}:${level}`)).toBe(li <= top)
    }
    expect(insightAppSecRoles.all.has('users:read')).toBe(false)
  })
})

describe('defineRoles', () => {
  it('lets a higher level imply the lower ones', () => {
    const roles = defineRoles({ levels: ['read', 'write', 'admin'], roles: { editor: ['docs:write'] } })
    const s = roles.permissionsOf('editor')!
    expect([s.has('docs:read'), s.has('docs:write'), s.has('docs:admin')]).toEqual([true, true, false])
  })

  it('grants nothing to prototype names such as __proto__ or constructor', () => {
    const roles = defineRoles({ levels: ['read'], roles: { viewer: ['docs:read'] } })
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(roles.has(name)).toBe(false)
      expect(roles.permissionsOf(name)).toBeUndefined()
    }
  })

  it('can define a role literally named __proto__ without touching the prototype', () => {
    const def = JSON.parse('{"levels":["read"],"roles":{"__proto__":["docs:read"]}}')
    const roles = defineRoles(def)
    expect(roles.permissionsOf('__proto__')?.has('docs:read')).toBe(true)
    expect(roles.has('constructor')).toBe(false)
  })

  it.each([
    [{ levels: [], roles: {} }, /levels/],
    [{ levels: ['read', 'read'], roles: {} }, /levels\[1\]/],
    [{ levels: ['read'], roles: { a: ['docs:*'] } }, /roles\["a"\]\[0\]/],
    [{ levels: ['read'], roles: { a: ['*:read'] } }, /roles\["a"\]\[0\]/],
    [{ levels: ['read'], roles: { a: ['docs:write'] } }, /unknown level "write"/],
    [{ levels: ['read'], roles: { a: ['docs'] } }, /resource:level/],
    [{ levels: ['read'], roles: { a: ['docs:read', 'docs:read'] } }, /listed twice/],
    [{ levels: ['read'], roles: { a: 'docs:read' } }, /must be an array/],
  ])('refuses an invalid definition with an error naming the field (%#)', (def, message) => {
    expect(() => defineRoles(def as never)).toThrow(message)
  })

  it('rejects permission strings with wildcards or unknown levels as permissions', () => {
    expect(insightAppSecRoles.all.has('scans:*')).toBe(false)
    expect(insightAppSecRoles.all.has('*')).toBe(false)
    expect(insightAppSecRoles.all.has('scans:delete')).toBe(false)
  })
})

describe('permissions through authorize()', () => {
  it('lets a user key act with its owner\'s role as it is at the time of the request under rolePrecedence owner', async () => {
    const h = harness()
    await h.manager.setOwner('ana', { role: 'Read Write', active: true })
    const { key } = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const auth = h.authorizer({ rolePrecedence: 'owner' })
    expect(seen(await auth({ headers: { 'x-api-key': key } }, 'scans:manage'))).toEqual({ status: 200 })
    await h.manager.setOwner('ana', { role: 'Read Only', active: true })
    expect(seen(await auth({ headers: { 'x-api-key': key } }, 'scans:manage'))).toMatchObject({ status: 403, code: 'insufficient_permission' })
  })

  it('uses the key\'s own role when the owner has no directory entry', async () => {
    const h = harness()
    const { key } = await h.issue({ kind: 'user', owner: 'ghost', role: 'Read Only' })
    const d = await h.authorizer()({ headers: { 'x-api-key': key } }, 'scans:read')
    expect(d.allow && d.principal.role).toBe('Read Only')
  })

  it('intersects the role with the key\'s scopes', async () => {
    const h = harness()
    const { key } = await h.issue({ kind: 'user', owner: 'ana', role: 'Product Admin', scopes: ['scans:read', 'apps:manage'] })
    const auth = h.authorizer()
    const headers = { 'x-api-key': key }
    expect((await auth({ headers }, 'scans:read')).allow).toBe(true)
    expect(seen(await auth({ headers }, 'scans:manage')).code).toBe('insufficient_permission')
    expect(seen(await auth({ headers }, 'targets:read')).code).toBe('insufficient_permission')
    const d = await auth({ headers }, 'apps:manage')
    expect(d.allow && d.principal.permissions).toEqual(['apps:manage', 'scans:read'])
  })

  it('gives a scoped Org key only its scopes', async () => {
    const h = harness()
    const { key } = await h.issue({ kind: 'org', tenant: 't1', scopes: ['files:read'] })
    const auth = h.authorizer()
    expect((await auth({ headers: { 'x-api-key': key } }, 'files:read')).allow).toBe(true)
    expect(seen(await auth({ headers: { 'x-api-key': key } }, 'files:manage')).code).toBe('insufficient_permission')
  })

  it('requires every permission of a list and names the missing one', async () => {
    const h = harness()
    const { key } = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    const d = await h.authorizer()({ headers: { 'x-api-key': key } }, { permission: ['scans:manage', 'targets:manage'] })
    expect(d.allow).toBe(false)
    if (!d.allow) expect(d.message).toBe('The API key lacks the permission "targets:manage".')
  })

  it('throws on a need that names no permission of the matrix (misuse, not a deny)', async () => {
    const h = harness()
    const auth = h.authorizer()
    await expect(auth({ headers: {} }, 'scans:write')).rejects.toThrow(RangeError)
    await expect(auth({ headers: {} }, { permission: 'nope:read', extra: 1 } as never)).rejects.toThrow(/need/)
  })

  it('gives principal.can() the same answers as the checks', async () => {
    const h = harness()
    const { key } = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Write' })
    const d = await h.authorizer()({ headers: { 'x-api-key': key } })
    if (!d.allow) throw new Error('expected allow')
    expect([d.principal.can('scans:manage'), d.principal.can('scans:read'), d.principal.can('targets:manage'), d.principal.can('__proto__')]).toEqual([true, true, false, false])
    expect(JSON.stringify(d.principal)).not.toMatch(/hash/)
  })
})
