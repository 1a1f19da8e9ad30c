/**
 * A revoke that has settled is never undone for a request that starts afterwards, by a lookup
 * that began before it. One table: every write of `KeyManager` that takes a right away, crossed
 * with every way its change can reach a cache (a write through the cache itself, or a change
 * delivered from another instance in each shape the bus can deliver), crossed with the lookup
 * that is in flight when the revoke settles (the key's, and the group's or owner's when the
 * revoke is about those). The inner store answers only when released by hand; one delivery runs
 * on a store with the one-step revokes of a database store (`revokeKey`, `revokeGroup`,
 * `narrowGroupIps`), which `KeyManager` then writes through instead of a compare-and-swap.
 */
import { describe, expect, it } from 'vitest'
import { createAuthorizer } from '../../src/authorize.js'
import { cachedStore, type CachedStore } from '../../src/stores/cached.js'
import { KeyManager, type StoreChange } from '../../src/stores/manager.js'
import type { Decision, DenyDecision, KeyRecord, Need, OwnerRecord } from '../../src/types.js'
import { testClock, type TestClock } from '../_support/clock.js'
import { record, req, settle } from './_helpers.js'
import { OneStepSlowStore, SlowStore, type LookupKind } from './_slow-store.js'

const CLIENT = '203.0.113.9'
const ELSEWHERE = '198.51.100.0/24'

interface Subject {
  /** The plaintext the requests present. */
  key: string
  id: string
  group: string
  /** A second, deactivated group a key can be moved into. */
  offGroup: string
}

interface Row {
  name: string
  /** The lookup whose answer the revoke changes. */
  target: LookupKind
  reason: string
  need?: Need
  explicitGrants?: boolean
  /** The key's own role (default Read Write). */
  keyRole?: string
  /** The authorizer's `rolePrecedence` (default its own default). */
  rolePrecedence?: 'key' | 'owner'
  /** The owner's directory entry before the revoke (default: none, the key's role applies). */
  owner?: OwnerRecord
  /** Rotations with a grace period before the test; the request presents the first key. */
  rotations?: number
  /** The one-step write the revoke goes through on a store that has them. */
  oneStep?: 'revokeKey' | 'revokeGroup' | 'narrowGroupIps'
  /**
   * The revoke. `emit` publishes a change that did not come from `m` (a write straight to the
   * store); it is a no-op for a write through the cache, which sees its own writes.
   */
  revoke(m: KeyManager, s: Subject, clock: TestClock, emit: (c: StoreChange) => void): Promise<unknown>
}

const HOUR = 3_600_000

