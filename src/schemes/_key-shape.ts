/**
 * Recognises bytes that hold a public or private key, so that they are never taken as an HMAC
 * secret. Anyone holding a public key could otherwise sign tokens with it as the HS* secret: the
 * algorithm-confusion attack of RFC 8725 §2.1 and §3.1.
 *
 * Recognised: PEM armour (RFC 7468), DER structures (RFC 5280 SubjectPublicKeyInfo, RFC 5208/5958
 * PKCS#8, RFC 8017 PKCS#1, RFC 5915 SEC1), the same DER written as base64, base64url or hex text,
 * JWK and JWK Set JSON (RFC 7517) and OpenSSH public keys (RFC 4253 §6.6). Raw curve points and raw
 * Ed25519 public keys are random-looking bytes and cannot be told apart from a secret.
 *
 * Every function here is total: it returns, never throws, whatever the bytes.
 * @module
 */

/** Text of at most this many bytes is examined; keys in any encoding are far shorter. */
const MAX_TEXT = 16_384

/** A DER TLV: where its contents start and where it ends, or `undefined` if malformed. */
function tlv(b: Uint8Array, at: number, end: number): { start: number; end: number } | undefined {
  // X.690 §8.1.2: a high-tag-number form (low five bits all set) is never used by key formats.
  if (at + 2 > end || (b[at]! & 0x1f) === 0x1f) return undefined
  let i = at + 1
  let len = b[i++]!
  if (len & 0x80) {
    // X.690 §10.1: definite length, minimum octets; 0x80 (indefinite) is not DER.
    const n = len & 0x7f
    if (n === 0 || n > 4 || i + n > end || b[i] === 0) return undefined
    len = 0
    for (let k = 0; k < n; k++) len = len * 256 + b[i++]!
    if (len < 0x80) return undefined
  }
  return i + len <= end ? { start: i, end: i + len } : undefined
}

/**
 * True when `b` is exactly one DER SEQUENCE whose contents are well-formed TLVs that fill it, the
 * first an INTEGER or a SEQUENCE: the outer shape of every DER key format (SPKI, PKCS#8, PKCS#1, SEC1).
 */
export function isDerSequence(b: Uint8Array): boolean {
  if (b.length < 4 || b[0] !== 0x30) return false
  const outer = tlv(b, 0, b.length)
  if (outer === undefined || outer.end !== b.length || outer.start === outer.end) return false
  // Every key format opens with an INTEGER (PKCS#1, PKCS#8 and SEC1 versions, an RSA modulus)
  // or a SEQUENCE (the AlgorithmIdentifier of SPKI).
  if (b[outer.start] !== 0x02 && b[outer.start] !== 0x30) return false
  let p = outer.start
  while (p < outer.end) {
    const inner = tlv(b, p, outer.end)
    if (inner === undefined) return false
    p = inner.end
  }
  return true
}

function fromBinaryString(s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return out
}

/** DER written as base64/base64url or hex text (a PEM body without its armour, say). */
function isEncodedDer(text: string): boolean {
  const compact = text.replace(/[\t\n\r ]+/g, '')
  if (compact.length < 8) return false
  if (/^[0-9a-fA-F]+$/.test(compact) && compact.length % 2 === 0) {
    const bytes = new Uint8Array(compact.length / 2)
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(compact.slice(2 * i, 2 * i + 2), 16)
    if (isDerSequence(bytes)) return true
  }
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) return false
  try {
    return isDerSequence(fromBinaryString(atob(compact.replace(/-/g, '+').replace(/_/g, '/'))))
  } catch {
    return false
  }
}

/** JSON text of a JWK (it has `kty`) or of a JWK Set (it has `keys`). */
function isJwkText(text: string): boolean {
  const t = text.trim()
  if (!t.startsWith('{')) return false
  try {
    const v: unknown = JSON.parse(t)
    return v !== null && typeof v === 'object' && (Object.hasOwn(v, 'kty') || Object.hasOwn(v, 'keys'))
  } catch {
    return false
  }
}

/**
 * The encoding of the key that `bytes` hold, or `undefined` when they do not look like a key.
 *
 * @example
 * ```ts
 * keyEncodingOf(publicKey.export({ type: 'spki', format: 'der' }))  // 'DER'
 * keyEncodingOf(crypto.getRandomValues(new Uint8Array(32)))          // undefined (almost surely)
 * ```
 */
export function keyEncodingOf(bytes: Uint8Array): string | undefined {
  if (isDerSequence(bytes)) return 'DER'
  if (bytes.length > MAX_TEXT) return undefined
  const text = new TextDecoder('latin1').decode(bytes)
  if (text.includes('-----BEGIN')) return 'PEM'
  if (/ssh-(?:rsa|dss|ed25519|ed448) |ecdsa-sha2-/.test(text)) return 'OpenSSH'
  if (isJwkText(text)) return 'JWK'
  if (isEncodedDer(text)) return 'base64 or hex DER'
  return undefined
}
