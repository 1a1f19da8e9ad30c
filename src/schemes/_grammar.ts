/**
 * Shared grammar for credentials in header fields (RFC 9110 §11, RFC 7617 §2, RFC 6750 §2.1).
 * Every function is total: it returns `undefined` for anything it does not accept, never throws.
 * @module
 */
import { hasBadBytes, isVisibleAscii, trimOws } from '../lib/headers.js'
import { MAX_KEY_LENGTH } from './_scheme.js'

/** A raw key value from a dedicated header: OWS-trimmed, non-empty, visible ASCII, bounded. */
export function keyValue(raw: string): string | undefined {
  // Fast path, one pass: nothing to trim and every character visible ASCII (what real keys are).
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, for every value the fast path returns (1-512 visible ASCII characters: no bad bytes, nothing to trim) the path below returns the same value
  if (raw.length > 0 && raw.length <= MAX_KEY_LENGTH && isVisibleAscii(raw)) return raw
  if (hasBadBytes(raw)) return undefined
  const v = trimOws(raw)
  if (v.length === 0 || v.length > MAX_KEY_LENGTH || !isVisibleAscii(v)) return undefined
  return v
}

/**
 * Splits `Authorization` into its scheme word (lower-cased) and the rest (OWS-trimmed).
 * `credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]` (RFC 9110 §11.4); we also
 * accept HTAB as separator, since only SP and HTAB are whitespace for us.
 */
export function splitAuthorization(raw: string): { scheme: string; rest: string } {
  const v = trimOws(raw)
  let i = 0
  while (i < v.length && v.charCodeAt(i) !== 0x20 && v.charCodeAt(i) !== 0x09) i++
  return { scheme: v.slice(0, i).toLowerCase(), rest: trimOws(v.slice(i)) }
}

/**
 * Where the credentials of auth-scheme `word` begin in an `Authorization` value (RFC 9110
 * §11.4): the index after the scheme word and the SP/HTAB that follow it, or -1 when the value's
 * scheme is another. `word` is lower-case ASCII letters; the value's scheme matches it
 * case-insensitively (RFC 9110 §11.1) and must end there (end of value or SP/HTAB). Reads in
 * place: a value of another scheme costs no allocation, so several schemes reading the same
 * field do not each split it. Only ASCII letters match (a Kelvin sign is no `k`, though
 * `toLowerCase` makes it one); for `bearer` and `basic` it agrees with
 * {@link splitAuthorization}: `credentialsStart(v, w) >= 0` exactly when
 * `splitAuthorization(v).scheme === w`, and then `trimOws(v.slice(start))` is its `rest`.
 * Never throws.
 *
 * @example credentialsStart('Bearer abc', 'bearer') // 7
 * @example credentialsStart('Basic abc', 'bearer') // -1
 */
export function credentialsStart(value: string, word: string): number {
  let a = 0
  while (a < value.length && isOws(value.charCodeAt(a))) a++
  if (value.length - a < word.length) return -1
  for (let i = 0; i < word.length; i++) {
    const c = value.charCodeAt(a + i)
    const w = word.charCodeAt(i)
    // ASCII letters only: `w - 0x20` is the upper-case form of a lower-case letter.
    if (c !== w && c !== w - 0x20) return -1
  }
  let i = a + word.length
  if (i < value.length && !isOws(value.charCodeAt(i))) return -1
  while (i < value.length && isOws(value.charCodeAt(i))) i++
  return i
}

/** SP or HTAB, the only whitespace (RFC 9110 §5.6.3). */
const isOws = (c: number): boolean => c === 0x20 || c === 0x09

/** token68 (RFC 9110 §11.2): `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`. */
export function isToken68(s: string): boolean {
  let i = 0
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const ok =
      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
      c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e || c === 0x2b || c === 0x2f
    if (!ok) break
  }
  if (i === 0) return false
  for (; i < s.length; i++) if (s.charCodeAt(i) !== 0x3d) return false
  return true
}

const B64 = /* @__PURE__ */ (() => {
  const t = new Int16Array(128).fill(-1)
  const a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  for (let i = 0; i < 64; i++) t[a.charCodeAt(i)] = i
  return t
})()

/**
 * Strict base64 (RFC 4648 §4) to a string of byte values (latin1), or `undefined`. Padding is
 * optional but, when present, must be exact; unused trailing bits must be zero (so each string
 * has exactly one accepted encoding). Decoding stops at `maxBytes`.
 */
export function decodeBase64(s: string, maxBytes = 2048): string | undefined {
  let end = s.length
  while (end > 0 && s.charCodeAt(end - 1) === 0x3d) end--
  const pad = s.length - end
  if (pad > 2 || (pad > 0 && s.length % 4 !== 0) || end % 4 === 1) return undefined
  if (((end * 3) >> 2) > maxBytes) return undefined
  let out = ''
  let acc = 0
  let bits = 0
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i)
    const v = c < 128 ? B64[c]! : -1
    if (v < 0) return undefined
    acc = (acc << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out += String.fromCharCode((acc >> bits) & 0xff)
    }
  }
  if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0) return undefined
  return out
}

/** True if `bytes` (one byte per character) holds a CTL (RFC 5234 B.1: %x00-1F / %x7F). */
function hasCtl(bytes: string): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) return true
  }
  return false
}

/**
 * Decodes Basic credentials (RFC 7617 §2): base64 of `user-id ":" password`, split at the first
 * colon (a user-id cannot contain one). Only what RFC 7617 makes malformed is refused: not
 * token68, not base64, no colon, a control character (HTAB included). An empty user-id or
 * password, spaces and non-ASCII text (UTF-8, `charset="UTF-8"`) are well-formed; the strings
 * returned hold one character per byte (latin1), so non-ASCII never passes for a key.
 */
export function decodeUserPass(token: string): { user: string; pass: string } | undefined {
  if (!isToken68(token)) return undefined
  const text = decodeBase64(token)
  if (text === undefined || hasCtl(text)) return undefined
  const i = text.indexOf(':')
  if (i < 0) return undefined
  return { user: text.slice(0, i), pass: text.slice(i + 1) }
}

/** Compact JWS shape (RFC 7515 §7.1): three base64url segments; the signature may be empty (an unsecured JWT, RFC 7519 §6, is refused later, as `invalid_token`). */
export function compactShape(s: string): boolean {
  let dots = 0
  let seg = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x2e) {
      if (seg === 0) return false
      dots++
      seg = 0
      continue
    }
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f
    if (!ok) return false
    // Stryker disable next-line UpdateOperator: equivalent, seg is only ever compared with 0, and counting down from 0 never reaches it either
    seg++
  }
  return dots === 2
}
