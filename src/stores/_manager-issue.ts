/**
 * Issuing and importing keys, for `KeyManager`: a fresh secret in the manager's shape, the record
 * built from validated input, and the group a key may join, checked under the group's lock.
 * @module
 */
import { ConflictError, NotFoundError } from '../errors.js'
import { generateKey, keyStart } from '../keys/format.js'
import type { KeyGroup, KeyRecord } from '../types.js'
import * as F from './fields.js'
import { keyFields, importedKey, newId, object } from './_manager-edits.js'
import type { ManagerContext } from './_manager-groups.js'
import { IMPORT_FIELDS, ISSUE_FIELDS, type ImportOptions, type IssuedKey, type IssueOptions } from './_manager-options.js'

/** What issuing, rotating and editing keys need of their `KeyManager`, besides `ManagerContext`. */
export interface KeyContext extends ManagerContext {
  /** Hashes a key as the manager stores it. */
  hash(key: string): string
  readonly prefix: string | undefined
  readonly environment: string | undefined
}

/** A new secret in the manager's shape: the plaintext, its hash, and its visible start (if the shape has one). */
export function freshKey(m: KeyContext): { key: string; hash: string; start: string | undefined } {
  const key = generateKey({ prefix: m.prefix, environment: m.environment })
  return { key, hash: m.hash(key), start: keyStart(key) }
}

/**
 * The group a key of `tenant` may join. A group of another tenant gets the same error as an
 * absent one, so a caller cannot probe other tenants' group ids.
 */
export async function groupForKey(m: ManagerContext, groupId: string, tenant: string | undefined): Promise<KeyGroup> {
  const g = await m.store.getGroup(F.id(groupId, 'group'))
  if (!g || g.tenant !== tenant) throw new NotFoundError(`group ${groupId} does not exist`)
  return g
}

/** Runs `fn` holding the lock of `groupId` (if any), so a group cannot be deleted while a key joins it. */
export async function inGroup<T>(m: ManagerContext, groupId: unknown, fn: () => Promise<T>): Promise<T> {
  return typeof groupId === 'string' ? m.locked(`group:${groupId}`, fn) : fn()
}

/** Validates issue/import fields into a record without id/hash. */
async function buildRecord(m: ManagerContext, input: Record<string, unknown>, now: number): Promise<Omit<KeyRecord, 'id' | 'hash'>> {
  const r = keyFields(input, now, m.roles)
  if (input.group !== undefined) r.group = (await groupForKey(m, input.group as string, r.tenant)).id
  return r
}

/** `KeyManager.issue`: a new key, its plaintext returned once and only its hash stored. */
export async function issueKey(m: KeyContext, options: IssueOptions): Promise<IssuedKey> {
  const input = object(options, 'options')
  F.onlyFields(input, ISSUE_FIELDS, 'options')
  return inGroup(m, input.group, async () => {
    const now = m.now()
    const base = await buildRecord(m, input, now)
    const { key, hash, start } = freshKey(m)
    const record = { ...base, id: newId('key'), hash, ...(start === undefined ? {} : { start }) } as KeyRecord
    await m.store.insertKey(record)
    m.emit({ type: 'key', id: record.id, hashes: [record.hash] })
    return { key, record: (await m.store.getKey(record.id)) ?? record }
  })
}

/** `KeyManager.import`: an existing key, hashed on the way in and never stored. */
export async function importKey(m: KeyContext, options: ImportOptions): Promise<KeyRecord> {
  const input = object(options, 'options')
  F.onlyFields(input, IMPORT_FIELDS, 'options')
  const key = importedKey(input.key)
  return inGroup(m, input.group, async () => {
    const now = m.now()
    const base = await buildRecord(m, input, now)
    const hash = m.hash(key)
    if (await m.store.findByHash(hash)) throw new ConflictError('this key is already registered')
    const record = { ...base, id: newId('key'), hash } as KeyRecord
    await m.store.insertKey(record)
    m.emit({ type: 'key', id: record.id, hashes: [hash] })
    return (await m.store.getKey(record.id)) ?? record
  })
}
