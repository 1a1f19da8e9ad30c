/**
 * Runs three instances of `instance.ts` against one Postgres and one Redis, and shows, from an
 * admin process of its own:
 *   1. a key revoked once is refused by every instance, and how fast;
 *   2. a key's rate limit is one budget across the instances, not one per instance.
 *
 *   bash .ci/servers.sh start && eval "$(bash .ci/servers.sh env)"
 *   npx tsx examples/multi-instance/demo.ts
 *
 * It uses the schema `keyward_demo` and drops it at the end. Keys are never printed.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import pg from 'pg'
import { KeyManager } from '../../src/index.js'
import { redisInvalidation } from '../../src/redis/index.js'
import { postgresStore } from '../../src/stores/postgres.js'

const databaseUrl = process.env.DATABASE_URL ?? process.env.KEYWARD_PG_URL
const redisUrl = process.env.REDIS_URL ?? process.env.KEYWARD_REDIS_URL
if (!databaseUrl || !redisUrl) {
  console.error('Needs PostgreSQL and Redis. Local throw-away ones: bash .ci/servers.sh start && eval "$(bash .ci/servers.sh env)"')
  process.exit(2)
}
const schema = 'keyward_demo'
const now = () => performance.timeOrigin + performance.now()

// ---- the admin side: writes keys to Postgres, publishes each write on the bus ----------------
const pool = new pg.Pool({ connectionString: databaseUrl })
const keys = postgresStore(pool, { schema })
await keys.migrate()
const redis = new Redis(redisUrl)
const bus = redisInvalidation(redis)
let committedAt = 0
const admin = new KeyManager(keys, {
  onWrite: (change) => {
    committedAt = now()
    bus.publish(change) // no cache here to attach: publishing is all an admin process does
  },
})

// ---- three API instances -----------------------------------------------------------------------
const file = fileURLToPath(new URL('./instance.ts', import.meta.url))
const children: ChildProcess[] = []
const started = await Promise.allSettled(
  ['a', 'b', 'c'].map(
    (name) =>
      new Promise<{ proc: ChildProcess; port: number }>((resolve, reject) => {
        const proc = fork(file, [], {
          execArgv: ['--import', 'tsx'],
          env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, KEYWARD_SCHEMA: schema, INSTANCE_NAME: name },
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        })
        children.push(proc)
        proc.once('exit', (code) => reject(new Error(`instance ${name} exited (${code})`)))
        proc.on('message', (m: { ready?: number }) => m.ready !== undefined && resolve({ proc, port: m.ready }))
      }),
  ),
)
const instances = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
console.log(`3 instances up on ports ${instances.map((i) => i.port).join(', ')}`)

const ask = async (port: number, key: string) => (await fetch(`http://127.0.0.1:${port}/scans`, { headers: { 'x-api-key': key } })).status

try {
  if (instances.length < 3) throw new Error('an instance did not start')
  // 1. Revocation ------------------------------------------------------------------------------
  const { key, record } = await admin.issue({ kind: 'user', owner: 'ana@example.test', role: 'Read Only', description: 'demo' })
  console.log(`\nissued ${record.id}; every instance answers: ${(await Promise.all(instances.map((i) => ask(i.port, key)))).join(' ')}`)
  const firstDeny = new Map<number, number>()
  let stop = false
  const pollers = instances.map(async ({ port }, i) => {
    while (!stop) if ((await ask(port, key)) === 401 && !firstDeny.has(i)) firstDeny.set(i, now())
  })
  await new Promise((r) => setTimeout(r, 100))
  await admin.deactivate(record.id)
  await new Promise((r) => setTimeout(r, 300))
  stop = true
  await Promise.all(pollers)
  const after = await Promise.all(instances.map((i) => ask(i.port, key)))
  console.log(`deactivated ${record.id}; refused on each instance after (ms from commit, polling included): ${[...firstDeny.entries()]
    .sort(([x], [y]) => x - y)
    .map(([i, t]) => `${'abc'[i]} ${Math.max(0, t - committedAt).toFixed(1)}`)
    .join(', ')}; now every instance answers: ${after.join(' ')}`)

  // 2. One rate-limit budget -------------------------------------------------------------------
  const limited = await admin.issue({ kind: 'org', tenant: 'acme', rateLimit: { capacity: 10, refillPerSecond: 0.01 } })
  const statuses = await Promise.all(Array.from({ length: 30 }, (_, n) => ask(instances[n % 3]!.port, limited.key)))
  const count = (s: number) => statuses.filter((x) => x === s).length
  console.log(`\nkey limited to 10: 30 requests spread over 3 instances → ${count(200)} × 200, ${count(429)} × 429`)
} finally {
  await Promise.all(
    children.map((proc) => new Promise<void>((resolve) => (proc.exitCode !== null ? resolve() : (proc.once('exit', () => resolve()), proc.send('shutdown'))))),
  )
  await keys.close()
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await pool.end()
  await bus.close()
  redis.disconnect()
}
