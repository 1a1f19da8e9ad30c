/**
 * The operator's read side of the admin API: paged lists with filters and sort orders, the key
 * start, usage series fed by `onDecision`, and the audit trail, all scoped to the caller's tenant.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { auditTo, MemoryAuditStore, MemoryUsageRecorder, usageOnDecision, type AuditEntry } from '../../src/admin/index.js'
import { MAX_LIMIT } from '../../src/admin/_list.js'
import { fixture, T0, type Fixture, type KeyView } from './_fixture.js'

interface Page {
  items: (KeyView & { leaked?: true })[]
  nextCursor?: string
}

async function withStores(): Promise<Fixture & { auditStore: MemoryAuditStore; usage: MemoryUsageRecorder }> {
  const auditStore = new MemoryAuditStore()
  const usage = new MemoryUsageRecorder()
  const f = await fixture({ handler: { auditStore, usage }, authorizer: { onDecision: usageOnDecision(usage) } })
  return Object.assign(f, { auditStore, usage })
}

/** Every page of `path` (which has no cursor yet), following `nextCursor`. */
async function walk(f: Fixture, key: string, path: string): Promise<KeyView[]> {
  const out: KeyView[] = []
  let cursor: string | undefined
  for (let i = 0; i < 100; i++) {
    const sep = path.includes('?') ? '&' : '?'
    const r = await f.call(key, 'GET', `${path}${cursor === undefined ? '' : `${sep}cursor=${encodeURIComponent(cursor)}`}`)
    expect(r.status).toBe(200)
    const page = r.json<Page>()
    out.push(...page.items)
    if (page.nextCursor === undefined) return out
    cursor = page.nextCursor
  }
  throw new Error('more than 100 pages')
}

describe('cursor pagination of the key list', () => {
  it('returns every key of the tenant exactly once across pages, in a stable order, for every sort', async () => {
    const f = await fixture()
    for (let i = 0; i < 230; i++) {
      f.clock.set(T0 + Math.floor(i / 7) * 1000) // many keys share a creation time
      const expiresAt = i % 3 === 0 ? undefined : T0 + 1e9 + (i % 11) * 1000
      await f.manager.issue({ kind: 'user', tenant: 'acme', owner: `u${i % 13}@acme.test`, role: 'Read Only', ...(expiresAt === undefined ? {} : { expiresAt }) })
    }
    await f.manager.issue({ kind: 'user', tenant: 'globex', owner: 'x@globex.test', role: 'Read Only' })
    const all = (await f.manager.list({ tenant: 'acme' })).map((k) => k.id).sort()
    for (const sort of ['createdAt', '-createdAt', 'lastUsedAt', '-lastUsedAt', 'expiresAt', '-expiresAt', 'owner', '-owner']) {
      const seen = await walk(f, f.acme, `/admin/api/keys?limit=37&sort=${encodeURIComponent(sort)}`)
      expect(seen.map((k) => k.id).sort(), sort).toEqual(all)
      expect(new Set(seen.map((k) => k.id)).size, sort).toBe(seen.length)
    }
  })

  it('neither repeats nor skips a key that stays while others are created and deleted between pages', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }), async (limit, edits) => {
        const f = await fixture()
        const ids: string[] = []
        for (let i = 0; i < 20; i++) {
          f.clock.set(T0 + (i % 4))
          ids.push((await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'o@acme.test', role: 'Read Only' })).record.id)
        }
        const stay = new Set([...ids, f.acmeId])
        const seen: string[] = []
        let cursor: string | undefined
        let step = 0
        do {
          const r = await f.call(f.acme, 'GET', `/admin/api/keys?limit=${limit}${cursor === undefined ? '' : `&cursor=${cursor}`}`)
          const page = r.json<Page>()
          seen.push(...page.items.map((k) => k.id))
          cursor = page.nextCursor
          const edit = edits[step++ % edits.length]
          if (edit) {
            const created = (await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'n@acme.test', role: 'Read Only' })).record.id
            void created
          } else {
            const victim = ids.pop()
            if (victim !== undefined) {
              await f.manager.delete(victim)
              stay.delete(victim)
            }
          }
        } while (cursor !== undefined)
        expect(new Set(seen).size).toBe(seen.length)
        for (const id of stay) expect(seen).toContain(id)
      }),
      { numRuns: 15 },
    )
  })

  it.each([
    ['limit=0', 'limit'],
    [`limit=${MAX_LIMIT + 1}`, 'limit'],
    ['limit=abc', 'limit'],
    ['cursor=!!', 'cursor'],
    ['cursor=eyJhIjoxfQ', 'cursor'],
    ['sort=hash', 'sort'],
    ['status=deleted', 'status'],
    ['expiresBefore=tomorrow', 'expiresBefore'],
    ['limit=1&limit=2', 'limit'],
    ['hash=abc', 'hash'],
  ])('refuses %s with 400 naming %s', async (query, field) => {
    const f = await fixture()
    const r = await f.call(f.acme, 'GET', `/admin/api/keys?${query}`)
    expect(r.status).toBe(400)
    expect(r.json().field).toBe(field)
  })

  it('refuses a cursor made for another sort order instead of misreading it', async () => {
    const f = await fixture()
    for (let i = 0; i < 3; i++) await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'o@acme.test', role: 'Read Only' })
    const first = (await f.call(f.acme, 'GET', '/admin/api/keys?limit=1&sort=owner')).json<Page>()
    expect(first.nextCursor).toBeDefined()
    const r = await f.call(f.acme, 'GET', `/admin/api/keys?limit=1&sort=createdAt&cursor=${first.nextCursor}`)
    expect(r.status).toBe(400)
    expect(r.json().field).toBe('cursor')
  })

  it('pages groups too, and never shows another tenant through a cursor', async () => {
    const f = await fixture()
    for (let i = 0; i < 5; i++) {
      f.clock.set(T0 + i)
      await f.manager.createGroup({ name: `g${i}`, tenant: 'acme' })
    }
    for (let i = 0; i < 5; i++) await f.manager.createGroup({ name: `x${i}`, tenant: 'globex' })
    const seen = await walk(f, f.acme, '/admin/api/groups?limit=2')
    expect(seen.map((g) => (g as unknown as { name: string }).name)).toEqual(['g0', 'g1', 'g2', 'g3', 'g4'])
  })
})

