/**
 * Who the client is, and whether it came over TLS, when the server may sit behind proxies.
 *
 * `X-Forwarded-For` and `X-Forwarded-Proto` are request headers: any client can send them. They
 * are believed only as far as they were written by proxies the operator named (`trustProxy`), so
 * the list is read from the right (the entry the nearest proxy appended) and stops at the first
 * hop that is not a trusted proxy. This is the same rule RFC 7239 §5.2/§7.4 gives for
 * `Forwarded: for=`: only the part of the chain added by trusted hops is reliable.
 *
 * Anything malformed on the part of the chain we have to read makes the client unresolvable
 * rather than letting us guess: an allowlist then denies.
 * @module
 */
import { trimOws } from '../lib/headers.js'
import { allowlistHas, compileAllowlist, type Allowlist } from './_allowlist.js'
import { formatIp, parseIp, type IpAddress } from './_ip.js'

/** The resolved client. Both fields are `undefined` when the client could not be determined. */
export interface ClientAddress {
  readonly addr: IpAddress | undefined
  /** `formatIp(addr)`, for logs and `DecisionEvent.clientIp`. */
  readonly text: string | undefined
}

/** How to read the client address and the transport of a request. */
export interface NetPolicy {
  /** True when at least one trusted proxy is configured. */
  readonly trusting: boolean
  /**
   * The client address.
   * @param remoteAddress - The socket's peer address (`req.socket.remoteAddress`).
   * @param xForwardedFor - Every `X-Forwarded-For` field value, in order of appearance.
   */
  clientAddress(remoteAddress: string | undefined, xForwardedFor: readonly string[] | undefined): ClientAddress
  /**
   * Whether the request reached us over TLS.
   * @param socketSecure - `true` if the connection itself is TLS.
   * @param remoteAddress - The socket's peer address.
   * @param xForwardedProto - Every `X-Forwarded-Proto` field value, in order of appearance.
   */
  isSecure(socketSecure: boolean | undefined, remoteAddress: string | undefined, xForwardedProto: readonly string[] | undefined): boolean
}

const UNRESOLVED: ClientAddress = Object.freeze({ addr: undefined, text: undefined })

/**
 * Parses the socket's own peer address. Node reports an IPv4 peer on a dual-stack socket as
 * `::ffff:a.b.c.d` (parseIp makes it IPv4) and a link-local IPv6 peer with its zone
 * (`fe80::1%eth0`, RFC 4007 §11). The zone only says which interface the packet came in on, so it
 * is dropped here; a zone in a header is refused instead (no proxy should forward one).
 */
function socketAddress(remote: string | undefined): IpAddress | undefined {
  if (typeof remote !== 'string') return undefined
  const pct = remote.indexOf('%')
  if (pct < 0) return parseIp(remote)
  if (pct === remote.length - 1) return undefined
  const addr = parseIp(remote.slice(0, pct))
  return addr !== undefined && addr.family === 6 ? addr : undefined
}

function resolved(addr: IpAddress | undefined, source: string | undefined): ClientAddress {
  if (addr === undefined) return UNRESOLVED
  if (addr.family === 4 && source !== undefined) {
    // parseIp accepted this text, so a dotted quad in it (the whole text, or the tail after the
    // last colon of a mapped address) is already canonical: reuse it instead of formatting.
    const colon = source.lastIndexOf(':')
    if (colon < 0) return { addr, text: source }
    if (source.indexOf('.', colon) > colon) return { addr, text: source.slice(colon + 1) }
  }
  return { addr, text: formatIp(addr) }
}

/** True if `s` is `https`, ASCII case-insensitive, without allocating. */
function isHttps(s: string): boolean {
  return (
    s.length === 5 &&
    (s.charCodeAt(0) | 0x20) === 0x68 &&
    (s.charCodeAt(1) | 0x20) === 0x74 &&
    (s.charCodeAt(2) | 0x20) === 0x74 &&
    (s.charCodeAt(3) | 0x20) === 0x70 &&
    (s.charCodeAt(4) | 0x20) === 0x73
  )
}

/** The rightmost comma-separated element across all field values, SP/HTAB trimmed. */
function rightmost(values: readonly string[]): string | undefined {
  const last = values[values.length - 1]
  if (typeof last !== 'string') return undefined
  return trimOws(last.slice(last.lastIndexOf(',') + 1))
}

/**
 * Walks `X-Forwarded-For` right to left. Repeated fields are one list in order (RFC 9110 §5.3),
 * each value split at commas and trimmed of SP/HTAB. Returns the first untrusted hop, the
 * leftmost entry if every hop is trusted, or `UNRESOLVED` as soon as an entry that must be read
 * does not parse (empty, `unknown`, a port, brackets, a zone id, garbage): falling through to an
 * entry further left would hand the decision to whoever wrote that part of the header.
 */
