/**
 * Allowlists of addresses and CIDR ranges (RFC 4632), compiled once to integer masks and matched
 * per request with integer arithmetic only. Addresses are parsed by `_ip.ts`, strictly: an entry
 * in a form that different parsers read differently is refused, never guessed at.
 * @module
 */
import { quote, rangeError, typeError } from '../errors.js'
import { formatIp, formatV4, parseIp, type IpAddress } from './_ip.js'

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

/** One entry compiled: its canonical text, its masks, and whether it covers every IPv4 address. */
interface CompiledEntry {
  readonly text: string
  /** IPv4: `[network, mask]`; IPv6: four network words then four mask words; all int32. */
  readonly words: readonly number[]
  readonly allV4: boolean
}

/** An IPv4 entry (dotted quad, or written as IPv4-mapped IPv6) with its prefix. Throws naming `at`. */
function compileV4Entry(v4: number, mapped: boolean, prefix: number | undefined, entry: string, at: string): CompiledEntry {
  let p: number
  if (mapped) {
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
  if ((v4 & mask) !== (v4 | 0)) {
    throw rangeError(at, `${quote(entry)} has host bits set (the network is ${quote(`${formatV4(v4 & mask)}/${p}`)})`)
  }
  const text = p === 32 ? formatV4(v4) : `${formatV4(v4)}/${p}`
  return { text, words: [v4 | 0, mask], allV4: p === 0 }
}

/** A native IPv6 entry with its prefix. Throws naming `at`. */
function compileV6Entry(addr: Extract<IpAddress, { family: 6 }>, prefix: number | undefined, entry: string, at: string): CompiledEntry {
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
  // The mapped addresses ::ffff:a.b.c.d live in the IPv6 space, and parseIp turns them into
  // IPv4; so a range over all of ::ffff:0:0/96 (e.g. ::/0) covers every IPv4 address, exactly as
  // it would cover the same client seen through a dual-stack socket.
  return { text: p === 128 ? base : `${base}/${p}`, words: [...net, ...masks], allV4: coversMapped }
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
    const compiled =
      addr.family === 4
        ? compileV4Entry(addr.v4, addrText.indexOf(':') >= 0, prefix, entry, at)
        : compileV6Entry(addr, prefix, entry, at)
    if (seen.has(compiled.text)) continue
    seen.add(compiled.text)
    canon.push(compiled.text)
    if (addr.family === 4) v4.push(...compiled.words)
    else v6.push(...compiled.words)
    if (compiled.allV4) allV4 = true
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
