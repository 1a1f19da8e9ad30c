/**
 * Group allowlist narrowing that always wins: `KeyManager.updateGroup` with an `allowedIps` that
 * only removes entries lands in one unconditional step, whatever other editors write between its
 * read and its write, and never leaves the group admitting an address the new list does not.
 * On `MemoryKeyStore` (the same table runs on Postgres in test/integration/postgres-edits.test.ts).
 */
import { describe, expect, it } from 'vitest'
import { cachedStore, KeyManager, MemoryKeyStore } from '../../src/index.js'
import type { KeyGroup, ManagedKeyStore, StoreChange } from '../../src/types.js'
import { EDITORS, NARROWED, WIDE } from './manager-narrowing.js'

/** `store` whose `getGroup` runs `after(id)` between the read and its caller seeing it; without `narrowGroupIps` when `narrow` is false. */
function interleavedGroups(store: MemoryKeyStore, after: (id: string) => Promise<void>, narrow = true): ManagedKeyStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'narrowGroupIps' && !narrow) return undefined
      const value = Reflect.get(target, prop, target) as unknown
      if (typeof value !== 'function') return value
      if (prop !== 'getGroup') return value.bind(target)
      return async (id: string) => {
        const read = await (value as (id: string) => Promise<KeyGroup | undefined>).call(target, id)
        await after(id)
        return read
      }
    },
  })
}

describe('KeyManager group allowlist narrowing', () => {
  for (const via of ['MemoryKeyStore', 'cachedStore'] as const) {
    it.each(EDITORS)(`wins through ${via} while another editor %s between every read and write, admitting nothing the new list does not`, async (_, edit, expected) => {
      const store = new MemoryKeyStore()
      const group = await new KeyManager(store).createGroup({ name: 'Partners', allowedIps: WIDE })
      const editor = new KeyManager(store)
      let edits = 0
      const wrapped = interleavedGroups(store, async (id) => void (await edit(editor, id, ++edits)))
      const changes: StoreChange[] = []
      const narrower = new KeyManager(via === 'cachedStore' ? cachedStore(wrapped) : wrapped, { onWrite: (c) => changes.push(c) })
      const g = await narrower.updateGroup(group.id, { allowedIps: NARROWED })
      expect(g.allowedIps).toEqual(expected)
      expect((await store.getGroup(group.id))?.allowedIps).toEqual(expected)
      expect(changes).toContainEqual({ type: 'group', id: group.id })
      expect(edits).toBe(1)
    })
  }

  it('restricts a group that had no allowlist in one step too', async () => {
    const store = new MemoryKeyStore()
    const group = await new KeyManager(store).createGroup({ name: 'Partners' })
    const editor = new KeyManager(store)
    let edits = 0
    const wrapped = interleavedGroups(store, async (id) => void (await editor.updateGroup(id, { description: `edit ${++edits}` })))
    expect((await new KeyManager(wrapped).updateGroup(group.id, { allowedIps: ['203.0.113.7'] })).allowedIps).toEqual(['203.0.113.7'])
    expect(edits).toBe(1)
  })

  it('narrows to an empty list, which admits nobody', async () => {
    const store = new MemoryKeyStore()
    const group = await new KeyManager(store).createGroup({ name: 'Partners', allowedIps: WIDE })
    expect((await new KeyManager(store).updateGroup(group.id, { allowedIps: [] })).allowedIps).toEqual([])
  })

  it('narrows first and keeps the other fields a compare-and-swap, which may give up to editors', async () => {
    const store = new MemoryKeyStore()
    const group = await new KeyManager(store).createGroup({ name: 'Partners', allowedIps: WIDE })
    const editor = new KeyManager(store)
    let edits = 0
    const wrapped = interleavedGroups(store, async (id) => void (await editor.updateGroup(id, { description: `edit ${++edits}` })))
    await expect(new KeyManager(wrapped).updateGroup(group.id, { allowedIps: ['203.0.113.7'], name: 'Renamed' })).rejects.toMatchObject({ name: 'ConflictError' })
    expect(await store.getGroup(group.id)).toMatchObject({ allowedIps: ['203.0.113.7'], name: 'Partners' })
  })

  it('keeps a list with new entries a compare-and-swap: it could re-admit what an editor just removed', async () => {
    const store = new MemoryKeyStore()
    const group = await new KeyManager(store).createGroup({ name: 'Partners', allowedIps: WIDE })
    const editor = new KeyManager(store)
    let edits = 0
    const wrapped = interleavedGroups(store, async (id) => void (await editor.updateGroup(id, { allowedIps: [], description: `edit ${++edits}` })))
    await expect(new KeyManager(wrapped).updateGroup(group.id, { allowedIps: ['203.0.113.0/24'] })).rejects.toMatchObject({ name: 'ConflictError' })
    expect((await store.getGroup(group.id))?.allowedIps).toEqual([])
  })

  it('falls back to a compare-and-swap on a store without narrowGroupIps', async () => {
    const store = new MemoryKeyStore()
    const group = await new KeyManager(store).createGroup({ name: 'Partners', allowedIps: WIDE })
    const wrapped = interleavedGroups(store, async () => undefined, false)
    expect(typeof cachedStore(wrapped).narrowGroupIps).toBe('undefined')
    expect((await new KeyManager(wrapped).updateGroup(group.id, { allowedIps: ['203.0.113.7'] })).allowedIps).toEqual(['203.0.113.7'])
  })

  it('a group lookup in flight when the narrowing settles is not cached by cachedStore', async () => {
    const store = new MemoryKeyStore()
    const group = await new KeyManager(store).createGroup({ name: 'Partners', allowedIps: WIDE })
    let gate: Promise<void> | undefined
    const slow = new Proxy(store, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown
        if (typeof value !== 'function') return value
        if (prop !== 'findGroup') return value.bind(target)
        return async (id: string) => {
          const read = await target.findGroup(id)
          if (gate !== undefined) await gate
          return read
        }
      },
    })
    const cache = cachedStore(slow)
    let open!: () => void
    gate = new Promise<void>((resolve) => (open = resolve))
    const before = cache.findGroup(group.id) // reads the wide list, then waits
    await new Promise((resolve) => setImmediate(resolve))
    gate = undefined
    await new KeyManager(cache).updateGroup(group.id, { allowedIps: ['203.0.113.7'] })
    open()
    await before
    expect((await cache.findGroup(group.id))?.allowedIps).toEqual(['203.0.113.7'])
    expect(cache.peekGroup(group.id)?.allowedIps).toEqual(['203.0.113.7'])
  })
})
