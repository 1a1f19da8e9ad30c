/**
 * The authenticated caller handed to route handlers.
 * @module
 */
import type { PermissionSet } from './roles.js'
import type { Principal } from './types.js'

/**
 * Where a principal's fields come from: the authorizer's subject of the request (built once per
 * key record and reused), so allowing a request allocates the principal and nothing else.
 */
export interface PrincipalFields {
  readonly keyId: string
  readonly kind: 'user' | 'org'
  readonly tenant?: string | undefined
  readonly owner?: string | undefined
  readonly role?: string | undefined
  readonly group?: string | undefined
  readonly grantList: readonly string[]
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
}

/**
 * @internal The implementation of `Principal`. Plain enumerable data fields (so it serialises
 * and compares like a plain object) plus `can()`. It never holds the key or its hash.
 */
export class KeyPrincipal implements Principal {
  readonly keyId: string
  readonly kind: 'user' | 'org'
  declare readonly tenant?: string
  declare readonly owner?: string
  declare readonly role?: string
  declare readonly group?: string
  readonly scheme: string
  readonly grants: readonly string[]
  readonly permissions: readonly string[]
  declare readonly metadata?: Readonly<Record<string, unknown>>
  readonly #set: PermissionSet

  constructor(fields: PrincipalFields, scheme: string, set: PermissionSet) {
    this.keyId = fields.keyId
    this.kind = fields.kind
    if (fields.tenant !== undefined) this.tenant = fields.tenant
    if (fields.owner !== undefined) this.owner = fields.owner
    if (fields.role !== undefined) this.role = fields.role
    if (fields.group !== undefined) this.group = fields.group
    this.scheme = scheme
    this.grants = fields.grantList
    this.permissions = set.list()
    if (fields.metadata !== undefined) this.metadata = fields.metadata
    this.#set = set
  }

  can(permission: string): boolean {
    return this.#set.has(permission)
  }
}
