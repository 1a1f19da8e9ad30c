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
