/**
 * One API server instance for the multi-instance test, run as a child process (`fork` with
 * `--import tsx`). Plain `node:http` + `createAuthorizer` + `renderDeny`.
 *
 * A process hosts one server per configuration the parent starts in it (`start`), each with its
 * own pool, Redis client, cache, bus, authorizer and port, sharing nothing but the process: the
 * test runs its three configurations on three processes instead of nine (starting a process that
 * loads the library through tsx costs about 2 s of CPU).
 *
 * The parent drives everything over IPC; every message but `close` names its configuration
 * (`scenario`), and key management is done by that configuration's own `KeyManager`:
 *   → { type: 'start', scenario, config } ← { type: 'started', port }   (config: see `Config`)
 *   → { type: 'issue', options } ← { type: 'issued', key, id }
 *   → { type: 'deactivate', id } ← { type: 'deactivated', at, seq }  (`at`: when the write committed, wall-clock ms,
 *                                  sub-ms precision; `seq`: this process's order of events once the call returned)
 *   → { type: 'applied', id, count } ← { type: 'applied', at, seq }  (once this instance's bus has applied `count`
 *                                  changes of key `id` to its cache, when it applied the `count`-th: at once if it
 *                                  already has, else as soon as it does. A write made on another instance arrives
 *                                  here once; the writing instance's own bus applies its write twice, at once and
 *                                  when its message comes back)
 *   → { type: 'stop' }           ← { type: 'stopped' }  (closes that configuration's server and connections)
 *   → { type: 'close' }          ← exits, once every configuration is stopped
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

/** One configuration: where it keeps its state, and how it decides. */
export interface Config {
  /** `cached`: cachedStore over Postgres, invalidated over Redis; `pg`: Postgres on every request (the baseline). */
  mode: 'cached' | 'pg'
  pgUrl: string
  redisUrl: string
  schema: string
  /** The invalidation channel. */
  channel: string
  /** Prefix of the rate limiter's Redis keys. */
  prefix: string
  /** When set, the credits of usage-limited keys are kept in a Redis ledger (`redisCredits`) under this prefix. */
  creditsPrefix?: string
  /** This instance's number, answered in each allowed response. */
  index: number
  /** Store and limiter deadline: longer for runs that queue a thousand requests at once. */
  timeoutMs: number
}

type Command = { type: 'issue'; options: IssueOptions } | { type: 'deactivate'; id: string } | { type: 'applied'; id: string; count: number } | { type: 'stop' }
type Message = { type: 'start'; scenario: string; config: Config } | (Command & { scenario: string }) | { type: 'close' }

const wallNow = (): number => performance.timeOrigin + performance.now()
const send = (m: unknown): void => {
  process.send?.(m)
}

/** This process's order of events: each request and each applied invalidation takes the next number. */
let seq = 0
interface Heard {
  at: number
  seq: number
}

/** A running configuration: its port, and how it answers the parent's commands. */
interface Scenario {
  port: number
  handle(m: Command): Promise<unknown>
}

/** When (wall clock and order) a bus applied each change of each key id, and who waits for how many. */
function appliedChanges() {
  const heard = new Map<string, Heard[]>()
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
  return { applied, whenApplied }
}

