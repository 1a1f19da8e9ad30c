/**
 * Finding a key from a pasted start in the admin API, over real HTTP on 127.0.0.1, on every
 * store that keeps keys: the start must survive the store, at issue and at rotation.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createAdminHandler } from '../../src/admin/index.js'
import { createAuthorizer } from '../../src/authorize.js'
import { KeyManager } from '../../src/stores/manager.js'
import { MemoryKeyStore } from '../../src/stores/memory.js'
import type { ManagedKeyStore } from '../../src/types.js'
import { close } from '../adapters/_http.js'
import { serve, servers } from '../admin/_mounts.js'
import { HAVE_PG } from './_env.js'
import { pgFixture, type PgFixture } from './_pg.js'

const T0 = 1_700_000_000_000

interface Page {
  items: { id: string; start?: string }[]
  nextCursor?: string
}

let pg: PgFixture | undefined
beforeAll(async () => {
  if (HAVE_PG) pg = await pgFixture()
})
afterAll(async () => {
  await pg?.close()
})
afterEach(async () => {
  await Promise.all(servers.splice(0).map(close))
})

const STORES: [string, () => ManagedKeyStore | undefined][] = [
  ['memory', () => new MemoryKeyStore()],
  ['postgres', () => pg?.store],
]

describe.each(STORES)('finding a key from its start on the %s store', (name, makeStore) => {
  it.skipIf(name === 'postgres' && !HAVE_PG)('finds the key from the start set at issue and at rotation, within the caller tenant only', async () => {
    const store = makeStore()!
    let t = T0
    const now = (): number => t
    const manager = new KeyManager(store, { now })
    const authorizer = createAuthorizer({ store, now, touchIntervalMs: 0 })
    const base = await serve('hono', createAdminHandler({ manager, authorizer, now }))
    const acme = await manager.issue({ kind: 'org', tenant: 'acme', description: 'acme admin' })
    const user = await manager.issue({ kind: 'user', tenant: 'acme', owner: 'o@acme.test', role: 'Read Only' })
    const other = await manager.issue({ kind: 'user', tenant: 'globex', owner: 'x@globex.test', role: 'Read Only' })
    const find = async (prefix: string): Promise<string[]> => {
      const res = await fetch(`${base}/admin/api/keys?prefix=${prefix}`, { headers: { 'x-api-key': acme.key } })
      const text = await res.text()
      expect(res.status).toBe(200)
      expect(text).not.toContain(user.key)
      return (JSON.parse(text) as Page).items.map((k) => k.id)
    }
    expect(await find(user.record.start!)).toEqual([user.record.id])
    expect(await find(other.record.start!)).toEqual([])
    t += 1000
    const rotated = await manager.rotate(user.record.id, { graceMs: 60_000 })
    expect(rotated.record.start).toBe(rotated.key.slice(0, 7))
    expect(await find(rotated.record.start!)).toEqual([user.record.id])
    if (rotated.record.start !== user.record.start) expect(await find(user.record.start!)).toEqual([])
  })
})