describe('finding keys', () => {
  it('keeps a short start of each key at issue and rotation, and finds the record from a pasted start', async () => {
    const f = await fixture()
    const issued = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'o@acme.test', role: 'Read Only' })
    const start = issued.record.start!
    // prefix `kw`, `_`, then exactly 4 of the 32 random characters.
    expect(start).toBe(issued.key.slice(0, 'kw_'.length + 4))
    const r = await f.call(f.acme, 'GET', `/admin/api/keys?prefix=${start}`)
    expect(r.json<Page>().items.map((k) => k.id)).toEqual([issued.record.id])
    expect(r.text).not.toContain(issued.key)
    const rotated = await f.manager.rotate(issued.record.id, { graceMs: 0 })
    expect(rotated.record.start).toBe(rotated.key.slice(0, 7))
    const again = await f.call(f.acme, 'GET', `/admin/api/keys?prefix=${rotated.record.start}`)
    expect(again.json<Page>().items.map((k) => k.id)).toEqual([issued.record.id])
  })

  it('refuses a whole key pasted as a prefix without echoing it', async () => {
    const f = await fixture()
    const issued = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'o@acme.test', role: 'Read Only' })
    const r = await f.call(f.acme, 'GET', `/admin/api/keys?prefix=${issued.key}`)
    expect(r.status).toBe(400)
    expect(r.json().field).toBe('prefix')
    expect(r.text).not.toContain(issued.key)
    expect(JSON.stringify(f.audit)).not.toContain(issued.key)
  })

  it('filters by owner, role, kind, group, description, status and expiry window', async () => {
    const f = await withStores()
    const g = await f.manager.createGroup({ name: 'ci', tenant: 'acme' })
    const a = (await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'ana@acme.test', role: 'Read Only', description: 'Nightly CI', group: g.id })).record
    const b = (await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'bo@acme.test', role: 'Read Write', expiresAt: T0 + 5000 })).record
    const c = (await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'bo@acme.test', role: 'Read Only', active: false, expiresAt: T0 + 9000 })).record
    await f.manager.issue({ kind: 'user', tenant: 'globex', owner: 'ana@acme.test', role: 'Read Only' })
    await f.auditStore.append({ at: T0, action: 'reportLeak', outcome: 'success', status: 200, tenant: 'acme', target: c.id, code: 'key_leaked' })
    const ids = async (q: string): Promise<string[]> => {
      const r = await f.call(f.acme, 'GET', `/admin/api/keys?${q}`)
      expect(r.status, q).toBe(200)
      return r.json<Page>().items.map((k) => k.id).sort()
    }
    expect(await ids('owner=ana@acme.test')).toEqual([a.id])
    expect(await ids('owner=bo@acme.test')).toEqual([b.id, c.id].sort())
    expect(await ids('role=Read%20Write')).toEqual([b.id])
    expect(await ids(`group=${g.id}`)).toEqual([a.id])
    expect(await ids('q=nightly')).toEqual([a.id])
    expect(await ids('kind=org')).toEqual([f.acmeId])
    expect(await ids('status=inactive')).toEqual([c.id])
    expect(await ids('status=leaked')).toEqual([c.id])
    expect(await ids(`expiresAfter=${T0 + 6000}`)).toEqual([c.id])
    expect(await ids(`expiresBefore=${T0 + 6000}`)).toEqual([b.id])
    f.clock.set(T0 + 6000)
    expect(await ids('status=expired')).toEqual([b.id])
    expect(await ids('status=active')).toEqual([f.acmeId, a.id].sort())
    const leaked = (await f.call(f.acme, 'GET', '/admin/api/keys?status=leaked')).json<Page>().items[0]!
    expect(leaked.leaked).toBe(true)
  })
})

