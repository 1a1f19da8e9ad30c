/**
 * The one read-modify-write path of `KeyManager` for keys: every edit, and every revoke, goes
 * through `modifyKey` (or the store's unconditional `revokeKey`) and tells listeners every hash
 * it affected.
 * @module
 */
import { NotFoundError } from '../errors.js'
import type { KeyRecord, KeyRevoke } from '../types.js'
import * as F from './fields.js'
import { casRetry, compact, revoked } from './_manager-edits.js'
import type { ManagerContext } from './_manager-groups.js'

/** A change to one key: what it makes of the record read, at `now`. */
export type KeyChange = (r: KeyRecord, now: number) => Promise<KeyRecord> | KeyRecord

async function mustGetKey(m: ManagerContext, keyId: string): Promise<KeyRecord> {
  const r = await m.store.getKey(F.id(keyId))
  if (!r) throw new NotFoundError(`key ${keyId} does not exist`)
  return r
}

/** Tells listeners every hash a write to a key affected. */
function emitKey(m: ManagerContext, old: KeyRecord, next: KeyRecord): void {
  const hashes = new Set([old.hash, next.hash])
  if (old.previousHash !== undefined) hashes.add(old.previousHash)
  if (next.previousHash !== undefined) hashes.add(next.previousHash)
  m.emit({ type: 'key', id: next.id, hashes: [...hashes] })
}

/**
 * Applies a validated change to one key: serialised within this manager by a lock, and across
 * managers (other instances) by the store's compare-and-swap, retried on a fresh read, so an
 * edit based on a stale read never writes back a key that was revoked meanwhile.
 */
export async function modifyKey(m: ManagerContext, keyId: string, change: KeyChange, attempts?: number): Promise<KeyRecord> {
  return m.locked(`key:${keyId}`, async () => {
    const { old, next } = await casRetry(
      () => mustGetKey(m, keyId),
      async (r) => {
        const now = m.now()
        return compact({ ...(await change(r, now)), updatedAt: now })
      },
      (n, o) => m.store.updateKey(n, o),
      attempts,
    )
    emitKey(m, old, next)
    return (await m.store.getKey(next.id)) ?? next
  })
}

/**
 * A revoke, which always wins: one unconditional statement when the store has `revokeKey`
 * (nothing read can make it conflict, no editor can starve it); otherwise a compare-and-swap
 * retried until it lands, never given up because others keep editing.
 */
export async function revokeKey(m: ManagerContext, keyId: string, revoke: KeyRevoke): Promise<KeyRecord> {
  const id = F.id(keyId)
  if (typeof m.store.revokeKey !== 'function') {
    return modifyKey(m, id, (r, now) => revoked(r, revoke, now), Infinity)
  }
  return m.locked(`key:${id}`, async () => {
    const next = await m.store.revokeKey!(id, revoke, m.now())
    if (next === undefined) throw new NotFoundError(`key ${keyId} does not exist`)
    emitKey(m, next, next)
    return next
  })
}