function walk(trusted: Allowlist, xff: readonly string[]): ClientAddress {
  let leftmost: IpAddress | undefined
  let leftmostText: string | undefined
  for (let v = xff.length - 1; v >= 0; v--) {
    const value = xff[v]
    if (typeof value !== 'string') return UNRESOLVED
    let end = value.length
    for (;;) {
      // lastIndexOf clamps a negative start to 0, so guard end === 0 (a value starting with ',').
      const comma = end > 0 ? value.lastIndexOf(',', end - 1) : -1
      const entry = trimOws(value.slice(comma + 1, end))
      const addr = parseIp(entry)
      if (addr === undefined) return UNRESOLVED
      if (!allowlistHas(trusted, addr)) return resolved(addr, entry)
      leftmost = addr
      leftmostText = entry
      if (comma < 0) break
      end = comma
    }
  }
  return resolved(leftmost, leftmostText)
}

/**
 * Builds the address and transport policy from the `trustProxy` option.
 *
 * - `trustProxy` undefined (or empty): nobody is trusted; `X-Forwarded-*` are ignored, the client
 *   is the socket address and TLS is the socket's.
 * - Otherwise: canonical addresses or CIDRs of the proxies in front of this server, validated as
 *   in {@link compileAllowlist}. If the socket peer is one of them, `X-Forwarded-For` is read
 *   right to left, skipping trusted hops; the first untrusted entry is the client, and if every
 *   entry is trusted the leftmost is. A malformed entry on that walk makes the client
 *   unresolvable (`addr` undefined). `X-Forwarded-Proto` is believed only from a trusted peer,
 *   and only its rightmost element (the one the nearest proxy set).
 *
 * @param trustProxy - CIDRs or addresses of trusted proxies.
 * @param field - Option name for error messages.
 * @throws TypeError or RangeError, naming `field[index]`, for an invalid entry.
 * @example
 * ```ts
 * const net = createNetPolicy(['10.0.0.0/8'])
 * net.clientAddress('10.0.0.2', ['198.51.100.9, 10.0.0.7']).text // '198.51.100.9'
 * net.clientAddress('203.0.113.5', ['198.51.100.9']).text          // '203.0.113.5' (untrusted peer)
 * net.isSecure(false, '10.0.0.2', ['https'])                        // true
 * ```
 */
export function createNetPolicy(trustProxy: readonly unknown[] | undefined, field = 'trustProxy'): NetPolicy {
  const trusted = trustProxy === undefined ? undefined : compileAllowlist(trustProxy, field)
  // The socket peer, parsed, for the last address seen: requests on one keep-alive connection
  // (and Node hands out the same string for all of them) parse it once. One entry, so nothing
  // to bound; the result is frozen because it is shared by every request that hits it.
  let lastRemote: string | undefined
  let lastPeer: ClientAddress = UNRESOLVED
  const peer = (remoteAddress: string | undefined): ClientAddress => {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, a cache: resolving again gives an equal result, and undefined resolves to UNRESOLVED, what lastPeer holds until a string is seen
    if (remoteAddress === lastRemote && remoteAddress !== undefined) return lastPeer
    const c = resolved(socketAddress(remoteAddress), remoteAddress)
    if (typeof remoteAddress === 'string') {
      if (c.addr !== undefined) Object.freeze(c.addr)
      lastPeer = Object.freeze(c)
      lastRemote = remoteAddress
    }
    return c
  }
  if (trusted === undefined || trusted.entries.length === 0) {
    return {
      trusting: false,
      clientAddress(remoteAddress) {
        return peer(remoteAddress)
      },
      isSecure(socketSecure) {
        return socketSecure === true
      },
    }
  }
  return {
    trusting: true,
    clientAddress(remoteAddress, xForwardedFor) {
      const sock = peer(remoteAddress)
      if (sock.addr === undefined) return UNRESOLVED
      if (!allowlistHas(trusted, sock.addr) || xForwardedFor === undefined || xForwardedFor.length === 0) return sock
      return walk(trusted, xForwardedFor)
    },
    isSecure(socketSecure, remoteAddress, xForwardedProto) {
      if (socketSecure === true) return true
      if (xForwardedProto === undefined || xForwardedProto.length === 0) return false
      // The peer through the same one-entry cache as clientAddress: not parsed again per request.
      const sock = peer(remoteAddress)
      if (sock.addr === undefined || !allowlistHas(trusted, sock.addr)) return false
      const proto = rightmost(xForwardedProto)
      return proto !== undefined && isHttps(proto)
    },
  }
}