const rows: Row[] = [
  { name: 'delete', target: 'key', reason: 'unknown_key', revoke: (m, s) => m.delete(s.id) },
  { name: 'deactivate', target: 'key', reason: 'key_disabled', oneStep: 'revokeKey', revoke: (m, s) => m.deactivate(s.id) },
  { name: 'update active: false', target: 'key', reason: 'key_disabled', revoke: (m, s) => m.update(s.id, { active: false }) },
  { name: 'rotate with no grace', target: 'key', reason: 'key_rotated', revoke: (m, s) => m.rotate(s.id, { graceMs: 0 }) },
  { name: 'rotate again during a grace (ends the first key\'s grace)', target: 'key', reason: 'unknown_key', rotations: 1, revoke: (m, s) => m.rotate(s.id, { graceMs: HOUR }) },
  { name: 'endGrace (the rotated key presented)', target: 'key', reason: 'key_rotated', rotations: 1, oneStep: 'revokeKey', revoke: (m, s) => m.endGrace(s.id) },
  {
    name: 'update expiresAt (then the time passes)',
    target: 'key',
    reason: 'key_expired',
    revoke: async (m, s, clock) => {
      await m.update(s.id, { expiresAt: clock.now() + 1_000 })
      clock.advance(2_000)
    },
  },
  { name: 'update role down', target: 'key', reason: 'insufficient_permission', revoke: (m, s) => m.update(s.id, { role: 'Read Only' }) },
  { name: 'update role to none', target: 'key', reason: 'insufficient_permission', revoke: (m, s) => m.update(s.id, { role: null }) },
  { name: 'update scopes narrower', target: 'key', reason: 'insufficient_permission', revoke: (m, s) => m.update(s.id, { scopes: ['scans:read'] }) },
  { name: 'update allowedIps elsewhere', target: 'key', reason: 'ip_not_allowed', revoke: (m, s) => m.update(s.id, { allowedIps: [ELSEWHERE] }) },
  { name: 'removeAllowedIps of the client\'s range', target: 'key', reason: 'ip_not_allowed', revoke: (m, s) => m.removeAllowedIps(s.id, ['203.0.113.0/24']) },
  { name: 'update group to a deactivated one', target: 'key', reason: 'group_disabled', revoke: (m, s) => m.update(s.id, { group: s.offGroup }) },
  {
    name: 'update owner to a locked one',
    target: 'key',
    reason: 'owner_disabled',
    revoke: async (m, s) => {
      await m.setOwner('locked@acme.test', { active: false })
      await m.update(s.id, { owner: 'locked@acme.test' })
    },
  },
  {
    name: 'revokeGrant',
    target: 'key',
    reason: 'operation_not_granted',
    explicitGrants: true,
    need: { permission: 'scans:manage', operation: 'getScans' },
    revoke: (m, s) => m.revokeGrant(s.id, ['getScans']),
  },
  { name: 'deactivateGroup', target: 'group', reason: 'group_disabled', oneStep: 'revokeGroup', revoke: (m, s) => m.deactivateGroup(s.group) },
  { name: 'updateGroup active: false', target: 'group', reason: 'group_disabled', oneStep: 'revokeGroup', revoke: (m, s) => m.updateGroup(s.group, { active: false }) },
  {
    // The group admits the client's range and ELSEWHERE: keeping only ELSEWHERE is a narrowing.
    name: 'updateGroup allowedIps narrowed to elsewhere',
    target: 'group',
    reason: 'ip_not_allowed',
    oneStep: 'narrowGroupIps',
    revoke: (m, s) => m.updateGroup(s.group, { allowedIps: [ELSEWHERE] }),
  },
  {
    // KeyManager refuses to delete a group that has keys; a store written by other means may not.
    name: 'group deleted under its keys (store write)',
    target: 'group',
    reason: 'group_disabled',
    revoke: async (m, s, _clock, emit) => {
      await m.store.deleteGroup(s.group)
      emit({ type: 'group', id: s.group })
    },
  },
  { name: 'setOwner inactive (owner locked)', target: 'owner', reason: 'owner_disabled', owner: { role: 'Read Write', active: true }, revoke: (m) => m.setOwner('ana@acme.test', { active: false }) },
  // The owner lookup in flight reads no entry at all (a miss, which lets the key's own role apply).
  { name: 'setOwner inactive for an owner without an entry', target: 'owner', reason: 'owner_disabled', revoke: (m) => m.setOwner('ana@acme.test', { active: false }) },
  {
    name: 'setOwner with a lower directory role',
    target: 'owner',
    reason: 'insufficient_permission',
    owner: { role: 'Read Write', active: true },
    revoke: (m) => m.setOwner('ana@acme.test', { role: 'Read Only', active: true }),
  },
  {
    name: 'removeOwner (the key\'s own, lower role applies)',
    target: 'owner',
    reason: 'insufficient_permission',
    keyRole: 'Read Only',
    rolePrecedence: 'owner',
    owner: { role: 'Read Write', active: true },
    revoke: (m) => m.removeOwner('ana@acme.test'),
  },
  {
    name: 'setOwner without the operation granted to the user',
    target: 'owner',
    reason: 'operation_not_granted',
    explicitGrants: true,
    need: { operation: 'getProjects' },
    owner: { grants: ['getProjects'], active: true },
    revoke: (m) => m.setOwner('ana@acme.test', { active: true }),
  },
  {
    name: 'setOwner with a lower role in the product the route names',
    target: 'owner',
    reason: 'insufficient_permission',
    need: { permission: 'scans:manage', product: 'appsec' },
    owner: { roles: { appsec: 'Read Write' }, active: true },
    revoke: (m) => m.setOwner('ana@acme.test', { roles: { appsec: 'Read Only' }, active: true }),
  },
]

