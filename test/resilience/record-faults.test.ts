/**
 * Anything that goes wrong while reading what the store returned is a store failure: 503
 * `store_unavailable` with `Retry-After`, counted by the circuit breaker. `authorize()` never
 * rejects because of it (it rejects only for misuse), and it is never an allow.
 */
import { describe, expect, it } from 'vitest'
import { createAuthorizer, schemes, type AuthRequest, type DecisionEvent } from '../../src/index.js'
import { testClock } from '../_support/clock.js'
import { spyStore, type Answering, type LookupName } from './_spy-store.js'

interface Case {
  readonly lookup: LookupName
  readonly answering: Answering
  readonly via: 'single' | 'pair'
  /** For the pair: which half's records are poisoned. */
  readonly half?: 'tenant' | 'user'
  readonly style: 'getter' | 'revoked'
}

const CASES: Case[] = []
for (const style of ['getter', 'revoked'] as const) {
  for (const answering of ['peek', 'async'] as const) {
    for (const lookup of ['key', 'group', 'owner'] as const) {
      CASES.push({ lookup, answering, style, via: 'single' })
      for (const half of ['tenant', 'user'] as const) CASES.push({ lookup, answering, style, via: 'pair', half })
    }
  }
}

async function setup(c: Case) {
  const clock = testClock()
  const store = spyStore(c.answering, clock.now)
  const m = store.manager
  const gT = await m.createGroup({ name: 'org', tenant: 'acme' })
  const gU = await m.createGroup({ name: 'users', tenant: 'acme' })
  await store.inner.putOwner('org-admin', { active: true })
  await store.inner.putOwner('ana', { active: true, role: 'Read Write' })
  const org = await m.issue({ kind: 'tenant', tenant: 'acme', group: gT.id, owner: 'org-admin' })
  const ana = await m.issue({ kind: 'user', tenant: 'acme', group: gU.id, owner: 'ana', role: 'Read Write' })
  const events: DecisionEvent[] = []
  const authorizer = createAuthorizer({
    store,
    now: clock.now,
    touchIntervalMs: 0,
    schemes: [c.via === 'pair' ? schemes.contrast() : schemes.apiKeyHeader()],
    breaker: { threshold: 1, cooldownMs: 60_000 },
    onDecision: (e) => events.push(e),
  })
  const target = c.via === 'single' ? ana.record : c.half === 'tenant' ? org.record : ana.record
  const groupId = target.group
  const ownerId = target.owner
  store.poison = {
    lookup: c.lookup,
    style: c.style,
    when: (v) => (c.lookup === 'key' ? v === target || ('id' in v && v.id === target.id) : c.lookup === 'group' ? 'id' in v && v.id === groupId : v === undefined ? false : ownerIs(store, ownerId, v)),
  }
  const headers: Record<string, string> =
    c.via === 'single'
      ? { 'x-api-key': ana.key }
      : { 'api-key': org.key, authorization: Buffer.from(`ana:${ana.key}`).toString('base64') }
  const request: AuthRequest = { method: 'GET', url: '/scans', headers, remoteAddress: '127.0.0.1' }
  return { authorizer, request, events, store }
}

/** Owner records have no id: compare with what the directory holds for that id. */
function ownerIs(store: ReturnType<typeof spyStore>, id: string | undefined, v: object): boolean {
  return id !== undefined && store.inner.peekOwner(id) === v
}

describe('a record whose fields throw when read', () => {
  it.each(CASES)('is a 503 store failure counted by the breaker: $style, $lookup lookup, $answering, $via $half', async (c) => {
    const { authorizer, request, events, store } = await setup(c)
    const d = await authorizer.authorize(request, 'scans:read')
    expect(d.allow).toBe(false)
    expect(d.allow ? undefined : [d.status, d.code, d.reason, d.headers['retry-after'] !== undefined]).toEqual([503, 'service_unavailable', 'store_unavailable', true])
    // The breaker counted it (threshold 1): the same request, now healthy, is refused at once.
    // Except where the failure is the promise itself (a revoked record cannot even be resolved)
    // and the pair's other half really answered after it: a store that answers resets the count.
    if (c.style === 'revoked' && c.answering === 'async' && c.lookup === 'key' && c.half === 'tenant') return
    store.poison = undefined
    const next = await authorizer.authorize(request, 'scans:read')
    expect(next.allow ? 200 : [next.status, events.at(-1)?.detail]).toEqual([503, 'circuit_open'])
  })
})
