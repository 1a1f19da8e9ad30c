/**
 * Bytes from the platform CSPRNG: Web Crypto's `getRandomValues` (W3C Web Cryptography API
 * §10.1.1), global in Node ≥ 19, browsers, workers and edge runtimes. No dependency to load.
 * @module
 */

/** `n` bytes from the platform CSPRNG. `getRandomValues` takes at most 65,536 bytes a call. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n)
  // Stryker disable next-line EqualityOperator: with <=, the extra call at i = n fills an empty subarray
  for (let i = 0; i < n; i += 65_536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65_536)))
  return out
}
