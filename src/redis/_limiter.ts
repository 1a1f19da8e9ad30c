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
import { knownFields } from '../lib/options.js'
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { Breaker, type BreakerOptions } from '../lib/breaker.js'
import { quote, rangeError, typeError } from '../errors.js'
import type { RateLimiter, RateLimitResult, RateLimitSpec } from '../types.js'

/**
 * KEYS[1] bucket; ARGV: capacity, refillPerSecond, now (ms; '' = the Redis server's clock).
 * State: hash {tokens, at, cap, rate}; it expires once it would be full again, which is the same
 * as a missing bucket.
 *
 * A change of limits never creates budget: the bucket keeps its tokens, the time since its last
 * request refills at the lower of the stored and the new rate, and the result is clamped to the
 * new capacity. Only a missing (or expired, hence full) bucket starts full. So two instances that
 * disagree on a key's limits cannot refill each other's bucket.
 *
 * `at` never moves backwards: a caller whose clock (the `now` option) is behind the one that
 * wrote the bucket counts from the stored `at`, so clock skew between instances never refills.
 *
 * PEXPIRE gets an integer of at most MAX_TTL ms, and the returned seconds are capped, so that any
 * accepted rate (however small) keeps the bucket expiring and the reply in integer range.
 * Returns {allowed, remaining, resetSec, retryAfterSec} as integers.
 */