describe('usage per key', () => {
  it('counts allowed and each deny code per hour, and serves the 24h and 30d series', async () => {
    const f = await withStores()
    const k = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'o@acme.test', role: 'Read Only' })
    for (let i = 0; i < 5; i++) expect(await f.allowed(k.key, 'scans:read')).toBe(true)
    for (let i = 0; i < 3; i++) expect(await f.allowed(k.key, 'scans:administer')).toBe(false)
    f.clock.set(T0 + 2 * 3_600_000)
    expect(await f.allowed(k.key, 'scans:read')).toBe(true)
    const day = (await f.call(f.acme, 'GET', `/admin/api/keys/${k.record.id}/usage?window=24h`)).json<{
      points: { start: number; total: number; counts: Record<string, number> }[]
      outcomes: string[]
      recording: boolean
    }>()
    expect(day.recording).toBe(true)
    expect(day.points).toHaveLength(24)
    expect(day.outcomes).toEqual(['allowed', 'insufficient_permission'])
    const byStart = new Map(day.points.map((p) => [p.start, p]))
    expect(byStart.get(T0)!.counts).toEqual({ allowed: 5, insufficient_permission: 3 })
    expect(byStart.get(T0 + 2 * 3_600_000)!.counts).toEqual({ allowed: 1 })
    expect(day.points.reduce((n, p) => n + p.total, 0)).toBe(9)
    const month = (await f.call(f.acme, 'GET', `/admin/api/keys/${k.record.id}/usage?window=30d`)).json<{ points: { total: number }[] }>()
    expect(month.points).toHaveLength(30)
    expect(month.points.at(-1)!.total).toBe(9)
  })

  it('answers 404 for another tenant\'s key, and 503 when the recorder fails', async () => {
    const f = await withStores()
    const other = await f.manager.issue({ kind: 'user', tenant: 'globex', owner: 'o@globex.test', role: 'Read Only' })
    expect((await f.call(f.acme, 'GET', `/admin/api/keys/${other.record.id}/usage`)).status).toBe(404)
    f.usage.series = async () => {
      throw new Error('redis down')
    }
    const r = await f.call(f.acme, 'GET', `/admin/api/keys/${f.acmeId}/usage`)
    expect(r.status).toBe(503)
    expect(r.json().code).toBe('store_unavailable')
  })

  it('bounds memory: forgets the least recently recorded key beyond maxKeys', async () => {
    const usage = new MemoryUsageRecorder({ maxKeys: 2 })
    usage.record('a', 'allowed', T0)
    usage.record('b', 'allowed', T0)
    usage.record('a', 'allowed', T0)
    usage.record('c', 'allowed', T0)
    expect(await usage.series('b', { from: T0, to: T0 + 3_600_000 })).toEqual([])
    expect((await usage.series('a', { from: T0, to: T0 + 3_600_000 }))[0]!.counts).toEqual({ allowed: 2 })
  })
})

