/**
 * The portable SHA-256 / HMAC-SHA-256 hasher on `@noble/hashes`, for runtimes without a native
 * one-shot hash. Loaded by `./hash.ts` only when needed: never on Node. (The CommonJS build uses
 * `./_noble-cjs.ts` in its place.)
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { nobleHasherWith } from './_noble-core.js'
import type { Hasher, Pepper } from './hash.js'

export { sha256 }

/** SHA-256 of the key's UTF-8 bytes, or HMAC-SHA-256 (RFC 2104) keyed with `pepper`, base64url. */
export function nobleHasher(pepper?: Pepper): Hasher {
  return nobleHasherWith(sha256, hmac, pepper)
}
