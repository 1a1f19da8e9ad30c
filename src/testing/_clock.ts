/**
 * The kit's clock: it only moves when a test moves it.
 * @module
 */
import { rangeError, typeError } from '../errors.js'

/**
 * A clock that stands still until a test moves it. The kit's authorizer, key manager, token
 * minting and (with the `rateLimit` option) rate limiter all read it, so expiry, rotation grace
 * periods, token lifetimes and rate-limit refills are driven by the test, not by wall time.
 */
export interface TestClock {
  /** The current time, epoch milliseconds. */
  now(): number
  /**
   * Moves the clock forward by `ms` (a finite number ≥ 0) and returns the new time.
   * @example kit.clock.advance(60 * 60_000) // one hour later
   */
  advance(ms: number): number
  /**
   * Sets the clock to an instant (epoch milliseconds or a `Date`), forward or back, and returns it.
   * @example kit.clock.set(Date.UTC(2030, 5, 1))
   */
  set(at: number | Date): number
}

/** An instant as epoch milliseconds, or a field-naming error. */
export function instant(value: unknown, field: string): number {
  const t = value instanceof Date ? value.getTime() : value
  if (typeof t !== 'number') throw typeError(field, 'must be epoch milliseconds or a Date')
  if (!Number.isFinite(t) || Math.abs(t) > 8.64e15) throw rangeError(field, 'must be a valid instant (finite, within the Date range)')
  return t
}

/** Where the kit's clock starts: 2030-01-01T00:00:00.000Z. */
export const TEST_EPOCH = Date.UTC(2030, 0, 1)

/**
 * A clock of its own, the one the kit's authorizer runs on, for whatever else in a test takes a
 * `now` option (`tokenBucket`, `cachedStore`, a `KeyManager`, your own code): hand it
 * `clock.now` and move time with `advance`/`set`, never with wall time or fake timers.
 *
 * @param start - Where it starts: epoch milliseconds or a `Date`.
 * @default start: `TEST_EPOCH` (2030-01-01T00:00:00.000Z)
 * @throws TypeError or RangeError, naming `start`, for anything but a valid instant.
 * @example
 * ```ts
 * import { createTestClock } from 'keyward/testing'
 * import { tokenBucket } from 'keyward'
 *
 * const clock = createTestClock()
 * const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, now: clock.now })
 * clock.advance(1_000) // one token back
 * ```
 */
export function createTestClock(start: number | Date = TEST_EPOCH): TestClock {
  return createClock(instant(start, 'start'))
}

export function createClock(start: number): TestClock {
  let at = start
  // Methods are closures, not `this`-bound, so `now: kit.clock.now` can be handed around as is.
  return Object.freeze({
    now: () => at,
    advance(ms: number): number {
      if (typeof ms !== 'number') throw typeError('ms', 'must be a number of milliseconds')
      if (!Number.isFinite(ms) || ms < 0) throw rangeError('ms', 'must be a finite number ≥ 0 (use set() to go back)')
      const next = at + ms
      if (Math.abs(next) > 8.64e15) throw rangeError('ms', 'moves the clock past the Date range')
      at = next
      return at
    },
    set(value: number | Date): number {
      at = instant(value, 'at')
      return at
    },
  })
}
