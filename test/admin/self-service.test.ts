/**
 * Self-service key management over real HTTP (the admin handler mounted in Express on
 * 127.0.0.1): a user key without the admin permission manages its own owner's keys only, with
 * its own rights as the ceiling; every other key answers exactly like an unknown id.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryAuditStore, MemoryUsageRecorder, type AdminHandlerOptions } from '../../src/admin/index.js'
import { close } from '../adapters/_http.js'
import { fixture, T0, type Fixture, type Issued, type KeyView, type List, type ProblemBody } from './_fixture.js'
import { serve, servers } from './_mounts.js'

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => close(s)))
})

interface Setup {
  f: Fixture
  base: string
  ana: Issued
  anaSpare: Issued
  bob: Issued
  call(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>
}

async function setup(selfService = true, handler: Partial<AdminHandlerOptions> = {}): Promise<Setup> {
  const f = await fixture({ handler: { permission: 'global-blackouts:manage', selfService, ...handler } })
  const base = await serve('express5', f.handler)
  const issue = async (owner: string, description: string): Promise<Issued> => {
    const { key, record } = await f.manager.issue({ kind: 'user', owner, role: 'Read Write', tenant: 'acme', description })
    return { key, record: record as unknown as KeyView }
  }
  const ana = await issue('ana@acme.test', 'ana ci')
  const anaSpare = await issue('ana@acme.test', 'ana spare')
  const bob = await issue('bob@acme.test', 'bob ci')
  async function call(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${base}/admin/api${path}`, {
      method,
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) }
  }
  return { f, base, ana, anaSpare, bob, call }
}

/** Every route that takes a key id, with a body it accepts. */
const KEY_ROUTES: [string, string, unknown][] = [
  ['GET', '', undefined],
  ['PATCH', '', { description: 'mine now' }],
  ['DELETE', '', undefined],
  ['POST', '/activate', undefined],
  ['POST', '/deactivate', undefined],
  ['POST', '/rotate', { graceMs: 0 }],
  ['POST', '/grants/add', { operations: ['getScans'] }],
  ['POST', '/grants/remove', { operations: ['getScans'] }],
  ['POST', '/allowed-ips/add', { entries: ['10.0.0.0/8'] }],
  ['POST', '/allowed-ips/remove', { entries: ['10.0.0.0/8'] }],
]

