/**
 * The last check: a usage-limited key (a record with `credits`) pays the route's cost, after
 * every other check, the rate limiter included, has allowed, so a request denied for any other
 * reason consumes nothing. The consume is one atomic step in the store or the ledger; this module
 * only reads its answer. Fail closed: a consume that rejects, times out or answers something that
 * is not a `CreditResult` is 503 `store_unavailable`, never an allow.
 * @module
 */
import type { CreditResult, Decision } from '../types.js'
import type { Ctx } from './context.js'
import type { Subject } from './records.js'
import { TIMEOUT, within } from './store-gate.js'
import { allow, deny } from './verdict.js'

/** The response header with the balance left, on an allow and on `credits_exhausted`. */
export const CREDITS_HEADER = 'x-credits-remaining'

/** `allow`, after the key's credits paid for the route (keys without credits pay nothing). */
export function paid(ctx: Ctx, subject: Subject, headers: Record<string, string>): Decision | Promise<Decision> {
  const credits = subject.credits
  if (credits === undefined) return allow(ctx, subject, headers)
  return charge(ctx, subject, headers)
}

/** The consume call: the ledger's when configured, else the store's; `undefined` when there is none. */
function send(ctx: Ctx, subject: Subject): Promise<CreditResult | undefined> | undefined {
  const { credits: ledger, store } = ctx.e
  const cost = ctx.need.cost
  if (ledger !== undefined) return ledger.consume(subject.keyId, subject.credits!, cost, ctx.at)
  if (typeof store.consumeCredits !== 'function') return undefined
  return store.consumeCredits(subject.keyId, cost, ctx.at)
}

/** A non-negative safe integer, or `undefined`. `Number.isSafeInteger` converts nothing. */
function count(v: unknown): number | undefined {
  return Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined
}

/** A finite number. `Number.isFinite` converts nothing: a string or `null` is not one. */
const finite = (n: unknown): n is number => Number.isFinite(n)

async function charge(ctx: Ctx, subject: Subject, headers: Record<string, string>): Promise<Decision> {
  let r: unknown
  try {
    const pending = send(ctx, subject)
    if (pending === undefined) return deny(ctx, 'store_unavailable', { retryAfterSec: 1, detail: 'credits_unsupported' })
    r = await within(Promise.resolve(pending), ctx.e.timeoutMs)
  } catch (err) {
    return deny(ctx, 'store_unavailable', { retryAfterSec: 1, detail: err === TIMEOUT ? 'credits_timeout' : 'credits' })
  }
  // The key was deleted while the request was in flight: nothing to charge, nothing to allow.
  if (r === undefined) return deny(ctx, 'unknown_key')
  let allowed: unknown, remaining: number | undefined, next: unknown, hasRemaining: boolean
  try {
    // Read as a CreditResult: reading `null` throws, any other answer that is not one has no `allowed`.
    const v = r as Record<string, unknown>
    allowed = v.allowed
    hasRemaining = v.remaining !== undefined
    remaining = count(v.remaining)
    next = v.nextRefillAt
  } catch {
    return deny(ctx, 'store_unavailable', { retryAfterSec: 1, detail: 'credits_malformed' })
  }
  if ((allowed !== true && allowed !== false) || (hasRemaining && remaining === undefined) || (allowed === false && remaining === undefined)) {
    return deny(ctx, 'store_unavailable', { retryAfterSec: 1, detail: 'credits_malformed' })
  }
  // No `remaining`: the key has no credit limit any more (an edit removed it meanwhile).
  if (remaining === undefined) return allow(ctx, subject, headers)
  const out = { ...headers, [CREDITS_HEADER]: String(remaining) }
  if (allowed === true) return allow(ctx, subject, out)
  return deny(ctx, 'credits_exhausted', { headers: out, ...retryAfter(ctx, subject, next) })
}

/**
 * `Retry-After` (RFC 9110 §10.2.3, whole seconds, at least 1) when a refill is due that will
 * cover the route's cost; none when no refill will (no refill, or a cost above its amount).
 */
function retryAfter(ctx: Ctx, subject: Subject, next: unknown): { retryAfterSec?: number } {
  const refill = subject.credits!.refill
  if (!finite(next) || refill === undefined || refill.amount < ctx.need.cost) return {}
  return { retryAfterSec: Math.max(1, Math.ceil((next - ctx.at) / 1000)) }
}
