/**
 * The key format: `<prefix>_<environment?>_<32 base62 random><6 base62 CRC-32>`.
 *
 * Like GitHub's tokens: a fixed prefix lets secret scanners find leaked keys, and the checksum
 * lets them (and us) tell a real-looking key from a typo or a guess without any lookup.
 * 32 base62 characters carry 32·log2(62) ≈ 190 bits from the CSPRNG, above the 128 required.
 * @module
 */
import { fieldsOf, knownFields, object } from '../lib/options.js'
import { rangeError, typeError } from '../errors.js'
import { encodeBase62Int, randomBase62 } from './base62.js'
import { crc32 } from './crc32.js'
import { randomBytes } from './random.js'

/** Number of random base62 characters in a key. */
export const RANDOM_LENGTH = 32
/** Number of base62 characters of the CRC-32 checksum (62^6 > 2^32). */
export const CHECKSUM_LENGTH = 6
/** The default key prefix. */
export const DEFAULT_PREFIX = 'kw'

const PREFIX_RE = /^[a-z][a-z0-9]{0,15}$/
const ENV_RE = /^[a-z0-9]{1,16}$/

/** Options of {@link generateKey}. */
export interface GenerateKeyOptions {
  /**
   * Lower-case letters and digits, starting with a letter, at most 16 characters. Pick one per
   * product so secret scanners can tell your keys apart.
   * @default 'kw'
   * @example 'acme'
   */
  prefix?: string
  /**
   * Environment tag between prefix and secret, e.g. `live` or `test`. Lower-case letters and
   * digits, at most 16. Omitted: no environment segment.
   * @default undefined
   * @example 'live'
   */
  environment?: string
}

/** A key that has keyward's shape. */
export interface ParsedKey {
  /** `true` when the checksum matches; a key with a bad checksum can never be valid. */
  readonly valid: boolean
  readonly prefix: string
  readonly environment?: string
}

/** The checksum of everything before it: CRC-32 in base62, left-padded to 6. */
function checksum(body: string): string {
  return encodeBase62Int(crc32(body), CHECKSUM_LENGTH)
}

function validatePrefix(value: unknown, field: string): string {
  if (typeof value !== 'string') throw typeError(field, 'must be a string')
  if (!PREFIX_RE.test(value)) {
    throw rangeError(field, 'must be 1-16 lower-case letters or digits, starting with a letter (the value is not shown: it may be a key)')
  }
  return value
}

function validateEnvironment(value: unknown, field: string): string {
  if (typeof value !== 'string') throw typeError(field, 'must be a string')
  if (!ENV_RE.test(value)) throw rangeError(field, 'must be 1-16 lower-case letters or digits (the value is not shown: it may be a key)')
  return value
}

const KEY_OPTION_FIELDS = fieldsOf<GenerateKeyOptions>({ prefix: true, environment: true })

/** Validates generateKey options; exported for KeyManager, which checks them at construction. */
export function validateKeyOptions(options: GenerateKeyOptions, path = ''): void {
  if (options.prefix !== undefined) validatePrefix(options.prefix, `${path}prefix`)
  if (options.environment !== undefined) validateEnvironment(options.environment, `${path}environment`)
}

/**
 * Generates a new API key from the platform CSPRNG (`crypto.getRandomValues`).
 *
 * @example
 * ```ts
 * import { generateKey, hashKey } from 'keyward'
 * const key = generateKey({ prefix: 'acme', environment: 'live' })
 * // 'acme_live_czBQahobEa7kL4laDAcR8EEybLjHLweT0zQloW'
 * const hash = hashKey(key) // store this, show `key` once
 * ```
 */
export function generateKey(options: GenerateKeyOptions = {}): string {
  knownFields(object(options, 'options'), KEY_OPTION_FIELDS, 'options')
  const prefix = options.prefix === undefined ? DEFAULT_PREFIX : validatePrefix(options.prefix, 'prefix')
  const env = options.environment === undefined ? undefined : validateEnvironment(options.environment, 'environment')
  const body = `${prefix}_${env === undefined ? '' : `${env}_`}${randomBase62(RANDOM_LENGTH, randomBytes)}`
  return body + checksum(body)
}

/**
 * Reads a key's shape and verifies its checksum, without any store lookup.
 *
 * Returns `undefined` when `key` does not have keyward's shape at all (an imported legacy key
 * such as a UUID: those are only checked by lookup). Returns `{ valid: false }` when it has the
 * shape but the checksum is wrong: a typo or a forged key, which can be rejected at once.
 *
 * @example
 * ```ts
 * import { parseKey } from 'keyward'
 * parseKey('kw_live_…')        // { valid: true, prefix: 'kw', environment: 'live' }
 * parseKey('0b9c…-uuid')       // undefined: not a keyward key
 * ```
 */
