/**
 * Checks on one stored key record, in the decision order: active, group, owner, expiry,
 * rotation. Each store lookup continues synchronously when its answer is known now (see
 * `StoreGate.lookup`), else when it arrives; named continuations, not per-request closures.
 * @module
 */
import type { KeyGroup, KeyRecord, OwnerRecord } from '../types.js'
import type { Check, Ctx } from './context.js'
import { failed, GROUP, OWNER, type Answer } from './store-gate.js'
import { deny, storeDown } from './verdict.js'

/** On success (`undefined`), `ctx.group` and `ctx.owner` hold what the store answered. */
export function checkRecord(ctx: Ctx, r: KeyRecord, hash: string): Check | Promise<Check> {
  if (r.active !== true) return deny(ctx, 'key_disabled')
  ctx.group = undefined
  ctx.owner = undefined
  if (r.group !== undefined) {
    // A store that cannot say disables the key: fail closed.
    if (typeof ctx.e.store.findGroup !== 'function') return deny(ctx, 'group_disabled')
    const g = ctx.e.gate.lookup<KeyGroup>(ctx, GROUP, r.group)
    return g instanceof Promise ? g.then((v) => groupChecked(ctx, r, hash, v)) : groupChecked(ctx, r, hash, g)
  }
  return checkOwner(ctx, r, hash)
}

// A store may resolve `null` for a miss (a SQL driver's "no row"): the same as `undefined`.
function groupChecked(ctx: Ctx, r: KeyRecord, hash: string, g: Answer<KeyGroup> | null): Check | Promise<Check> {
  if (failed(g)) return storeDown(ctx, g)
  // A group that is missing disables the key: fail closed.
  if (g === undefined || g === null || g.active !== true || (g.tenant !== undefined && g.tenant !== r.tenant)) return deny(ctx, 'group_disabled')
  ctx.group = g
  return checkOwner(ctx, r, hash)
}

function checkOwner(ctx: Ctx, r: KeyRecord, hash: string): Check | Promise<Check> {
  if (r.owner !== undefined && typeof ctx.e.store.findOwner === 'function') {
    const ow = ctx.e.gate.lookup<OwnerRecord>(ctx, OWNER, r.owner)
    return ow instanceof Promise ? ow.then((v) => ownerChecked(ctx, r, hash, v)) : ownerChecked(ctx, r, hash, ow)
  }
  return checkTime(ctx, r, hash)
}

function ownerChecked(ctx: Ctx, r: KeyRecord, hash: string, answer: Answer<OwnerRecord> | null): Check {
  if (failed(answer)) return storeDown(ctx, answer)
  // An owner the directory does not hold (`undefined`, or a store's `null`) sets no ceiling.
  const ow = answer ?? undefined
  if (ow !== undefined && ow.active !== true) return deny(ctx, 'owner_disabled')
  ctx.owner = ow
  return checkTime(ctx, r, hash)
}

function checkTime(ctx: Ctx, r: KeyRecord, hash: string): Check {
  const at = ctx.at
  if (r.expiresAt !== undefined && !(typeof r.expiresAt === 'number' && at < r.expiresAt)) return deny(ctx, 'key_expired')
  if (r.hash !== hash) {
    // Matched the previous hash of a rotated key: valid only during the grace period. Written as
    // "not before the end" so a corrupt end (NaN) closes the grace instead of never ending it.
    const until = r.previousExpiresAt
    if (r.previousHash !== hash || typeof until !== 'number' || !(at < until)) return deny(ctx, 'key_rotated')
  }
  return undefined
}
