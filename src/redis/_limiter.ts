/**
 * The shared token bucket: one Lua script, run atomically by Redis, one round trip per request.
 *
 * Why not `rate-limiter-flexible`: its Redis limiter is a fixed window counter (points per
 * whole-second duration). It cannot express `refillPerSecond` (a bucket of 5 refilling 3/s has
 * no whole-second window), it admits up to twice the limit across a window boundary, and its
 * `remainingPoints`/`msBeforeNext` mean something else than the in-memory `tokenBucket`'s
 * headers. Its `BurstyRateLimiter` approximation costs two round trips. The script below is the
 * in-memory bucket's arithmetic, line for line, on the same doubles, so a key gets the same
 * `RateLimit-*` and `Retry-After` values from both.
 * @module
 */
import { knownFields } from '../_options.js'
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { quote, rangeError, typeError } from '../errors.js'
import type { RateLimiter, RateLimitResult, RateLimitSpec } from '../types.js'

/**
 * KEYS[1] bucket; ARGV: capacity, refillPerSecond, now (ms; '' = the Redis server's clock).
 * State: hash {tokens, at, cap, rate}; it expires once it would be full again, which is the same
 * as a missing bucket. A change of capacity or rate starts a full bucket, as in memory.
 * Returns {allowed, remaining, resetSec, retryAfterSec} as integers.
 */
export const TOKEN_BUCKET_LUA = `
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t
if ARGV[3] == '' then
  if redis.replicate_commands then redis.replicate_commands() end
  local now = redis.call('TIME')
  t = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
else
  t = tonumber(ARGV[3])
end
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'cap', 'rate')
local tokens
if s[1] == false or tonumber(s[3]) ~= cap or tonumber(s[4]) ~= rate then
  tokens = cap
else
  local elapsed = math.max(0, t - tonumber(s[2])) / 1000
  tokens = math.min(cap, tonumber(s[1]) + elapsed * rate)
end
local allowed = 0
if tokens >= 1 then
  allowed = 1
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', t), 'cap', ARGV[1], 'rate', ARGV[2])
redis.call('PEXPIRE', KEYS[1], math.ceil((cap - tokens) / rate * 1000) + 1000)
local resetSec = math.ceil((cap - tokens) / rate)
if allowed == 1 then
  return {1, math.floor(tokens), resetSec, 0}
end
return {0, 0, resetSec, math.max(1, math.ceil((1 - tokens) / rate))}
`

const SHA = createHash('sha1').update(TOKEN_BUCKET_LUA).digest('hex')

/** Options of {@link redisRateLimiter}. */
export interface RedisRateLimiterOptions {
  /**
   * Burst size: requests a key may make at once. Also `RateLimit-Limit`.
   * @example 100
   */
  capacity: number
  /**
   * Tokens added back per second (the sustained rate).
   * @example 10
   */
  refillPerSecond: number
  /**
   * Prefix of the Redis keys: a key id `key_abc` is counted in the hash `<prefix>key_abc`.
   * @default 'keyward:rl:'
   * @example 'myapp:keyward:rl:'
   */
  prefix?: string
  /**
   * A consumption that takes longer fails (the authorizer answers 503): Redis that is down or
   * slow never hangs a request. Applies from the moment the command is issued, including time
   * spent in ioredis's offline queue while it reconnects.
   * @default 500
   * @example 250
   */
  timeoutMs?: number
  /**
   * Clock, epoch milliseconds. By default the Redis server's clock (`TIME`), which every
   * instance shares, so clock skew between instances cannot inflate a bucket.
   * @default undefined (the Redis server's clock)
   * @example () => fakeClock.now
   */
  now?: () => number
}

/** A `RateLimiter` whose buckets live in Redis. */
export interface RedisRateLimiter extends RateLimiter {
  consume(key: string, override?: RateLimitSpec): Promise<RateLimitResult>
  /** Forgets a key's bucket (it starts full again). */
  reset(key: string): Promise<void>
  /** The Redis key holding `key`'s bucket. */
  keyOf(key: string): string
}

const FIELDS: ReadonlySet<string> = new Set(['capacity', 'refillPerSecond', 'prefix', 'timeoutMs', 'now'])

