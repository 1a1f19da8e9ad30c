/**
 * One API server instance for the multi-instance test, run as a child process (`fork` with
 * `--import tsx`). Plain `node:http` + `createAuthorizer` + `renderDeny`.
 *
 * Environment: KEYWARD_PG_URL, KEYWARD_REDIS_URL, KW_SCHEMA, KW_CHANNEL, KW_RL_PREFIX, and
 * KW_MODE: `cached` (cachedStore over Postgres, invalidated over Redis) or `pg` (Postgres on
 * every request, no cache: the baseline). KW_CREDITS_PREFIX, when set, keeps the credits of
 * usage-limited keys in a Redis ledger (`redisCredits`) instead of the store. The parent drives key management over IPC, so that a
 * write is made by one instance's own `KeyManager`:
 *   → { type: 'issue', options } ← { type: 'issued', key, id }
 *   → { type: 'deactivate', id } ← { type: 'deactivated', at, seq }  (`at`: when the write committed, wall-clock ms,
 *                                  sub-ms precision; `seq`: this instance's order of events once the call returned)
 *   → { type: 'applied', id, count } ← { type: 'applied', at, seq }  (once this instance's bus has applied `count`
 *                                  changes of key `id` to its cache, when it applied the `count`-th: at once if it
 *                                  already has, else as soon as it does. A write made on another instance arrives
 *                                  here once; the writing instance's own bus applies its write twice, at once and
 *                                  when its message comes back)
 *   → { type: 'close' }          ← exits
 *
 * Order without clocks: every request and every applied invalidation takes the next number of
 * one counter (`seq`, answered in the `x-decided-seq` header) in this single-threaded process, so
 * "this request began after the invalidation was applied here" is `request seq > applied seq`,
 * however slowly the machine runs. Wall-clock times (`x-decided-at`, `at`) are only for
 * `npm run bench:revocation`, which measures how long propagation takes.
 */
import http from 'node:http'
import { Redis } from 'ioredis'
import pg from 'pg'
import { createAuthorizer, KeyManager, renderDeny, type IssueOptions, type KeyStore } from '../../src/index.js'
import { redisCredits, redisInvalidation, redisRateLimiter } from '../../src/redis/index.js'
import { cachedStore } from '../../src/stores/cached.js'
import { postgresStore } from '../../src/stores/postgres.js'

type Message = { type: 'issue'; options: IssueOptions } | { type: 'deactivate'; id: string } | { type: 'applied'; id: string; count: number } | { type: 'close' }

const env = (name: string): string => {
  const v = process.env[name]
  if (v === undefined || v === '') throw new Error(`${name} is not set`)
  return v
}
const wallNow = (): number => performance.timeOrigin + performance.now()
const send = (m: unknown): void => {
  process.send?.(m)
}

const mode = env('KW_MODE')
const pool = new pg.Pool({ connectionString: env('KEYWARD_PG_URL'), max: 4 })
pool.on('error', () => undefined)
// KW_TIMEOUT_MS: a longer deadline for runs that queue a thousand requests at once.
const timeoutMs = Number(process.env.KW_TIMEOUT_MS || 1000)
const pgStore = postgresStore(pool, { schema: env('KW_SCHEMA'), queryTimeoutMs: timeoutMs })
const redis = new Redis(env('KEYWARD_REDIS_URL'), { maxRetriesPerRequest: 1 })
redis.on('error', () => undefined)

