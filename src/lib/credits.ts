/**
 * Usage-limited keys (credits): the validation of a key's `credits` and of a route's `cost`, and
 * the refill arithmetic every store runs (the memory store here in JavaScript, the Postgres store
 * in one `UPDATE`, the Redis ledger in one Lua script), so that all of them count alike.
 *
 * The rule, lazy and exact: a refill is due at `refilledAt + interval`; at time `at`, the
 * `n = floor((at - refilledAt) / interval)` whole intervals elapsed since are counted once, by
 * advancing `refilledAt` by `n` intervals (never to `at`, so no part of an interval is lost or
 * counted twice), and if `n ≥ 1` the balance is topped up to `amount` (a balance above it stays:
 * a refill never takes credits away, and idle intervals do not accumulate). The refill and the
 * decrement happen in the same atomic step, so two instances can never both count one interval.
 * @module
 */
import { knownFields } from './options.js'
import { rangeError, typeError } from '../errors.js'
import type { CreditRefill, CreditResult, KeyCredits } from '../types.js'

/** One day: 86 400 000 ms. */
export const DAY_MS = 86_400_000
/** One `'month'`: exactly 30 days (2 592 000 000 ms), not a calendar month. */
export const MONTH_MS = 30 * DAY_MS
/** The largest balance, amount or cost: exact in a double, a Lua number and a Postgres bigint. */
export const MAX_CREDITS = 1e15
/** The shortest and the longest numeric refill interval. */
export const MIN_INTERVAL_MS = 1000
export const MAX_INTERVAL_MS = 10 * 365 * DAY_MS

/** The length of a refill interval in milliseconds. */
export function intervalMs(interval: CreditRefill['interval']): number {
  return interval === 'day' ? DAY_MS : interval === 'month' ? MONTH_MS : interval
}

/** A whole number of credits from `min` to `MAX_CREDITS`. */
export function creditCount(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number') throw typeError(field, 'must be a number')
  if (!Number.isSafeInteger(value) || value < min || value > MAX_CREDITS) throw rangeError(field, `must be an integer from ${min} to 1e15`)
  return value
}

/** A validated refill `{ amount, interval }` (unknown fields refused). */
export function creditRefill(value: unknown, field: string): CreditRefill {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw typeError(field, "must be { amount, interval: 'day' | 'month' | milliseconds }")
  knownFields(value, ['amount', 'interval'], field)
  const { amount, interval } = value as Record<string, unknown>
  const a = creditCount(amount, `${field}.amount`, 1)
  if (interval === 'day' || interval === 'month') return { amount: a, interval }
  if (typeof interval !== 'number' || !Number.isSafeInteger(interval) || interval < MIN_INTERVAL_MS || interval > MAX_INTERVAL_MS) {
    throw rangeError(`${field}.interval`, "must be 'day', 'month' or an integer number of milliseconds from 1000 to 10 years")
  }
  return { amount: a, interval }
}

/** What a key's `credits` may be set to (issue, import, update, the admin API). */
export interface CreditsInput {
  remaining: number
  refill?: CreditRefill
}

/** Validates `{ remaining, refill? }` (unknown fields refused). */
export function creditsInput(value: unknown, field = 'credits'): CreditsInput {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw typeError(field, 'must be { remaining, refill? }')
  knownFields(value, ['remaining', 'refill'], field)
  const v = value as Record<string, unknown>
  const remaining = creditCount(v.remaining, `${field}.remaining`, 0)
  return v.refill === undefined ? { remaining } : { remaining, refill: creditRefill(v.refill, `${field}.refill`) }
}

/**
 * The stored `credits` after an edit that sets them: "set the balance to `remaining` now", a new
 * `version` (so every store and ledger replaces its balance, see `KeyCredits.version`), and the
 * refill interval starting now. The version is the edit time, or one more than the last version
 * if that is not above it: it grows with every edit, also across a removal of the credits and a
 * later new limit (a ledger may still hold the old version then).
 */
export function creditsSet(input: CreditsInput, previous: KeyCredits | undefined, now: number): KeyCredits {
  const c: KeyCredits = { remaining: input.remaining, version: Math.max(Math.floor(now), (previous?.version ?? 0) + 1) }
  if (input.refill !== undefined) {
    c.refill = input.refill
    c.refilledAt = now
  }
  return c
}

/** A balance and its refill anchor. */
export interface Balance {
  readonly remaining: number
  readonly refilledAt: number | undefined
}

/** `b` with every refill due at `at` applied (see the module's rule). Never moves `refilledAt` backwards. */
export function refilled(b: Balance, refill: CreditRefill | undefined, at: number): Balance {
  if (refill === undefined || b.refilledAt === undefined) return b
  const ms = intervalMs(refill.interval)
  if (!(at >= b.refilledAt + ms)) return b
  const n = Math.floor((at - b.refilledAt) / ms)
  return { remaining: Math.max(b.remaining, refill.amount), refilledAt: b.refilledAt + n * ms }
}

/** When the next refill is due, if the key has a refill. */
export function nextRefillAt(b: Balance, refill: CreditRefill | undefined): number | undefined {
  return refill === undefined || b.refilledAt === undefined ? undefined : b.refilledAt + intervalMs(refill.interval)
}

/** One consume at `at`: the refill that is due, then `cost` taken if the balance covers it. */
export function charged(b: Balance, refill: CreditRefill | undefined, cost: number, at: number): { balance: Balance; result: CreditResult } {
  const r = refilled(b, refill, at)
  const allowed = r.remaining >= cost
  const balance = allowed ? { remaining: r.remaining - cost, refilledAt: r.refilledAt } : r
  const next = nextRefillAt(balance, refill)
  const result: CreditResult = next === undefined ? { allowed, remaining: balance.remaining } : { allowed, remaining: balance.remaining, nextRefillAt: next }
  return { balance, result }
}

/** The balance of `credits` as it stands at `at` (for display: nothing is written). */
export function creditsAt(credits: KeyCredits, at: number): { remaining: number; nextRefillAt?: number } {
  const b = refilled({ remaining: credits.remaining, refilledAt: credits.refilledAt }, credits.refill, at)
  const next = nextRefillAt(b, credits.refill)
  return next === undefined ? { remaining: b.remaining } : { remaining: b.remaining, nextRefillAt: next }
}
