/**
 * Which real servers the integration tests can use. They read `KEYWARD_PG_URL` and
 * `KEYWARD_REDIS_URL` (`.ci/servers.sh start` provides both); a server that is not configured or
 * not reachable skips the suites that need it, except under `CI=true`, where `servers.test.ts`
 * fails instead.
 */
import pg from 'pg'
import { Redis } from 'ioredis'

export const CI = process.env.CI === 'true'
export const PG_URL = process.env.KEYWARD_PG_URL
export const REDIS_URL = process.env.KEYWARD_REDIS_URL

/** Where a URL points, without credentials, for messages. */
export function where(url: string | undefined, variable: string): string {
  if (url === undefined) return variable
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || 'default port'} (${variable})`
  } catch {
    return `${variable} (not a URL)`
  }
}

async function probePg(): Promise<string | undefined> {
  if (!PG_URL) return 'unset'
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 })
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.query('SELECT 1')
    return undefined
  } catch (e) {
    return (e as { code?: string }).code ?? 'unreachable'
  } finally {
    await client.end().catch(() => undefined)
  }
}

async function probeRedis(): Promise<string | undefined> {
  if (!REDIS_URL) return 'unset'
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  })
  redis.on('error', () => undefined)
  try {
    await redis.connect()
    return (await redis.ping()) === 'PONG' ? undefined : 'no PONG'
  } catch (e) {
    return (e as { code?: string }).code ?? 'unreachable'
  } finally {
    redis.disconnect()
  }
}

const [pgProblem, redisProblem] = await Promise.all([probePg(), probeRedis()])

/** Why PostgreSQL cannot be used, or `undefined` if it can. */
const text = (problem: string | undefined, what: string, url: string | undefined, variable: string): string | undefined =>
  problem === undefined ? undefined : problem === 'unset' ? `no ${what} configured (${variable} is not set)` : `no ${what} reachable at ${where(url, variable)}: ${problem}`
export const pgProblemText = text(pgProblem, 'PostgreSQL', PG_URL, 'KEYWARD_PG_URL')
export const redisProblemText = text(redisProblem, 'Redis', REDIS_URL, 'KEYWARD_REDIS_URL')
export const HAVE_PG = pgProblem === undefined
export const HAVE_REDIS = redisProblem === undefined
/** Where the invalidation bus reads the channel: the suites that use it run in both. */
export const BUS_SUBSCRIBERS = ['worker', 'thread'] as const
