/**
 * Load test of the three adapters: a few thousand concurrent requests (50 in flight) over
 * loopback, mixing valid keys, unknown keys, bad checksums, keys revoked before the run, keys
 * revoked *during* the run (deactivated, deleted, their group deactivated, their owner locked),
 * missing and malformed credentials and a missing permission. Every response is checked: its
 * status and code are exactly what they must be, an allowed request carries its own key's
 * principal, and nothing sent after a revoke completed is allowed.
 *
 * Bounded: about 1,500 requests per server, six servers (three frameworks × a MemoryKeyStore or a
 * cachedStore over one). No timing assertion anywhere.
 */
import { createServer, type Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import express from 'express'
import { Hono } from 'hono'
import Koa from 'koa'
import { afterAll, describe, expect, it } from 'vitest'
import { guard as expressGuard } from '../../src/adapters/express.js'
import { guard as honoGuard } from '../../src/adapters/hono.js'
import { guard as koaGuard } from '../../src/adapters/koa.js'
import { createAuthorizer, type Authorizer } from '../../src/authorize.js'
import { generateKey } from '../../src/keys/format.js'
import { tokenBucket } from '../../src/ratelimit/token-bucket.js'
import { cachedStore } from '../../src/stores/cached.js'
import { KeyManager } from '../../src/stores/manager.js'
import { MemoryKeyStore } from '../../src/stores/memory.js'
import type { ManagedKeyStore, Principal } from '../../src/types.js'
import { httpGet } from '../_support/http-get.js'
import { close, listen } from '../adapters/_http.js'

const TOTAL = 1_500
const IN_FLIGHT = 50
/** The revokes start when this many requests have been sent. */
const REVOKE_AT = Math.floor(TOTAL / 3)

type Framework = 'express' | 'koa' | 'hono'
type StoreKind = 'memory' | 'cached'

const ALLOWED_ROUTE = '/scans' // needs scans:read, which every key below has
const FORBIDDEN_ROUTE = '/blackouts' // needs global-blackouts:manage, which no key below has

function body(p: Principal | undefined): string {
  return JSON.stringify({ keyId: p?.keyId ?? null })
}

function app(framework: Framework, authorizer: Authorizer): Server {
  switch (framework) {
    case 'express': {
      const a = express()
      const requireKey = expressGuard(authorizer)
      a.get(ALLOWED_ROUTE, requireKey('scans:read'), (req, res) => {
        res.type('application/json').send(body(req.principal))
      })
      a.get(FORBIDDEN_ROUTE, requireKey('global-blackouts:manage'), (req, res) => {
        res.type('application/json').send(body(req.principal))
      })
      return createServer(a)
    }
    case 'koa': {
      const a = new Koa()
      a.silent = true
      const allowed = koaGuard(authorizer)('scans:read')
      const forbidden = koaGuard(authorizer)('global-blackouts:manage')
      a.use(async (ctx, next) => {
        const mw = ctx.path === ALLOWED_ROUTE ? allowed : ctx.path === FORBIDDEN_ROUTE ? forbidden : undefined
        if (mw === undefined) return next()
        await mw(ctx, async () => {
          ctx.type = 'application/json'
          ctx.body = body(ctx.state.principal)
        })
      })
      return createServer(a.callback())
    }
    case 'hono': {
      const a = new Hono()
      const requireKey = honoGuard(authorizer)
      a.get(ALLOWED_ROUTE, requireKey('scans:read'), (c) => c.body(body(c.get('principal')), 200, { 'content-type': 'application/json' }))
      a.get(FORBIDDEN_ROUTE, requireKey('global-blackouts:manage'), (c) => c.body(body(c.get('principal')), 200, { 'content-type': 'application/json' }))
      return createAdaptorServer({ fetch: a.fetch }) as Server
    }
  }
}

/** What a request is, and so what its answer must be. */
type Kind =
  | 'valid'
  | 'forbidden' // a valid key on a route it lacks the permission for
  | 'unknown'
  | 'bad-checksum'
  | 'revoked-before'
  | 'revoked-during'
  | 'missing'
  | 'malformed'

/** How a key revoked during the run is revoked. */
type Revoke = 'deactivate' | 'delete' | 'group' | 'owner'
const REVOKES: readonly Revoke[] = ['deactivate', 'delete', 'group', 'owner']

interface Planned {
  readonly kind: Kind
  readonly route: string
  readonly key?: string
  /** The record id of a real key (valid, forbidden, revoked-during). */
  readonly id?: string
  readonly revoke?: Revoke
}

interface Outcome {
  readonly plan: Planned
  /** Order in which the request was sent. */
  readonly sent: number
  readonly status: number
  readonly code: string | undefined
  readonly keyId: string | null | undefined
}

function badChecksum(key: string): string {
  return key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A')
}

/** A deterministic shuffle (so a failure reproduces). */
function shuffle<T>(xs: T[], seed: number): T[] {
  let s = seed >>> 0
  for (let i = xs.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    const j = s % (i + 1)
    ;[xs[i], xs[j]] = [xs[j]!, xs[i]!]
  }
  return xs
}

async function setup(storeKind: StoreKind) {
  const memory = new MemoryKeyStore()
  const store: ManagedKeyStore = storeKind === 'memory' ? memory : cachedStore(memory)
  const manager = new KeyManager(store)
  const valid = await Promise.all(Array.from({ length: 6 }, (_, i) => manager.issue({ kind: 'user', owner: `user${i}`, role: 'Read Write' })))
  const org = await manager.issue({ kind: 'org' })
  const before = await Promise.all(Array.from({ length: 3 }, (_, i) => manager.issue({ kind: 'user', owner: `gone${i}`, role: 'Product Admin' })))
  for (const b of before) await manager.deactivate(b.record.id)
  const group = await manager.createGroup({ name: 'ops' })
  await store.putOwner!('lockme', { active: true, role: 'Read Write' })
  const during: Record<Revoke, Awaited<ReturnType<KeyManager['issue']>>> = {
    deactivate: await manager.issue({ kind: 'user', owner: 'dee', role: 'Read Write' }),
    delete: await manager.issue({ kind: 'user', owner: 'del', role: 'Read Write' }),
    group: await manager.issue({ kind: 'user', owner: 'grp', role: 'Read Write', group: group.id }),
    owner: await manager.issue({ kind: 'user', owner: 'lockme', role: 'Read Only' }),
  }
  const revoke: Record<Revoke, () => Promise<unknown>> = {
    deactivate: () => manager.deactivate(during.deactivate.record.id),
    delete: () => manager.delete(during.delete.record.id),
    group: () => manager.deactivateGroup(group.id),
    owner: () => store.putOwner!('lockme', { active: false, role: 'Read Only' }),
  }
  // A generous limit: the limiter's (asynchronous) path runs on every allowed request, and never denies.
  const authorizer = createAuthorizer({ store, rateLimiter: tokenBucket({ capacity: 1_000_000, refillPerSecond: 1_000_000 }) })

  const plan: Planned[] = []
  for (let i = 0; i < TOTAL; i++) {
    const r = i % 20
    if (r < 6) {
      const k = i % 7 === 6 ? org : valid[i % valid.length]!
      plan.push({ kind: 'valid', route: ALLOWED_ROUTE, key: k.key, id: k.record.id })
    } else if (r < 8) {
      const k = valid[i % valid.length]!
      plan.push({ kind: 'forbidden', route: FORBIDDEN_ROUTE, key: k.key, id: k.record.id })
    } else if (r < 10) plan.push({ kind: 'unknown', route: ALLOWED_ROUTE, key: generateKey() })
    else if (r < 11) plan.push({ kind: 'bad-checksum', route: ALLOWED_ROUTE, key: badChecksum(valid[i % valid.length]!.key) })
    else if (r < 12) plan.push({ kind: 'revoked-before', route: ALLOWED_ROUTE, key: before[i % before.length]!.key })
    else if (r < 18) {
      const how = REVOKES[i % REVOKES.length]!
      plan.push({ kind: 'revoked-during', route: ALLOWED_ROUTE, key: during[how].key, id: during[how].record.id, revoke: how })
    } else if (r < 19) plan.push({ kind: 'missing', route: ALLOWED_ROUTE })
    else plan.push({ kind: 'malformed', route: ALLOWED_ROUTE, key: 'two words' })
  }
  return { authorizer, revoke, plan: shuffle(plan, 6) }
}

/** Fires the plan with IN_FLIGHT requests outstanding; starts the revokes once REVOKE_AT were sent. */
async function fire(base: string, plan: readonly Planned[], revoke: Record<Revoke, () => Promise<unknown>>) {
  let sent = 0
  /** Per revoke: the number of requests sent when it completed (requests sent from then on must be denied). */
  const revokedAt: Partial<Record<Revoke, number>> = {}
  const revokes: Promise<void>[] = []
  const outcomes: Outcome[] = []
  let next = 0
  async function worker(): Promise<void> {
    while (next < plan.length) {
      const p = plan[next++]!
      if (sent === REVOKE_AT) {
        for (const how of REVOKES) revokes.push(revoke[how]().then(() => void (revokedAt[how] = sent)))
      }
      const order = sent++
      const headers: Record<string, string> = p.key === undefined ? {} : { 'x-api-key': p.key }
      const res = await httpGet(base + p.route, headers)
      const json = JSON.parse(res.text) as { code?: string; keyId?: string | null }
      outcomes.push({ plan: p, sent: order, status: res.status, code: json.code, keyId: json.keyId })
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  await Promise.all(revokes)
  return { outcomes, revokedAt }
}

const servers: Server[] = []
const authorizers: Authorizer[] = []
afterAll(async () => {
  await Promise.all(servers.map(close))
  await Promise.all(authorizers.map((a) => a.close()))
})

/**
 * A run's time limit, not a bound the test asserts: 1,500 requests take a few seconds on an idle
 * machine, and far longer when other test files share its two cores, which is when the default
 * 20 s limit failed a run whose every answer was right.
 */
const RUN_LIMIT_MS = 180_000

describe.each(['express', 'koa', 'hono'] as const)('%s under load', { timeout: RUN_LIMIT_MS }, (framework) => {
  it.each(['memory', 'cached'] as const)('answers every one of %s-store requests exactly, and allows nothing it must not', async (storeKind) => {
    const { authorizer, revoke, plan } = await setup(storeKind)
    authorizers.push(authorizer)
    const server = app(framework, authorizer)
    servers.push(server)
    const base = await listen(server)
    const { outcomes, revokedAt } = await fire(base, plan, revoke)

    expect(outcomes).toHaveLength(TOTAL)
    for (const how of REVOKES) expect(revokedAt[how], `revoke ${how} completed`).toBeTypeOf('number')
    const wrong: string[] = []
    const seen = new Map<string, number>()
    const count = (label: string) => seen.set(label, (seen.get(label) ?? 0) + 1)
    for (const o of outcomes) {
      const { kind, id, revoke: how } = o.plan
      const allowedOwn = o.status === 200 && o.code === undefined && o.keyId === id
      const denied401 = o.status === 401 && o.code === 'invalid_credentials'
      let ok: boolean
      switch (kind) {
        case 'valid':
          ok = allowedOwn
          break
        case 'forbidden':
          ok = o.status === 403 && o.code === 'insufficient_permission'
          break
        case 'unknown':
        case 'bad-checksum':
        case 'revoked-before':
          ok = denied401
          break
        case 'missing':
          ok = o.status === 401 && o.code === 'missing_credentials'
          break
        case 'malformed':
          ok = o.status === 400 && o.code === 'invalid_request'
          break
        case 'revoked-during': {
          const after = o.sent >= revokedAt[how!]!
          count(`${how} ${after ? 'after' : 'before'}`)
          // Sent after the revoke completed: denied. Before or during it: either answer, but an
          // allow must be this key's own principal.
          ok = after ? denied401 : allowedOwn || denied401
          break
        }
      }
      count(kind)
      if (!ok) wrong.push(`#${o.sent} ${kind}${how ? `/${how}` : ''} → ${o.status} ${o.code ?? ''} ${o.keyId ?? ''}`)
    }
    expect(wrong).toEqual([])
    // Every kind of request really was made, and every revoke was tested after it completed.
    for (const k of ['valid', 'forbidden', 'unknown', 'bad-checksum', 'revoked-before', 'missing', 'malformed']) expect(seen.get(k), k).toBeGreaterThan(0)
    for (const how of REVOKES) expect(seen.get(`${how} after`), `${how} after`).toBeGreaterThan(0)
  })
})
