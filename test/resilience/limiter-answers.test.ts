/**
 * A custom `RateLimiter` is trusted for one thing only: `allowed === true` allows and
 * `allowed === false` is a 429. Any other answer is 503 `store_unavailable` (fail closed), never
 * an allow and never a rejection of `authorize()`.
 */
import { describe, expect, it } from 'vitest'
import { createAuthorizer, KeyManager, MemoryKeyStore, type RateLimiter } from '../../src/index.js'

const NOW = Date.UTC(2030, 0, 1)
const OK = { limit: 10, remaining: 9, resetSec: 1 }

const throwingGetter = (): object =>
  Object.defineProperty({ ...OK }, 'allowed', {
    get() {
      throw new Error('connection reset')
    },
  })

const TABLE: [string, () => unknown, number, string][] = [
  ['allowed: true', () => ({ ...OK, allowed: true }), 200, 'allow'],
  ['allowed: true, as a promise', () => Promise.resolve({ ...OK, allowed: true }), 200, 'allow'],
  ['allowed: false', () => ({ ...OK, allowed: false, retryAfterSec: 3 }), 429, 'rate_limited'],
  ["allowed: 'no'", () => ({ ...OK, allowed: 'no' }), 503, 'store_unavailable'],
  ["allowed: 'false'", () => ({ ...OK, allowed: 'false' }), 503, 'store_unavailable'],
  ['allowed: 1', () => ({ ...OK, allowed: 1 }), 503, 'store_unavailable'],
  ['allowed: 0', () => ({ ...OK, allowed: 0 }), 503, 'store_unavailable'],
  ['allowed missing', () => ({ ...OK }), 503, 'store_unavailable'],
  ['undefined', () => undefined, 503, 'store_unavailable'],
  ['null', () => null, 503, 'store_unavailable'],
  ['a string', () => 'allowed', 503, 'store_unavailable'],
  ['a promise of undefined', () => Promise.resolve(undefined), 503, 'store_unavailable'],
  ['a getter that throws', throwingGetter, 503, 'store_unavailable'],
  ['a promise of a getter that throws', () => Promise.resolve(throwingGetter()), 503, 'store_unavailable'],
  ['a revoked proxy', () => {
    const { proxy, revoke } = Proxy.revocable({ ...OK, allowed: true }, {})
    revoke()
    return proxy
  }, 503, 'store_unavailable'],
  ['a rejection', () => Promise.reject(new Error('redis down')), 503, 'store_unavailable'],
  ['a synchronous throw', () => {
    throw new Error('redis down')
  }, 503, 'store_unavailable'],
]

describe('a custom rate limiter', () => {
  it.each(TABLE.map(([label, answer, status, reason]) => ({ label, answer, status, reason })))(
    'answering $label gives $status $reason, and authorize() resolves', async ({ answer, status, reason }) => {
    const store = new MemoryKeyStore()
    const { key } = await new KeyManager(store, { now: () => NOW - 1 }).issue({ kind: 'user', owner: 'ana', role: 'Read Only' })
    const limiter = { consume: () => answer() } as unknown as RateLimiter
    const authorizer = createAuthorizer({ store, now: () => NOW, touchIntervalMs: 0, rateLimiter: limiter })
    const d = await authorizer.authorize({ method: 'GET', url: '/scans', headers: { 'x-api-key': key }, remoteAddress: '127.0.0.1' }, 'scans:read')
    expect([d.status, d.allow ? 'allow' : d.reason]).toEqual([status, reason])
    if (status !== 200) expect(d.headers['retry-after']).toMatch(/^[1-9]\d*$/)
    // Header values are numbers or absent, never "undefined" or "NaN".
    for (const v of Object.values(d.headers)) expect(v).not.toMatch(/undefined|NaN/)
  },
  )
})
