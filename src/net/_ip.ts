/**
 * Client addresses as integers, and allowlists compiled to integer masks.
 *
 * Parsing is strict on purpose. An allowlist entry or a forwarded address written in a form that
 * different parsers read differently (`0177.0.0.1` is 127.0.0.1 to `inet_aton` and 177.0.0.1 to
 * others, `127.1` is 127.0.0.1 to some and invalid to others) is refused rather than guessed at,
 * so the address we check is the address every other component of the system sees.
 *
 * - IPv4: only the canonical dotted quad, four decimal octets 0–255 without leading zeros.
 * - IPv6: any RFC 4291 §2.2 text form (full, `::`-compressed, with an embedded dotted quad),
 *   never a zone id (RFC 4007 `%eth0`), brackets or a port.
 * - IPv4-mapped IPv6 (`::ffff:10.1.2.3`, RFC 4291 §2.5.5.2) is the IPv4 host seen through a
 *   dual-stack socket, so it is normalised to the IPv4 address: one host has one identity.
 *
 * The IPv4 and `::ffff:a.b.c.d` paths are hand-written loops because they run on every request.
 * Other IPv6 text is pre-checked here and then expanded by `ipaddr.js`; the pre-checks shut out
 * the places where `ipaddr.js` is more permissive than RFC 4291 (it reads `::1.2.3.4` as
 * `::ffff:1.2.3.4`, accepts zone ids, and reads an embedded `0177.0.0.1` or `0x7f.0.0.1`).
 * @module
 */
import ipaddr from 'ipaddr.js'
import { quote, rangeError, typeError } from '../errors.js'

/**
 * An IP address as integers. IPv4-mapped IPv6 addresses are always family 4.
 *
 * Treat `v6` as read-only: it is shared with whoever parsed it.
 */
export type IpAddress =
  | { readonly family: 4; readonly v4: number }
  | { readonly family: 6; readonly v6: Uint32Array }

// Longest valid text: `0000:0000:0000:0000:0000:ffff:255.255.255.255` (45 characters).
const MAX_TEXT = 45

/**
 * Parses a canonical dotted quad in `s[start, end)` into a uint32, or returns -1.
 * Rejects leading zeros (octal to `inet_aton`), fewer or more than four parts, and anything
 * that is not an ASCII digit or a dot. No regex and no allocation: this is the request path.
 */
function parseV4(s: string, start: number, end: number): number {
  let acc = 0
  let octet = 0
  let digits = 0
  let dots = 0
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x2e) {
      if (digits === 0 || dots === 3) return -1
      acc = acc * 256 + octet
      dots++
      octet = 0
      digits = 0
    } else {
      const d = c - 0x30
      if (d < 0 || d > 9) return -1
      if (digits === 0) octet = d
      else {
        if (octet === 0) return -1 // leading zero
        octet = octet * 10 + d
        if (octet > 255) return -1
      }
      digits++
    }
  }
  if (dots !== 3 || digits === 0) return -1
  return acc * 256 + octet
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
}

/**
 * The general IPv6 path: everything that is not a plain dotted quad or `::ffff:a.b.c.d`.
 * The pre-checks enforce the RFC 4291 §2.2 grammar that `ipaddr.js` does not: ASCII hex digits,
 * colons and (in the last 32 bits only) a canonical dotted quad; 1–4 digits per group; at most one
 * `::`; no lone colon at either end. `ipaddr.js` then expands `::` and counts the groups.
 */
