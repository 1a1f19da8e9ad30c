/**
 * Usage per key: decisions counted per key, outcome (`allowed` or the deny code) and hour,
 * fed by the authorizer's `onDecision`, read back by the admin API and drawn by the console.
 * @module
 */
import { fieldsOf, knownFields } from '../lib/options.js'
import { rangeError, typeError } from '../errors.js'
import type { Decision, DecisionEvent } from '../types.js'

/** Width of a stored bucket: one hour. Day series are sums of 24 hours (UTC days). */
export const HOUR_MS = 3_600_000
/** Width of a day bucket. */
export const DAY_MS = 24 * HOUR_MS
/** Hours kept: 31 days, so the 30-day series is complete. */
export const RETENTION_HOURS = 31 * 24

/** One bucket of a usage series. */
export interface UsagePoint {
  /** Start of the bucket, epoch milliseconds. */
  readonly start: number
  /** Decisions per outcome (`allowed`, or a deny code such as `insufficient_permission`). Absent outcomes were 0. */
  readonly counts: Readonly<Record<string, number>>
}

/** What {@link UsageRecorder.series} is asked for. */
export interface UsageQuery {
  /** First hour bucket wanted (inclusive), a multiple of one hour (3600000 ms). */
  readonly from: number
  /** End (exclusive), a multiple of one hour (3600000 ms). */
  readonly to: number
}

/**
 * Counts decisions per key, outcome and hour. `record` is synchronous and never throws: it is
 * called on the request path (through {@link usageOnDecision}). Shared implementations batch
 * their writes: a batch not yet written when the process stops is lost (the counts are then
 * low, never wrong); a count is never added twice.
 */
export interface UsageRecorder {
  /** Counts one decision for `keyId` at `at` (epoch ms) with `outcome`. */
  record(keyId: string, outcome: string, at: number): void
  /** Hour buckets of `keyId` in `[from, to)` that have any count, oldest first. */
  series(keyId: string, query: UsageQuery): Promise<UsagePoint[]>
  /** Writes what is batched. */
  flush?(): Promise<void>
  /** Flushes and stops any timer. */
  close?(): Promise<void>
}

const OUTCOME_RE = /^[a-z][a-z0-9_]{0,47}$/

/** An outcome name a recorder accepts: `allowed`, or a deny code's shape. Anything else is `denied`. */
export function outcomeName(outcome: string): string {
  return typeof outcome === 'string' && OUTCOME_RE.test(outcome) ? outcome : 'denied'
}

/**
 * An `onDecision` function that counts every decision about a known key in `recorder`, then
 * calls `next` (your own `onDecision`, if any). Decisions without a key (a missing or unknown
 * key) are not counted: they belong to nobody. A throwing recorder never changes a decision.
 *
 * @example
 * ```ts
 * const usage = new MemoryUsageRecorder()
 * const authorizer = createAuthorizer({ store, onDecision: usageOnDecision(usage, (e) => log.debug(e)) })
 * const admin = createAdminHandler({ manager, authorizer, usage })
 * ```
 */
export function usageOnDecision(
  recorder: UsageRecorder,
  next?: (event: DecisionEvent, decision: Decision) => void,
): (event: DecisionEvent, decision: Decision) => void {
  if (recorder === null || typeof recorder !== 'object' || typeof recorder.record !== 'function') throw typeError('recorder', 'must be a UsageRecorder')
  if (next !== undefined && typeof next !== 'function') throw typeError('next', 'must be a function')
  return (event, decision) => {
    if (typeof event.keyId === 'string') {
      try {
        recorder.record(event.keyId, event.allow ? 'allowed' : outcomeName(event.code ?? 'denied'), event.at)
      } catch {
        // Counting must never change a decision.
      }
    }
    next?.(event, decision)
  }
}

/** Options of {@link MemoryUsageRecorder}. */
export interface MemoryUsageRecorderOptions {
  /**
   * Most keys counted at once; beyond it, the key recorded least recently is forgotten. Memory
   * is bounded by `maxKeys` × 744 (31 days) hours × the outcomes seen in an hour (at
   * most `maxOutcomes`), and in practice by the hours a key was actually used.
   * @default 10000
   * @example 1000
   */
  maxKeys?: number
  /**
   * Most distinct outcomes counted in one hour of one key; further ones are counted as `other`.
   * @default 32
   * @example 16
   */
  maxOutcomes?: number
}

const MEMORY_FIELDS = fieldsOf<MemoryUsageRecorderOptions>({ maxKeys: true, maxOutcomes: true })

function intOption(value: unknown, field: string, def: number, max: number): number {
  const v = value ?? def
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw rangeError(field, `must be an integer from 1 to ${max}`)
  return v
}

