/**
 * Key groups and the owner directory, for `KeyManager`: each function does one write under the
 * manager's locks and tells its listeners.
 * @module
 */
import { PRODUCT_RE } from '../core/needs.js'
import { ConflictError, NotFoundError, quote, rangeError, typeError } from '../errors.js'
import type { Roles } from '../roles.js'
import type { KeyGroup, ManagedKeyStore, OwnerRecord, StoreChange } from '../types.js'
import * as F from './fields.js'
import { casRetry, newId, object, patchGroup } from './_manager-edits.js'
import { GROUP_FIELDS, GROUP_PATCH_FIELDS, type GroupOptions, type GroupPatch } from './_manager-options.js'

/** What the group and owner writes need of their `KeyManager`. */
export interface ManagerContext {
  readonly store: ManagedKeyStore
  readonly roles: Roles
  now(): number
  emit(change: StoreChange): void
  locked<T>(lockId: string, fn: () => Promise<T>): Promise<T>
}

export async function createGroup(m: ManagerContext, options: GroupOptions): Promise<KeyGroup> {
  const input = object(options, 'options')
  F.onlyFields(input, GROUP_FIELDS, 'options')
  const g: KeyGroup = {
    id: newId('grp'),
    name: F.name(input.name),
    active: input.active === undefined ? true : F.bool(input.active, 'active'),
    createdAt: m.now(),
  }
  if (input.description !== undefined) g.description = F.description(input.description)
  if (input.tenant !== undefined) g.tenant = F.tenant(input.tenant)
  if (input.allowedIps !== undefined) g.allowedIps = F.allowedIps(input.allowedIps)
  await m.store.insertGroup(g)
  m.emit({ type: 'group', id: g.id })
  return (await m.store.getGroup(g.id)) ?? g
}

/**
 * Turns a group off, which always wins: one unconditional statement when the store has
 * `revokeGroup` (nothing read can make it conflict, no editor can starve it); otherwise a
 * compare-and-swap retried until it lands, never given up because others keep editing.
 */
export async function deactivateGroup(m: ManagerContext, groupId: string): Promise<KeyGroup> {
  const id = F.id(groupId, 'group')
  return m.locked(`group:${id}`, () => revokeLocked(m, id))
}

async function revokeLocked(m: ManagerContext, id: string): Promise<KeyGroup> {
  if (typeof m.store.revokeGroup !== 'function') return editLocked(m, id, { active: false }, Infinity)
  const g = await m.store.revokeGroup(id, m.now())
  if (g === undefined) throw new NotFoundError(`group ${id} does not exist`)
  m.emit({ type: 'group', id })
  return g
}

async function editLocked(m: ManagerContext, id: string, p: Record<string, unknown>, attempts?: number): Promise<KeyGroup> {
  const { next: g } = await casRetry(
    async () => {
      const old = await m.store.getGroup(id)
      if (!old) throw new NotFoundError(`group ${id} does not exist`)
      return old
    },
    (old) => patchGroup(old, p, m.now()),
    (n, o) => m.store.updateGroup(n, o),
    attempts,
  )
  m.emit({ type: 'group', id: g.id })
  return (await m.store.getGroup(g.id)) ?? g
}

/**
 * An allowlist change that only takes addresses away, written so that it always wins: one
 * unconditional statement (`narrowGroupIps`) when the store has it and the new list only removes
 * entries from the one read (or restricts a group that had none). The store keeps only stored
 * entries that are also in the new list, so whatever a concurrent editor wrote meanwhile, the
 * result admits no address the new list does not. `undefined` when it does not apply: a list
 * with entries the group did not have stays a compare-and-swap, since writing it unconditionally
 * could re-admit addresses a concurrent editor had just removed.
 */
