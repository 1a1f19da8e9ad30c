/**
 * What an administrator may do to a key: hold every right the key has (or would have), receive
 * its secret, or be an org administrator.
 * @module
 */
import type { Roles } from '../roles.js'
import * as F from '../stores/fields.js'
import type { KeyKind, KeyRecord, Principal } from '../types.js'
import { Problem } from './_http.js'
import type { OpContext, OpDeps } from './_ops.js'

/** Rights-relevant fields of a key, as it is or as it would be after a change. */
export interface Rights {
  kind: KeyKind
  role?: string | undefined
  scopes?: readonly string[] | undefined
  owner?: string | undefined
  grants?: readonly string[] | undefined
}

const exceeds = (): Problem =>
  new Problem(403, 'exceeds_caller_rights', 'The caller may not manage a key with rights beyond its own, an org or tenant key, or a group.')

/**
 * Every role a user key can ever act with: its owner's directory role while the directory has
 * one, and its own stored role as soon as it has none (or the entry is removed). Both count: a
 * stored role above the caller's, hidden today behind a narrow directory role, is a latent
 * escalation that a later directory change would release.
 */
async function actingRoles(deps: OpDeps, r: Rights): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [r.role]
  const store = deps.manager.store
  if (r.owner !== undefined && typeof store.findOwner === 'function') {
    const o = await store.findOwner(r.owner)
    if (o?.role !== undefined && o.role !== r.role) out.push(o.role)
  }
  return out
}

/** Whether a non-org administrator holds every right the key has (or would have), under every role it can act with. */
async function withinRights(principal: Principal, deps: OpDeps, r: Rights): Promise<boolean> {
  if (principal.kind === 'org') return true
  if (r.kind !== 'user') return false
  for (const role of await actingRoles(deps, r)) {
    if (role === undefined) continue
    const perms = deps.roles.permissionsOf(role)
    if (perms === undefined) return false
    let held: readonly string[]
    try {
      held = (r.scopes === undefined ? perms : perms.intersect(deps.roles.toSet(r.scopes, 'scopes'))).list()
    } catch {
      return false
    }
    if (!held.every((p) => principal.can(p))) return false
  }
  const own = new Set(principal.grants)
  return (r.grants ?? []).every((g) => own.has(g))
}

export async function mustBeWithinRights(ctx: OpContext, deps: OpDeps, r: Rights): Promise<void> {
  if (!(await withinRights(ctx.principal, deps, r))) throw exceeds()
}

/**
 * The secret of a key acting for `owner` (issued or rotated) goes only to an org administrator,
 * to the key itself (rotating the key in use), or to a key of the same owner. Anyone else would
 * receive a credential that acts, and is audited, as somebody else.
 */
export function mustReceiveSecretOf(ctx: OpContext, owner: string | undefined, keyId?: string): void {
  const p = ctx.principal
  if (p.kind === 'org' || (keyId !== undefined && keyId === p.keyId)) return
  if (owner !== undefined && p.owner !== undefined && owner === p.owner) return
  throw new Problem(
    403,
    'not_key_owner',
    "Only the key's owner or an org administrator may obtain the secret of a key acting for that owner; deactivate or delete it instead.",
  )
}

export function mustBeOrg(ctx: OpContext): void {
  if (ctx.principal.kind !== 'org') throw exceeds()
}

/** The rights a key would have after `patch`, validated with the same field validators as `KeyManager`. */
export function patchedRights(old: KeyRecord, patch: Readonly<Record<string, unknown>>, roles: Roles): Rights {
  const r: Rights = { kind: old.kind, role: old.role, scopes: old.scopes, owner: old.owner, grants: old.grants }
  if (patch.role !== undefined) r.role = patch.role === null ? undefined : F.role(patch.role, roles)
  if (patch.scopes !== undefined) r.scopes = patch.scopes === null ? undefined : F.scopes(patch.scopes, roles)
  if (patch.owner !== undefined) r.owner = F.owner(patch.owner)
  if (patch.grants !== undefined) r.grants = F.operations(patch.grants)
  return r
}
