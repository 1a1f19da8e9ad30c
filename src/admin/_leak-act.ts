/**
 * What the leak handler does with one reported token: find the live key it is (checksum first,
 * then by hash, then a fresh read by id so a cache cannot hide a change), apply the policy
 * through `KeyManager`, and say what was done. Only a live key is ever acted on or reported as
 * `true_positive`; every other token, a revoked or expired key included, is `false_positive`.
 * @module
 */
import { parseKey } from '../keys/format.js'
import type { KeyManager } from '../stores/manager.js'
import type { KeyRecord } from '../types.js'

/** What the handler does to a leaked key that is live. */
export type LeakPolicy = 'deactivate' | 'notify' | { readonly expireInMs: number }

/** What was done to a leaked key. */
export type LeakAction = 'deactivated' | 'expiry_shortened' | 'grace_ended' | 'notified'

/** The manager methods the handler uses. */
export type LeakManager = Pick<KeyManager, 'hashKey' | 'get' | 'deactivate' | 'endGrace' | 'update' | 'store'>

/** The outcome for a token that was a live key. */
export interface Acted {
  readonly record: KeyRecord
  readonly action: LeakAction
  /** The key's expiry after the action, when it has one. */
  readonly expiresAt?: number
}

/**
 * The live key `token` is, or `undefined`. "Live": the key is active, unexpired, and `token` is
 * its current secret or its previous one within the rotation grace period. Whether its group or
 * owner is enabled does not matter: re-enabling them would bring the leaked key back.
 */
export async function liveKey(manager: LeakManager, token: string, now: number): Promise<{ record: KeyRecord; previous: boolean } | undefined> {
  if (parseKey(token)?.valid !== true) return undefined
  const hash = manager.hashKey(token)
  const found = await manager.store.findByHash(hash)
  if (found === undefined || found === null) return undefined
  const record = await manager.get(found.id)
  if (record === undefined || !record.active) return undefined
  if (record.expiresAt !== undefined && !(now < record.expiresAt)) return undefined
  if (record.hash === hash) return { record, previous: false }
  if (record.previousHash === hash && typeof record.previousExpiresAt === 'number' && now < record.previousExpiresAt) return { record, previous: true }
  return undefined
}

/**
 * Applies `policy` to a live key. A leaked previous secret of a rotated key has its grace ended
 * (the owner already holds the replacement) under every policy but `notify`. Deactivation and
 * the end of grace are the manager's revokes, which win over concurrent edits; a shorter expiry
 * never lengthens one already sooner.
 */
export async function applyPolicy(manager: LeakManager, live: { record: KeyRecord; previous: boolean }, policy: LeakPolicy, now: number): Promise<Acted> {
  const { record, previous } = live
  if (policy === 'notify') return { record, action: 'notified', ...expiry(record) }
  if (previous) {
    const next = await manager.endGrace(record.id)
    return { record: next, action: 'grace_ended', ...expiry(next) }
  }
  if (policy === 'deactivate') {
    const next = await manager.deactivate(record.id)
    return { record: next, action: 'deactivated', ...expiry(next) }
  }
  const until = now + policy.expireInMs
  if (record.expiresAt !== undefined && record.expiresAt <= until) return { record, action: 'expiry_shortened', expiresAt: record.expiresAt }
  const next = await manager.update(record.id, { expiresAt: until })
  return { record: next, action: 'expiry_shortened', ...expiry(next) }
}

function expiry(r: KeyRecord): { expiresAt?: number } {
  return r.expiresAt === undefined ? {} : { expiresAt: r.expiresAt }
}
