/**
 * `jose`, loaded on first use: by the `jwt` scheme when it verifies its first token and by
 * `mintToken`. Nothing imports it at load time, so a bundle without a JWT scheme leaves it out,
 * and `require('keyward')` never meets it (jose is an ES module only; some CommonJS loaders,
 * such as Jest's, cannot `require()` one). The CommonJS build uses `./_jose-cjs.ts` in its place.
 * @module
 */

type Jose = typeof import('jose')

let loading: Promise<Jose> | undefined

/** The `jose` module; the import is started once and shared. A failed import is retried next time. */
export function loadJose(): Promise<Jose> {
  loading ??= import('jose').catch((e: unknown) => {
    loading = undefined
    throw e
  })
  return loading
}

/**
 * Starts loading `jose` now, when a JWT scheme is created, so the first token does not wait
 * for it. A failure is not reported here: the first verification reports it.
 */
export function preloadJose(): void {
  loadJose().catch(() => undefined)
}
