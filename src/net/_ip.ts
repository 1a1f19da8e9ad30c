/**
 * Client addresses as integers: strict parsing and canonical formatting. Allowlists compiled to
 * integer masks from these addresses are in `_allowlist.ts`.
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
  // ipaddr.js 2.x builds exactly 8 parts, each checked to fit 16 bits, from at most 4 hex digits:
  // these two checks only hold that contract to account, so no test can make them decide.
  // Stryker disable next-line ConditionalExpression: equivalent, ipaddr.js always returns 8 parts
  if (parts.length !== 8) return undefined
  const w = new Uint32Array(4)
  for (let k = 0; k < 4; k++) {
    const hi = parts[2 * k]
    const lo = parts[2 * k + 1]
    // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent, every part ipaddr.js returns is a 16-bit integer
    if (!isU16(hi) || !isU16(lo)) return undefined
    w[k] = (hi * 0x10000 + lo) >>> 0
  }
  // RFC 4291 §2.5.5.2: ::ffff:0:0/96 is the IPv4 address space seen from IPv6.
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return { family: 4, v4: w[3]! }
  return { family: 6, v6: w }
}

function isU16(x: number | undefined): x is number {
  // Stryker disable next-line all: equivalent, only called on ipaddr.js parts (see above)
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

/** A uint32 as a dotted quad. */
export function formatV4(v: number): string {
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
