/**
 * The admin API's operations, one per route, and the policy every one of them applies:
 *
 * - Tenant scope: the caller's tenant (its principal's `tenant`; `undefined` for a tenant-less
 *   key) scopes everything. Keys and groups of any other tenant are answered exactly like absent
 *   ids (the same 404 body), lists only hold the caller's tenant, and creations are forced into it.
 * - Self-modification: the key making the request may not change, deactivate or delete itself,
 *   nor deactivate or re-address its own group; it may rotate itself.
 * - No escalation: an administrator that is not an `org` key (one admitted by the `permission`
 *   option) manages only `user` keys whose rights it holds itself under every role the key can
 *   ever act with (its stored role and its owner's directory role, each narrowed by scopes),
 *   explicit grants included, and may not edit, activate or deactivate groups.
 * - Self-service (`selfService`): a user key without the admin permission manages only the user
 *   keys of its own owner (and tenant), with its own rights as the ceiling. Every other key and
 *   every group answers exactly like an absent id (404); routes that would lift what an
 *   administrator set (activate, allowed addresses, group, metadata) are refused on its own keys.
 * - No impersonation: a key's secret (issued, rotated, or a key handed to another owner) goes
 *   only to an org administrator or to a key of the same owner; a permission-based administrator
 *   may deactivate or delete a peer's key, never obtain its secret.
 * @module
 */
import { INVALID_OPTION, NotFoundError, rangeError } from '../errors.js'
import type { Roles } from '../roles.js'
import type { KeyManager } from '../stores/manager.js'
import * as F from '../stores/fields.js'
import type { KeyGroup, KeyRecord, Principal } from '../types.js'
import { empty, json, NOT_FOUND, Problem } from './_http.js'
import { auditPage, groupPage, keyPage, keyUsage, type InsightDeps } from './_insight.js'
import { groupView, keyView } from './_serialize.js'
import { mustBeOrg, mustBeWithinRights, mustReceiveSecretOf, patchedRights, type Rights } from './_ops-rights.js'

/** What an operation sees of the request. */
export interface OpContext {
  readonly principal: Principal
  /** The caller's tenant: the scope of the call. */
  readonly tenant: string | undefined
  readonly params: ReadonlyMap<string, string>
  /** The validated-to-be-an-object JSON body (only the route's fields); `{}` for routes without a body. */
  readonly body: Readonly<Record<string, unknown>>
  readonly query: URLSearchParams
  /** `<base>/api`, for `Location` headers. */
  readonly apiBase: string
  /** The key or group id the call acted on, for the audit event. Set by the operation. */
  target?: string
  /** A self-service call: scoped to the caller's own owner (see the module notes). */
  readonly selfService?: boolean
}

/** What operations need from the handler. */
export interface OpDeps {
  readonly manager: KeyManager
  /** The authorizer's role matrix: rights are compared in the matrix that enforces them. */
  readonly roles: Roles
  /**
   * The authorizer never compares tenants (no `tenant` option): a tenant-less key is then a live
   * key of the same deployment, which a caller with a tenant could never administer.
   */
  readonly singleTenant?: boolean
  /** Serialises check-then-write sequences on one id within this handler. */
  readonly lock: <T>(id: string, fn: () => Promise<T>) => Promise<T>
  /** Usage counts, audit trail and clock of the insight routes (lists, usage, audit). */
  readonly insight: InsightDeps
}

export type Operation = (ctx: OpContext, deps: OpDeps) => Promise<Response>

const isValidation = (e: unknown): boolean =>
  (e instanceof TypeError || e instanceof RangeError) && (e as { code?: unknown }).code === INVALID_OPTION

function param(ctx: OpContext, name: string): string {
  const v = ctx.params.get(name)
  // The router only matches a route when every template parameter is present.
  if (v === undefined) throw NOT_FOUND()
  return v
}

/** The key if it exists in the caller's tenant; otherwise the same 404 whatever the reason. */
async function visibleKey(ctx: OpContext, deps: OpDeps, id: string): Promise<KeyRecord> {
  ctx.target = id
  let r: KeyRecord | undefined
  try {
    r = await deps.manager.get(id)
  } catch (e) {
    // An id that could never exist (bad characters, too long) is simply absent.
    if (isValidation(e)) throw NOT_FOUND()
    throw e
  }
  if (r !== undefined && r.tenant === undefined && ctx.tenant !== undefined && deps.singleTenant === true && ctx.selfService !== true) throw tenantSetup()
  if (r === undefined || r.tenant !== ctx.tenant || (ctx.selfService === true && !ownKey(ctx, r))) throw NOT_FOUND()
  return r
}

