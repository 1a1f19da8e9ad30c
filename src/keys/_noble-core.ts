/**
 * The `@noble/hashes` hasher, given noble's functions: shared by `./_noble.ts` (ES module build,
 * static imports) and `./_noble-cjs.ts` (CommonJS build, required on first use).
 * @module
 */
import type * as Hmac from '@noble/hashes/hmac.js'
import type * as Sha2 from '@noble/hashes/sha2.js'
import { base64url, pepperBytes, type Hasher, type Pepper } from './hash.js'

/** SHA-256 of the key's UTF-8 bytes, or HMAC-SHA-256 (RFC 2104) keyed with `pepper`, base64url. */
export function nobleHasherWith(sha256: typeof Sha2.sha256, hmac: typeof Hmac.hmac, pepper?: Pepper): Hasher {
  const utf8 = new TextEncoder()
  if (pepper === undefined) return (key) => base64url(sha256(utf8.encode(key)))
  const mac = hmac.create(sha256, pepperBytes(pepper, 'pepper'))
  // Clone the keyed state: the pepper's pads are absorbed once, not on every call.
  return (key) => base64url(mac.clone().update(utf8.encode(key)).digest())
}