let store: KeyStore = pgStore
let manager: KeyManager
let closeBus = async (): Promise<void> => undefined
/** This instance's order of events: each request and each applied invalidation takes the next number. */
let seq = 0
interface Heard {
  at: number
  seq: number
}
/** When (wall clock and order) this instance's bus applied each change of each key id. */
const heard = new Map<string, Heard[]>()
/** Who waits for how many changes of each key id to be applied here. */
const waiting = new Map<string, { count: number; resolve: (h: Heard) => void }[]>()
const applied = (id: string): void => {
  const all = [...(heard.get(id) ?? []), { at: wallNow(), seq: ++seq }]
  heard.set(id, all)
  const still: { count: number; resolve: (h: Heard) => void }[] = []
  for (const w of waiting.get(id) ?? []) {
    if (all.length >= w.count) w.resolve(all[w.count - 1]!)
    else still.push(w)
  }
  waiting.set(id, still)
}
const whenApplied = (id: string, count: number): Promise<Heard> => {
  const now = heard.get(id)?.[count - 1]
  if (now !== undefined) return Promise.resolve(now)
  return new Promise((resolve) => waiting.set(id, [...(waiting.get(id) ?? []), { count, resolve }]))
}
/** When this instance's KeyManager reported each key's last write (right after its commit). */
const written = new Map<string, number>()
const recordWrite = (c: { type: string; id: string }): void => {
  if (c.type === 'key') written.set(c.id, wallNow())
}
if (mode === 'cached') {
  // TTLs of a minute: within the test, only the bus can make an instance see a revocation.
  const cache = cachedStore(pgStore, { ttlMs: 60_000, negativeTtlMs: 60_000, ownerTtlMs: 60_000 })
  // A loaded machine may take more than the default 5 s to confirm the subscription.
  const bus = redisInvalidation(redis, { channel: env('KW_CHANNEL'), connectTimeoutMs: 60_000 })
  const detach = await bus.attach(cache)
  // A second target on the same bus, attached after the cache: the bus applies a change to its
  // targets in order, synchronously, so when this one hears it the cache has already dropped it.
  const detachSpy = await bus.attach({ invalidate: (c) => applied(c.id), clear: () => undefined })
  store = cache
  manager = new KeyManager(cache, {
    onWrite: (c) => {
      recordWrite(c)
      bus.publish(c)
    },
  })
  closeBus = async () => {
    await detachSpy()
    await detach()
    await bus.close()
  }
} else {
  manager = new KeyManager(pgStore, { onWrite: recordWrite })
}

const authorizer = createAuthorizer({
  store,
  storeTimeoutMs: timeoutMs + 500,
  rateLimiter: redisRateLimiter(redis, { capacity: 10_000, refillPerSecond: 10_000, prefix: env('KW_RL_PREFIX'), timeoutMs }),
  ...(process.env.KW_CREDITS_PREFIX ? { credits: redisCredits(redis, { prefix: process.env.KW_CREDITS_PREFIX }) } : {}),
})

const server = http.createServer((req, res) => {
  // When this instance began deciding, so the parent can place each decision in time exactly.
  const decided = { 'x-decided-at': wallNow().toFixed(3), 'x-decided-seq': String(++seq) }
  authorizer
    .authorize({ method: req.method ?? 'GET', url: req.url, headers: req.headersDistinct, remoteAddress: req.socket.remoteAddress }, 'scans:read')
    .then((d) => {
      if (d.allow) {
        res.writeHead(200, { 'content-type': 'application/json', ...d.headers, ...decided })
        res.end(JSON.stringify({ instance: process.env.KW_INDEX, keyId: d.principal.keyId }))
        return
      }
      const r = renderDeny(d)
      res.writeHead(r.status, { ...r.headers, ...decided })
      res.end(JSON.stringify(r.body))
    })
    .catch(() => {
      res.writeHead(500)
      res.end()
    })
})
server.keepAliveTimeout = 30_000

await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))

process.on('message', (m: Message) => {
  void (async () => {
    if (m.type === 'issue') {
      const { key, record } = await manager.issue(m.options)
      send({ type: 'issued', key, id: record.id })
    } else if (m.type === 'deactivate') {
      await manager.deactivate(m.id)
      send({ type: 'deactivated', at: written.get(m.id), seq: ++seq })
    } else if (m.type === 'applied') {
      send({ type: 'applied', ...(await whenApplied(m.id, m.count)) })
    } else if (m.type === 'close') {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await authorizer.close()
      await closeBus()
      await pgStore.close()
      await pool.end()
      redis.disconnect()
      process.disconnect?.()
    }
  })().catch((e: unknown) => send({ type: 'error', message: e instanceof Error ? e.message : 'failed' }))
})

send({ type: 'ready', port: (server.address() as { port: number }).port })
