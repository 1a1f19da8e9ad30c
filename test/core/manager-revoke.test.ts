/**
 * Revokes that always win, edits that never move a last-used time backwards, and strings every
 * store can hold: `KeyManager` on `MemoryKeyStore` (the same behaviour is tested on Postgres in
 * test/integration/postgres-edits.test.ts).
 */
import { describe, expect, it } from 'vitest'
import { cachedStore, KeyManager, MemoryKeyStore } from '../../src/index.js'
import type { KeyGroup, KeyRecord, ManagedKeyStore, StoreChange } from '../../src/types.js'
import { expectRefused, PAIRED, unstorableWrites } from './manager-unstorable.js'

/** `store` whose `getKey` runs `after(id)` between the read and its caller seeing it. */
function interleaved(store: MemoryKeyStore, after: (id: string) => Promise<void>, revoke = true): ManagedKeyStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'revokeKey' && !revoke) return undefined
      const value = Reflect.get(target, prop, target) as unknown
      if (typeof value !== 'function') return value
      if (prop !== 'getKey') return value.bind(target)
      return async (id: string) => {
        const read = await (value as (id: string) => Promise<KeyRecord | undefined>).call(target, id)
        await after(id)
        return read
      }
    },
  })
}

describe('KeyManager revokes', () => {
  const revokes: [string, (m: KeyManager, id: string) => Promise<unknown>, (r: KeyRecord | undefined) => boolean][] = [
    ['deactivate', (m, id) => m.deactivate(id), (r) => r?.active === false],
    ['endGrace', (m, id) => m.endGrace(id), (r) => r !== undefined && r.previousExpiresAt === 5_000],
    ['delete', (m, id) => m.delete(id), (r) => r === undefined],
  ]
  for (const via of ['MemoryKeyStore', 'cachedStore'] as const) {
    it.each(revokes)(`%s wins through ${via} while another editor writes between every read and write`, async (_, revoke, done) => {
      const store = new MemoryKeyStore()
      const now = { t: 1_000 }
      const admin = new KeyManager(store, { now: () => now.t })
      const { record } = await admin.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
      await admin.rotate(record.id, { graceMs: 60_000 })
      let edits = 0
      const editor = new KeyManager(store, { now: () => now.t })
      const wrapped = interleaved(store, async (id) => {
        await editor.update(id, { description: `edit ${++edits}` })
      })
      now.t = 5_000
      const revoker = new KeyManager(via === 'cachedStore' ? cachedStore(wrapped) : wrapped, { now: () => now.t })
      await revoke(revoker, record.id)
      expect(done(await store.getKey(record.id))).toBe(true)
    })
  }

  it('still lands on a store without revokeKey, however many times editors overtake it', async () => {
    const store = new MemoryKeyStore()
    const admin = new KeyManager(store)
    const { record } = await admin.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    let edits = 0
    const editor = new KeyManager(store)
    const wrapped = interleaved(store, async (id) => {
      if (edits < 12) await editor.update(id, { description: `edit ${++edits}` })
    }, false)
    expect(typeof wrapped.revokeKey).toBe('undefined')
    expect((await new KeyManager(wrapped).deactivate(record.id)).active).toBe(false)
    expect(edits).toBe(12)
  })

  it('reports a missing key as NotFoundError', async () => {
    await expect(new KeyManager(new MemoryKeyStore()).deactivate('key_missing')).rejects.toMatchObject({ name: 'NotFoundError' })
    await expect(new KeyManager(new MemoryKeyStore()).endGrace('key_missing')).rejects.toMatchObject({ name: 'NotFoundError' })
  })

  it('ending a grace period never extends one that already ended', async () => {
    const store = new MemoryKeyStore()
    const now = { t: 1_000 }
    const m = new KeyManager(store, { now: () => now.t })
    const { record } = await m.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    await m.rotate(record.id, { graceMs: 10 })
    now.t = 9_000
    expect((await m.endGrace(record.id)).previousExpiresAt).toBe(1_010)
  })
})

/** `store` whose `getGroup` runs `after(id)` between the read and its caller seeing it; without `revokeGroup` when `revoke` is false. */
function interleavedGroups(store: MemoryKeyStore, after: (id: string) => Promise<void>, revoke = true): ManagedKeyStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'revokeGroup' && !revoke) return undefined
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