/**
 * A single-tenant deployment whose administrator key has a tenant and whose other keys have
 * none: every call on them would be a 404. Said plainly, so the setup gets fixed.
 */
const tenantSetup = (): Problem =>
  new Problem(
    409,
    'tenant_setup',
    'This key has no tenant but the calling key has one, and the authorizer compares no tenants (no tenant option): the admin API scopes every call to the caller\'s tenant, so this key cannot be administered with it. Give every key the same tenant, or none.',
  )

/** Self-service: a user key of the caller's own owner. */
const ownKey = (ctx: OpContext, r: KeyRecord): boolean => r.kind === 'user' && r.owner !== undefined && r.owner === ctx.principal.owner

/** Fields a self-service caller may set on a key it creates or edits; the rest stays an administrator's. */
const SELF_CREATE = new Set(['kind', 'tenant', 'owner', 'role', 'scopes', 'grants', 'allowedIps', 'active', 'expiresAt', 'rateLimit', 'description'])
const SELF_PATCH = new Set(['role', 'scopes', 'grants', 'description'])

function selfOnly(): Problem {
  return new Problem(403, 'self_service', 'Not available through self-service: ask an administrator.')
}

/** Self-service: only the fields in `allowed`; a key of the caller's own owner, and no other kind. */
function selfServiceBody(ctx: OpContext, allowed: ReadonlySet<string>): void {
  if (ctx.selfService !== true) return
  for (const k of Object.keys(ctx.body)) if (!allowed.has(k)) throw rangeError(k, 'cannot be set through self-service')
  const owner = ctx.body.owner
  if (owner !== undefined && F.owner(owner) !== ctx.principal.owner) throw rangeError('owner', 'must be omitted or your own')
}

async function visibleGroup(ctx: OpContext, deps: OpDeps, id: string): Promise<KeyGroup> {
  ctx.target = id
  let g: KeyGroup | undefined
  try {
    g = await deps.manager.getGroup(id)
  } catch (e) {
    if (isValidation(e)) throw NOT_FOUND()
    throw e
  }
  if (g === undefined || g.tenant !== ctx.tenant || ctx.selfService === true) throw NOT_FOUND()
  return g
}

/**
 * A `group` named in a key body must be a group of the caller's tenant. Another tenant's group
 * is refused with the same message as an absent one, so group ids cannot be probed.
 */
async function checkGroupField(ctx: OpContext, deps: OpDeps, value: unknown): Promise<void> {
  const id = F.id(value, 'group')
  const g = await deps.manager.getGroup(id)
  if (g === undefined || g.tenant !== ctx.tenant) throw rangeError('group', 'no such group')
}

/** A body `tenant` may only repeat the caller's own tenant; the record is put there either way. */
function checkTenantField(ctx: OpContext): void {
  const t = ctx.body.tenant
  if (t === undefined) return
  const value = F.tenant(t)
  if (ctx.tenant === undefined) throw rangeError('tenant', 'must be omitted: the caller has no tenant')
  if (value !== ctx.tenant) throw rangeError('tenant', "must be omitted or equal to the caller's tenant")
}

function withTenant(body: Readonly<Record<string, unknown>>, tenant: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body }
  delete out.tenant
  if (tenant !== undefined) out.tenant = tenant
  return out
}

function notSelf(ctx: OpContext, keyId: string): void {
  if (ctx.principal.keyId === keyId) {
    throw new Problem(403, 'self_modification', 'The key making this request cannot change, deactivate or delete itself; use another administrator key (rotating it is allowed).')
  }
}

// ---- operations ------------------------------------------------------------------------------

const getSession: Operation = async (ctx, deps) => {
  const p = ctx.principal
  return json(200, {
    keyId: p.keyId,
    kind: p.kind,
    ...(p.tenant === undefined ? {} : { tenant: p.tenant }),
    ...(p.owner === undefined ? {} : { owner: p.owner }),
    ...(p.role === undefined ? {} : { role: p.role }),
    ...(p.group === undefined ? {} : { group: p.group }),
    permissions: p.permissions,
    grants: p.grants,
    roles: deps.roles.names,
  })
}

// Self-service callers see no group (groups are administered, not owned).
const listGroups: Operation = async (ctx, deps) => (ctx.selfService === true ? json(200, { items: [] }) : groupPage(ctx, deps))

