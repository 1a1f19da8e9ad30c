/**
 * One instance of an API that runs on several machines: keys in Postgres, a read cache in each
 * instance, revocations pushed to every cache over Redis pub/sub, and one rate-limit budget per
 * key shared by all instances in Redis.
 *
 *   DATABASE_URL=postgres://… REDIS_URL=redis://… PORT=8081 npx tsx examples/multi-instance/instance.ts
 *
 * Optional: KEYWARD_SCHEMA (default `keyward_demo`), KEYWARD_PEPPER (at least 32 bytes; must be
 * the same on every instance and in the admin process).
 */
import http from 'node:http'
import { Redis } from 'ioredis'
import pg from 'pg'
import { createAuthorizer, renderDeny } from '../../src/index.js'
import { redisInvalidation, redisRateLimiter } from '../../src/redis/index.js'
import { cachedStore } from '../../src/stores/cached.js'
import { postgresStore } from '../../src/stores/postgres.js'

const databaseUrl = process.env.DATABASE_URL
const redisUrl = process.env.REDIS_URL
if (!databaseUrl || !redisUrl) {
  console.error('set DATABASE_URL and REDIS_URL (bash .ci/servers.sh start && eval "$(bash .ci/servers.sh env)" gives local ones)')
  process.exit(2)
}
const name = process.env.INSTANCE_NAME ?? `pid ${process.pid}`

// Postgres: a pool of our own, with a server-side statement_timeout so that a query the store
// gave up on does not keep running.
const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, statement_timeout: 1000, connectionTimeoutMillis: 1000 })
pool.on('error', (e) => console.warn(`[${name}] postgres: ${e.message}`))
const keys = postgresStore(pool, { schema: process.env.KEYWARD_SCHEMA ?? 'keyward_demo', queryTimeoutMs: 800 })

// One Redis client for commands (rate limits, publishing); the bus opens its own subscriber.
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
redis.on('error', (e) => console.warn(`[${name}] redis: ${e.message}`))

// The cache serves repeated lookups from memory. ttlMs is the worst case for a change to reach
// this instance when no invalidation does (a publish lost while the writer could not reach Redis).
const store = cachedStore(keys, { ttlMs: 30_000, negativeTtlMs: 5_000 })
const bus = redisInvalidation(redis, {
  onStateChange: (s) => console.log(`[${name}] invalidation bus ${s}`),
  onError: (e) => console.warn(`[${name}] ${e.message}`),
})
const detach = await bus.attach(store)

const authorizer = createAuthorizer({
  store,
  pepper: process.env.KEYWARD_PEPPER,
  storeTimeoutMs: 1000,
  rateLimiter: redisRateLimiter(redis, { capacity: 20, refillPerSecond: 5 }),
})

const server = http.createServer((req, res) => {
  authorizer
    .authorize({ method: req.method ?? 'GET', url: req.url, headers: req.headersDistinct, remoteAddress: req.socket.remoteAddress }, 'scans:read')
    .then((d) => {
      if (!d.allow) {
        const denied = renderDeny(d)
        res.writeHead(denied.status, denied.headers)
        res.end(JSON.stringify(denied.body))
        return
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-instance': name, ...d.headers })
      res.end(JSON.stringify({ scans: [{ id: 'scan-1', status: 'COMPLETE' }], servedBy: name }))
    })
    .catch(() => {
      res.writeHead(500)
      res.end()
    })
})

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as { port: number }
  console.log(`[${name}] listening on http://127.0.0.1:${port}`)
  process.send?.({ ready: port })
})

async function shutdown(): Promise<void> {
  server.closeAllConnections()
  server.close()
  await authorizer.close() // writes pending last-used times…
  await keys.close() //        …through the store's batch
  await detach()
  await bus.close()
  await pool.end()
  redis.disconnect()
  process.disconnect?.()
}
process.once('SIGTERM', () => void shutdown())
process.once('SIGINT', () => void shutdown())
process.on('message', (m) => {
  if (m === 'shutdown') void shutdown()
})
