/**
 * The checks after authentication, shared by every scheme, in the decision order: tenant (when
 * not already compared after the key lookup), client address, permission, explicit grant, rate
 * limit, credits. Synchronous unless a rate limiter is configured or the key has credits.
 * @module
 */
import { headerReader } from '../tenant.js'
import type { Decision, RateLimiter } from '../types.js'
import { clientOf, type Ctx } from './context.js'
import { allowlistHas, type Subject } from './records.js'
import { TIMEOUT, within } from './store-gate.js'
import { paid } from './credits.js'
import { deny } from './verdict.js'

/** Rate-limit header fields and the `RateLimitResult` fields they show. */
const RATE_HEADERS = [
  ['ratelimit-limit', 'limit'],
  ['ratelimit-remaining', 'remaining'],
  ['ratelimit-reset', 'resetSec'],
] as const

/**
 * The request's tenant against the key's, straight after the key lookup and before any group
 * or owner lookup: a key of another tenant costs the same store calls as an unknown key. The
 * tenant function is user code: what it throws is misuse and rejects `authorize()`.
 */
export function tenantGate(ctx: Ctx, keyTenant: string | undefined): Decision | undefined {
  const fn = ctx.e.tenantOf
  if (fn === undefined || ctx.tenantDone) return undefined
  ctx.tenantDone = true
  const wanted = fn(ctx.request, headerReader(ctx.request))
  return typeof wanted !== 'string' || keyTenant !== wanted ? deny(ctx, 'tenant_mismatch') : undefined
}

export function finish(ctx: Ctx, subject: Subject): Decision | Promise<Decision> {
  ctx.keyId = subject.keyId
  ctx.tenant = subject.tenant
  const e = ctx.e
  const td = tenantGate(ctx, subject.tenant)
  if (td !== undefined) return td
  for (const list of subject.lists) {
    if (list !== undefined && !allowlistHas(list, clientOf(ctx).addr as Parameters<typeof allowlistHas>[1])) {
      return deny(ctx, 'ip_not_allowed')
    }
  }
  const need = ctx.need
  for (let i = 0; i < need.parsed.length; i++) {
    const p = need.parsed[i]!
    if (!subject.perms.holds(p.resource, p.level)) return deny(ctx, 'insufficient_permission', { subject: need.permissions[i] })
  }
  if (e.explicitGrants && !ctx.describing) {
    const op = need.operation
    if (op === undefined || !subject.grants.has(op)) {
      return deny(ctx, 'operation_not_granted', op === undefined ? { detail: 'route names no operation' } : { subject: op })
    }
  }
  return e.limiter ? limited(ctx, subject, e.limiter) : paid(ctx, subject, {})
}

/** A finite number. `Number.isFinite` converts nothing: a string, `null` or a bigint is not one. */
const finite = (n: unknown): n is number => Number.isFinite(n)

/**
 * The rate limiter's verdict. Only `allowed === true` allows and only `allowed === false` is a
 * 429: any other answer (not an object, `allowed: 'no'`, a getter that throws), a rejection or a
 * timeout is 503 `store_unavailable`, as a failing store is. Never an allow, never a rejection.
 */
async function limited(ctx: Ctx, subject: Subject, l: RateLimiter): Promise<Decision> {
  const headers: Record<string, string> = {}
  let allowed: unknown
  let retryAfter: unknown
  try {
    // A shared limiter (Redis) is a remote call like the store: bounded by the same timeout.
    // A synchronous answer (the in-memory limiter) needs no timer.
    const pending = l.consume(subject.keyId, subject.rateLimit)
    const r: unknown = pending instanceof Promise ? await within(pending, ctx.e.timeoutMs) : await pending
    // Read as a RateLimitResult: an answer that is not an object has no `allowed` (malformed).
    const v = r as Partial<Record<string, unknown>> | null | undefined
    allowed = v?.allowed
    retryAfter = v?.retryAfterSec
    for (const [name, field] of RATE_HEADERS) {
      const n = v?.[field]
      if (finite(n) && n >= 0) headers[name] = String(Math.ceil(n))
    }
  } catch (err) {
    return deny(ctx, 'store_unavailable', { retryAfterSec: 1, detail: err === TIMEOUT ? 'rate_limiter_timeout' : 'rate_limiter' })
  }
  if (allowed === true) return paid(ctx, subject, headers)
  if (allowed !== false) return deny(ctx, 'store_unavailable', { retryAfterSec: 1, detail: 'rate_limiter_malformed' })
  const retryAfterSec = finite(retryAfter) ? Math.max(1, Math.ceil(retryAfter)) : 1
  return deny(ctx, 'rate_limited', { retryAfterSec, headers })
}
