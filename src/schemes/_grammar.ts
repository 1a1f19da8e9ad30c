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
