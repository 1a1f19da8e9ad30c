/**
 * What a route needs, as `authorizer.need()` compiles it when the route is defined: a permission
 * string or a plain object of known fields, each value checked with an error naming it; the
 * compiled need is frozen, handed back as is, cached per string (boundedly), and one compiled by
 * another authorizer is checked again against this one's matrix.
 */
import { describe, expect, it } from 'vitest'
import { createAuthorizer, defineRoles, MemoryKeyStore, type CompiledNeed } from '../../src/index.js'

const store = new MemoryKeyStore()
const a = createAuthorizer({ store, touchIntervalMs: 0 })
const need = (n: unknown): CompiledNeed => a.need(n as never)
const refusal = (n: unknown): [string, string] => {
  try {
    need(n)
  } catch (e) {
    return [(e as Error).constructor.name, (e as Error).message]
  }
  return ['none', '']
}

describe('compiling a need', () => {
  it('compiles no need to the empty need, always the same frozen object', () => {
    const empty = need(undefined)
    expect(empty).toEqual({ permissions: [], parsed: [], cost: 1 })
    expect(Object.isFrozen(empty)).toBe(true)
    expect(need(undefined)).toBe(empty)
    expect(need(empty)).toBe(empty)
  })

  it('compiles a permission string once and hands the same need back', () => {
    const n = need('scans:read')
    expect(n).toMatchObject({ permissions: ['scans:read'], cost: 1 })
    expect(n.parsed).toHaveLength(1)
    expect(Object.isFrozen(n) && Object.isFrozen(n.permissions) && Object.isFrozen(n.parsed)).toBe(true)
    expect(need('scans:read')).toBe(n)
    expect(need(n)).toBe(n)
  })

  it('compiles every field of an object need and leaves out the ones not given', () => {
    const n = need({ permission: ['scans:read', 'apps:manage'], operation: 'listScans', product: 'appsec', cost: 3 })
    expect(n).toEqual({ permissions: ['scans:read', 'apps:manage'], parsed: n.parsed, operation: 'listScans', product: 'appsec', cost: 3 })
    expect(n.parsed).toHaveLength(2)
    const bare = need({ permission: 'scans:read' })
    expect(Object.keys(bare).sort()).toEqual(['cost', 'parsed', 'permissions'])
    expect(need({})).toEqual({ permissions: [], parsed: [], cost: 1 })
    expect(need({ operation: 'x' }).permissions).toEqual([])
  })

  it('accepts a need object without a prototype', () => {
    const n = Object.assign(Object.create(null) as object, { permission: 'scans:read' })
    expect(need(n).permissions).toEqual(['scans:read'])
  })

  it('checks a need compiled by another authorizer again, keeping its operation, product and cost', () => {
    const twin = createAuthorizer({ store, touchIntervalMs: 0 })
    const foreign = twin.need({ permission: 'scans:read', operation: 'op', product: 'vm', cost: 4 })
    const mine = need(foreign)
    expect(mine).not.toBe(foreign)
    expect(mine).toEqual({ permissions: ['scans:read'], parsed: mine.parsed, operation: 'op', product: 'vm', cost: 4 })
    const plain = need(twin.need('scans:read'))
    expect(Object.keys(plain).sort()).toEqual(['cost', 'parsed', 'permissions'])
    // A hand-made lookalike without a cost costs 1, and its permissions are checked.
    expect(need({ permissions: ['scans:read'], parsed: [] } as never as CompiledNeed).cost).toBe(1)
    expect(refusal({ permissions: ['docs:read'], parsed: [] })).toEqual(['RangeError', 'need.permission[0]: "docs:read" is not a permission of the role matrix'])
  })
})