/** How a change reaches the cache that serves the requests. */
interface Delivery {
  name: string
  /** Whether the write goes through the cache itself (else through another manager, and `deliver`). */
  local: boolean
  /** Whether the store has the one-step revokes (`revokeKey`, `revokeGroup`, `narrowGroupIps`). */
  oneStep?: boolean
  deliver?(cache: CachedStore, change: StoreChange): void
}

const deliveries: Delivery[] = [
  { name: 'a write through the cache', local: true },
  { name: 'a one-step write through the cache', local: true, oneStep: true },
  { name: 'the change as published, with hashes', local: false, deliver: (c, change) => c.invalidate(change) },
  {
    name: 'an id-only change (no hashes field)',
    local: false,
    deliver: (c, change) => c.invalidate({ type: change.type, id: change.id } as StoreChange),
  },
  {
    name: 'a key change with an empty hash list (an id-only bus message)',
    local: false,
    deliver: (c, change) => c.invalidate(change.type === 'key' ? { type: 'key', id: change.id, hashes: [] } : change),
  },
  { name: 'clear()', local: false, deliver: (c) => c.clear() },
  {
    name: 'a malformed change (drops everything, then throws)',
    local: false,
    deliver: (c) => expect(() => c.invalidate({ type: 'key' } as unknown as StoreChange)).toThrow(TypeError),
  },
]

function reasonOf(d: Decision): string {
  return d.allow ? 'allow' : (d as DenyDecision).reason
}

/** Issues the subject straight on the inner store (nothing cached), with a group and an owner. */
async function seed(store: SlowStore, row: Row, clock: TestClock): Promise<Subject> {
  const m = new KeyManager(store.inner, { now: clock.now })
  const group = await m.createGroup({ name: 'Integrations', allowedIps: ['203.0.113.0/24', ELSEWHERE] })
  const off = await m.createGroup({ name: 'Retired', active: false })
  if (row.owner !== undefined) await m.setOwner('ana@acme.test', row.owner)
  const issued = await m.issue({
    kind: 'user',
    owner: 'ana@acme.test',
    role: row.keyRole ?? 'Read Write',
    group: group.id,
    allowedIps: ['203.0.113.0/24'],
    grants: ['getScans'],
  })
  for (let i = 0; i < (row.rotations ?? 0); i++) await m.rotate(issued.record.id, { graceMs: HOUR })
  return { key: issued.key, id: issued.record.id, group: group.id, offGroup: off.id }
}

const cases = rows.flatMap((row) =>
  deliveries.flatMap((delivery) =>
    [...new Set<LookupKind>(['key', row.target])].map((inFlight) => ({ row, delivery, inFlight })),
  ),
)

describe('a settled revoke is never undone by a lookup that was in flight (slow store)', () => {
  it.each(cases.map((c) => [c.row.name, c.delivery.name, c.inFlight, c] as const))(
    '%s, delivered as %s, with the %s lookup in flight: a request that starts afterwards is denied',
    async (_row, _delivery, _inFlight, { row, delivery, inFlight }) => {
      const store = delivery.oneStep === true ? new OneStepSlowStore() : new SlowStore()
      const clock = testClock()
      const subject = await seed(store, row, clock)
      // The cache's own clock stands still: no entry expires and no join window closes during the test.
      const cacheClock = testClock()
      const cache = cachedStore(store, { now: cacheClock.now })
      // The table's needs are plain strings: `<string>` takes any, checked at run time.
      const authorizer = createAuthorizer<string>({
        store: cache,
        now: clock.now,
        touchIntervalMs: 0,
        breaker: false,
        storeTimeoutMs: 600_000,
        explicitGrants: row.explicitGrants ?? false,
        ...(row.rolePrecedence === undefined ? {} : { rolePrecedence: row.rolePrecedence }),
      })
      const need = row.need ?? 'scans:manage'
      const ask = () => authorizer.authorize(req(subject.key, CLIENT), need)
      try {
        // The subject is allowed to begin with.
        store.slow = new Set()
        expect(reasonOf(await ask())).toBe('allow')
        cache.clear()

        // A request whose lookup reads the current state and then waits.
        store.slow = new Set([inFlight])
        const before = ask()
        await settle()
        expect(store.waiting(inFlight)).toBe(true)

        // The revoke settles.
        const changes: StoreChange[] = []
        if (delivery.local) {
          await row.revoke(new KeyManager(cache, { now: clock.now }), subject, clock, () => undefined)
          if (store instanceof OneStepSlowStore) expect(store.oneStep).toEqual(row.oneStep === undefined ? [] : [row.oneStep])
        } else {
          const elsewhere = new KeyManager(store, { now: clock.now, onWrite: (c) => changes.push(c) })
          await row.revoke(elsewhere, subject, clock, (c) => changes.push(c))
          expect(changes.length).toBeGreaterThan(0)
          for (const c of changes) delivery.deliver!(cache, c)
        }

        // A request that starts now, while the older lookup is still in flight.
        const after = ask()
        await store.drain([before, after])
        expect(reasonOf(await after)).toBe(row.reason)
        // And nothing the older lookup read was kept for the requests after it.
        store.slow = new Set()
        expect(reasonOf(await ask())).toBe(row.reason)
      } finally {
        await authorizer.close()
      }
    },
  )
})

