/**
 * Deterministic test keys: `<prefix>_test_<32 base62><6 base62 CRC-32>`, the same shape and
 * checksum as `generateKey`, but derived from a seed and a counter instead of the CSPRNG.
 *
 * Deterministic on purpose: a test run can be reproduced key for key, and a key seen in a failing
 * test's output can be recreated. Deterministic also means predictable, so these keys are never
 * secrets: they only ever live in the kit's own in-memory store, hashed with the test pepper,
 * and the `test` environment segment tells any secret scanner (and any reader) what they are.
 * @module
 */
import { encodeBase62Int, randomBase62 } from '../keys/base62.js'
import { crc32 } from '../keys/crc32.js'
import { sha256 } from '../keys/hash.js'
import { CHECKSUM_LENGTH, RANDOM_LENGTH } from '../keys/format.js'

/** The environment segment of every key the kit makes. */
export const TEST_ENVIRONMENT = 'test'

/**
 * A byte source for `randomBase62`: SHA-256 in counter mode over (seed, key number, block), so
 * each key number has its own endless, reproducible stream. The separators are NUL, which a
 * seed cannot contain (it is validated), so distinct (seed, n) pairs never share an input.
 */
function streamFor(seed: string, n: number): (length: number) => Uint8Array {
  let block = 0
  let pool = new Uint8Array(0)
  return (length) => {
    while (pool.length < length) {
      const next = sha256(new TextEncoder().encode(`keyward/testing\u0000${seed}\u0000${n}\u0000${block++}`))
      const grown = new Uint8Array(pool.length + next.length)
      grown.set(pool)
      grown.set(next, pool.length)
      pool = grown
    }
    const out = pool.slice(0, length)
    pool = pool.slice(length)
    return out
  }
}

/** The `n`-th test key of `seed`, with a valid checksum. */
export function testKey(seed: string, prefix: string, n: number): string {
  const body = `${prefix}_${TEST_ENVIRONMENT}_${randomBase62(RANDOM_LENGTH, streamFor(seed, n))}`
  return body + encodeBase62Int(crc32(body), CHECKSUM_LENGTH)
}
