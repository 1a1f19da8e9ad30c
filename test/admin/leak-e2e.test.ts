/**
 * The end-to-end effect of a leak report: the leaked key, allowed (and cached) before, is refused
 * by the authorizer right after the handler answers; directly on the store, through
 * `cachedStore` in the same process, and on another instance through the Redis invalidation bus.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { createLeakHandler, type LeakHandler } from '../../src/admin/index.js'
import { cachedStore, createAuthorizer, KeyManager, MemoryKeyStore, type Authorizer, type StoreChange } from '../../src/index.js'
import { redisInvalidation } from '../../src/redis/index.js'
import { HAVE_REDIS, REDIS_URL } from '../integration/_env.js'
import { reportBody, scannerKey, signedRequest, type Feedback } from './_leak.js'

const SCANNER = scannerKey('scanner-e2e')
const MINUTE = 60_000

function ask(authorizer: Authorizer, key: string) {
  return authorizer.authorize({ method: 'GET', url: '/scans', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' }, 'scans:read')
}

function leakHandler(manager: KeyManager): LeakHandler {
  return createLeakHandler({ manager, verify: { publicKeys: [SCANNER.published] }, onLeak: () => undefined })
}

async function report(handler: LeakHandler, key: string): Promise<Feedback[]> {
  const res = await handler(signedRequest(SCANNER, reportBody([{ token: key }])))
  expect(res.status).toBe(200)
  return (await res.json()) as Feedback[]
}

describe('a leaked key is refused right after the report', () => {
  it.each(['MemoryKeyStore', 'cachedStore'] as const)('through %s, in the same process, with the allowed answer cached before', async (via) => {
    const memory = new MemoryKeyStore()
    const store = via === 'cachedStore' ? cachedStore(memory, { ttlMs: MINUTE, negativeTtlMs: MINUTE }) : memory
    const manager = new KeyManager(store)
    const authorizer = createAuthorizer({ store })
    const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const other = await manager.issue({ kind: 'user', owner: 'bob', role: 'Read Only' })
    expect((await ask(authorizer, key)).allow).toBe(true)
    expect((await ask(authorizer, key)).allow).toBe(true)
    expect((await report(leakHandler(manager), key))[0]!.label).toBe('true_positive')
    const after = await ask(authorizer, key)
    expect(after.allow).toBe(false)
    expect(after.allow === false && after.status).toBe(401)
    expect((await ask(authorizer, other.key)).allow).toBe(true)
  })

  it('through cachedStore while a lookup of the key is in flight when the revoke settles', async () => {
    const memory = new MemoryKeyStore()
    // The authorizer reads the key record, then waits on the owner lookup; the leak handler
    // never looks owners up, so the revoke settles while that request is in flight.
    let hold: Promise<void> | undefined
    let held = 0
    const slow = new Proxy(memory, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown
        if (prop === 'peekOwner' || prop === 'peekByHash') return undefined
        if (prop !== 'findOwner' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v
        return async (id: string) => {
          const h = hold
          const read = await (v as (id: string) => Promise<unknown>).call(target, id)
          if (h !== undefined) {
            held++
            await h
          }
          return read
        }
      },
    })
    const store = cachedStore(slow, { ttlMs: MINUTE, negativeTtlMs: MINUTE, ownerTtlMs: 1000 })
    const manager = new KeyManager(store)
    const authorizer = createAuthorizer({ store })
    const { key } = await manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    let release!: () => void
    hold = new Promise<void>((ok) => (release = ok))
    const inFlight = ask(authorizer, key) // has read the live key, waits on its owner
    await vi.waitFor(() => expect(held).toBe(1))
    hold = undefined
    expect((await report(leakHandler(manager), key))[0]!.label).toBe('true_positive')
    release()
    await inFlight // started before the revoke settled: either answer is allowed for it
    const after = await ask(authorizer, key)
    expect(after.allow).toBe(false)
  })
})

describe.skipIf(!HAVE_REDIS)('a leaked key is refused on another instance through the Redis invalidation bus', () => {
  const closers: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const c of closers.reverse()) await c()
  })

  it('refuses it on instance B once the revoke made on instance A is delivered', async () => {
    const channel = `kwtest:leak:${randomBytes(4).toString('hex')}`
    const shared = new MemoryKeyStore()
    const instance = async () => {
      const redis = new Redis(REDIS_URL!, { maxRetriesPerRequest: 1 })
      redis.on('error', () => undefined)
      const cache = cachedStore(shared, { ttlMs: MINUTE, negativeTtlMs: MINUTE })
      const bus = redisInvalidation(redis, { channel })
      const detach = await bus.attach(cache)
      const heard: StoreChange[] = []
      const detachSpy = await bus.attach({ invalidate: (c) => void heard.push(c), clear: () => undefined })
      const authorizer = createAuthorizer({ store: cache })
      closers.push(async () => {
        await detachSpy()
        await detach()
        await bus.close()
        redis.disconnect()
      })
      return { manager: new KeyManager(cache, { onWrite: bus.publish }), authorizer, heard }
    }
    const a = await instance()
    const b = await instance()
    const { key, record } = await a.manager.issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    expect((await ask(b.authorizer, key)).allow).toBe(true) // cached on B for a minute
    await vi.waitFor(() => expect(b.heard.length).toBeGreaterThan(0)) // the issue, delivered
    b.heard.length = 0
    expect((await report(leakHandler(a.manager), key))[0]!.label).toBe('true_positive')
    await vi.waitFor(() => expect(b.heard.some((c) => c.type === 'key' && c.id === record.id && (c.hashes?.length ?? 0) > 0)).toBe(true))
    expect((await ask(b.authorizer, key)).allow).toBe(false)
  })
})