/**
 * Usage counts in this process's memory: exact for one instance; each instance of several
 * counts only what it decided. Hours older than 744 (31 days) are dropped as new ones
 * are recorded.
 *
 * @example
 * ```ts
 * const usage = new MemoryUsageRecorder({ maxKeys: 5000 })
 * createAuthorizer({ store, onDecision: usageOnDecision(usage) })
 * ```
 */
export class MemoryUsageRecorder implements UsageRecorder {
  /** keyId → hour start → outcome → count. A `Map`, insertion-ordered: the first key is the least recent. */
  readonly #keys = new Map<string, Map<number, Map<string, number>>>()
  readonly #maxKeys: number
  readonly #maxOutcomes: number

  constructor(options: MemoryUsageRecorderOptions = {}) {
    if (options === null || typeof options !== 'object') throw typeError('options', 'must be an object')
    knownFields(options, MEMORY_FIELDS, 'options')
    this.#maxKeys = intOption(options.maxKeys, 'maxKeys', 10_000, 10_000_000)
    this.#maxOutcomes = intOption(options.maxOutcomes, 'maxOutcomes', 32, 1000)
  }

  record(keyId: string, outcome: string, at: number): void {
    if (typeof keyId !== 'string' || typeof at !== 'number' || !Number.isFinite(at)) return
    const hour = Math.floor(at / HOUR_MS) * HOUR_MS
    let hours = this.#keys.get(keyId)
    if (hours === undefined) {
      hours = new Map()
      if (this.#keys.size >= this.#maxKeys) this.#keys.delete(this.#keys.keys().next().value!)
    } else {
      this.#keys.delete(keyId)
    }
    this.#keys.set(keyId, hours)
    let counts = hours.get(hour)
    if (counts === undefined) {
      counts = new Map()
      hours.set(hour, counts)
      const oldest = hour - RETENTION_HOURS * HOUR_MS
      for (const h of hours.keys()) if (h <= oldest) hours.delete(h)
    }
    let name = outcomeName(outcome)
    if (!counts.has(name) && counts.size >= this.#maxOutcomes) name = 'other'
    counts.set(name, (counts.get(name) ?? 0) + 1)
  }

  async series(keyId: string, query: UsageQuery): Promise<UsagePoint[]> {
    const hours = this.#keys.get(keyId)
    if (hours === undefined) return []
    const out: UsagePoint[] = []
    for (const [start, counts] of hours) {
      if (start >= query.from && start < query.to) out.push({ start, counts: Object.assign(Object.create(null) as Record<string, number>, Object.fromEntries(counts)) })
    }
    return out.sort((a, b) => a.start - b.start)
  }
}

/** The usage windows the admin API serves: `24h` in hours, `30d` in UTC days. */
export const USAGE_WINDOWS = ['24h', '30d'] as const

/** A usage series as the admin API serves it: every bucket of the window, empty ones included. */
export interface UsageSeriesView {
  readonly keyId: string
  readonly window: (typeof USAGE_WINDOWS)[number]
  readonly bucketMs: number
  readonly from: number
  readonly to: number
  /** Every outcome that occurs in the window, `allowed` first. */
  readonly outcomes: string[]
  readonly points: { start: number; total: number; counts: Record<string, number> }[]
}

/** The window ending with the bucket that holds `now`, with zero-filled buckets. */
export async function usageSeries(recorder: UsageRecorder, keyId: string, window: (typeof USAGE_WINDOWS)[number], now: number): Promise<UsageSeriesView> {
  const bucketMs = window === '24h' ? HOUR_MS : DAY_MS
  const n = window === '24h' ? 24 : 30
  const to = Math.floor(now / bucketMs) * bucketMs + bucketMs
  const from = to - n * bucketMs
  const hours = await recorder.series(keyId, { from, to })
  const points = Array.from({ length: n }, (_, i) => ({ start: from + i * bucketMs, total: 0, counts: Object.create(null) as Record<string, number> }))
  const seen = new Set<string>()
  for (const h of hours) {
    const p = points[Math.floor((h.start - from) / bucketMs)]
    if (p === undefined) continue
    for (const [outcome, c] of Object.entries(h.counts)) {
      if (typeof c !== 'number' || !Number.isFinite(c) || c <= 0) continue
      const name = outcomeName(outcome)
      p.counts[name] = (p.counts[name] ?? 0) + c
      p.total += c
      seen.add(name)
    }
  }
  const outcomes = [...seen].sort((a, b) => (a === 'allowed' ? -1 : b === 'allowed' ? 1 : a < b ? -1 : a > b ? 1 : 0))
  return { keyId, window, bucketMs, from, to, outcomes, points }
}
