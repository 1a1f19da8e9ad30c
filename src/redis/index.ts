/**
 * `keyward/redis`: what several instances share through Redis (client: `ioredis`, an optional
 * peer dependency): a rate limiter whose budget is global, and instant revocation by cache
 * invalidation over pub/sub.
 *
 * The module never imports `ioredis` itself: you pass it your client.
 *
 * Redis keys and channels used (all configurable):
 * - `keyward:rl:<key id>`: a hash `{ tokens, at, cap, rate }` per key's bucket, expiring once full;
 * - `keyward:invalidate`: the pub/sub channel of invalidations;
 * - `keyward:credits:<key id>`: a hash `{ rem, at, v, amt, ms }` per usage-limited key (never expires).
 * @module
 */
import type { Redis } from 'ioredis'
import { createRedisCredits, type RedisCredits, type RedisCreditsOptions } from './_credits.js'
import { createRedisInvalidation, type RedisInvalidation, type RedisInvalidationOptions } from './_invalidation.js'
import { createRedisRateLimiter, type RedisRateLimiter, type RedisRateLimiterOptions } from './_limiter.js'

export type { InvalidationTarget, RedisInvalidation, RedisInvalidationOptions } from './_invalidation.js'
export type { RedisRateLimiter, RedisRateLimiterOptions } from './_limiter.js'
export type { RedisCredits, RedisCreditsOptions } from './_credits.js'

/**
 * A per-key token bucket shared by every instance: the same arithmetic, limits and headers as the
 * in-memory `tokenBucket`, computed atomically by a Lua script in Redis (one round trip per
 * request; Redis's clock, so instances' clocks do not matter). A key record's `rateLimit`
 * overrides the default for that key.
 *
 * Fails closed: when Redis is down or answers later than `timeoutMs`, `consume` rejects and the
 * authorizer answers 503 `service_unavailable` (never an unlimited allow).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { createAuthorizer } from 'keyward'
 * import { redisRateLimiter } from 'keyward/redis'
 *
 * const redis = new Redis(process.env.REDIS_URL!)
 * const authorizer = createAuthorizer({
 *   store,
 *   rateLimiter: redisRateLimiter(redis, { capacity: 100, refillPerSecond: 10 }),
 * })
 * ```
 */
export function redisRateLimiter(redis: Redis, options: RedisRateLimiterOptions): RedisRateLimiter {
  return createRedisRateLimiter(redis, options)
}

/**
 * The invalidation bus: publish every `KeyManager` write, apply every instance's writes to this
 * instance's `cachedStore`. A deactivated, deleted or rotated-out key is then refused on every
 * instance within the propagation time (one pub/sub hop; milliseconds on a LAN), instead of
 * after the cache TTL.
 *
 * The subscriber uses its own connection (`redis.duplicate()`). If it drops, messages sent
 * meanwhile are lost, so the bus clears attached caches every `outageClearMs` while it is down
 * and once more when the subscription is back. The worst case when Redis is unreachable from a
 * writer but not from the readers (a publish lost in a partition) is the cache's `ttlMs`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { cachedStore, createAuthorizer, KeyManager } from 'keyward'
 * import { postgresStore } from 'keyward/postgres'
 * import { redisInvalidation } from 'keyward/redis'
 *
 * const redis = new Redis(process.env.REDIS_URL!)
 * const bus = redisInvalidation(redis)
 * const store = cachedStore(postgresStore(pool), { ttlMs: 30_000 })
 * const detach = await bus.attach(store)                      // others' writes reach this cache
 * const manager = new KeyManager(store, { onWrite: bus.publish }) // this one's writes reach theirs
 * const authorizer = createAuthorizer({ store })
 * // on shutdown: await detach(); await bus.close()
 * ```
 */
export function redisInvalidation(redis: Redis, options?: RedisInvalidationOptions): RedisInvalidation {
  return createRedisInvalidation(redis, options)
}

/**
 * A credit ledger shared by every instance, for usage-limited keys: the refill due and the
 * decrement in one Lua script (atomic, one round trip), so 100 credits admit exactly 100 requests
 * across any number of instances, never below zero, and a refill interval is counted once.
 *
 * The balance is seeded from the key record the first time a key is used, and again whenever the
 * record carries a newer `credits.version` (a `KeyManager` edit: "set the balance to N"); a stale
 * record never resets it. Entries never expire: run Redis with `maxmemory-policy noeviction`.
 * Fails closed: when Redis is down or slower than the authorizer's `storeTimeoutMs`, the request
 * is denied 503.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { createAuthorizer } from 'keyward'
 * import { redisCredits } from 'keyward/redis'
 *
 * const redis = new Redis(process.env.REDIS_URL!)
 * const authorizer = createAuthorizer({ store, credits: redisCredits(redis) })
 * ```
 */
export function redisCredits(redis: Redis, options?: RedisCreditsOptions): RedisCredits {
  return createRedisCredits(redis, options)
}
