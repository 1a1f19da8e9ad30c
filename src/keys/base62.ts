/**
 * Base62 (`0-9A-Za-z`), the alphabet of GitHub-style tokens: no characters that need escaping
 * in URLs, headers or shells, and a double-click selects the whole key.
 * @module
 */

export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** Encodes a non-negative integer below 2^53, left-padded with `0` to `width`. */
export function encodeBase62Int(n: number, width: number): string {
  let out = ''
  do {
    out = BASE62[n % 62]! + out
    n = Math.floor(n / 62)
  } while (n > 0)
  return out.padStart(width, '0')
}

/**
 * `length` uniformly random base62 characters from `randomBytes`. Rejection sampling (bytes ≥ 248
 * are dropped) avoids the modulo bias a plain `byte % 62` would have.
 */
export function randomBase62(length: number, randomBytes: (n: number) => Uint8Array): string {
  let out = ''
  while (out.length < length) {
    const buf = randomBytes(length + 8)
    for (const b of buf) {
      if (out.length === length) break
      if (b < 248) out += BASE62[b % 62]
    }
  }
  return out
}