const createGroup: Operation = async (ctx, deps) => {
  if (ctx.selfService === true) throw selfOnly()
  checkTenantField(ctx)
  const g = await deps.manager.createGroup(withTenant(ctx.body, ctx.tenant) as unknown as Parameters<KeyManager['createGroup']>[0])
  ctx.target = g.id
  return json(201, groupView(g), { location: `${ctx.apiBase}/groups/${encodeURIComponent(g.id)}` })
}

const getGroup: Operation = async (ctx, deps) => json(200, groupView(await visibleGroup(ctx, deps, param(ctx, 'groupId'))))

const updateGroup: Operation = async (ctx, deps) => {
  const g = await visibleGroup(ctx, deps, param(ctx, 'groupId'))
  mustBeOrg(ctx)
  if (ctx.principal.group === g.id && (ctx.body.active !== undefined || ctx.body.allowedIps !== undefined)) {
    throw new Problem(403, 'self_modification', "The caller cannot deactivate or change the allowed addresses of its own key's group.")
  }
  return json(200, groupView(await deps.manager.updateGroup(g.id, ctx.body as Parameters<KeyManager['updateGroup']>[1])))
}

const deleteGroup: Operation = async (ctx, deps) => {
  const g = await visibleGroup(ctx, deps, param(ctx, 'groupId'))
  let done: boolean
  try {
    done = await deps.manager.deleteGroup(g.id)
  } catch (e) {
    if (e instanceof Error && (e as { code?: unknown }).code === 'KEYWARD_CONFLICT') {
      throw new Problem(409, 'conflict', 'The group still has keys; move or delete them first.')
    }
    throw e
  }
  if (!done) throw NOT_FOUND()
  return empty(204)
}

const activateGroup: Operation = async (ctx, deps) => {
  const g = await visibleGroup(ctx, deps, param(ctx, 'groupId'))
  mustBeOrg(ctx)
  return json(200, groupView(await deps.manager.activateGroup(g.id)))
}

const deactivateGroup: Operation = async (ctx, deps) => {
  const g = await visibleGroup(ctx, deps, param(ctx, 'groupId'))
  mustBeOrg(ctx)
  if (ctx.principal.group === g.id) throw new Problem(403, 'self_modification', "The caller cannot deactivate its own key's group.")
  return json(200, groupView(await deps.manager.deactivateGroup(g.id)))
}

// Self-service: the caller's own keys; another owner's name filters down to nothing.
const listKeys: Operation = async (ctx, deps) =>
  keyPage(ctx, deps, ctx.selfService === true ? { owner: ctx.principal.owner!, visible: (k) => ownKey(ctx, k) } : undefined)

const createKey: Operation = async (ctx, deps) => {
  const b = ctx.body
  const kind = F.kind(b.kind)
  selfServiceBody(ctx, SELF_CREATE)
  checkTenantField(ctx)
  if (b.group !== undefined) await checkGroupField(ctx, deps, b.group)
  if (ctx.principal.kind !== 'org') {
    // Self-service: the key is always the caller's owner's.
    const owner = ctx.selfService === true ? ctx.principal.owner : b.owner === undefined ? undefined : F.owner(b.owner)
    await mustBeWithinRights(ctx, deps, {
      kind,
      role: b.role === undefined ? undefined : F.role(b.role, deps.roles),
      scopes: b.scopes === undefined ? undefined : F.scopes(b.scopes, deps.roles),
      owner,
      grants: b.grants === undefined ? undefined : F.operations(b.grants),
    })
    mustReceiveSecretOf(ctx, owner)
  }
  const fields = withTenant(b, ctx.tenant)
  if (ctx.selfService === true) fields.owner = ctx.principal.owner
  const issued = await deps.manager.issue(fields as unknown as Parameters<KeyManager['issue']>[0])
  ctx.target = issued.record.id
  return json(201, { key: issued.key, record: keyView(issued.record) }, { location: `${ctx.apiBase}/keys/${encodeURIComponent(issued.record.id)}` })
}

const getKey: Operation = async (ctx, deps) => json(200, keyView(await visibleKey(ctx, deps, param(ctx, 'keyId'))))

/** A write on one key: visible, not the caller's own (unless allowed), within the caller's rights; under the key's lock. */
async function keyWrite(
  ctx: OpContext,
  deps: OpDeps,
  opts: { self: boolean; adminOnly?: boolean; after?: (old: KeyRecord) => Rights | Promise<Rights> },
  write: (r: KeyRecord) => Promise<Response>,
): Promise<Response> {
  const id = param(ctx, 'keyId')
  return deps.lock(`key:${id}`, async () => {
    const r = await visibleKey(ctx, deps, id)
    if (opts.adminOnly === true && ctx.selfService === true) throw selfOnly()
    if (!opts.self) notSelf(ctx, r.id)
    if (ctx.principal.kind !== 'org') {
      await mustBeWithinRights(ctx, deps, r)
      if (opts.after) await mustBeWithinRights(ctx, deps, await opts.after(r))
    }
    return write(r)
  })
}

