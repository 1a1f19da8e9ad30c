/**
 * Unpadded base64url (RFC 4648 §5) decoding, synchronous, for the `jwt` scheme's key checks at
 * construction (jose is loaded later, on first use).
 * @module
 */

const B64URL = /^[A-Za-z0-9_-]*$/

/** Unpadded base64url (RFC 4648 §5) decoding, synchronous, for key checks at construction. */
export const b64url = {
  decode(input: string): Uint8Array {
    if (!B64URL.test(input) || input.length % 4 === 1) throw new TypeError('The input to be decoded is not correctly encoded.')
    const bin = atob(input.replace(/-/g, '+').replace(/_/g, '/'))
    const out = new Uint8Array(bin.length)
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
    return out
  },
}
