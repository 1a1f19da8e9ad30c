import { describe, expect, it } from 'vitest'
import { ConflictError, KeyManager, MemoryKeyStore, NotFoundError, hashKey } from '../../src/index.js'
import { harness, PEPPER } from '../_support/core.js'
import { deferred } from '../resilience/_helpers.js'

/**
 * The store as another instance sees it: its first read of `method` returns its answer only when
 * `release()` is called; `read` settles once that read has been made.
 */
function heldFirstRead(store: MemoryKeyStore, method: 'getKey' | 'getGroup'): { store: MemoryKeyStore; read: Promise<void>; release: () => void } {
  const read = deferred()
  const release = deferred()
  let first = true
  const held = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown
      if (typeof value !== 'function') return value
      if (prop !== method) return value.bind(target)
      return async (id: string) => {
        const answer = await (value as (id: string) => Promise<unknown>).call(target, id)
        if (first) {
          first = false
          read.resolve()
          await release.promise
        }
        return answer
      }
    },
  })
  return { store: held, read: read.promise, release: () => release.resolve() }
}

describe('KeyManager.issue', () => {
  it('returns the plaintext once and stores only its peppered hash', async () => {
    const h = harness()
    const { key, id } = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', description: 'CI', metadata: { team: 'x' } })
    const stored = await h.store.getKey(id)
    expect(stored?.hash).toBe(hashKey(key, PEPPER))
    expect(JSON.stringify(await h.store.listKeys())).not.toContain(key)
    expect(stored).toMatchObject({ kind: 'user', owner: 'ana', role: 'Read Only', description: 'CI', metadata: { team: 'x' }, active: true, createdAt: h.clock.now() })
  })

  it('issues user, org and tenant keys with their fields', async () => {
    const h = harness()
    const g = await h.manager.createGroup({ name: 'G', tenant: 't' })
    const user = await h.manager.issue({ kind: 'user', tenant: 't', group: g.id, owner: 'o', role: 'Read Write', scopes: ['scans:read'], grants: ['op'], allowedIps: ['10.0.0.0/8'], expiresAt: new Date(h.clock.now() + 1000), rateLimit: { capacity: 5, refillPerSecond: 1 } })
    expect(user.record).toMatchObject({ group: g.id, scopes: ['scans:read'], grants: ['op'], allowedIps: ['10.0.0.0/8'], expiresAt: h.clock.now() + 1000, rateLimit: { capacity: 5, refillPerSecond: 1 } })
    expect((await h.manager.issue({ kind: 'org', tenant: 't' })).record.kind).toBe('org')
    expect((await h.manager.issue({ kind: 'tenant', tenant: 't' })).record.kind).toBe('tenant')
  })

  it('uses the configured prefix and environment', async () => {
    const m = new KeyManager(new MemoryKeyStore(), { prefix: 'acme', environment: 'live' })
    expect((await m.issue({ kind: 'org' })).key).toMatch(/^acme_live_[0-9A-Za-z]{38}$/)
  })

  it.each([
    [{ kind: 'admin' }, RangeError, /kind/],
    [{ kind: 'user', role: 'Read Only' }, RangeError, /owner/],
    [{ kind: 'user', owner: 'o', role: 'Superuser' }, RangeError, /role: unknown role "Superuser"/],
    [{ kind: 'user', owner: 'o', role: '__proto__' }, RangeError, /role/],
    [{ kind: 'org', role: 'Read Only' }, RangeError, /role/],
    [{ kind: 'tenant' }, RangeError, /tenant/],
    [{ kind: 'tenant', tenant: 't', grants: ['x'] }, RangeError, /grants/],
    [{ kind: 'org', tenant: '' }, RangeError, /tenant: must not be empty/],
    [{ kind: 'org', allowedIps: ['010.0.0.1'] }, RangeError, /allowedIps\[0\]/],
    [{ kind: 'org', allowedIps: ['127.1'] }, RangeError, /allowedIps\[0\]/],
    [{ kind: 'org', allowedIps: ['10.0.0.1/8'] }, RangeError, /allowedIps\[0\]/],
    [{ kind: 'org', allowedIps: '10.0.0.0/8' }, TypeError, /allowedIps/],
    [{ kind: 'org', scopes: ['scans:write'] }, RangeError, /scopes\[0\]/],
    [{ kind: 'org', expiresAt: Date.UTC(2020, 0, 1) }, RangeError, /expiresAt: is in the past/],
    [{ kind: 'org', expiresAt: 'tomorrow' }, TypeError, /expiresAt/],
    [{ kind: 'org', rateLimit: { capacity: 0, refillPerSecond: 1 } }, RangeError, /rateLimit.capacity/],
    [{ kind: 'org', description: 'a\u0000b' }, RangeError, /description/],
    [{ kind: 'org', metadata: [] }, TypeError, /metadata/],
    [{ kind: 'org', group: 'grp_missing' }, NotFoundError, /group/],
    [{ kind: 'org', colour: 'red' }, RangeError, /unknown field "colour"/],
  ])('refuses invalid input %# with an error naming the field, and writes nothing', async (input, type, message) => {
    const h = harness()
    await expect(h.manager.issue(input as never)).rejects.toThrow(type)
    await expect(h.manager.issue(input as never)).rejects.toThrow(message)
    expect(h.store.size).toBe(0)
  })

  it('refuses a group of another tenant exactly as an absent group, so ids cannot be probed', async () => {
    const h = harness()
    const g = await h.manager.createGroup({ name: 'G', tenant: 'a' })
    const foreign = await h.manager.issue({ kind: 'org', tenant: 'b', group: g.id }).catch((e: Error) => e)
    const absent = await h.manager.issue({ kind: 'org', tenant: 'b', group: 'grp_absent' }).catch((e: Error) => e)
    expect(foreign).toBeInstanceOf(NotFoundError)
    expect(String(foreign).replace(g.id, 'ID')).toBe(String(absent).replace('grp_absent', 'ID'))
  })

  it('refuses scopes naming a resource that is not in the role matrix', async () => {
    const h = harness()
    await expect(h.manager.issue({ kind: 'org', scopes: ['users:read'] })).rejects.toThrow(/scopes\[0\]/)
  })

  it('never leaves a key in a group deleted while the key was being issued', async () => {
    const h = harness()
    const g = await h.manager.createGroup({ name: 'G' })
    const getGroup = h.store.getGroup.bind(h.store)
    h.store.getGroup = async (id) => {
      await new Promise((r) => setTimeout(r, 20))
      return getGroup(id)
    }
    const [issued, deleted] = await Promise.allSettled([h.manager.issue({ kind: 'org', group: g.id }), h.manager.deleteGroup(g.id)])
    // Either the key joined the group first (then the group could not be deleted), or the
    // group was deleted first (then the key could not join it): never both.
    expect([issued.status, deleted.status]).not.toEqual(['fulfilled', 'fulfilled'])
    if (issued.status === 'fulfilled') expect(await getGroup(g.id)).toBeDefined()
  })
})

