/**
 * What a route needs (`Need`), validated against a role matrix once and pre-parsed, so a
 * request only compares integers. Adapters compile a route's need when the route is defined.
 * @module
 */
import { creditCount } from '../lib/credits.js'
import { quote, rangeError, typeError } from '../errors.js'
import type { ParsedPermission, Roles } from '../roles.js'
import type { Need } from '../types.js'

/** A validated, pre-parsed `Need`, from `authorizer.need()`. */
export interface CompiledNeed {
  readonly permissions: readonly string[]
  readonly operation?: string
  /** The product (namespace) whose owner role applies. */
  readonly product?: string
  /** Credits a usage-limited key pays for the route (1 unless the need says otherwise). */
  readonly cost: number
  /** @internal */
  readonly parsed: readonly ParsedPermission[]
}

const NEED_FIELDS: ReadonlySet<string> = new Set(['permission', 'operation', 'product', 'cost'])
/** A product (namespace) name, as `OwnerRecord.roles` keys it. */
export const PRODUCT_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const EMPTY_NEED: CompiledNeed = Object.freeze({ permissions: [], parsed: [], cost: 1 })

/**
 * A need is a string or a plain object. Anything else built by a class (an Express request or
 * response, a Koa or Hono context) means the guard itself was mounted as middleware,
 * `app.get(path, requireKey, handler)`, and the framework called it with its own objects.
 */
const UNCALLED_GUARD =
  'is a request, response or context object: the guard was mounted without being called. ' +
  "Call requireKey(need) when you define the route: app.get('/scans', requireKey('scans:read'), handler)"

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

function operationOf(op: unknown): string | undefined {
  if (op !== undefined && (typeof op !== 'string' || !/^[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?$/.test(op))) {
    throw rangeError('need.operation', 'must be 1-200 printable ASCII characters')
  }
  return op
}

function productOf(product: unknown): string | undefined {
  if (product !== undefined && (typeof product !== 'string' || !PRODUCT_RE.test(product))) {
    throw rangeError('need.product', 'must be 1-64 letters, digits, ".", "_" or "-"')
  }
  return product
}

/**
 * The `need()` of an authorizer with matrix `roles`: validates a `Need` (an unknown permission
 * or field throws a `TypeError`/`RangeError` naming it) and returns it compiled; a need it
 * compiled itself comes back as is, one compiled by another authorizer is validated again.
 */
export function needCompiler(roles: Roles): (need: Need | CompiledNeed | undefined) => CompiledNeed {
  const needCache = new Map<string, CompiledNeed>()
  const compiledNeeds = new WeakSet<CompiledNeed>([EMPTY_NEED])
  function compileNeed(need: Need | CompiledNeed | undefined): CompiledNeed {
    if (need === undefined) return EMPTY_NEED
    // A WeakSet answers false for anything that is not an object.
    if (compiledNeeds.has(need as CompiledNeed)) return need as CompiledNeed
    if (need !== null && Array.isArray((need as { parsed?: unknown }).parsed)) {
      // Compiled by another authorizer (perhaps with another role matrix): validate it again here.
      const foreign = need as CompiledNeed
      return compileNeed({
        permission: foreign.permissions,
        cost: foreign.cost ?? 1,
        // Stryker disable next-line ConditionalExpression: equivalent, an operation given as undefined compiles as one not given
        ...(foreign.operation === undefined ? {} : { operation: foreign.operation }),
        // Stryker disable next-line ConditionalExpression: equivalent, a product given as undefined compiles as one not given
        ...(foreign.product === undefined ? {} : { product: foreign.product }),
      })
    }
    // Stryker disable next-line ConditionalExpression: equivalent, the cache is keyed by strings only, so another need never hits
    if (typeof need === 'string') {
      const hit = needCache.get(need)
      if (hit) return hit
    }
    let perms: readonly unknown[] = []
    let operation: string | undefined
    let product: string | undefined
    let cost = 1
    if (typeof need === 'string') perms = [need]
    else if (need !== null && typeof need === 'object' && !Array.isArray(need)) {
      if (!isPlainObject(need)) throw typeError('need', UNCALLED_GUARD)
      for (const k of Object.keys(need)) if (!NEED_FIELDS.has(k)) throw rangeError('need', `unknown field ${quote(k)}`)
      const p = (need as { permission?: unknown }).permission
      if (p !== undefined) perms = Array.isArray(p) ? p : [p]
      operation = operationOf((need as { operation?: unknown }).operation)
      product = productOf((need as { product?: unknown }).product)
      // Validated here, when the route is defined, never per request.
      const c = (need as { cost?: unknown }).cost
      if (c !== undefined) cost = creditCount(c, 'need.cost', 1)
    } else throw typeError('need', 'must be a permission string or { permission?, operation?, product?, cost? }')
    const parsed = perms.map((p, i) => {
      if (typeof p !== 'string') throw typeError(`need.permission[${i}]`, 'must be a string')
      const r = roles.lookup(p)
      if (!r) throw rangeError(`need.permission[${i}]`, `${quote(p)} is not a permission of the role matrix`)
      return r
    })
    const compiled: CompiledNeed = Object.freeze({
      permissions: Object.freeze(perms as string[]),
      parsed: Object.freeze(parsed),
      cost,
      ...(operation === undefined ? {} : { operation }),
      ...(product === undefined ? {} : { product }),
    })
    compiledNeeds.add(compiled)
    if (typeof need === 'string' && needCache.size < 1000) needCache.set(need, compiled)
    return compiled
  }
  return compileNeed
}