function checkSpec(capacity: unknown, rate: unknown, field: string): void {
  if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 1 || capacity > 1e9) {
    throw rangeError(`${field}capacity`, 'must be an integer from 1 to 1e9')
  }
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0 || rate > 1e9) {
    throw rangeError(`${field}refillPerSecond`, 'must be a number above 0 and at most 1e9')
  }
}

class Timeout extends Error {}

/** The caller's clock, as the script's ARGV (the same double the in-memory bucket would use). */
function clock(now: () => number): string {
  const t = now()
  if (typeof t !== 'number' || !Number.isFinite(t)) throw new TypeError('keyward/redis: now() must return a finite number')
  return String(t)
}

/** ioredis replies to our script with integers; anything else is a broken server or script. */
function parseReply(reply: unknown, cap: number): RateLimitResult {
  if (!Array.isArray(reply) || reply.length !== 4 || !reply.every((v) => typeof v === 'number')) {
    throw new Error('keyward/redis: unexpected reply from the rate-limit script')
  }
  const [allowed, remaining, resetSec, retry] = reply as number[]
  if (allowed === 1) return { allowed: true, limit: cap, remaining: remaining!, resetSec: resetSec! }
  return { allowed: false, limit: cap, remaining: 0, resetSec: resetSec!, retryAfterSec: retry! }
}

/** Implementation of `redisRateLimiter` (see `keyward/redis`). */
export function createRedisRateLimiter(redis: Redis, options: RedisRateLimiterOptions): RedisRateLimiter {
  if (redis === null || typeof redis !== 'object' || typeof (redis as Partial<Redis>).evalsha !== 'function') {
    throw typeError('redis', 'must be an ioredis client')
  }
  if (options === null || typeof options !== 'object') throw typeError('options', 'must be { capacity, refillPerSecond }')
  knownFields(options, FIELDS, 'options')
  checkSpec(options.capacity, options.refillPerSecond, '')
  const prefix = options.prefix ?? 'keyward:rl:'
  if (typeof prefix !== 'string' || prefix.length > 200) throw typeError('prefix', 'must be a string of at most 200 characters')
  const timeoutMs = options.timeoutMs ?? 500
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) {
    throw rangeError('timeoutMs', 'must be a number of milliseconds from 1 to 60000')
  }
  if (options.now !== undefined && typeof options.now !== 'function') throw typeError('now', 'must be a function')
  const { capacity, refillPerSecond } = options
  const now = options.now

  /** EVALSHA, and EVAL once when the server has not seen the script (after a restart or SCRIPT FLUSH). */
  async function run(key: string, args: string[]): Promise<unknown> {
    try {
      return await redis.evalsha(SHA, 1, key, ...args)
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('NOSCRIPT')) return redis.eval(TOKEN_BUCKET_LUA, 1, key, ...args)
      throw e
    }
  }

  async function withTimeout<T>(p: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined
    // The command may still settle after we gave up; its outcome is then of no interest.
    p.catch(() => undefined)
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Timeout('keyward/redis: rate limiter timed out')), timeoutMs)
        }),
      ])
    } finally {
      if (timer !== undefined) clearTimeout(timer)
    }
  }

  const keyOf = (key: string): string => prefix + key

  return {
    async consume(key: string, override?: RateLimitSpec): Promise<RateLimitResult> {
      if (typeof key !== 'string' || key.length === 0) throw typeError('key', 'must be a non-empty string')
      const cap = override?.capacity ?? capacity
      const rate = override?.refillPerSecond ?? refillPerSecond
      // A malformed override must fail (503), not silently widen the limit.
      checkSpec(cap, rate, 'override.')
      // A client that has given up for good fails at once instead of waiting for the timeout.
      if (redis.status === 'end') throw new Error('keyward/redis: the Redis connection is closed')
      const t = now === undefined ? '' : clock(now)
      const reply = await withTimeout(run(keyOf(key), [String(cap), String(rate), t]))
      return parseReply(reply, cap)
    },
    async reset(key: string): Promise<void> {
      await withTimeout(redis.del(keyOf(key)))
    },
    keyOf,
  }
}
