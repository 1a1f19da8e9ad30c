/**
 * `./_noble.ts` in the CommonJS build: the same hasher, with `@noble/hashes` required when it is
 * first used instead of at load. The build (tsup.config.ts) puts this file in `./_noble.ts`'s
 * place for CommonJS only, because a CommonJS bundle hoists every import to a top-level
 * `require()`, and a loader that cannot `require()` ES modules (Jest's) must never meet one on
 * Node, where the native hash is used instead.
 * @module
 */
import type * as Hmac from '@noble/hashes/hmac.js'
import type * as Sha2 from '@noble/hashes/sha2.js'
import { nobleHasherWith } from './_noble-core.js'
import type { Hasher, Pepper } from './hash.js'

const load = (): { sha256: typeof Sha2.sha256; hmac: typeof Hmac.hmac } => ({
  sha256: (require('@noble/hashes/sha2.js') as typeof Sha2).sha256,
  hmac: (require('@noble/hashes/hmac.js') as typeof Hmac).hmac,
})

/** SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return load().sha256(bytes)
}

/** SHA-256 or HMAC-SHA-256 hasher, as `./_noble.ts`'s. */
export function nobleHasher(pepper?: Pepper): Hasher {
  const { sha256: h, hmac } = load()
  return nobleHasherWith(h, hmac, pepper)
}