describe('what the in-flight check costs', () => {
  async function slowCache() {
    const store = new SlowStore()
    await store.inner.insertKey(record('key_1', 'h1'))
    await store.inner.insertKey(record('key_2', 'h2'))
    return { store, cache: cachedStore(store, { now: testClock().now }) }
  }

  it('requests that join after a change to another key still share the lookup in flight: one store call', async () => {
    const { store, cache } = await slowCache()
    const first = cache.findByHash('h1')
    await settle()
    cache.invalidate({ type: 'key', id: 'key_2' } as StoreChange)
    const joined = Array.from({ length: 50 }, () => cache.findByHash('h1'))
    await store.drain([first, ...joined])
    expect(store.calls.key).toBe(1)
    for (const j of joined) expect((await j)?.id).toBe('key_1')
    // …and the answer is cached: it was not about the invalidated key.
    expect(cache.peekByHash('h1')?.id).toBe('key_1')
  })

  it('a request that joined after its key was invalidated by id alone looks up once more, and gets the new state', async () => {
    const { store, cache } = await slowCache()
    const first = cache.findByHash('h1')
    await settle()
    await store.inner.updateKey({ ...record('key_1', 'h1'), active: false })
    cache.invalidate({ type: 'key', id: 'key_1' } as StoreChange)
    const joined = [cache.findByHash('h1'), cache.findByHash('h1')]
    await store.drain([first, ...joined])
    expect((await first)?.active).toBe(true) // began before the revoke: either answer is fine
    for (const j of joined) expect((await j)?.active).toBe(false)
    expect(store.calls.key).toBe(2) // the two late requests share one new lookup
  })

  it('a request that joined after more invalidations than the cache remembers looks up again (fail safe)', async () => {
    const { store, cache } = await slowCache()
    const first = cache.findByHash('h1')
    await settle()
    for (let i = 0; i < 300; i++) cache.invalidate({ type: 'key', id: `other_${i}`, hashes: [] })
    const joined = cache.findByHash('h1')
    await store.drain([first, joined])
    expect(store.calls.key).toBe(2)
    expect((await joined)?.id).toBe('key_1')
  })

  it('a record without a readable id is served to the request that asked, never to one that joined after an invalidation', async () => {
    const store = new SlowStore()
    const odd = { hash: 'h1', kind: 'user', active: true, createdAt: 0 } as unknown as KeyRecord
    store.inner.findByHash = async () => odd
    const cache = cachedStore(store, { now: testClock().now })
    const first = cache.findByHash('h1')
    await settle()
    cache.invalidate({ type: 'key', id: 'anything' } as StoreChange)
    const joined = cache.findByHash('h1')
    await store.drain([first, joined])
    expect(await first).toBe(odd)
    expect(store.calls.key).toBe(2)
    expect(cache.size).toBe(0)
  })
})
