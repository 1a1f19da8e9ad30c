/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as in zlib and GitHub's token checksum.
 * It is not a security measure: it lets a server, and a secret scanner, reject a mistyped or
 * made-up key without a store lookup.
 * @module
 */

const TABLE = /* @__PURE__ */ (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

/** CRC-32 of a string's char codes; callers pass ASCII only, so this equals CRC-32 of its bytes. */
export function crc32(s: string): number {
  let c = 0xffffffff
  for (let i = 0; i < s.length; i++) c = TABLE[(c ^ s.charCodeAt(i)) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