describe('self-service key management', () => {
  it('lists only the caller\'s own keys, whatever the owner filter', async () => {
    const s = await setup()
    const mine = await s.call(s.ana.key, 'GET', '/keys')
    expect(mine.status).toBe(200)
    expect((mine.body as List<KeyView>).items.map((k) => k.id).sort()).toEqual([s.ana.record.id, s.anaSpare.record.id].sort())
    const theirs = await s.call(s.ana.key, 'GET', `/keys?owner=${encodeURIComponent('bob@acme.test')}`)
    expect(theirs).toEqual({ status: 200, body: { items: [] } })
  })

  it('answers every route on another user\'s key exactly like an unknown id (404), and changes nothing', async () => {
    const s = await setup()
    const before = await s.f.manager.get(s.bob.record.id)
    for (const [method, suffix, body] of KEY_ROUTES) {
      const other = await s.call(s.ana.key, method, `/keys/${s.bob.record.id}${suffix}`, body)
      const unknown = await s.call(s.ana.key, method, `/keys/key_doesNotExist0000${suffix}`, body)
      expect({ route: `${method} ${suffix}`, status: other.status }).toEqual({ route: `${method} ${suffix}`, status: 404 })
      expect(other.body).toEqual(unknown.body)
    }
    expect(await s.f.manager.get(s.bob.record.id)).toEqual(before)
    expect(await s.f.allowed(s.bob.key)).toBe(true)
  })

  it('hides org keys of the same tenant and every group', async () => {
    const s = await setup()
    const g = await s.f.manager.createGroup({ name: 'ops', tenant: 'acme' })
    expect((await s.call(s.ana.key, 'GET', `/keys/${s.f.acmeId}`)).status).toBe(404)
    expect(await s.call(s.ana.key, 'GET', '/groups')).toEqual({ status: 200, body: { items: [] } })
    for (const [method, suffix] of [['GET', ''], ['PATCH', ''], ['DELETE', ''], ['POST', '/activate'], ['POST', '/deactivate']] as const) {
      expect((await s.call(s.ana.key, method, `/groups/${g.id}${suffix}`, method === 'PATCH' ? { name: 'x' } : undefined)).status).toBe(404)
    }
    expect((await s.call(s.ana.key, 'POST', '/groups', { name: 'mine' })).status).toBe(403)
  })

  it('issues a key for the caller\'s own owner and tenant, up to the caller\'s own role, and returns its secret', async () => {
    const s = await setup()
    const made = await s.call(s.ana.key, 'POST', '/keys', { kind: 'user', role: 'Read Only', description: 'laptop' })
    expect(made.status).toBe(201)
    const { key, record } = made.body as Issued
    expect([record.owner, record.tenant, record.role]).toEqual(['ana@acme.test', 'acme', 'Read Only'])
    expect(await s.f.allowed(key)).toBe(true)
    expect((await s.call(s.ana.key, 'POST', '/keys', { kind: 'user', role: 'Product Admin' })).body).toMatchObject({ status: 403, code: 'exceeds_caller_rights' })
    expect((await s.call(s.ana.key, 'POST', '/keys', { kind: 'org' })).body).toMatchObject({ status: 403, code: 'exceeds_caller_rights' })
    expect((await s.call(s.ana.key, 'POST', '/keys', { kind: 'user', owner: 'bob@acme.test' })).body).toMatchObject({ status: 400, field: 'owner' })
    expect((await s.call(s.ana.key, 'POST', '/keys', { kind: 'user', metadata: { admin: true } })).body).toMatchObject({ status: 400, field: 'metadata' })
    expect((await s.f.manager.list({ owner: 'bob@acme.test' })).length).toBe(1)
  })

  it('rotates the caller\'s own other key and hands the new secret to its owner', async () => {
    const s = await setup()
    const r = await s.call(s.ana.key, 'POST', `/keys/${s.anaSpare.record.id}/rotate`, { graceMs: 0 })
    expect(r.status).toBe(200)
    const { key } = r.body as Issued
    expect(await s.f.allowed(key)).toBe(true)
    expect(await s.f.allowed(s.anaSpare.key)).toBe(false)
  })

  it('deletes and deactivates the caller\'s own keys, edits only role, scopes, grants and description, and leaves activation and addresses to administrators', async () => {
    const s = await setup()
    const spare = s.anaSpare.record.id
    expect((await s.call(s.ana.key, 'PATCH', `/keys/${spare}`, { role: 'Read Only' })).status).toBe(200)
    expect((await s.call(s.ana.key, 'PATCH', `/keys/${spare}`, { role: 'Product Admin' })).body).toMatchObject({ status: 403, code: 'exceeds_caller_rights' })
    expect((await s.call(s.ana.key, 'PATCH', `/keys/${spare}`, { expiresAt: null })).body).toMatchObject({ status: 400, field: 'expiresAt' })
    expect((await s.call(s.ana.key, 'PATCH', `/keys/${spare}`, { active: true })).body).toMatchObject({ status: 400, field: 'active' })
    expect((await s.call(s.ana.key, 'POST', `/keys/${spare}/deactivate`)).status).toBe(200)
    expect((await s.call(s.ana.key, 'POST', `/keys/${spare}/activate`)).body).toMatchObject({ status: 403, code: 'self_service' })
    expect((await s.call(s.ana.key, 'POST', `/keys/${spare}/allowed-ips/remove`, { entries: ['10.0.0.0/8'] })).body).toMatchObject({ status: 403, code: 'self_service' })
    expect(await s.f.allowed(s.anaSpare.key)).toBe(false)
    expect((await s.call(s.ana.key, 'DELETE', `/keys/${spare}`)).status).toBe(204)
    expect((await s.call(s.ana.key, 'DELETE', `/keys/${s.ana.record.id}`)).body).toMatchObject({ status: 403, code: 'self_modification' })
  })

  it('refuses a user key without the admin permission when self-service is off (403, as before)', async () => {
    const s = await setup(false)
    for (const [method, path] of [['GET', '/keys'], ['GET', `/keys/${s.anaSpare.record.id}`], ['POST', '/keys']] as const) {
      const r = await s.call(s.ana.key, method, path, method === 'POST' ? { kind: 'user' } : undefined)
      expect(r.body).toMatchObject({ status: 403, code: 'insufficient_permission' })
    }
  })

  it('keeps administrators unscoped: a holder of the permission still sees every user key of its tenant', async () => {
    const s = await setup()
    const items = (await s.call(s.f.acme, 'GET', '/keys')).body as List<KeyView>
    expect(items.items.map((k) => k.id)).toEqual(expect.arrayContaining([s.ana.record.id, s.bob.record.id]))
    const problem = (await s.call(s.ana.key, 'GET', `/keys/${s.bob.record.id}`)).body as ProblemBody
    expect(problem.code).toBe('not_found')
  })

  it('refuses a selfService option that is not a boolean, naming it', async () => {
    await expect(fixture({ handler: { selfService: 'yes' as never } })).rejects.toThrow(/selfService/)
  })
})