describe('KeyManager.import', () => {
  it('imports a legacy UUID key, hashed on the way in', async () => {
    const h = harness()
    const ref = '0b9c2f4e-1d2a-4b8e-9f00-123456789abc'
    const r = await h.manager.import({ key: ref, kind: 'user', owner: 'svc', role: 'Read Only', tenant: 't' })
    expect(r.hash).toBe(hashKey(ref, PEPPER))
    expect(JSON.stringify(r)).not.toContain(ref)
  })

  it('refuses a duplicate, a short key and a keyward-shaped key with a bad checksum', async () => {
    const h = harness()
    const ref = '0b9c2f4e-1d2a-4b8e-9f00-123456789abc'
    await h.manager.import({ key: ref, kind: 'org' })
    await expect(h.manager.import({ key: ref, kind: 'org' })).rejects.toThrow(ConflictError)
    await expect(h.manager.import({ key: 'short', kind: 'org' })).rejects.toThrow(/key/)
    await expect(h.manager.import({ key: 'kw_0123456789ABCDEFGHIJKLMNOPQRSTUV2jnASs', kind: 'org' })).rejects.toThrow(/checksum/)
    await expect(h.manager.import({ key: 'has space in it', kind: 'org' })).rejects.toThrow(RangeError)
  })

  it('never puts the key in an error message', async () => {
    const h = harness()
    const ref = 'legacy-secret-value-123'
    const err = await h.manager.import({ key: ref, kind: 'user' } as never).catch((e: Error) => e)
    expect(String(err)).toMatch(/owner/)
    expect(String(err)).not.toContain(ref)
  })
})