describe('KeyManager group revokes', () => {
  const revokes: [string, (m: KeyManager, id: string) => Promise<KeyGroup>][] = [
    ['deactivateGroup', (m, id) => m.deactivateGroup(id)],
    ['updateGroup with active: false', (m, id) => m.updateGroup(id, { active: false })],
  ]
  for (const via of ['MemoryKeyStore', 'cachedStore'] as const) {
    it.each(revokes)(`%s wins through ${via} while another editor writes between every read and write`, async (_, revoke) => {
      const store = new MemoryKeyStore()
      const admin = new KeyManager(store)
      const group = await admin.createGroup({ name: 'Partners' })
      let edits = 0
      const editor = new KeyManager(store)
      const wrapped = interleavedGroups(store, async (id) => {
        await editor.updateGroup(id, { description: `edit ${++edits}` })
      })
      const changes: StoreChange[] = []
      const revoker = new KeyManager(via === 'cachedStore' ? cachedStore(wrapped) : wrapped, { onWrite: (c) => changes.push(c) })
      expect((await revoke(revoker, group.id)).active).toBe(false)
      expect((await store.getGroup(group.id))?.active).toBe(false)
      expect(changes).toContainEqual({ type: 'group', id: group.id })
    })
  }

  it('turns the group off even when the other fields of the same patch give up to editors', async () => {
    const store = new MemoryKeyStore()
    const group = await new KeyManager(store).createGroup({ name: 'Partners' })
    const editor = new KeyManager(store)
    let edits = 0
    const wrapped = interleavedGroups(store, async (id) => {
      await editor.updateGroup(id, { description: `edit ${++edits}` })
    })
    await expect(new KeyManager(wrapped).updateGroup(group.id, { active: false, name: 'Renamed' })).rejects.toMatchObject({ name: 'ConflictError' })
    expect(await store.getGroup(group.id)).toMatchObject({ active: false, name: 'Partners' })
  })

  it('refuses a bad field before turning anything off', async () => {
    const store = new MemoryKeyStore()
    const m = new KeyManager(store)
    const group = await m.createGroup({ name: 'Partners' })
    await expect(m.updateGroup(group.id, { active: false, allowedIps: ['10.0.0.1/8'] })).rejects.toThrow(/allowedIps/)
    expect((await store.getGroup(group.id))?.active).toBe(true)
  })

  it('still lands on a store without revokeGroup, however many times editors overtake it', async () => {
    const store = new MemoryKeyStore()
    const group = await new KeyManager(store).createGroup({ name: 'Partners' })
    let edits = 0
    const editor = new KeyManager(store)
    const wrapped = interleavedGroups(store, async (id) => {
      if (edits < 12) await editor.updateGroup(id, { description: `edit ${++edits}` })
    }, false)
    expect(typeof wrapped.revokeGroup).toBe('undefined')
    expect(typeof cachedStore(wrapped).revokeGroup).toBe('undefined')
    expect((await new KeyManager(wrapped).deactivateGroup(group.id)).active).toBe(false)
    expect(edits).toBe(12)
  })

  it('reports a missing group as NotFoundError', async () => {
    await expect(new KeyManager(new MemoryKeyStore()).deactivateGroup('grp_missing')).rejects.toMatchObject({ name: 'NotFoundError' })
  })

  it('a group lookup in flight when the revoke settles is not cached by cachedStore', async () => {
    const store = new MemoryKeyStore()
    const group = await new KeyManager(store).createGroup({ name: 'Partners' })
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
    const before = cache.findGroup(group.id) // reads the active group, then waits
    await new Promise((resolve) => setImmediate(resolve))
    gate = undefined
    await new KeyManager(cache).deactivateGroup(group.id)
    open()
    expect((await before)?.active).toBe(true) // concurrent with the revoke: either answer is acceptable
    expect((await cache.findGroup(group.id))?.active).toBe(false)
    expect(cache.peekGroup(group.id)?.active).toBe(false)
  })
})

describe('KeyManager edits and last-used times', () => {
  it('never moves a last-used time backwards when a use lands between its read and its write', async () => {
    const store = new MemoryKeyStore()
    const { record } = await new KeyManager(store).issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    await store.touch(record.id, 1_000)
    let at = 2_000_000_000_000
    let armed = true
    const m = new KeyManager(interleaved(store, async (id) => {
      if (!armed) return
      armed = false
      await store.touch(id, at)
    }))
    const edits: ((id: string) => Promise<unknown>)[] = [
      (id) => m.update(id, { description: 'x' }),
      (id) => m.rotate(id, { graceMs: 0 }),
      (id) => m.grant(id, ['op']),
      (id) => m.addAllowedIps(id, ['203.0.113.7']),
      (id) => m.activate(id),
    ]
    for (const edit of edits) {
      at += 1_000
      armed = true
      await edit(record.id)
      expect((await store.getKey(record.id))?.lastUsedAt).toBe(at)
    }
  })
})

describe('strings every store can hold', () => {
  it.each(((): [string, () => Promise<unknown>, string][] => {
    const store = new MemoryKeyStore()
    const m = new KeyManager(store)
    let existing: KeyRecord | undefined
    const ready = m.issue({ kind: 'org', description: PAIRED }).then((r) => (existing = r.record))
    return unstorableWrites(m, store, () => existing!).map(([what, write, field]) => [what, async () => {
      await ready
      return write()
    }, field])
  })())('refuses %s with a RangeError naming the field', async (_, write, field) => {
    await expectRefused(write, field)
  })

  it('keeps well-formed text, surrogate pairs included, exactly', async () => {
    const store = new MemoryKeyStore()
    const { record } = await new KeyManager(store).issue({ kind: 'org', description: PAIRED, metadata: { k: PAIRED } })
    expect((await store.getKey(record.id))?.description).toBe(PAIRED)
  })
})
