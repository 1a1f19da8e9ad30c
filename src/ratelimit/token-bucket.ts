/**
 * In-memory per-key token bucket.
 * @module
 */
import { fieldsOf, func, integer, knownFields, object } from '../lib/options.js'
import { rangeError, typeError } from '../errors.js'
import type { RateLimiter, RateLimitResult, RateLimitSpec } from '../types.js'

/** Options of {@link tokenBucket}. */
export interface TokenBucketOptions {
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
   * Buckets kept at most; the least recently used beyond this are dropped. A dropped bucket
   * comes back full, so keep this above the number of keys active within a refill period.
   * @default 100_000
   * @example 10_000
   */
  maxKeys?: number
  /**
   * Clock, epoch milliseconds.
   * @default Date.now
   * @example () => clock.now
   */
  now?: () => number
}

interface Bucket {
  tokens: number
  at: number
  capacity: number
  rate: number
}

function validSpec(capacity: unknown, rate: unknown): boolean {
  return (
    typeof capacity === 'number' && Number.isInteger(capacity) && capacity >= 1 && capacity <= 1e9 &&
    typeof rate === 'number' && Number.isFinite(rate) && rate > 0 && rate <= 1e9
  )
}

function spec(capacity: unknown, rate: unknown, field: string): void {
  if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 1) throw rangeError(`${field}capacity`, 'must be an integer ≥ 1')
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) throw rangeError(`${field}refillPerSecond`, 'must be a number > 0')
}

const FIELDS = fieldsOf<TokenBucketOptions>({ capacity: true, refillPerSecond: true, maxKeys: true, now: true })

/**
 * A per-key token bucket in process memory. A key's record may override the limit
 * (`record.rateLimit`). Memory is bounded by `maxKeys`.
 *
 * For several instances, use the shared limiter of `keyward/redis`.
 *
 * @example
 * ```ts
 * import { createAuthorizer, tokenBucket } from 'keyward'
 * const authorizer = createAuthorizer({ store, rateLimiter: tokenBucket({ capacity: 20, refillPerSecond: 5 }) })
 * ```
 */
export function tokenBucket(options: TokenBucketOptions): RateLimiter {
  knownFields(object(options, 'options', 'must be { capacity, refillPerSecond }'), FIELDS, 'options')
  spec(options.capacity, options.refillPerSecond, '')
  const maxKeys = integer(options.maxKeys, 'maxKeys', 100_000, 1)
  const now = func(options.now, 'now') ?? Date.now
  const { capacity, refillPerSecond } = options
  // Map iteration order is insertion order: re-inserting on use makes the first entry the least
  // recently used, so eviction is O(1) without a separate list.
  const buckets = new Map<string, Bucket>()

  return {
    consume(key: string, override?: RateLimitSpec): RateLimitResult {
      const t = now()
      // The override comes from a stored record, and a store written other than through
      // KeyManager may hold it corrupt: NaN, 0, Infinity or a negative rate would give NaN
      // headers or no limit at all. Such an override is ignored: the default applies.
      const usable = override !== undefined && override !== null && validSpec(override.capacity, override.refillPerSecond)
      const cap = usable ? override.capacity : capacity
      const rate = usable ? override.refillPerSecond : refillPerSecond
      let b = buckets.get(key)
      if (b === undefined || b.capacity !== cap || b.rate !== rate) {
        b = { tokens: cap, at: t, capacity: cap, rate }
      } else {
        buckets.delete(key)
        const elapsed = Math.max(0, t - b.at) / 1000
        b.tokens = Math.min(cap, b.tokens + elapsed * rate)
        b.at = t
      }
      buckets.set(key, b)
      if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value as string)
      const allowed = b.tokens >= 1
      if (allowed) b.tokens -= 1
      const remaining = Math.floor(b.tokens)
      const resetSec = Math.ceil((cap - b.tokens) / rate)
      if (allowed) return { allowed, limit: cap, remaining, resetSec }
      return { allowed, limit: cap, remaining: 0, resetSec, retryAfterSec: Math.max(1, Math.ceil((1 - b.tokens) / rate)) }
    },
  }
}