export function parseKey(key: string): ParsedKey | undefined {
  const shape = keyShape(key)
  if (shape === NOT_KEYWARD) return undefined
  const head = key.slice(0, key.length - RANDOM_LENGTH - CHECKSUM_LENGTH - 1)
  const us = head.indexOf('_')
  const valid = shape === VALID
  return us === -1 ? { valid, prefix: head } : { valid, prefix: head.slice(0, us), environment: head.slice(us + 1) }
}

/**
 * Random characters a key's stored start keeps after its prefix and environment. Four base62
 * characters are about 23.8 bits of the key's 190: the 28 that stay unknown still carry about
 * 166 bits, far above the 128 a guess would have to beat, and the checksum (computed over the
 * whole key) reveals nothing more. Enough to tell keys apart in a list and to find a leaked
 * key's record from its first characters; never enough to matter.
 */
export const START_RANDOM_CHARS = 4

/**
 * @internal The short, non-secret start of a keyward key (`kw_live_3kTM`): its prefix, its
 * environment and the first {@link START_RANDOM_CHARS} random characters. `undefined` for a key
 * without keyward's valid shape (an imported UUID has too little entropy to show any of it).
 */
export function keyStart(key: string): string | undefined {
  if (keyShape(key) !== VALID) return undefined
  return key.slice(0, key.length - RANDOM_LENGTH - CHECKSUM_LENGTH + START_RANDOM_CHARS)
}

/** @internal {@link keyShape}: not keyward-shaped. */
export const NOT_KEYWARD = -1
/** @internal {@link keyShape}: keyward-shaped with a wrong checksum. */
export const BAD_CHECKSUM = 0
/** @internal {@link keyShape}: keyward-shaped, checksum right. */
export const VALID = 1

const isLowerOrDigit = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)
/** The value of base62 digit `c`, or a negative number when `c` is not one (below `0`: `c - 0x30`). */
const base62Digit = (c: number): number =>
  c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x5a ? c - 0x41 + 10 : c >= 0x61 && c <= 0x7a ? c - 0x61 + 36 : -1

/**
 * @internal The request-path form of {@link parseKey}: one pass over the characters, no
 * regex, no slice, no allocation. Same acceptance as `parseKey`.
 */
export function keyShape(key: string): number {
  if (typeof key !== 'string') return NOT_KEYWARD
  const tailLen = RANDOM_LENGTH + CHECKSUM_LENGTH
  const n = key.length
  // A fast exit only: every length outside 1+1+38 .. 16+1+16+1+38 also fails the checks below (no
  // '_' before the secret, or a prefix or environment too long).
  // Stryker disable next-line ConditionalExpression,LogicalOperator,ArithmeticOperator: see above
  if (n < tailLen + 2 || n > tailLen + 34) return NOT_KEYWARD
  const cut = n - tailLen
  if (key.charCodeAt(cut - 1) !== 0x5f) return NOT_KEYWARD
  // prefix: [a-z][a-z0-9]{0,15}; then optionally `_` + environment [a-z0-9]{1,16}
  const c0 = key.charCodeAt(0)
  if (c0 < 0x61 || c0 > 0x7a) return NOT_KEYWARD
  // The '_' at cut - 1 ends both loops at the latest.
  let i = 1
  while (isLowerOrDigit(key.charCodeAt(i))) i++
  if (i > 16) return NOT_KEYWARD
  if (i < cut - 1) {
    if (key.charCodeAt(i) !== 0x5f) return NOT_KEYWARD
    const envStart = ++i
    while (isLowerOrDigit(key.charCodeAt(i))) i++
    if (i !== cut - 1 || i - envStart < 1 || i - envStart > 16) return NOT_KEYWARD
  }
  // Stryker disable next-line EqualityOperator: with <=, the checksum's first character is checked here too, as it is below
  for (let j = cut; j < n - CHECKSUM_LENGTH; j++) {
    if (base62Digit(key.charCodeAt(j)) < 0) return NOT_KEYWARD
  }
  let sum = 0
  for (let j = n - CHECKSUM_LENGTH; j < n; j++) {
    const d = base62Digit(key.charCodeAt(j))
    if (d < 0) return NOT_KEYWARD
    sum = sum * 62 + d
  }
  return sum === crc32(key, n - CHECKSUM_LENGTH) ? VALID : BAD_CHECKSUM
}
