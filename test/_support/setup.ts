/**
 * Loaded before every test file (vitest `setupFiles`): a test that makes no assertion fails.
 * A test that only checks "does not throw" must say so with an assertion
 * (`expect(() => …).not.toThrow()`), so every passing test states what it checked.
 *
 * Test files share their worker's globals with the files run after them in that worker
 * (vitest.config.ts turns isolation off for most files), so a file must also leave the timers
 * and the clock as it found them: one that ends with `setTimeout` or `Date` still replaced fails
 * here, rather than a later file hanging on a timer nobody advances.
 */
import { afterAll, beforeEach, expect } from 'vitest'

/** What fake timers and clock spies replace, read fresh each time. */
const WATCHED: Record<string, () => unknown> = {
  setTimeout: () => globalThis.setTimeout,
  clearTimeout: () => globalThis.clearTimeout,
  setInterval: () => globalThis.setInterval,
  clearInterval: () => globalThis.clearInterval,
  setImmediate: () => globalThis.setImmediate,
  clearImmediate: () => globalThis.clearImmediate,
  queueMicrotask: () => globalThis.queueMicrotask,
  Date: () => globalThis.Date,
  'Date.now': () => Date.now,
  'performance.now': () => performance.now,
}

// The first file of a worker records the originals; nothing has run in that process yet.
const KEY = Symbol.for('keyward.test.globals')
const holder = globalThis as { [KEY]?: Map<string, unknown> }
const originals = (holder[KEY] ??= new Map(Object.entries(WATCHED).map(([name, read]) => [name, read()])))

beforeEach(() => {
  expect.hasAssertions()
})

afterAll(() => {
  const replaced = Object.entries(WATCHED)
    .filter(([name, read]) => read() !== originals.get(name))
    .map(([name]) => name)
  if (replaced.length > 0) {
    throw new Error(`this file left ${replaced.join(', ')} replaced (fake timers or a spy not restored; restore spies before vi.useRealTimers())`)
  }
})
