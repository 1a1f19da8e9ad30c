/**
 * The one clock and the one set of constants of keyward's own test harnesses, from the public
 * `keyward/testing` kit: time moves only when a test moves it (`advance`, `set`), never with the
 * wall clock, and every harness starts at the same instant and hashes with the same pepper.
 */
import { createTestClock, TEST_EPOCH, TEST_PEPPER, type TestClock } from '../../src/testing/index.js'

export type { TestClock }

/** Where every harness clock starts: the kit's `TEST_EPOCH`, 2030-01-01T00:00:00.000Z. */
export const T0 = TEST_EPOCH
/** `T0` in seconds (JWT `iat`/`exp`). */
export const T0_SEC = T0 / 1000
/** The pepper of every harness: the kit's public one (it protects nothing, by design). */
export const PEPPER = TEST_PEPPER

/** A clock for `now` options, at `T0` unless told otherwise. */
export function testClock(start: number = T0): TestClock {
  return createTestClock(start)
}
