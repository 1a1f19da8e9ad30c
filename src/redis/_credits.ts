/**
 * The shared credit ledger: one Lua script, run atomically by Redis, one round trip per request
 * of a usage-limited key. For instances whose store cannot consume atomically on its own (or
 * should not take a write per request): the balance lives in Redis, seeded from the key record.
 *
 * Seeding and edits: the ledger entry of a key remembers the `credits.version` it was seeded
 * from. A consume that carries a record with a newer version (an edit: "set the balance to N")
 * replaces the entry; one carrying the same or an older version (a record another instance still
 * has cached) uses the entry as it is. So an edit reaches the ledger with the first request that
 * sees the edited record, and a stale record can never reset a balance that was spent: no race
 * between instances creates budget. The refill and the decrement happen in the same script, with
 * the refill spec stored at seeding, so an interval is never counted twice.
 * @module
 */
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { creditCount, intervalMs } from '../lib/credits.js'
import { knownFields } from '../lib/options.js'
import { typeError } from '../errors.js'
import type { CreditLedger, CreditResult, KeyCredits } from '../types.js'

/**
 * KEYS[1] the key's entry; ARGV: cost, at, then the record's credits: remaining, version,
 * refill amount ('' none), interval ms ('' none), refilledAt ('' none).
 * Entry: hash {rem, at, v, amt, ms}. Returns {allowed, remaining, nextRefillAt or -1}.
 * The arithmetic is `refilled()` of `_credits.ts`; `%d` keeps every integer exact (≤ 1e15).
 */
export const CREDITS_LUA = `
local cost = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local sv = tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 'rem', 'at', 'v', 'amt', 'ms')
local rem, at, v, amt, ms = tonumber(s[1]), tonumber(s[2]), tonumber(s[3]), tonumber(s[4]), tonumber(s[5])
if rem == nil or v == nil or sv > v then
  rem = tonumber(ARGV[3])
  v = sv
  amt = tonumber(ARGV[5])
  ms = tonumber(ARGV[6])
  at = tonumber(ARGV[7])
end
if amt ~= nil and ms ~= nil and at ~= nil and now >= at + ms then
  local n = math.floor((now - at) / ms)
  at = at + n * ms
  if rem < amt then rem = amt end
end
local ok = 0
if rem >= cost then
  rem = rem - cost
  ok = 1
end
local f = function(x) if x == nil then return '' end return string.format('%d', x) end
redis.call('HSET', KEYS[1], 'rem', f(rem), 'at', f(at), 'v', f(v), 'amt', f(amt), 'ms', f(ms))
local nxt = -1
if amt ~= nil and ms ~= nil and at ~= nil then nxt = at + ms end
return {ok, rem, nxt}
`

const SHA = createHash('sha1').update(CREDITS_LUA).digest('hex')

/** Options of {@link redisCredits}. */
export interface RedisCreditsOptions {
  /**
   * Prefix of the Redis keys: key id `key_abc` is counted in the hash `<prefix>key_abc`. The
   * entries never expire: an evicted entry would be seeded again from the record, which may hold
   * more credits than were left, so run this Redis with `maxmemory-policy noeviction`.
   * @default 'keyward:credits:'
   * @example 'myapp:keyward:credits:'
   */
  prefix?: string
}

/** A `CreditLedger` in Redis. */
export interface RedisCredits extends CreditLedger {
  /** The Redis key holding `keyId`'s balance. */
  keyOf(keyId: string): string
}

function parseReply(reply: unknown): CreditResult {
  if (!Array.isArray(reply) || reply.length !== 3 || !reply.every((v) => typeof v === 'number')) {
    throw new Error('keyward/redis: unexpected reply from the credits script')
  }
  const [ok, remaining, next] = reply as number[]
  return next! >= 0 ? { allowed: ok === 1, remaining: remaining!, nextRefillAt: next! } : { allowed: ok === 1, remaining: remaining! }
}

/** Implementation of `redisCredits` (see `keyward/redis`). */
export function createRedisCredits(redis: Redis, options: RedisCreditsOptions = {}): RedisCredits {
  if (redis === null || typeof redis !== 'object' || typeof (redis as Partial<Redis>).evalsha !== 'function') {
    throw typeError('redis', 'must be an ioredis client')
  }
  if (options === null || typeof options !== 'object') throw typeError('options', 'must be an object')
  knownFields(options, ['prefix'], 'options')
  const prefix = options.prefix ?? 'keyward:credits:'
  if (typeof prefix !== 'string' || prefix.length > 200) throw typeError('prefix', 'must be a string of at most 200 characters')
  const keyOf = (keyId: string): string => prefix + keyId

  async function run(key: string, args: string[]): Promise<unknown> {
    try {
      return await redis.evalsha(SHA, 1, key, ...args)
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('NOSCRIPT')) return redis.eval(CREDITS_LUA, 1, key, ...args)
      throw e
    }
  }

  return {
    keyOf,
    async consume(keyId: string, credits: KeyCredits, cost: number, at: number): Promise<CreditResult | undefined> {
      if (typeof keyId !== 'string' || keyId.length === 0) throw typeError('keyId', 'must be a non-empty string')
      creditCount(cost, 'cost', 1)
      // A record whose credits are malformed must fail (503), never seed an unlimited balance.
      creditCount(credits?.remaining, 'credits.remaining', 0)
      if (!Number.isSafeInteger(credits.version) || !Number.isSafeInteger(at)) throw new TypeError('keyward/redis: credits.version and at must be integers')
      if (redis.status === 'end') throw new Error('keyward/redis: the Redis connection is closed')
      const refill = credits.refill
      const seeded = refill !== undefined && credits.refilledAt !== undefined
      const args = [
        String(cost), String(at), String(credits.remaining), String(credits.version),
        seeded ? String(refill.amount) : '', seeded ? String(intervalMs(refill.interval)) : '', seeded ? String(credits.refilledAt) : '',
      ]
      return parseReply(await run(keyOf(keyId), args))
    },
  }
}
