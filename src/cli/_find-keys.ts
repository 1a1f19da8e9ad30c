/**
 * Finds keyward keys in text, the way a secret scanner does: the shape
 * `<prefix>_<env?>_<32 base62><6 base62 CRC-32>` and a checksum that matches, with no store.
 * A random 38-character run passes the checksum once in 62^6 ≈ 5.7·10^10, so what is found is a
 * key. Used by `keyward scan`; never returns or prints the secret part of a key.
 * @module
 */
import { CHECKSUM_LENGTH, keyShape, RANDOM_LENGTH, VALID } from '../keys/format.js'

const TAIL = RANDOM_LENGTH + CHECKSUM_LENGTH
/** Longest `<prefix>_<env>` before the final underscore: 16 + 1 + 16. */
const HEAD_MAX = 33
const isBase62 = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)

/** One key found: where, and its non-secret head (`kw_live`). */
export interface FoundKey {
  /** 1-based line number. */
  readonly line: number
  /** 1-based column of the key's first character. */
  readonly column: number
  /** Prefix and environment, e.g. `kw_live`: not secret, and enough to tell which key family leaked. */
  readonly head: string
  /** Offset of the key in the text, and its length (for redaction). */
  readonly start: number
  readonly length: number
}

/**
 * Every keyward key in `text` with a valid checksum. At each underscore followed by 38 base62
 * characters, the longest head before it that makes a valid key wins (`foo_kw_…` finds `kw_…`
 * when only that checksums).
 */
export function findKeys(text: string): FoundKey[] {
  const found: FoundKey[] = []
  let line = 1
  let lineStart = 0
  let counted = 0
  let i = text.indexOf('_')
  while (i !== -1 && i + TAIL < text.length) {
    let tail = 0
    while (tail < TAIL && isBase62(text.charCodeAt(i + 1 + tail))) tail++
    let hit: { start: number; end: number } | undefined
    if (tail === TAIL) {
      const end = i + 1 + TAIL
      for (let s = Math.max(0, i - HEAD_MAX); s < i && hit === undefined; s++) {
        if (keyShape(text.slice(s, end)) === VALID) hit = { start: s, end }
      }
    }
    if (hit === undefined) {
      i = text.indexOf('_', i + 1)
      continue
    }
    for (; counted < hit.start; counted++) {
      if (text.charCodeAt(counted) === 0x0a) {
        line++
        lineStart = counted + 1
      }
    }
    const key = text.slice(hit.start, hit.end)
    found.push({ line, column: hit.start - lineStart + 1, head: key.slice(0, key.length - TAIL - 1), start: hit.start, length: hit.end - hit.start })
    i = text.indexOf('_', hit.end)
  }
  return found
}

/** `text` with every keyward key in it replaced by its head and `_…` (for printing a file name). */
export function redactKeys(text: string): string {
  let out = ''
  let at = 0
  for (const k of findKeys(text)) {
    out += `${text.slice(at, k.start)}${k.head}_…`
    at = k.start + k.length
  }
  return out + text.slice(at)
}