describe('the audit trail', () => {
  it('records who changed which key, not successful reads, and filters per key within the tenant', async () => {
    const f = await withStores()
    const k = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'o@acme.test', role: 'Read Only' })
    expect((await f.call(f.acme, 'PATCH', `/admin/api/keys/${k.record.id}`, { role: 'Read Write' })).status).toBe(200)
    expect((await f.call(f.acme, 'GET', '/admin/api/keys')).status).toBe(200)
    expect((await f.call(f.globex, 'POST', `/admin/api/keys/${k.record.id}/deactivate`)).status).toBe(404)
    const trail = (await f.call(f.acme, 'GET', `/admin/api/audit?key=${k.record.id}`)).json<{ items: AuditEntry[] }>()
    expect(trail.items.map((e) => [e.action, e.outcome, e.actor, e.target])).toEqual([['updateKey', 'success', f.acmeId, k.record.id]])
    const all = (await f.call(f.acme, 'GET', '/admin/api/audit')).json<{ items: AuditEntry[] }>()
    expect(all.items.every((e) => e.tenant === 'acme')).toBe(true)
    expect(all.items.some((e) => e.action === 'listKeys')).toBe(false)
    // A call without a valid key never reaches the trail (it could flood a bounded one).
    expect((await f.call('kw_nope', 'POST', `/admin/api/keys/${k.record.id}/deactivate`)).status).toBe(401)
    expect((await f.auditStore.list({ tenant: undefined, limit: 50 }))).toEqual([])
    const theirs = (await f.call(f.globex, 'GET', '/admin/api/audit')).json<{ items: AuditEntry[] }>()
    expect(theirs.items.map((e) => [e.action, e.outcome])).toEqual([['deactivateKey', 'not_found']])
  })

  it('pages newest first with an opaque cursor', async () => {
    const f = await withStores()
    const k = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'o@acme.test', role: 'Read Only' })
    for (let i = 0; i < 7; i++) await f.call(f.acme, 'PATCH', `/admin/api/keys/${k.record.id}`, { description: `d${i}` })
    const seqs: number[] = []
    let cursor: string | undefined
    do {
      const r = (await f.call(f.acme, 'GET', `/admin/api/audit?limit=3${cursor === undefined ? '' : `&cursor=${cursor}`}`)).json<{ items: AuditEntry[]; nextCursor?: string }>()
      seqs.push(...r.items.map((e) => e.seq))
      cursor = r.nextCursor
    } while (cursor !== undefined)
    expect(seqs).toHaveLength(7)
    expect([...seqs].sort((a, b) => b - a)).toEqual(seqs)
    expect((await f.call(f.acme, 'GET', '/admin/api/audit?cursor=zzz')).status).toBe(400)
  })

  it('takes leak reports through auditTo, and a failing store answers 503 on read but never changes a write', async () => {
    const f = await withStores()
    const k = await f.manager.issue({ kind: 'user', tenant: 'acme', owner: 'o@acme.test', role: 'Read Only' })
    const sink = auditTo(f.auditStore)
    sink({ at: T0, action: 'reportLeak', outcome: 'success', status: 200, tenant: 'acme', target: k.record.id, code: 'key_leaked' })
    await Promise.resolve()
    const trail = (await f.call(f.acme, 'GET', `/admin/api/audit?key=${k.record.id}`)).json<{ items: AuditEntry[] }>()
    expect(trail.items[0]!.action).toBe('reportLeak')
    f.auditStore.append = async () => {
      throw new Error('pg down')
    }
    f.auditStore.list = async () => {
      throw new Error('pg down')
    }
    expect((await f.call(f.acme, 'PATCH', `/admin/api/keys/${k.record.id}`, { description: 'x' })).status).toBe(200)
    expect(f.errors.length).toBeGreaterThan(0)
    expect((await f.call(f.acme, 'GET', '/admin/api/audit')).status).toBe(503)
  })
})

describe('usage counts are exact', () => {
  it('sums, per hour and outcome, exactly the decisions recorded (any order, any outcomes)', async () => {
    const outcome = fc.constantFrom('allowed', 'insufficient_permission', 'key_expired', 'constructor', '__proto__', 'Bad Code!')
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('k1', 'k2'), outcome, fc.integer({ min: 0, max: 5 * 3_600_000 })), { maxLength: 200 }), async (events) => {
        const usage = new MemoryUsageRecorder()
        const want = new Map<string, number>()
        for (const [key, o, dt] of events) {
          usage.record(key, o, T0 + dt)
          const name = /^[a-z][a-z0-9_]{0,47}$/.test(o) ? o : 'denied'
          const cell = `${key}|${Math.floor((T0 + dt) / 3_600_000) * 3_600_000}|${name}`
          want.set(cell, (want.get(cell) ?? 0) + 1)
        }
        const got = new Map<string, number>()
        for (const key of ['k1', 'k2']) {
          for (const p of await usage.series(key, { from: T0, to: T0 + 6 * 3_600_000 })) {
            for (const [o, c] of Object.entries(p.counts)) got.set(`${key}|${p.start}|${o}`, c)
          }
        }
        expect(got).toEqual(want)
      }),
      { numRuns: 100 },
    )
  })
})