export const TOKEN_BUCKET_LUA = `
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local MAX_TTL = 1e13
local MAX_SEC = 1e10
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
local stored = tonumber(s[1])
local at = tonumber(s[2])
local oldRate = tonumber(s[4])
if stored == nil or at == nil or oldRate == nil or stored ~= stored or at ~= at then
  tokens = cap
else
  if t < at then t = at end
  local elapsed = (t - at) / 1000
  tokens = math.min(cap, stored + elapsed * math.min(rate, oldRate))
end
local allowed = 0
if tokens >= 1 then
  allowed = 1
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', t), 'cap', ARGV[1], 'rate', ARGV[2])
local ttl = math.min(MAX_TTL, math.ceil((cap - tokens) / rate * 1000) + 1000)
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
local resetSec = math.min(MAX_SEC, math.ceil((cap - tokens) / rate))
if allowed == 1 then
  return {1, math.floor(tokens), resetSec, 0}
end
return {0, 0, resetSec, math.min(MAX_SEC, math.max(1, math.ceil((1 - tokens) / rate)))}
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
  /**
   * At most this many scripts may be awaiting Redis's answer at once; a request beyond it fails
   * at once (503). A command given up on after `timeoutMs` still counts until Redis answers it
   * (ioredis keeps it queued), so a hung Redis costs a bounded amount of memory, not one queued
   * command per request for as long as the hang lasts.
   * @default 1000
   * @example 200
   */
  maxInFlight?: number
  /**
   * Circuit breaker: after `threshold` failures in a row (errors or timeouts), requests fail at
   * once (503) for `cooldownMs` instead of queueing commands on a Redis that does not answer;
   * then one probe goes through and its outcome closes or reopens the circuit.
   * @default { threshold: 5, cooldownMs: 2000 }
   * @example { threshold: 10, cooldownMs: 1000 }
   */
  breaker?: BreakerOptions
  /**
   * Receives configuration warnings, once each: today, a Redis whose `maxmemory-policy` may
   * evict buckets (an evicted bucket is a full one). Checked once at start with `CONFIG GET`; a
   * Redis where `CONFIG` is disabled is not checked.
   * @default process.emitWarning
   * @example (message) => logger.warn(message)
   */
  onWarning?: (message: string) => void
}

/** A `RateLimiter` whose buckets live in Redis. */
export interface RedisRateLimiter extends RateLimiter {
  consume(key: string, override?: RateLimitSpec): Promise<RateLimitResult>
  /** Forgets a key's bucket (it starts full again). */
  reset(key: string): Promise<void>
  /** The Redis key holding `key`'s bucket. */
  keyOf(key: string): string
}

const FIELDS: ReadonlySet<string> = new Set(['capacity', 'refillPerSecond', 'prefix', 'timeoutMs', 'now', 'maxInFlight', 'breaker', 'onWarning'])
const BREAKER_FIELDS: ReadonlySet<string> = new Set(['threshold', 'cooldownMs', 'onStateChange'])

/** Validated breaker options (the same rules as the authorizer's `breaker`). */
function breakerOptions(b: unknown): Required<Omit<BreakerOptions, 'onStateChange'>> & Pick<BreakerOptions, 'onStateChange'> {
  if (b === undefined) return { threshold: 5, cooldownMs: 2000 }
  if (b === null || typeof b !== 'object') throw typeError('breaker', 'must be { threshold?, cooldownMs? }')
  knownFields(b, BREAKER_FIELDS, 'breaker')
  const { threshold = 5, cooldownMs = 2000, onStateChange } = b as BreakerOptions
  if (onStateChange !== undefined && typeof onStateChange !== 'function') throw typeError('breaker.onStateChange', 'must be a function')
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > 1e6) throw rangeError('breaker.threshold', 'must be an integer from 1 to 1e6')
  if (typeof cooldownMs !== 'number' || !Number.isFinite(cooldownMs) || cooldownMs < 1 || cooldownMs > 3_600_000) {
    throw rangeError('breaker.cooldownMs', 'must be a number of milliseconds from 1 to 3600000')
  }
  return { threshold, cooldownMs, onStateChange }
}

/** Policies under which Redis never evicts a bucket (see docs/operations.md, "keyward/redis: usage"). */
const SAFE_POLICIES: ReadonlySet<string> = new Set(['noeviction'])

/**
 * Reads `maxmemory` and `maxmemory-policy` once and warns if buckets can be evicted. A Redis that
 * refuses `CONFIG` (renamed, ACL) is not checked, silently: that is a deliberate setup.
 */
function checkEviction(redis: Redis, warn: (message: string) => void): void {
  let reply: Promise<unknown>
  try {
    reply = (redis as unknown as { config(...args: string[]): Promise<unknown> }).config('GET', 'maxmemory*')
  } catch {
    return
  }
  reply.then(
    (r) => {
      if (!Array.isArray(r)) return
      const conf = new Map<string, string>()
      for (let i = 0; i + 1 < r.length; i += 2) conf.set(String(r[i]), String(r[i + 1]))
      const policy = conf.get('maxmemory-policy')
      if (policy === undefined || SAFE_POLICIES.has(policy)) return
      const limited = conf.get('maxmemory') !== '0'
      warn(
        `keyward/redis: maxmemory-policy is ${quote(policy)}${limited ? '' : ' (maxmemory is 0 for now)'}: ` +
          'Redis may evict rate-limit buckets, and an evicted bucket starts full again. Use noeviction (see docs/operations.md, keyward/redis).',
      )
    },
    () => undefined,
  )
}

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

/** The checked options of one limiter, with their defaults. */
interface LimiterSettings {
  readonly capacity: number
  readonly refillPerSecond: number
  readonly prefix: string
  readonly timeoutMs: number
  readonly now: (() => number) | undefined
  readonly maxInFlight: number
  readonly breaker: ReturnType<typeof breakerOptions>
  readonly onWarning: (message: string) => void
}

/** Checks the client and the options of `redisRateLimiter`, in the order they are listed here, client first. */
function limiterSettings(redis: Redis, options: RedisRateLimiterOptions): LimiterSettings {
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
  const maxInFlight = options.maxInFlight ?? 1000
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 1e6) throw rangeError('maxInFlight', 'must be an integer from 1 to 1e6')
  const breaker = breakerOptions(options.breaker)
  if (options.onWarning !== undefined && typeof options.onWarning !== 'function') throw typeError('onWarning', 'must be a function')
  const onWarning = options.onWarning ?? ((message: string): void => void process.emitWarning(message, { code: 'KEYWARD_REDIS_EVICTION' }))
  const { capacity, refillPerSecond } = options
  return { capacity, refillPerSecond, prefix, timeoutMs, now: options.now, maxInFlight, breaker, onWarning }
}

/** EVALSHA, and EVAL once when the server has not seen the script (after a restart or SCRIPT FLUSH). */
async function runScript(redis: Redis, key: string, args: string[]): Promise<unknown> {
  try {
    return await redis.evalsha(SHA, 1, key, ...args)
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('NOSCRIPT')) return redis.eval(TOKEN_BUCKET_LUA, 1, key, ...args)
    throw e
  }
}

/** `p`, or a `Timeout` after `timeoutMs`. */
async function withTimeout<T>(p: Promise<T>, timeoutMs: number): Promise<T> {
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

/**
 * Runs each command under the breaker, the in-flight cap and the timeout. A command counts as
 * in flight until Redis answers it, not until we give up on it: ioredis keeps it queued.
 */
function createGuard(breaker: Breaker, maxInFlight: number, timeoutMs: number): <T>(send: () => Promise<T>) => Promise<T> {
  let inFlight = 0
  return async <T>(send: () => Promise<T>): Promise<T> => {
    const wait = breaker.blockedFor(Date.now())
    if (wait > 0) throw new Error('keyward/redis: rate limiter circuit open (Redis failing)')
    if (inFlight >= maxInFlight) {
      breaker.failure(Date.now())
      throw new Error('keyward/redis: too many rate-limit commands awaiting Redis')
    }
    inFlight++
    const p = send()
    const settled = (): void => void inFlight--
    p.then(settled, settled)
    try {
      const r = await withTimeout(p, timeoutMs)
      breaker.success()
      return r
    } catch (e) {
      breaker.failure(Date.now())
      throw e
    }
  }
}

/** Implementation of `redisRateLimiter` (see `keyward/redis`). */
export function createRedisRateLimiter(redis: Redis, options: RedisRateLimiterOptions): RedisRateLimiter {
  const { capacity, refillPerSecond, prefix, timeoutMs, now, maxInFlight, breaker: breakerConf, onWarning } = limiterSettings(redis, options)
  const guarded = createGuard(new Breaker(breakerConf, timeoutMs + breakerConf.cooldownMs), maxInFlight, timeoutMs)
  checkEviction(redis, (message) => {
    try {
      onWarning(message)
    } catch {
      // A warning hook that throws must not break the limiter.
    }
  })
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
      const reply = await guarded(() => runScript(redis, keyOf(key), [String(cap), String(rate), t]))
      return parseReply(reply, cap)
    },
    async reset(key: string): Promise<void> {
      await withTimeout(redis.del(keyOf(key)), timeoutMs)
    },
    keyOf,
  }
}