async function narrowLocked(m: ManagerContext, id: string, list: unknown): Promise<KeyGroup | undefined> {
  if (typeof m.store.narrowGroupIps !== 'function') return undefined
  const keep = F.allowedIps(list)
  const old = await m.store.getGroup(id)
  if (!old) throw new NotFoundError(`group ${id} does not exist`)
  if (old.allowedIps !== undefined) {
    const had = new Set(old.allowedIps)
    if (!keep.every((e) => had.has(e))) return undefined
  }
  const g = await m.store.narrowGroupIps(id, keep, m.now())
  if (g === undefined) throw new NotFoundError(`group ${id} does not exist`)
  m.emit({ type: 'group', id })
  return g
}

export async function updateGroup(m: ManagerContext, groupId: string, patch: GroupPatch): Promise<KeyGroup> {
  const p = object(patch, 'patch')
  F.onlyFields(p, GROUP_PATCH_FIELDS, 'patch')
  // Validated before anything is written, so a bad field never leaves half an edit behind.
  patchGroup({ id: 'grp_check', name: 'check', active: true, createdAt: 0 }, p, 0)
  const id = F.id(groupId, 'group')
  return m.locked(`group:${id}`, async () => {
    // Changes that only take access away land first and always win, whatever becomes of the
    // other fields (a compare-and-swap like any edit, which may give up to concurrent editors):
    // turning the group off is a revoke; an allowlist that only loses entries is a narrowing.
    const rest = { ...p }
    let done: KeyGroup | undefined
    if (p.active === false) {
      done = await revokeLocked(m, id)
      delete rest.active
    }
    if (Array.isArray(p.allowedIps)) {
      const narrowed = await narrowLocked(m, id, p.allowedIps)
      if (narrowed !== undefined) {
        done = narrowed
        delete rest.allowedIps
      }
    }
    return done !== undefined && Object.keys(rest).length === 0 ? done : editLocked(m, id, rest)
  })
}

export async function deleteGroup(m: ManagerContext, groupId: string): Promise<boolean> {
  return m.locked(`group:${groupId}`, async () => {
    const g = await m.store.getGroup(F.id(groupId, 'group'))
    if (!g) return false
    const keys = await m.store.listKeys({ group: g.id })
    if (keys.length > 0) throw new ConflictError(`group ${g.id} still has ${keys.length} key(s); move or delete them first`)
    const done = await m.store.deleteGroup(g.id)
    if (done) m.emit({ type: 'group', id: g.id })
    return done
  })
}

/** An owner's role per product: product names (as `need.product` takes them) → roles of the matrix. */
function productRoles(value: unknown, roles: Roles): Record<string, string> {
  const o = object(value, 'roles')
  const out: Record<string, string> = Object.create(null) as Record<string, string>
  for (const [product, role] of Object.entries(o)) {
    if (!PRODUCT_RE.test(product)) throw rangeError('roles', `${quote(product)} is not a product name (1-64 letters, digits, ".", "_" or "-")`)
    out[product] = F.role(role, roles, `roles[${quote(product)}]`)
  }
  return { ...out }
}

export async function setOwner(m: ManagerContext, ownerId: string, owner: OwnerRecord): Promise<void> {
  const oid = F.owner(ownerId)
  const o = object(owner, 'owner')
  F.onlyFields(o, new Set(['role', 'roles', 'grants', 'active']), 'owner')
  const rec: OwnerRecord = { active: F.bool(o.active, 'active') }
  if (o.role !== undefined) rec.role = F.role(o.role, m.roles)
  if (o.roles !== undefined) rec.roles = productRoles(o.roles, m.roles)
  if (o.grants !== undefined) rec.grants = F.operations(o.grants)
  if (typeof m.store.putOwner !== 'function') throw typeError('store', 'does not keep an owner directory (putOwner)')
  await m.store.putOwner(oid, rec)
  m.emit({ type: 'owner', id: oid })
}

export async function removeOwner(m: ManagerContext, ownerId: string): Promise<boolean> {
  const oid = F.owner(ownerId)
  if (typeof m.store.deleteOwner !== 'function') throw typeError('store', 'does not keep an owner directory (deleteOwner)')
  const done = await m.store.deleteOwner(oid)
  if (done) m.emit({ type: 'owner', id: oid })
  return done
}
