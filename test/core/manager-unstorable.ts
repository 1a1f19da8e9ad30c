/**
 * Strings no store can hold as given: a NUL (PostgreSQL text and jsonb refuse U+0000) and
 * unpaired UTF-16 surrogates (PostgreSQL stores U+FFFD instead, or refuses them). Every store
 * must refuse each with the same `RangeError` naming the field, before anything is written.
 * Shared by the memory tests and the Postgres integration tests.
 */
import { expect } from 'vitest'
import type { KeyManager } from '../../src/stores/manager.js'
import type { KeyRecord, ManagedKeyStore } from '../../src/types.js'

export const LONE_HIGH = 'before \uD800 after'
export const LONE_LOW = 'before \uDC00 after'
export const WITH_NUL = 'before \u0000 after'
export const PAIRED = 'a pair is fine: \uD83D\uDD11'

/** [what, the write, the field the error must name] */
export function unstorableWrites(m: KeyManager, store: ManagedKeyStore, existing: () => KeyRecord): [string, () => Promise<unknown>, string][] {
  return [
    ['issue: a lone high surrogate in description', () => m.issue({ kind: 'org', description: LONE_HIGH }), 'description'],
    ['issue: a lone low surrogate in description', () => m.issue({ kind: 'org', description: LONE_LOW }), 'description'],
    ['issue: NUL in a metadata value', () => m.issue({ kind: 'org', metadata: { note: WITH_NUL } }), 'metadata.note'],
    ['issue: a lone surrogate deep in metadata', () => m.issue({ kind: 'org', metadata: { a: { b: [1, LONE_HIGH] } } }), 'metadata.a.b[1]'],
    ['issue: NUL in a metadata key', () => m.issue({ kind: 'org', metadata: { ['k\u0000']: 1 } }), 'metadata'],
    ['import: a lone surrogate in description', () => m.import({ key: 'legacy-key-0001', kind: 'org', description: LONE_LOW }), 'description'],
    ['update: a lone surrogate in description', () => m.update(existing().id, { description: LONE_HIGH }), 'description'],
    ['update: NUL in metadata', () => m.update(existing().id, { metadata: { x: WITH_NUL } }), 'metadata.x'],
    ['createGroup: a lone surrogate in description', () => m.createGroup({ name: 'g', description: LONE_HIGH }), 'description'],
    ['store.insertKey: NUL in description', () => store.insertKey({ ...existing(), id: 'key_direct', hash: 'h-direct', description: WITH_NUL }), 'description'],
    ['store.updateKey: a lone surrogate in metadata', () => store.updateKey({ ...existing(), metadata: { x: LONE_LOW } }), 'metadata.x'],
  ]
}

/** Asserts the write is refused with a RangeError naming `field`. */
export async function expectRefused(write: () => Promise<unknown>, field: string): Promise<void> {
  const e = await write().then(() => undefined, (x: unknown) => x)
  expect(e).toBeInstanceOf(RangeError)
  expect((e as Error).message.startsWith(`${field}: `)).toBe(true)
}