function parseV6(s: string): IpAddress | undefined {
  const n = s.length
  let lastColon = -1
  let firstDot = -1
  let colons = 0
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x3a) {
      lastColon = i
      colons++
    } else if (c === 0x2e) {
      if (firstDot < 0) firstDot = i
    } else if (!isHexDigit(c)) return undefined // `%zone`, `[`, `]`, `/`, space, non-ASCII…
  }
  if (colons < 2) return undefined
  let hex = s
  if (firstDot >= 0) {
    // RFC 4291 §2.2 form 3: the dotted quad is the low-order 32 bits, so it comes last, and it
    // must be canonical itself (`::ffff:0177.0.0.1` would be 177.0.0.1 to ipaddr.js).
    if (firstDot < lastColon) return undefined
    const v4 = parseV4(s, lastColon + 1, n)
    if (v4 < 0) return undefined
    // Rewrite to pure hex so ipaddr.js never sees a dotted quad: it would read `::1.2.3.4`
    // (IPv4-compatible, §2.5.5.1, which is `::102:304`) as the mapped `::ffff:1.2.3.4`.
    hex = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`
  }
  const m = hex.length
  // A lone leading or trailing colon is never valid; `::` at either end is.
  if (hex.charCodeAt(0) === 0x3a && hex.charCodeAt(1) !== 0x3a) return undefined
  if (hex.charCodeAt(m - 1) === 0x3a && hex.charCodeAt(m - 2) !== 0x3a) return undefined
  let run = 0
  let doubles = 0
  for (let i = 0; i < m; i++) {
    if (hex.charCodeAt(i) === 0x3a) {
      if (i > 0 && hex.charCodeAt(i - 1) === 0x3a) {
        doubles++
        if (i > 1 && hex.charCodeAt(i - 2) === 0x3a) return undefined // `:::`
      }
      run = 0
    } else if (++run > 4) return undefined // a group is at most 16 bits (4 hex digits)
  }
  if (doubles > 1) return undefined
  let parts: number[]
  try {
    parts = ipaddr.IPv6.parse(hex).parts
  } catch {
    return undefined
  }
  if (parts.length !== 8) return undefined
  const w = new Uint32Array(4)
  for (let k = 0; k < 4; k++) {
    const hi = parts[2 * k]
    const lo = parts[2 * k + 1]
    if (!isU16(hi) || !isU16(lo)) return undefined
    w[k] = (hi * 0x10000 + lo) >>> 0
  }
  // RFC 4291 §2.5.5.2: ::ffff:0:0/96 is the IPv4 address space seen from IPv6.
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return { family: 4, v4: w[3]! }
  return { family: 6, v6: w }
}

function isU16(x: number | undefined): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffff
}

/**
 * Parses an IP address strictly. Never throws.
 *
 * Accepts the canonical IPv4 dotted quad and every RFC 4291 §2.2 IPv6 text form; refuses
 * shorthand (`127.1`), leading zeros (`010.0.0.1`), hex or octal IPv4 (`0x7f.0.0.1`, `0177.0.0.1`),
 * a bare integer, whitespace, ports, brackets and zone ids (`fe80::1%eth0`). IPv4-mapped IPv6
 * (`::ffff:10.1.2.3`, `::FFFF:a01:203`) comes back as family 4.
 *
 * @param text - The address text, exactly as received.
 * @returns The address, or `undefined` if `text` is not a canonical address.
 * @example
 * ```ts
 * parseIp('203.0.113.7')          // { family: 4, v4: 0xcb007107 }
 * parseIp('::ffff:203.0.113.7')   // { family: 4, v4: 0xcb007107 }
 * parseIp('2001:db8::1')          // { family: 6, v6: Uint32Array [0x20010db8, 0, 0, 1] }
 * parseIp('127.1')                // undefined
 * ```
 */
export function parseIp(text: string): IpAddress | undefined {
  if (typeof text !== 'string') return undefined
  const n = text.length
  if (n < 2 || n > MAX_TEXT) return undefined
  const c0 = text.charCodeAt(0)
  if (c0 >= 0x30 && c0 <= 0x39) {
    const v = parseV4(text, 0, n)
    if (v >= 0) return { family: 4, v4: v }
  } else if (
    c0 === 0x3a &&
    n >= 14 &&
    text.charCodeAt(1) === 0x3a &&
    (text.charCodeAt(2) | 0x20) === 0x66 &&
    (text.charCodeAt(3) | 0x20) === 0x66 &&
    (text.charCodeAt(4) | 0x20) === 0x66 &&
    (text.charCodeAt(5) | 0x20) === 0x66 &&
    text.charCodeAt(6) === 0x3a
  ) {
    // `::ffff:a.b.c.d`, what a dual-stack Node socket reports for an IPv4 peer.
    const v = parseV4(text, 7, n)
    if (v >= 0) return { family: 4, v4: v }
  }
  return parseV6(text)
}

function formatV4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`
}