const updateKey: Operation = async (ctx, deps) => {
  const b = ctx.body
  return keyWrite(ctx, deps, { self: false, after: (old) => patchedRights(old, b, deps.roles) }, async (r) => {
    selfServiceBody(ctx, SELF_PATCH)
    // Checked here so another tenant's group id gets the same answer as an absent one.
    if (b.group !== undefined && b.group !== null) await checkGroupField(ctx, deps, b.group)
    // Handing a key to another owner is issuing that owner a key: the caller may hold its secret.
    if (b.owner !== undefined && F.owner(b.owner) !== r.owner) mustReceiveSecretOf(ctx, F.owner(b.owner))
    return json(200, keyView(await deps.manager.update(r.id, b as Parameters<KeyManager['update']>[1])))
  })
}

const deleteKey: Operation = async (ctx, deps) =>
  keyWrite(ctx, deps, { self: false }, async (r) => {
    if (!(await deps.manager.delete(r.id))) throw new NotFoundError('gone')
    return empty(204)
  })

const activateKey: Operation = async (ctx, deps) =>
  keyWrite(ctx, deps, { self: false, adminOnly: true }, async (r) => json(200, keyView(await deps.manager.activate(r.id))))

const deactivateKey: Operation = async (ctx, deps) =>
  keyWrite(ctx, deps, { self: false }, async (r) => json(200, keyView(await deps.manager.deactivate(r.id))))

const rotateKey: Operation = async (ctx, deps) =>
  keyWrite(ctx, deps, { self: true }, async (r) => {
    mustReceiveSecretOf(ctx, r.owner, r.id)
    const rotated = await deps.manager.rotate(r.id, ctx.body as unknown as Parameters<KeyManager['rotate']>[1])
    return json(200, { key: rotated.key, record: keyView(rotated.record) })
  })

const addGrants: Operation = async (ctx, deps) =>
  keyWrite(
    ctx,
    deps,
    { self: false, after: (old) => ({ ...old, grants: [...(old.grants ?? []), ...F.operations(ctx.body.operations, 'operations')] }) },
    async (r) => json(200, keyView(await deps.manager.grant(r.id, ctx.body.operations as string[]))),
  )

const removeGrants: Operation = async (ctx, deps) =>
  keyWrite(ctx, deps, { self: false }, async (r) => json(200, keyView(await deps.manager.revokeGrant(r.id, ctx.body.operations as string[]))))

const addAllowedIps: Operation = async (ctx, deps) =>
  keyWrite(ctx, deps, { self: false, adminOnly: true }, async (r) => json(200, keyView(await deps.manager.addAllowedIps(r.id, ctx.body.entries as string[]))))

const removeAllowedIps: Operation = async (ctx, deps) =>
  keyWrite(ctx, deps, { self: false, adminOnly: true }, async (r) => json(200, keyView(await deps.manager.removeAllowedIps(r.id, ctx.body.entries as string[]))))

/** Operation by `operationId` (API routes only). `Map`: looked up with data from the route table. */
export const OPERATIONS: ReadonlyMap<string, Operation> = new Map<string, Operation>([
  ['getSession', getSession],
  ['listGroups', listGroups],
  ['createGroup', createGroup],
  ['getGroup', getGroup],
  ['updateGroup', updateGroup],
  ['deleteGroup', deleteGroup],
  ['activateGroup', activateGroup],
  ['deactivateGroup', deactivateGroup],
  ['listKeys', listKeys],
  ['createKey', createKey],
  ['getKey', getKey],
  ['updateKey', updateKey],
  ['deleteKey', deleteKey],
  ['activateKey', activateKey],
  ['deactivateKey', deactivateKey],
  ['rotateKey', rotateKey],
  ['addGrants', addGrants],
  ['removeGrants', removeGrants],
  ['addAllowedIps', addAllowedIps],
  ['removeAllowedIps', removeAllowedIps],
  // Self-service: the usage of the caller's own keys only (visibleKey answers 404 otherwise), no trail.
  ['getKeyUsage', async (ctx, deps) => keyUsage(ctx, deps, await visibleKey(ctx, deps, param(ctx, 'keyId')))],
  ['listAudit', async (ctx, deps) => {
    if (ctx.selfService === true) throw selfOnly()
    return auditPage(ctx, deps)
  }],
])
