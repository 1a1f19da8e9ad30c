/**
 * Key hashing: what is stored and looked up instead of the key.
 *
 * API keys from `generateKey` carry ≥ 128 bits of CSPRNG entropy, so a fast hash is the right
 * tool (a slow password hash would only add latency: nobody brute-forces 2^128). With a pepper,
 * HMAC-SHA-256 (RFC 2104) keeps a stolen table of hashes useless without the pepper, which lives
 * in the server's configuration, not in the database.
 *
 * `@noble/hashes` is the portable implementation. Where the runtime offers a native one-shot
 * SHA-256 (Node's `crypto.hash`, Node ≥ 20.12), it is used instead: about 8× faster on the
 * request path, byte-identical output (a test holds both to the same vectors). It is reached
 * through `process.getBuiltinModule`, not a static `node:` import, so the module still loads in
 * browsers, workers and edge runtimes.
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { utf8ToBytes } from '@noble/hashes/utils.js'
import { rangeError, typeError } from '../errors.js'

/** A pepper: the HMAC key used when hashing API keys. At least 32 bytes. */
export type Pepper = string | Uint8Array

/** A function from key to stored hash, bound to one pepper. */
export type Hasher = (key: string) => string

interface NativeCrypto {
  hash?: (alg: string, data: string | Uint8Array, encoding: string) => string | Uint8Array
}

const PEPPER_MIN_BYTES = 32
const BLOCK = 64 // SHA-256 block size in bytes (RFC 6234 §4.1), the HMAC pad length

function loadNative(): NativeCrypto | undefined {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    const mod = proc?.getBuiltinModule?.('node:crypto') as NativeCrypto | undefined
    return typeof mod?.hash === 'function' ? mod : undefined
  } catch {
    return undefined
  }
}

const native = /* @__PURE__ */ loadNative()

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Unpadded base64url (RFC 4648 §5). */
export function base64url(bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += B64URL[n >>> 18]! + B64URL[(n >>> 12) & 63]! + B64URL[(n >>> 6) & 63]! + B64URL[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += B64URL[n >>> 18]! + B64URL[(n >>> 12) & 63]!
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += B64URL[n >>> 18]! + B64URL[(n >>> 12) & 63]! + B64URL[(n >>> 6) & 63]!
  }
  return out
}

function pepperBytes(pepper: Pepper, field: string): Uint8Array {
  let bytes: Uint8Array
  if (typeof pepper === 'string') bytes = utf8ToBytes(pepper)
  else if (pepper instanceof Uint8Array) bytes = pepper
  else throw typeError(field, 'must be a string or a Uint8Array')
  if (bytes.length < PEPPER_MIN_BYTES) {
    throw rangeError(field, `must be at least ${PEPPER_MIN_BYTES} bytes (got ${bytes.length})`)
  }
  return bytes
}

function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw typeError('key', 'must be a string')
  if (key.length === 0) throw rangeError('key', 'must not be empty')
}

/** Portable hasher on `@noble/hashes` only. */
export function nobleHasher(pepper?: Pepper): Hasher {
  if (pepper === undefined) return (key) => base64url(sha256(utf8ToBytes(key)))
  const mac = hmac.create(sha256, pepperBytes(pepper, 'pepper'))
  // Clone the keyed state: the pepper's pads are absorbed once, not on every call.
  return (key) => base64url(mac.clone().update(utf8ToBytes(key)).digest())
}

/** Native hasher on `crypto.hash`, or `undefined` where the runtime has none. */
export function nativeHasher(pepper?: Pepper): Hasher | undefined {
  const hash = native?.hash
  if (!hash) return undefined
  if (pepper === undefined) return (key) => hash('sha256', key, 'base64url') as string
  let k = pepperBytes(pepper, 'pepper')
  // RFC 2104 §2: keys longer than the block are hashed first, shorter ones zero-padded.
  if (k.length > BLOCK) k = sha256(k)
  const ipad = new Uint8Array(BLOCK)
  const opad = new Uint8Array(BLOCK + 32)
  for (let i = 0; i < BLOCK; i++) {
    const b = k[i] ?? 0
    ipad[i] = b ^ 0x36
    opad[i] = b ^ 0x5c
  }
  const enc = new TextEncoder()
  return (key) => {
    const msg = enc.encode(key)
    const inner = new Uint8Array(BLOCK + msg.length)
    inner.set(ipad)
    inner.set(msg, BLOCK)
    opad.set(hash('sha256', inner, 'buffer') as Uint8Array, BLOCK)
    return hash('sha256', opad, 'base64url') as string
  }
}

/**
 * A hasher bound to `pepper`: native where available, else `@noble/hashes`. The pepper is
 * validated once, here.
 */
export function createHasher(pepper?: Pepper): Hasher {
  const h = nativeHasher(pepper) ?? nobleHasher(pepper)
  return (key) => {
    assertKey(key)
    return h(key)
  }
}

/**
 * Hashes an API key for storage and lookup: SHA-256 of the key's UTF-8 bytes, or
 * HMAC-SHA-256 keyed with `pepper`, as unpadded base64url (43 characters).
 *
 * The pepper must be the same when keys are issued (`KeyManager`) and checked
 * (`createAuthorizer`); it must be at least 32 bytes.
 *
 * @example
 * ```ts
 * import { hashKey } from 'keyward'
 * const stored = hashKey(key)                                  // SHA-256
 * const peppered = hashKey(key, process.env.KEYWARD_PEPPER)     // HMAC-SHA-256
 * ```
 */
export function hashKey(key: string, pepper?: Pepper): string {
  assertKey(key)
  return (nativeHasher(pepper) ?? nobleHasher(pepper))(key)
}