/**
 * Formats an address canonically: IPv4 as a dotted quad; IPv6 per RFC 5952 (lower-case hex,
 * no leading zeros, the longest run of two or more zero groups compressed to `::`, the leftmost
 * on a tie). A family-6 value inside `::ffff:0:0/96` (which `parseIp` never returns) is written
 * `::ffff:a.b.c.d` as RFC 5952 §5 recommends.
 *
 * @example
 * ```ts
 * formatIp(parseIp('2001:0DB8:0:0:0:0:0:0001')!) // '2001:db8::1'
 * formatIp(parseIp('::ffff:10.1.2.3')!)          // '10.1.2.3'
 * ```
 */
export function formatIp(addr: IpAddress): string {
  if (addr.family === 4) return formatV4(addr.v4)
  const w = addr.v6
  const h: number[] = []
  for (let k = 0; k < 4; k++) {
    const x = w[k] ?? 0
    h.push(x >>> 16, x & 0xffff)
  }
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return `::ffff:${formatV4(w[3] ?? 0)}`
  let bestAt = -1
  let bestLen = 1 // RFC 5952 §4.2.2: a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (h[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && h[j] === 0) j++
    if (j - i > bestLen) {
      bestAt = i
      bestLen = j - i
    }
    i = j
  }
  const hex = (a: number, b: number): string =>
    h
      .slice(a, b)
      .map((x) => x.toString(16))
      .join(':')
  if (bestAt < 0) return hex(0, 8)
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`
}

/**
 * An allowlist compiled to integer masks by {@link compileAllowlist}.
 *
 * An allowlist is always a restriction: an empty one admits nothing. A key or group with no
 * allowlist is represented by `undefined`, never by an empty list.
 */
export interface Allowlist {
  /** The entries, canonical (see {@link compileAllowlist}) and deduplicated, in input order. */
  readonly entries: readonly string[]
}

/** The compiled form. Fields are read only by `allowlistHas`. */
class CompiledAllowlist implements Allowlist {
  constructor(
    readonly entries: readonly string[],
    /** Pairs `[network, mask]` as int32. */
    readonly v4: Int32Array,
    /** Groups of eight: four network words then four mask words, as int32. */
    readonly v6: Int32Array,
    /** Some entry covers every IPv4 address: `0.0.0.0/0`, or an IPv6 range over `::ffff:0:0/96`. */
    readonly allV4: boolean,
  ) {}
}

/** The mask of a prefix of `bits` (0–32) in one 32-bit word, as int32. */
function wordMask(bits: number): number {
  // `<< 32` is `<< 0` in JavaScript, hence the explicit 0.
  return bits <= 0 ? 0 : bits >= 32 ? -1 : (0xffffffff << (32 - bits)) | 0
}

/** ::ffff:0:0, the IPv4-mapped prefix (RFC 4291 §2.5.5.2), as words. */
const MAPPED_NET: readonly number[] = [0, 0, 0xffff, 0]

/** Canonical decimal 0–999 (no sign, no leading zero), or -1. */
function parsePrefix(s: string): number {
  const n = s.length
  if (n === 0 || n > 3) return -1
  let v = 0
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i) - 0x30
    if (d < 0 || d > 9 || (i === 0 && d === 0 && n > 1)) return -1
    v = v * 10 + d
  }
  return v
}

/**
 * Validates and compiles an allowlist of addresses and CIDR ranges (RFC 4632) to integer masks.
 * Call it when a key or group is saved or loaded, not per request.
 *
 * Each entry is a canonical address as {@link parseIp} accepts it, optionally followed by
 * `/prefix` (decimal without leading zeros, 0–32 for IPv4, 0–128 for IPv6). Host bits must be
 * clear (`10.0.0.1/8` is refused: it usually means a typo, and RFC 4632 §3.1 prefixes have none).
 * IPv4-mapped entries become IPv4 (`::ffff:10.0.0.0/104` is `10.0.0.0/8`); a mapped entry with a
 * prefix below 96 is refused.
 *
 * The resulting `entries` are canonical (dotted-quad IPv4, RFC 5952 IPv6, no `/32` or `/128` on
 * a single address) and deduplicated, in input order.
 *
 * An empty array is valid and yields a list that admits nothing. "No allowlist" is not `[]`: a
 * caller with no list set must skip the check (use `undefined`), not compile `[]`.
 *
 * @param entries - The entries as stored.
 * @param field - Field name used in error messages, e.g. `allowedIps`.
 * @throws TypeError if `entries` is not an array or an entry is not a string.
 * @throws RangeError if an entry is not a canonical address or CIDR; the message names
 *   `field[index]` and quotes the entry, e.g.
 *   `allowedIps[2]: "127.1" is not a canonical IPv4 or IPv6 address or CIDR`.
 * @example
 * ```ts
 * const list = compileAllowlist(['10.0.0.0/8', '2001:DB8::/32', '::ffff:192.0.2.1'], 'allowedIps')
 * list.entries // ['10.0.0.0/8', '2001:db8::/32', '192.0.2.1']
 * allowlistHas(list, parseIp('10.9.8.7')) // true
 * ```
 */
export function compileAllowlist(entries: readonly unknown[], field: string): Allowlist {
  if (!Array.isArray(entries)) {
    throw typeError(field, 'must be an array of IP addresses or CIDRs')
  }
  const list: readonly unknown[] = entries
  const canon: string[] = []
  const seen = new Set<string>()
  const v4: number[] = []
  const v6: number[] = []
  let allV4 = false
  for (let i = 0; i < list.length; i++) {
    const entry = list[i]
    const at = `${field}[${i}]`
    if (typeof entry !== 'string') {
      throw typeError(at, `must be a string, got ${entry === null ? 'null' : typeof entry}`)
    }
    const slash = entry.indexOf('/')
    const addrText = slash < 0 ? entry : entry.slice(0, slash)
    const addr = parseIp(addrText)
    const prefix = slash < 0 ? undefined : parsePrefix(entry.slice(slash + 1))
    if (addr === undefined || prefix === -1) {
      throw rangeError(at, `${quote(entry)} is not a canonical IPv4 or IPv6 address or CIDR`)
    }
    let text: string
    if (addr.family === 4) {
      let p: number
      if (addrText.indexOf(':') >= 0) {
        // Written as IPv4-mapped IPv6: the prefix counts the 96 bits of ::ffff:0:0/96 too.
        const p6 = prefix ?? 128
        if (p6 > 128) throw rangeError(at, `${quote(entry)} has a prefix longer than 128 bits`)
        if (p6 < 96) {
          throw rangeError(at, `${quote(entry)} is an IPv4-mapped range with a prefix below 96`)
        }
        p = p6 - 96
      } else {
        p = prefix ?? 32
        if (p > 32) throw rangeError(at, `${quote(entry)} has a prefix longer than 32 bits`)
      }
      const mask = wordMask(p)
      if ((addr.v4 & mask) !== (addr.v4 | 0)) {
        throw rangeError(at, `${quote(entry)} has host bits set (the network is ${quote(`${formatV4(addr.v4 & mask)}/${p}`)})`)
      }
      text = p === 32 ? formatV4(addr.v4) : `${formatV4(addr.v4)}/${p}`
      if (!seen.has(text)) {
        v4.push(addr.v4 | 0, mask)
        if (p === 0) allV4 = true
      }
    } else {
      const p = prefix ?? 128
      if (p > 128) throw rangeError(at, `${quote(entry)} has a prefix longer than 128 bits`)
      const net: number[] = []
      const masks: number[] = []
      let hostBits = false
      let coversMapped = p <= 96
      for (let k = 0; k < 4; k++) {
        const m = wordMask(p - 32 * k)
        const w = addr.v6[k]! | 0
        if ((w & m) !== w) hostBits = true
        if ((MAPPED_NET[k]! & m) !== (w & m)) coversMapped = false
        net.push(w & m)
        masks.push(m)
      }
      if (hostBits) {
        const shown = formatIp({ family: 6, v6: Uint32Array.from(net, (x) => x >>> 0) })
        throw rangeError(at, `${quote(entry)} has host bits set (the network is ${quote(`${shown}/${p}`)})`)
      }
      const base = formatIp(addr)
      text = p === 128 ? base : `${base}/${p}`
      if (!seen.has(text)) {
        v6.push(...net, ...masks)
        // The mapped addresses ::ffff:a.b.c.d live in the IPv6 space, and parseIp turns them
        // into IPv4; so a range over all of ::ffff:0:0/96 (e.g. ::/0) covers every IPv4 address,
        // exactly as it would cover the same client seen through a dual-stack socket.
        if (coversMapped) allV4 = true
      }
    }
    if (!seen.has(text)) {
      seen.add(text)
      canon.push(text)
    }
  }
  return new CompiledAllowlist(Object.freeze(canon), Int32Array.from(v4), Int32Array.from(v6), allV4)
}

/**
 * Whether `addr` is inside `list`. Integer mask arithmetic only; safe on the request path.
 *
 * An IPv4 address (mapped ones included: {@link parseIp} made them IPv4) matches IPv4 ranges and
 * IPv6 ranges that cover all of `::ffff:0:0/96` (such as `::/0`). A native IPv6 address matches
 * only IPv6 ranges: `0.0.0.0/0` does not admit it. `undefined` (an unresolvable client), a list
 * not made by {@link compileAllowlist}, or a malformed address is never in the list.
 *
 * @example
 * ```ts
 * const list = compileAllowlist(['10.0.0.0/8'], 'allowedIps')
 * allowlistHas(list, parseIp('::ffff:10.1.2.3')) // true
 * allowlistHas(list, parseIp('2001:db8::1'))     // false
 * allowlistHas(list, undefined)                  // false
 * ```
 */
export function allowlistHas(list: Allowlist, addr: IpAddress | undefined): boolean {
  if (addr === undefined || !(list instanceof CompiledAllowlist)) return false
  if (addr.family === 4) {
    const a = addr.v4
    // A hand-built address with NaN or a fraction would mask to 0 and match 0.0.0.0/8.
    if (a !== a >>> 0) return false
    if (list.allV4) return true
    const r = list.v4
    for (let i = 0; i < r.length; i += 2) {
      if ((a & r[i + 1]!) === r[i]!) return true
    }
    return false
  }
  if (addr.family !== 6) return false
  const w = addr.v6
  if (!(w instanceof Uint32Array) || w.length !== 4) return false
  const w0 = w[0]!
  const w1 = w[1]!
  const w2 = w[2]!
  const w3 = w[3]!
  const r = list.v6
  for (let i = 0; i < r.length; i += 8) {
    if (
      (w0 & r[i + 4]!) === r[i]! &&
      (w1 & r[i + 5]!) === r[i + 1]! &&
      (w2 & r[i + 6]!) === r[i + 2]! &&
      (w3 & r[i + 7]!) === r[i + 3]!
    ) {
      return true
    }
  }
  return false
}