describe('refusing a need', () => {
  const SHAPE = 'need: must be a permission string or { permission?, operation?, product?, cost? }'
  const OPERATION = 'need.operation: must be 1-200 printable ASCII characters'
  const PRODUCT = 'need.product: must be 1-64 letters, digits, ".", "_" or "-"'
  it.each([
    ['null', null, 'TypeError', SHAPE],
    ['an array', ['scans:read'], 'TypeError', SHAPE],
    ['a number', 7, 'TypeError', SHAPE],
    ['an unknown field', { permision: 'scans:read' }, 'RangeError', 'need: unknown field "permision"'],
    ['a permission that is a number', { permission: 7 }, 'TypeError', 'need.permission[0]: must be a string'],
    ['a second permission that is not a string', { permission: ['scans:read', null] }, 'TypeError', 'need.permission[1]: must be a string'],
    ['a permission no role holds', 'scans:delete', 'RangeError', 'need.permission[0]: "scans:delete" is not a permission of the role matrix'],
    ['an empty operation', { operation: '' }, 'RangeError', OPERATION],
    ['an operation that is a number', { operation: 5 }, 'RangeError', OPERATION],
    ['an operation with a leading space', { operation: ' op' }, 'RangeError', OPERATION],
    ['an operation with a trailing space', { operation: 'op ' }, 'RangeError', OPERATION],
    ['an operation of 201 characters', { operation: 'o'.repeat(201) }, 'RangeError', OPERATION],
    ['an operation with a control character', { operation: 'a\tb' }, 'RangeError', OPERATION],
    ['an operation with a non-ASCII letter', { operation: 'é' }, 'RangeError', OPERATION],
    ['an empty product', { product: '' }, 'RangeError', PRODUCT],
    ['a product that is a number', { product: 5 }, 'RangeError', PRODUCT],
    ['a product starting with a dot', { product: '.vm' }, 'RangeError', PRODUCT],
    ['a product of 65 characters', { product: 'p'.repeat(65) }, 'RangeError', PRODUCT],
    ['a product with a space', { product: 'app sec' }, 'RangeError', PRODUCT],
    ['a product with a slash at the end', { product: 'appsec/' }, 'RangeError', PRODUCT],
    ['a cost of 0', { cost: 0 }, 'RangeError', 'need.cost: must be an integer from 1 to 1e15'],
    ['a cost that is a string', { cost: '2' }, 'TypeError', 'need.cost: must be a number'],
  ])('refuses %s', (_what, n, type, message) => {
    expect(refusal(n)).toEqual([type, message])
  })

  it('refuses a framework object, saying the guard was mounted without being called', () => {
    class Request {
      method = 'GET'
    }
    const [type, message] = refusal(new Request())
    expect(type).toBe('TypeError')
    expect(message).toMatch(/^need: is a request, response or context object: the guard was mounted without being called\. /)
    expect(message).toContain("app.get('/scans', requireKey('scans:read'), handler)")
  })

  it.each([
    ['a one-character operation', { operation: 'x' }],
    ['an operation of 200 characters with inner spaces', { operation: `a${' '.repeat(198)}b` }],
    ['a product of 64 characters', { product: `p${'.-_9'.repeat(15)}abc` }],
    ['a one-character product', { product: 'v' }],
  ])('accepts %s', (_what, n) => {
    expect(refusal(n)).toEqual(['none', ''])
  })
})

describe('the cache of needs by string', () => {
  it('holds strings only: a thousand object needs leave room for strings', () => {
    const fresh = createAuthorizer({ store, touchIntervalMs: 0 })
    for (let i = 0; i < 1000; i++) fresh.need({ permission: 'scans:read' })
    expect(fresh.need('apps:read')).toBe(fresh.need('apps:read'))
  })

  it('keeps the first 1000 strings and compiles any further one afresh each time', () => {
    const perms = Array.from({ length: 1001 }, (_, i) => `r${i}:read`)
    const roles = defineRoles({ levels: ['read'], roles: { all: perms } })
    const wide = createAuthorizer({ store, roles, touchIntervalMs: 0 })
    const first = perms.slice(0, 1000).map((p) => wide.need(p))
    expect(perms.slice(0, 1000).every((p, i) => wide.need(p) === first[i])).toBe(true)
    const last = wide.need(perms[1000]!)
    expect(wide.need(perms[1000]!)).not.toBe(last)
    expect(wide.need(perms[1000]!)).toEqual(last)
  })
})
