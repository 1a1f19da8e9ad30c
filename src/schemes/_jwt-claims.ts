/**
 * Claims of `schemes.jwt`: which claim holds each field of the principal (the defaults are the
 * claims `mintToken` writes), and the principal's fields read from a verified payload. A mapped
 * claim of the wrong type makes the whole token invalid, never a principal with a field missing.
 * @module
 */
import type { JWTPayload } from 'jose'
import { knownFields } from '../lib/options.js'
import { rangeError, typeError } from '../errors.js'
import type { TokenIdentity } from './_scheme.js'
import type { JwtClaims } from './jwt.js'

/** The claims `mintToken` writes, and the default mapping of `JwtOptions.claims`. */
export const DEFAULT_CLAIMS: Readonly<Record<keyof JwtClaims, string>> = Object.freeze({
  keyId: 'kw_key',
  owner: 'sub',
  tenant: 'kw_tenant',
  role: 'kw_role',
  kind: 'kw_kind',
  group: 'kw_group',
  grants: 'kw_grants',
  scopes: 'scope',
})

const CLAIM_FIELDS: readonly (keyof JwtClaims)[] = ['keyId', 'owner', 'tenant', 'role', 'kind', 'group', 'grants', 'scopes']
const MAX_CLAIM_STRING = 256
const MAX_CLAIM_LIST = 1000

/** Claim name of each field; `undefined` for a field never read from tokens. */
export type ClaimMap = ReadonlyMap<keyof JwtClaims, string | undefined>

/** Validates `options.claims`: the defaults, overridden field by field. */
export function claimMap(value: unknown): ClaimMap {
  const claimsIn = value === undefined ? {} : value
  if (claimsIn === null || typeof claimsIn !== 'object' || Array.isArray(claimsIn)) throw typeError('claims', 'must be an object')
  knownFields(claimsIn, CLAIM_FIELDS, 'claims', true)
  const claims = new Map<keyof JwtClaims, string | undefined>()
  for (const f of CLAIM_FIELDS) {
    const v = (claimsIn as JwtClaims)[f]
    if (v === undefined) claims.set(f, DEFAULT_CLAIMS[f])
    else if (v === false) claims.set(f, undefined)
    else if (typeof v !== 'string' || v.length === 0 || v.length > 128) throw rangeError(`claims.${f}`, 'must be a claim name (1-128 characters) or false')
    else claims.set(f, v)
  }
  return claims
}

/** A mapped string claim: absent (`undefined`), valid, or of the wrong type (`null`). */
function str(claims: ClaimMap, p: JWTPayload, field: keyof JwtClaims): string | undefined | null {
  const name = claims.get(field)
  if (name === undefined || !Object.hasOwn(p, name)) return undefined
  const v = p[name]
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_CLAIM_STRING ? v : null
}

/** A list claim (an array, or for `scope` a space-separated string, RFC 8693 §4.2), or `null` if malformed. */
function list(v: unknown, splitSp: boolean): string[] | null {
  const items = typeof v === 'string' && splitSp ? v.split(' ').filter((s) => s.length > 0) : v
  if (!Array.isArray(items) || items.length > MAX_CLAIM_LIST) return null
  for (const s of items) if (typeof s !== 'string' || s.length === 0 || s.length > MAX_CLAIM_STRING) return null
  return items as string[]
}

/** A mapped list claim: absent (`undefined`), valid, or malformed (`null`). */
function listClaim(claims: ClaimMap, p: JWTPayload, field: 'scopes' | 'grants'): string[] | undefined | null {
  const name = claims.get(field)
  if (name === undefined || !Object.hasOwn(p, name)) return undefined
  return list(p[name], field === 'scopes')
}

/** The principal's fields from verified claims; `undefined` (invalid_token) if a mapped claim has the wrong type. */
export function identityOf(claims: ClaimMap, p: JWTPayload): TokenIdentity | undefined {
  const owner = str(claims, p, 'owner')
  const keyIdClaim = str(claims, p, 'keyId')
  const tenant = str(claims, p, 'tenant')
  const role = str(claims, p, 'role')
  const kindClaim = str(claims, p, 'kind')
  const group = str(claims, p, 'group')
  if (owner === null || keyIdClaim === null || tenant === null || role === null || kindClaim === null || group === null) return undefined
  const keyId = keyIdClaim ?? owner
  if (keyId === undefined) return undefined
  if (kindClaim !== undefined && kindClaim !== 'user' && kindClaim !== 'org') return undefined
  const scopes = listClaim(claims, p, 'scopes')
  if (scopes === null) return undefined
  const grants = listClaim(claims, p, 'grants')
  if (grants === null) return undefined
  return Object.freeze({
    keyId,
    kind: kindClaim ?? 'user',
    ...(tenant === undefined ? {} : { tenant }),
    ...(owner === undefined ? {} : { owner }),
    ...(role === undefined ? {} : { role }),
    ...(group === undefined ? {} : { group }),
    ...(scopes === undefined ? {} : { scopes: Object.freeze(scopes) }),
    ...(grants === undefined ? {} : { grants: Object.freeze(grants) }),
  })
}