/** The HTTP server of one configuration: every request decided for `scans:read`. */
function serve(authorizer: ReturnType<typeof createAuthorizer>, index: number): http.Server {
  const server = http.createServer((req, res) => {
    // When this instance began deciding, so the parent can place each decision in time exactly.
    const decided = { 'x-decided-at': wallNow().toFixed(3), 'x-decided-seq': String(++seq) }
    authorizer
      .authorize({ method: req.method ?? 'GET', url: req.url, headers: req.headersDistinct, remoteAddress: req.socket.remoteAddress }, 'scans:read')
      .then((d) => {
        if (d.allow) {
          res.writeHead(200, { 'content-type': 'application/json', ...d.headers, ...decided })
          res.end(JSON.stringify({ instance: index, keyId: d.principal.keyId }))
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
  return server
}

async function start(c: Config): Promise<Scenario> {
  const pool = new pg.Pool({ connectionString: c.pgUrl, max: 4 })
  pool.on('error', () => undefined)
  const pgStore = postgresStore(pool, { schema: c.schema, queryTimeoutMs: c.timeoutMs })
  const redis = new Redis(c.redisUrl, { maxRetriesPerRequest: 1 })
  redis.on('error', () => undefined)
  const { applied, whenApplied } = appliedChanges()
  /** When this configuration's KeyManager reported each key's last write (right after its commit). */
  const written = new Map<string, number>()
  const recordWrite = (w: { type: string; id: string }): void => {
    if (w.type === 'key') written.set(w.id, wallNow())
  }
  let store: KeyStore = pgStore
  let manager: KeyManager
  let closeBus = async (): Promise<void> => undefined
  if (c.mode === 'cached') {
    // TTLs of a minute: within the test, only the bus can make an instance see a revocation.
    const cache = cachedStore(pgStore, { ttlMs: 60_000, negativeTtlMs: 60_000, ownerTtlMs: 60_000 })
    // A loaded machine may take more than the default 5 s to confirm the subscription.
    const bus = redisInvalidation(redis, { channel: c.channel, connectTimeoutMs: 60_000 })
    const detach = await bus.attach(cache)
    // A second target on the same bus, attached after the cache: the bus applies a change to its
    // targets in order, synchronously, so when this one hears it the cache has already dropped it.
    const detachSpy = await bus.attach({ invalidate: (w) => applied(w.id), clear: () => undefined })
    store = cache
    manager = new KeyManager(cache, {
      onWrite: (w) => {
        recordWrite(w)
        bus.publish(w)
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
    storeTimeoutMs: c.timeoutMs + 500,
    rateLimiter: redisRateLimiter(redis, { capacity: 10_000, refillPerSecond: 10_000, prefix: c.prefix, timeoutMs: c.timeoutMs }),
    ...(c.creditsPrefix ? { credits: redisCredits(redis, { prefix: c.creditsPrefix }) } : {}),
  })
  const server = serve(authorizer, c.index)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))

  const handle = async (m: Command): Promise<unknown> => {
    if (m.type === 'issue') {
      const { key, record } = await manager.issue(m.options)
      return { type: 'issued', key, id: record.id }
    }
    if (m.type === 'deactivate') {
      await manager.deactivate(m.id)
      return { type: 'deactivated', at: written.get(m.id), seq: ++seq }
    }
    if (m.type === 'applied') return { type: 'applied', ...(await whenApplied(m.id, m.count)) }
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await authorizer.close()
    await closeBus()
    await pgStore.close()
    await pool.end()
    redis.disconnect()
    return { type: 'stopped' }
  }
  return { port: (server.address() as { port: number }).port, handle }
}

const scenarios = new Map<string, Scenario>()

process.on('message', (m: Message) => {
  void (async () => {
    if (m.type === 'close') {
      process.disconnect?.()
      return
    }
    if (m.type === 'start') {
      if (scenarios.has(m.scenario)) throw new Error(`scenario ${m.scenario} is already running`)
      const s = await start(m.config)
      scenarios.set(m.scenario, s)
      send({ type: 'started', scenario: m.scenario, port: s.port })
      return
    }
    const s = scenarios.get(m.scenario)
    if (s === undefined) throw new Error(`no scenario ${m.scenario}`)
    if (m.type === 'stop') scenarios.delete(m.scenario)
    send({ scenario: m.scenario, ...((await s.handle(m)) as object) })
  })().catch((e: unknown) => send({ type: 'error', scenario: 'scenario' in m ? m.scenario : undefined, message: e instanceof Error ? e.message : 'failed' }))
})

send({ type: 'ready' })
