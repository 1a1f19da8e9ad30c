/**
 * Key hashing: what is stored and looked up instead of the key.
 *
 * API keys from `generateKey` carry ≥ 128 bits of CSPRNG entropy, so a fast hash is the right
 * tool (a slow password hash would only add latency: nobody brute-forces 2^128). With a pepper,
 * HMAC-SHA-256 (RFC 2104) keeps a stolen table of hashes useless without the pepper, which lives
 * in the server's configuration, not in the database.
 *
 * Where the runtime offers a native one-shot SHA-256 (Node's `crypto.hash`, Node ≥ 20.12), it is
 * used: about 8× faster on the request path than the portable `@noble/hashes`, byte-identical
 * output (a test holds both to the same vectors). It is reached through
 * `process.getBuiltinModule`, not a static `node:` import, so the module still loads in browsers,
 * workers and edge runtimes. `@noble/hashes` (`./_noble.ts`) is loaded only where no native hash
 * exists: on Node it is never loaded, so a CommonJS loader that cannot `require()` ES modules
 * (Jest's) never meets it.
 * @module
 */
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
  let mod: NativeCrypto | undefined
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    mod = proc?.getBuiltinModule?.('node:crypto') as NativeCrypto | undefined
  } catch {
    // A runtime whose getBuiltinModule throws has no native hash.
  }
  return typeof mod?.hash === 'function' ? mod : undefined
}

const native = /* @__PURE__ */ loadNative()

/**
 * The portable implementation, loaded on first use. `require` of a bundled module: the build
 * turns it into a lazy module initialiser in both formats (no `require` remains in the ESM
 * build), so `@noble/hashes` is imported only when this runs, never on Node.
 */
function noble(): typeof import('./_noble.js') {
  return require('./_noble.js') as typeof import('./_noble.js')
}

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

/** @internal The pepper as bytes, checked: at least 32 of them. */
export function pepperBytes(pepper: Pepper, field: string): Uint8Array {
  let bytes: Uint8Array
  if (typeof pepper === 'string') bytes = new TextEncoder().encode(pepper)
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


/** Native hasher on `crypto.hash`, or `undefined` where the runtime has none. */
export function nativeHasher(pepper?: Pepper): Hasher | undefined {
  const hash = native?.hash
  if (!hash) return undefined
  if (pepper === undefined) return (key) => hash('sha256', key, 'base64url') as string
  let k = pepperBytes(pepper, 'pepper')
  // RFC 2104 §2: keys longer than the block are hashed first, shorter ones zero-padded.
  if (k.length > BLOCK) k = hash('sha256', k, 'buffer') as Uint8Array
  const ipad = new Uint8Array(BLOCK)
  const opad = new Uint8Array(BLOCK + 32)
  // Stryker disable next-line EqualityOperator: with <=, ipad[64] is out of range and opad[64] is overwritten by the inner hash before each use
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

/** @internal SHA-256 of `bytes` (FIPS 180-4): native where available, else `@noble/hashes`. */
export function sha256(bytes: Uint8Array): Uint8Array {
  const hash = native?.hash
  return hash ? new Uint8Array(hash('sha256', bytes, 'buffer') as Uint8Array) : noble().sha256(bytes)
}

/**
 * A hasher bound to `pepper`: native where available, else `@noble/hashes`. The pepper is
 * validated once, here.
 */
export function createHasher(pepper?: Pepper): Hasher {
  const h = nativeHasher(pepper) ?? noble().nobleHasher(pepper)
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
  return (nativeHasher(pepper) ?? noble().nobleHasher(pepper))(key)
}
