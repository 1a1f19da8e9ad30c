/**
 * What the authorizer makes of a rate limiter's answer: the `RateLimit-*` headers (whole seconds
 * rounded up; a field that is not a finite non-negative number is left out), the 429's
 * `Retry-After` (at least 1), what the limiter is asked, and the detail of a limiter failure.
 */
import { describe, expect, it } from 'vitest'
import type { RateLimiter, RateLimitSpec } from '../../src/index.js'
import { harness } from '../_support/core.js'

async function answered(answer: unknown, spec?: RateLimitSpec) {
  const h = harness()
  const k = await h.issue({ kind: 'user', owner: 'ana', role: 'Read Only', ...(spec ? { rateLimit: spec } : {}) })
  const asked: unknown[][] = []
  const rateLimiter = { consume: (...args: unknown[]) => (asked.push(args), answer) } as unknown as RateLimiter
  const d = await h.authorizer({ rateLimiter, storeTimeoutMs: 20 })({ headers: { 'x-api-key': k.key } }, 'scans:read')
  return { d, asked, id: k.id, event: h.events.at(-1)! }
}

const rateHeaders = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).filter(([n]) => n.startsWith('ratelimit-') || n === 'retry-after'))

describe('the RateLimit headers', () => {
  it('shows the limit, the remaining requests (zero too) and the reset, rounded up to whole seconds', async () => {
    const { d } = await answered({ allowed: true, limit: 10, remaining: 0, resetSec: 1.2 })
    expect(d.allow).toBe(true)
    expect(rateHeaders(d.headers)).toEqual({ 'ratelimit-limit': '10', 'ratelimit-remaining': '0', 'ratelimit-reset': '2' })
  })

  it.each<[string, unknown]>([
    ['negative', -1],
    ['NaN', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
    ['a string', '5'],
    ['missing', undefined],
  ])('leaves out a field that is %s', async (_, bad) => {
    const { d } = await answered({ allowed: true, limit: bad, remaining: bad, resetSec: bad })
    expect(d.allow).toBe(true)
    expect(rateHeaders(d.headers)).toEqual({})
  })

  it('asks the limiter with the key id and the key\'s own rate limit', async () => {
    const spec = { capacity: 5, refillPerSecond: 2 }
    const { asked, id } = await answered({ allowed: true, limit: 5, remaining: 4, resetSec: 1 }, spec)
    expect(asked).toEqual([[id, spec]])
  })
})

describe('a 429', () => {
  it.each<[string, unknown, string]>([
    ['a fraction, rounded up', 2.1, '3'],
    ['a whole number', 7, '7'],
    ['exactly one second', 1, '1'],
    ['under a second, as one', 0.5, '1'],
    ['zero, as one', 0, '1'],
    ['negative, as one', -5, '1'],
    ['infinite, as one', Number.POSITIVE_INFINITY, '1'],
    ['NaN, as one', Number.NaN, '1'],
    ['a string, as one', '30', '1'],
    ['missing, as one', undefined, '1'],
  ])('sends Retry-After for a retryAfterSec that is %s', async (_, retryAfterSec, header) => {
    const { d } = await answered({ allowed: false, limit: 10, remaining: 0, resetSec: 4, retryAfterSec })
    expect(d.allow ? undefined : [d.status, d.reason]).toEqual([429, 'rate_limited'])
    expect(rateHeaders(d.headers)).toEqual({ 'ratelimit-limit': '10', 'ratelimit-remaining': '0', 'ratelimit-reset': '4', 'retry-after': header })
  })
})

describe('a limiter that fails', () => {
  it.each<[string, () => unknown, string]>([
    ['rejects', () => Promise.reject(new Error('redis down')), 'rate_limiter'],
    ['throws', () => { throw new Error('redis down') }, 'rate_limiter'],
    ['outlasts storeTimeoutMs', () => new Promise(() => {}), 'rate_limiter_timeout'],
    ['answers allowed: "yes"', () => ({ allowed: 'yes' }), 'rate_limiter_malformed'],
    ['answers undefined', () => undefined, 'rate_limiter_malformed'],
    ['answers null', () => null, 'rate_limiter_malformed'],
    ['answers a promise of null', () => Promise.resolve(null), 'rate_limiter_malformed'],
    ['answers a string', () => 'allowed', 'rate_limiter_malformed'],
  ])('is a 503 whose event says why when it %s', async (_, answer, detail) => {
    const h = harness()
    const k = await h.issue({ kind: 'org' })
    const rateLimiter = { consume: answer } as unknown as RateLimiter
    const d = await h.authorizer({ rateLimiter, storeTimeoutMs: 20 })({ headers: { 'x-api-key': k.key } })
    expect(d.allow ? undefined : [d.status, d.reason, d.headers['retry-after']]).toEqual([503, 'store_unavailable', '1'])
    expect(h.events.at(-1)!.detail).toBe(detail)
  })
})