describe('KeyManager edits', () => {
  it('updates fields, clears them with null, and keeps kind and tenant', async () => {
    const h = harness()
    const { id } = await h.issue({ kind: 'user', owner: 'a', role: 'Read Only', tenant: 't', description: 'x', expiresAt: h.clock.now() + 10_000 })
    const r = await h.manager.update(id, { role: 'Read Write', description: null, expiresAt: null, scopes: ['apps:read'] })
    expect(r).toMatchObject({ role: 'Read Write', scopes: ['apps:read'], tenant: 't', kind: 'user' })
    expect('description' in r || 'expiresAt' in r).toBe(false)
    await expect(h.manager.update(id, { tenant: 'u' } as never)).rejects.toThrow(/unknown field "tenant"/)
  })

  it('leaves the record unchanged when a patch is invalid', async () => {
    const h = harness()
    const { id } = await h.issue({ kind: 'user', owner: 'a', role: 'Read Only' })
    const before = await h.store.getKey(id)
    await expect(h.manager.update(id, { description: 'ok', role: 'Nope' })).rejects.toThrow(/role/)
    await expect(h.manager.update(id, { expiresAt: h.clock.now() - 1 })).rejects.toThrow(/expiresAt/)
    expect(await h.store.getKey(id)).toBe(before)
  })

  it('throws NotFoundError for an unknown id', async () => {
    const h = harness()
    await expect(h.manager.deactivate('key_nope')).rejects.toThrow(NotFoundError)
    expect(await h.manager.delete('key_nope')).toBe(false)
  })

  it('refuses a negative or absurd grace period', async () => {
    const h = harness()
    const { id } = await h.issue({ kind: 'org' })
    await expect(h.manager.rotate(id, { graceMs: -1 })).rejects.toThrow(/graceMs: must not be negative/)
    await expect(h.manager.rotate(id, { graceMs: 400 * 24 * 3600_000 })).rejects.toThrow(/graceMs/)
    await expect(h.manager.rotate(id, {} as never)).rejects.toThrow(TypeError)
  })

  it('adds and removes allowed IPs canonically, and removing the last one admits nobody', async () => {
    const h = harness()
    const { id, key } = await h.issue({ kind: 'org' })
    expect((await h.manager.addAllowedIps(id, ['192.0.2.0/24', '2001:DB8::/32', '::ffff:10.0.0.0/104'])).allowedIps).toEqual(['192.0.2.0/24', '2001:db8::/32', '10.0.0.0/8'])
    expect((await h.manager.addAllowedIps(id, ['192.0.2.0/24'])).allowedIps).toHaveLength(3)
    await expect(h.manager.addAllowedIps(id, ['fe80::1%eth0'])).rejects.toThrow(/entries\[0\]/)
    await h.manager.removeAllowedIps(id, ['192.0.2.0/24', '2001:db8::/32', '10.0.0.0/8'])
    expect((await h.store.getKey(id))?.allowedIps).toEqual([])
    const d = await h.authorizer()({ headers: { 'x-api-key': key }, remoteAddress: '192.0.2.1' })
    expect(d.allow).toBe(false)
    await h.manager.update(id, { allowedIps: null })
    expect((await h.authorizer()({ headers: { 'x-api-key': key }, remoteAddress: '192.0.2.1' })).allow).toBe(true)
  })

  it('serialises concurrent edits of one key so none is lost', async () => {
    const h = harness()
    const { id } = await h.issue({ kind: 'org' })
    await Promise.all(Array.from({ length: 20 }, (_, i) => h.manager.grant(id, [`op${i}`])))
    expect((await h.store.getKey(id))?.grants).toHaveLength(20)
  })

  it('never writes back a key revoked by another manager while an edit was in flight', async () => {
    const h = harness()
    const { id, key } = await h.issue({ kind: 'org', description: 'v1' })
    // Instance B reads slowly; instance A revokes the key in between B's read and B's write.
    const slow = heldFirstRead(h.store, 'getKey')
    const b = new KeyManager(slow.store, { pepper: PEPPER, now: h.clock.now })
    const edit = b.update(id, { description: 'v2' })
    await slow.read
    await h.manager.deactivate(id)
    slow.release()
    const after = await edit
    expect(after).toMatchObject({ active: false, description: 'v2' })
    expect((await h.authorizer()({ headers: { 'x-api-key': key } })).allow).toBe(false)
  })

  it('never reactivates a group deactivated by another manager while an edit was in flight', async () => {
    const h = harness()
    const g = await h.manager.createGroup({ name: 'G' })
    const slow = heldFirstRead(h.store, 'getGroup')
    const b = new KeyManager(slow.store, { now: h.clock.now })
    const edit = b.updateGroup(g.id, { name: 'H' })
    await slow.read
    await h.manager.deactivateGroup(g.id)
    slow.release()
    expect(await edit).toMatchObject({ name: 'H', active: false })
  })

  it('deletes a key so it is unknown from the next request on', async () => {
    const h = harness()
    const { id, key } = await h.issue({ kind: 'org' })
    expect(await h.manager.delete(id)).toBe(true)
    expect((await h.authorizer()({ headers: { 'x-api-key': key } })).allow).toBe(false)
  })

  it('lists by tenant, group and owner', async () => {
    const h = harness()
    const g = await h.manager.createGroup({ name: 'G', tenant: 'a' })
    await h.issue({ kind: 'user', owner: 'x', role: 'Read Only', tenant: 'a', group: g.id })
    await h.issue({ kind: 'user', owner: 'y', role: 'Read Only', tenant: 'a' })
    await h.issue({ kind: 'org', tenant: 'b' })
    expect((await h.manager.list({ tenant: 'a' })).length).toBe(2)
    expect((await h.manager.list({ group: g.id })).map((r) => r.owner)).toEqual(['x'])
    expect((await h.manager.list({ owner: 'y' })).length).toBe(1)
    expect((await h.manager.list()).length).toBe(3)
    await expect(h.manager.list({ colour: 'red' } as never)).rejects.toThrow(/colour/)
  })

  it('reports every write to onWrite with the affected hashes', async () => {
    const changes: unknown[] = []
    const store = new MemoryKeyStore()
    const m = new KeyManager(store, { onWrite: (c) => changes.push(c) })
    const { record } = await m.issue({ kind: 'org' })
    const rotated = await m.rotate(record.id, { graceMs: 10 })
    expect(changes.at(-1)).toEqual({ type: 'key', id: record.id, hashes: [record.hash, rotated.record.hash] })
    await m.delete(record.id)
    expect(changes.at(-1)).toEqual({ type: 'key', id: record.id, hashes: [rotated.record.hash, record.hash] })
  })
})

