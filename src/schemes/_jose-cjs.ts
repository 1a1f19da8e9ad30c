/**
 * `./_jose.ts` in the CommonJS build: `jose` is required on first use (a CommonJS loader runs
 * `import()` only with ES module support, which Jest's lacks unless Node is flagged), so the
 * documented Jest configuration that compiles jose to CommonJS keeps working.
 * @module
 */

type Jose = typeof import('jose')

let loaded: Jose | undefined

/** The `jose` module, required once, on first use. */
export function loadJose(): Promise<Jose> {
  return Promise.resolve().then(() => (loaded ??= require('jose') as Jose))
}

/**
 * Loads `jose` now, when a JWT scheme is created, so the first token does not wait for it (under
 * a test runner, a first `require()` that compiles jose would otherwise count against that
 * test's timeout). A failure is not reported here: the first verification reports it.
 */
export function preloadJose(): void {
  try {
    loaded ??= require('jose') as Jose
  } catch {
    // reported by loadJose() on first use
  }
}
