/**
 * The concurrent editors a group allowlist narrowing must win against, shared by the
 * `MemoryKeyStore` (test/core/manager-narrow.test.ts) and Postgres
 * (test/integration/postgres-edits.test.ts) suites.
 */
import type { KeyManager } from '../../src/index.js'

/** The group's list before the narrowing, which keeps `['203.0.113.7', '2001:db8::/32']`. */
export const WIDE = ['198.51.100.0/24', '203.0.113.7', '2001:db8::/32']

/** What the narrowing sets: two of {@link WIDE}'s entries. */
export const NARROWED = ['203.0.113.7', '2001:db8::/32']

/**
 * What a concurrent editor does between each read and write of the narrowing, and the list
 * expected in the end: never an address outside {@link NARROWED}.
 */
export const EDITORS: [string, (m: KeyManager, id: string, n: number) => Promise<unknown>, string[]][] = [
  ['rewrites the description', (m, id, n) => m.updateGroup(id, { description: `edit ${n}` }), ['203.0.113.7', '2001:db8::/32']],
  ['adds an entry', (m, id, n) => m.updateGroup(id, { allowedIps: [...WIDE, `192.0.2.${n % 250}`] }), ['203.0.113.7', '2001:db8::/32']],
  ['removes one of the kept entries', (m, id) => m.updateGroup(id, { allowedIps: ['198.51.100.0/24', '203.0.113.7'] }), ['203.0.113.7']],
  ['lifts the restriction', (m, id) => m.updateGroup(id, { allowedIps: null }), ['203.0.113.7', '2001:db8::/32']],
]
