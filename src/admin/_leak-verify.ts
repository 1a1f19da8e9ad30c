/**
 * Signature checks of secret-scanning reports: ECDSA P-256 with SHA-256 (FIPS 186-5, RFC 6090)
 * over the raw request body, the signature in base64 DER (RFC 3279 §2.2.3, `Ecdsa-Sig-Value`),
 * the public keys PEM SPKI (RFC 7468 §13, RFC 5480), in the shape GitHub publishes at
 * `https://api.github.com/meta/public_keys/secret_scanning`:
 * `{ public_keys: [{ key_identifier, key, is_current }] }`.
 *
 * Verification is WebCrypto's (`crypto.subtle`), which every runtime a Fetch-API handler runs on
 * has (Node 20, Deno, Bun, Workers); `node:crypto` would tie the handler to Node. WebCrypto's
 * ECDSA takes the IEEE P1363 form (`r || s`, 32 bytes each), not DER, so {@link derToP1363}
 * converts: a strict DER reader of one SEQUENCE of two minimal positive INTEGERs, no more. It
 * judges nothing cryptographic; anything it does not accept is a bad signature.
 *
 * Nothing here throws to its caller except `fetchKeys` (a network or shape failure, which the
 * handler answers with 503 so the scanner retries).
 * @module
 */

/** One published verification key, as the provider's JSON lists it. */
export interface LeakPublicKey {
  /** The id the scanner sends in `Github-Public-Key-Identifier`. */
  readonly key_identifier: string
  /** The P-256 public key, PEM (`-----BEGIN PUBLIC KEY-----`). */
  readonly key: string
  /** Whether the provider currently signs with it (informational: any listed key verifies). */
  readonly is_current?: boolean
}

const P256_ORDER_BYTES = 32

/**
 * The P1363 form (`r || s`, each left-padded to 32 bytes) of a DER `Ecdsa-Sig-Value`, or
 * `undefined` if `der` is not exactly one minimal SEQUENCE of two positive INTEGERs of at most
 * 32 significant bytes (X.690 §8.3: no superfluous leading zero, no negative value).
 */
export function derToP1363(der: Uint8Array): Uint8Array<ArrayBuffer> | undefined {
  if (der.length < 8 || der.length > 72 || der[0] !== 0x30) return undefined
  // Short-form length only: the whole value is under 128 bytes.
  if (der[1]! >= 0x80 || der[1]! !== der.length - 2) return undefined
  const out = new Uint8Array(2 * P256_ORDER_BYTES)
  let at = 2
  for (let n = 0; n < 2; n++) {
    if (der[at] !== 0x02) return undefined
    const len = der[at + 1]!
    at += 2
    if (len === 0 || len >= 0x80 || at + len > der.length) return undefined
    let int = der.subarray(at, at + len)
    if (int[0]! & 0x80) return undefined // negative
    if (int[0] === 0 && (len === 1 || !(int[1]! & 0x80))) return undefined // not minimal (or zero)
    if (int[0] === 0) int = int.subarray(1)
    if (int.length > P256_ORDER_BYTES) return undefined
    out.set(int, (n + 1) * P256_ORDER_BYTES - int.length)
    at += len
  }
  return at === der.length ? out : undefined
}

/** Strict base64 (RFC 4648 §4, padded) to bytes, or `undefined`. */
export function base64Bytes(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined
  const bin = atob(text)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

/** Imports a PEM SPKI P-256 public key for ECDSA verification, or `undefined` if it is not one. */
export async function importPem(pem: string): Promise<CryptoKey | undefined> {
  const m = /^\s*-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----\s*$/.exec(pem)
  if (m === null) return undefined
  const der = base64Bytes(m[1]!.replace(/\s+/g, ''))
  if (der === undefined) return undefined
  try {
    return await crypto.subtle.importKey('spki', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
  } catch {
    return undefined
  }
}

/** `true` when `signatureB64` (base64 DER) is `key`'s ECDSA P-256/SHA-256 signature over `body`. */
export async function verifySignature(key: CryptoKey, signatureB64: string, body: Uint8Array): Promise<boolean> {
  const der = base64Bytes(signatureB64)
  const sig = der === undefined ? undefined : derToP1363(der)
  if (sig === undefined) return false
  try {
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, sig, body as Uint8Array<ArrayBuffer>)
  } catch {
    return false
  }
}

/** Key ids as GitHub sends them (hex today); anything else is refused before any lookup. */
export const KEY_ID_RE = /^[A-Za-z0-9._:+/=-]{1,256}$/

/**
 * The keys of a published key list, imported; entries that are not well-formed P-256 PEM keys
 * are skipped (one bad entry must not stop the others). Throws if the document is not the
 * documented shape at all.
 */
export async function keysOf(document: unknown): Promise<Map<string, CryptoKey>> {
  const list = document !== null && typeof document === 'object' ? (document as { public_keys?: unknown }).public_keys : undefined
  if (!Array.isArray(list)) throw new TypeError('the key list is not { public_keys: [...] }')
  const keys = new Map<string, CryptoKey>()
  for (const entry of list.slice(0, 64) as unknown[]) {
    if (entry === null || typeof entry !== 'object') continue
    const { key_identifier: id, key } = entry as Record<string, unknown>
    if (typeof id !== 'string' || !KEY_ID_RE.test(id) || typeof key !== 'string' || key.length > 4096) continue
    const imported = await importPem(key)
    if (imported !== undefined) keys.set(id, imported)
  }
  return keys
}
