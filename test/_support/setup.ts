/**
 * Loaded before every test file (vitest `setupFiles`): a test that makes no assertion fails.
 * A test that only checks "does not throw" must say so with an assertion
 * (`expect(() => …).not.toThrow()`), so every passing test states what it checked.
 */
import { beforeEach, expect } from 'vitest'

beforeEach(() => {
  expect.hasAssertions()
})