describe('key groups', () => {
  it('creates, updates and refuses to delete a group that still has keys', async () => {
    const h = harness()
    const g = await h.manager.createGroup({ name: 'Partner A', description: 'd', tenant: 't', allowedIps: ['198.51.100.0/24'] })
    expect(await h.manager.updateGroup(g.id, { name: 'Partner B', description: null })).toMatchObject({ name: 'Partner B' })
    const { id } = await h.issue({ kind: 'org', tenant: 't', group: g.id })
    await expect(h.manager.deleteGroup(g.id)).rejects.toThrow(ConflictError)
    await h.manager.delete(id)
    expect(await h.manager.deleteGroup(g.id)).toBe(true)
    expect(await h.manager.listGroups({ tenant: 't' })).toEqual([])
  })

  it('validates group fields', async () => {
    const h = harness()
    await expect(h.manager.createGroup({ name: '' })).rejects.toThrow(/name/)
    await expect(h.manager.createGroup({ name: 'x', allowedIps: ['0x7f.1'] })).rejects.toThrow(/allowedIps\[0\]/)
    await expect(h.manager.updateGroup('grp_nope', { name: 'x' })).rejects.toThrow(NotFoundError)
  })
})

describe('construction', () => {
  it('refuses a store that cannot be managed and a short pepper', () => {
    expect(() => new KeyManager({ findByHash: async () => undefined } as never)).toThrow(/store/)
    expect(() => new KeyManager(new MemoryKeyStore(), { pepper: 'short' })).toThrow(/pepper/)
    expect(() => new KeyManager(new MemoryKeyStore(), { prefix: 'Bad!' })).toThrow(/prefix/)
  })
})