describe('self-service reads: the key list, usage and the audit trail', () => {
  /** Ana's and Bob's keys (several each, some sharing a creation time), and a reader of whole lists. */
  async function many(): Promise<Setup & { anaIds: string[]; bobKeys: Issued[]; walk(key: string, query: string): Promise<{ ids: string[]; statuses: number[] }> }> {
    const s = await setup(true, { auditStore: new MemoryAuditStore(), usage: new MemoryUsageRecorder() })
    const bobKeys: Issued[] = [s.bob]
    const anaIds = [s.ana.record.id, s.anaSpare.record.id]
    for (let i = 0; i < 9; i++) {
      s.f.clock.set(T0 + 1000 + Math.floor(i / 3) * 1000)
      const owner = i % 2 === 0 ? 'ana@acme.test' : 'bob@acme.test'
      const { key, record } = await s.f.manager.issue({ kind: 'user', owner, role: 'Read Only', tenant: 'acme', description: `ci ${i}`, expiresAt: T0 + 1e9 + i })
      if (owner === 'ana@acme.test') anaIds.push(record.id)
      else bobKeys.push({ key, record: record as unknown as KeyView })
    }
    async function walk(key: string, query: string): Promise<{ ids: string[]; statuses: number[] }> {
      const ids: string[] = []
      const statuses: number[] = []
      let cursor: string | undefined
      for (let i = 0; i < 50; i++) {
        const sep = query === '' ? '' : '&'
        const r = await s.call(key, 'GET', `/keys?limit=2${sep}${query}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)
        statuses.push(r.status)
        if (r.status !== 200) return { ids, statuses }
        const page = r.body as List<KeyView> & { nextCursor?: string }
        ids.push(...page.items.map((k) => k.id))
        if (page.nextCursor === undefined) return { ids, statuses }
        cursor = page.nextCursor
      }
      throw new Error('more than 50 pages')
    }
    return Object.assign(s, { anaIds, bobKeys, walk })
  }

  it('pages through exactly the caller\'s own keys, once each, for every sort order', async () => {
    const s = await many()
    for (const sort of ['createdAt', '-createdAt', 'lastUsedAt', '-lastUsedAt', 'expiresAt', '-expiresAt', 'owner', '-owner']) {
      const { ids, statuses } = await s.walk(s.ana.key, `sort=${encodeURIComponent(sort)}`)
      expect(statuses.every((x) => x === 200), sort).toBe(true)
      expect(ids.slice().sort(), sort).toEqual(s.anaIds.slice().sort())
      expect(new Set(ids).size, sort).toBe(ids.length)
    }
  })

  it('reveals none of another user\'s keys through any filter, a pasted start or an administrator\'s cursor', async () => {
    const s = await many()
    const bobIds = new Set(s.bobKeys.map((k) => k.record.id))
    const filters = [
      `owner=${encodeURIComponent('bob@acme.test')}`,
      `owner=${encodeURIComponent('BOB@acme.test')}`,
      ...s.bobKeys.map((k) => `prefix=${k.record.start!}`),
      'kind=user',
      'kind=org',
      'active=true',
      'status=active',
      'role=Read%20Only',
      'q=ci',
      `tenant=acme`,
      `expiresAfter=${T0}`,
    ]
    for (const query of filters) {
      const { ids } = await s.walk(s.ana.key, query)
      expect(ids.filter((id) => bobIds.has(id)), query).toEqual([])
      expect(ids.every((id) => s.anaIds.includes(id)), query).toBe(true)
    }
    for (const k of s.bobKeys) expect((await s.walk(s.ana.key, `prefix=${k.record.start!}`)).ids, 'bob start').toEqual([])
    // Her own start finds her key, so the empty answers above are the scope, not a broken filter.
    const own = (await s.f.manager.get(s.anaSpare.record.id))!.start!
    expect((await s.walk(s.ana.key, `prefix=${own}`)).ids).toContain(s.anaSpare.record.id)
    // A cursor taken from an administrator's list (which holds Bob's keys) pages Ana's keys only.
    const adminFirst = (await s.call(s.f.acme, 'GET', '/keys?limit=3')).body as List<KeyView> & { nextCursor?: string }
    expect(adminFirst.nextCursor).toBeDefined()
    const r = await s.call(s.ana.key, 'GET', `/keys?limit=50&cursor=${encodeURIComponent(adminFirst.nextCursor!)}`)
    if (r.status === 200) expect((r.body as List<KeyView>).items.every((k) => s.anaIds.includes(k.id))).toBe(true)
    else expect(r.body).toMatchObject({ status: 400, field: 'cursor' })
  })

  it('charts the usage of the caller\'s own keys and answers another user\'s exactly like an unknown id (404)', async () => {
    const s = await many()
    expect((await s.call(s.ana.key, 'GET', `/keys/${s.anaSpare.record.id}/usage`)).status).toBe(200)
    const unknown = await s.call(s.ana.key, 'GET', '/keys/key_doesNotExist0000/usage')
    for (const id of [s.bob.record.id, s.f.acmeId, s.f.globexId]) {
      const other = await s.call(s.ana.key, 'GET', `/keys/${id}/usage`)
      expect(other).toEqual({ status: 404, body: unknown.body })
    }
  })

  it('refuses the audit trail to a self-service caller with 403 self_service, for any query', async () => {
    const s = await many()
    expect((await s.call(s.f.acme, 'GET', '/audit')).status).toBe(200)
    for (const query of ['', `?key=${s.ana.record.id}`, `?key=${s.bob.record.id}`, '?limit=1']) {
      expect((await s.call(s.ana.key, 'GET', `/audit${query}`)).body, query).toMatchObject({ status: 403, code: 'self_service' })
    }
  })
})
